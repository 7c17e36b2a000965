"""The optional compiled part of hubbub (hubbub/_speedups.c): built by pip when a C
compiler is at hand; without one, hubbub runs the same code in Python."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("hubbub._speedups", ["hubbub/_speedups.c"], optional=True)])
