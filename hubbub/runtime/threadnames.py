"""Names the operating system shows for hubbub's threads.

Python's thread names stay inside Python; `top -H`, `ps -L` and the benchmark's CPU by
thread read the kernel's (`/proc/PID/task/TID/comm`). Naming the store's writer there
is what lets an operator, or `hubbub bench`, tell what history costs the event loop from
what it costs the writer thread, which on a machine with cores to spare runs beside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

COMM_MAX = 15  # the kernel keeps 15 bytes of a thread's name


def name_this_thread(name: str) -> None:
    """Give the calling thread `name` (cut to 15 bytes) as the kernel shows it; nothing
    where the system has no /proc to say it with."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as fh:
            fh.write(name[:COMM_MAX])
    except OSError:
        pass


def namer(name: str) -> Callable[[], None]:
    """An initializer for a ThreadPoolExecutor whose threads are all `name`."""
    return lambda: name_this_thread(name)
