"""Slow work off the event loop: password hashing, reading files.

A handler hands the slow part over and returns; the result comes back on the loop.
The client's later lines are held meanwhile (its link's `hold_input`), so its replies
keep their order. The pool is small on purpose: argon2 takes 64 MiB and a few hundred
milliseconds per check, and a burst of attempts must wait its turn, not take memory.
The queue of work clients ask for is bounded too (`max_pending`): past it, `offload`
refuses at once and the client is told to try again later, so that a flood of attempts
from many connections costs neither memory nor minutes of queued hashing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from hubbub.runtime.threadnames import namer

log = logging.getLogger("hubbub.workers")

BLOCKING_WORKERS = min(4, os.cpu_count() or 1)
PENDING_PER_WORKER = 4  # jobs from clients that may wait for a worker, per worker


class Holdable(Protocol):
    def hold_input(self) -> None: ...

    def release_input(self) -> None: ...


class WorkerPool:
    def __init__(self, workers: int = BLOCKING_WORKERS, max_pending: int | None = None) -> None:
        self._executor = ThreadPoolExecutor(workers, "hubbub-work", namer("hubbub-work"))
        self._stopped = False
        self.max_pending = workers * (1 + PENDING_PER_WORKER) if max_pending is None else max_pending
        self.pending = 0  # clients' jobs submitted and not yet done (running or waiting)
        self.by_address: dict[str, int] = {}  # of those, how many each address has (none: absent)

    def submit(self, work: Callable[[], Any], done: Callable[[Future[Any]], None]) -> None:
        """Run `work` on a worker thread, then `done(future)` on this event loop (the
        server's own work: never refused)."""
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
        address: str = "",
        per_address: int = 0,
    ) -> bool:
        """Run `work` on a worker thread and `resume(result)` back on the loop, holding
        `link`'s input meanwhile. `on_error()` runs if `resume` raises (a bug of ours).
        False, and nothing done, when `max_pending` jobs are waiting already, or
        `per_address` of them are `address`'s (0: no share), or the pool is stopped.

        Every address's jobs are counted, a share or not, so that a reload that sets one
        finds the jobs already waiting."""
        if self._stopped or self.pending >= self.max_pending:
            return False
        waiting = self.by_address.get(address, 0)
        if per_address and waiting >= per_address:
            return False
        self.pending += 1
        self.by_address[address] = waiting + 1
        link.hold_input()

        def done(finished: Future[Any]) -> None:
            self.pending -= 1
            left = self.by_address[address] - 1
            if left:
                self.by_address[address] = left
            else:
                del self.by_address[address]  # so addresses seen once cost no memory
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
        return True

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
