"""The compiled per-delivery path (hubbub/_speedups.c), when it is there.

pip builds it with hubbub where a C compiler is at hand; without one, or with
HUBBUB_PURE=1 in the environment, hubbub runs the Python code it mirrors
(transport/gate.py's OutputQueue, server/announce.py's to_members loop, irc/framing.py's
LineBuffer, irc/message.py's parse and Message.encode for the common line,
server/apply.py's in_time_order, irc/casemap.py's casefold, a Message's making), which stays
the reference: the tests run both.
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("HUBBUB_PURE", "") not in ("", "0"):
        return None
    try:
        from hubbub import _speedups
    except ImportError:
        return None
    return _speedups


compiled = _load()
