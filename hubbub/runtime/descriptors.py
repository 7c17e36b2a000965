"""File descriptors: as many as the system lets us have, and connections kept within them.

Every connection is a descriptor, and so is every connection we are about to refuse
(it must be accepted to be told why). Past the process's limit, `accept()` fails and a
new client hangs or is reset without a word, whatever `max_clients` says. So at start-up
the soft limit is raised to the hard one, and connections are capped below it, with a
reserve for the listeners, the event loop, the store, log and certificate files, and
the connection being refused.
"""

from __future__ import annotations

import logging

try:
    import resource
except ImportError:  # not on every platform
    resource = None  # type: ignore[assignment]

log = logging.getLogger("hubbub")

UNKNOWN = 1 << 20  # the limit assumed where it cannot be read
RESERVE_MIN = 32  # descriptors kept for everything but clients
RESERVE_SHARE = 20  # ... or a twentieth of the limit, if more


def raise_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one (where allowed); the soft limit in force."""
    if resource is None:
        return UNKNOWN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else UNKNOWN
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # the kernel's own ceiling (nr_open) is lower
            pass
    return soft if soft != resource.RLIM_INFINITY else UNKNOWN


def client_ceiling(limit: int) -> int:
    """How many connections fit within `limit` descriptors, the reserve kept."""
    return max(1, limit - max(RESERVE_MIN, limit // RESERVE_SHARE))


def effective_max_clients(configured: int, ceiling: int) -> int:
    """`limits.max_clients` as it can be honoured (0 means as many as fit)."""
    return ceiling if configured == 0 or configured > ceiling else configured
