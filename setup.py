"""The optional compiled part of hubbub (hubbub/_speedups.c): built by pip when a C
compiler is at hand; without one, hubbub runs the same code in Python.

The module carries the SHA-256 of the source it was built from, so that a checkout
updated without a rebuild (`git pull` on an editable install) runs the Python code
instead of a compiled module that no longer fits it (hubbub/speedups.py)."""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "hubbub/_speedups.c"
digest = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes()).hexdigest()

setup(ext_modules=[Extension("hubbub._speedups", [SOURCE], optional=True,
                             define_macros=[("HUBBUB_SOURCE_SHA256", f'"{digest}"')])])
