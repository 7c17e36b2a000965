"""The compiled per-delivery path (hubbub/_speedups.c), when it is there.

pip builds it with hubbub where a C compiler is at hand; without one, or with
HUBBUB_PURE=1 in the environment, hubbub runs the Python code it mirrors
(transport/gate.py's OutputQueue, server/announce.py's to_members loop, irc/framing.py's
LineBuffer, irc/message.py's parse and Message.encode for the common line,
server/apply.py's in_time_order, irc/casemap.py's casefold, a Message's making, an
Outgoing's making and bare form, server/delivery.py's new_msgid, tuple.__new__ (of a
NamedTuple) for server/events.py's new_said, and os.read for transport/sockets.py), which stays the
reference: the tests run both.

A compiled module built from another version of its source than the one beside it is not
used either: in an editable install (`pip install -e .`, scripts/serve), `git pull`
brings new Python code and a new `_speedups.c` but leaves the old build in place, whose
functions may no longer take what the new code passes (every message would fail). The
build carries the SHA-256 of its source (setup.py); `stale` says why it was left out, and
the server logs it at start-up.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).with_name("_speedups.c")

stale = ""  # why a compiled module that is there is not used (a rebuild is due), or ""


def built_from(module: ModuleType, source: Path) -> bool:
    """Whether `module` was compiled from `source` as it is now; True where there is no
    source to compare with (an install from a wheel keeps only the build)."""
    try:
        text = source.read_bytes()
    except OSError:
        return True
    return getattr(module, "SOURCE_SHA256", None) == hashlib.sha256(text).hexdigest()


def _load() -> ModuleType | None:
    global stale
    if os.environ.get("HUBBUB_PURE", "") not in ("", "0"):
        return None
    try:
        from hubbub import _speedups
    except ImportError:
        return None
    if not built_from(_speedups, SOURCE):
        stale = (f"{SOURCE} changed since {Path(_speedups.__file__ or '_speedups').name} was built from it: "
                 "running the Python code instead; rebuild it with `pip install -e .` in the checkout (or "
                 "`python setup.py build_ext --inplace`)")  # fmt: skip
        return None
    return _speedups


compiled = _load()
