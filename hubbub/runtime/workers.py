"""Slow work off the event loop: password hashing, reading files.

A handler hands the slow part over and returns; the result comes back on the loop.
The client's later lines are held meanwhile (its link's `hold_input`), so its replies
keep their order. The pool is small on purpose: argon2 takes 64 MiB and a few hundred
milliseconds per check, and a burst of attempts must wait its turn, not take memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

log = logging.getLogger("hubbub.workers")

BLOCKING_WORKERS = min(4, os.cpu_count() or 1)


class Holdable(Protocol):
    def hold_input(self) -> None: ...

    def release_input(self) -> None: ...


class WorkerPool:
    def __init__(self, workers: int = BLOCKING_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="hubbub-work")
        self._stopped = False

    def submit(self, work: Callable[[], Any], done: Callable[[Future[Any]], None]) -> None:
        """Run `work` on a worker thread, then `done(future)` on this event loop."""
        if self._stopped:
            return
        future = self._executor.submit(work)
        when_done(future, done)

    def offload(
        self,
        link: Holdable,
        work: Callable[[], Any],
        resume: Callable[[Any], None],
        on_error: Callable[[], None],
    ) -> None:
        """Run `work` on a worker thread and `resume(result)` back on the loop, holding
        `link`'s input meanwhile. `on_error()` runs if `resume` raises (a bug of ours)."""
        if self._stopped:
            return
        link.hold_input()

        def done(finished: Future[Any]) -> None:
            try:
                if finished.cancelled():
                    return
                try:
                    result = finished.result()
                except Exception:
                    log.exception("slow work failed")
                    return
                try:
                    resume(result)
                except Exception:
                    log.exception("internal error resuming a command")
                    on_error()
            finally:
                link.release_input()

        self.submit(work, done)

    def stop(self) -> None:
        self._stopped = True
        self._executor.shutdown(wait=False, cancel_futures=True)


def when_done(future: Future[Any], callback: Callable[[Future[Any]], None]) -> None:
    """Call `callback(future)` on this event loop once the worker thread is done."""
    loop = asyncio.get_running_loop()

    def back_on_loop(finished: Future[Any]) -> None:
        try:
            loop.call_soon_threadsafe(callback, finished)
        except RuntimeError:  # the loop is closed: the server stopped meanwhile
            pass

    future.add_done_callback(back_on_loop)
