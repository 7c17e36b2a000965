"""Encode once, write many, flush once: every connection's output leaves once per
event-loop iteration, so a burst of channel traffic costs one system call per
recipient, not one per line.

With a store, output also waits for durability: the `barrier`, called at each flush,
hands the store what this iteration changed and returns the commit to wait for. The
output collected in this iteration is then held, and written when that commit is done,
generations strictly in order: nothing reaches a client before what it shows is
committed. Without pending writes and with nothing held, output goes out at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger("hubbub.transport")


class Queue(Protocol):
    """A connection's output queue (transport/gate.py's `OutputQueue`)."""

    ip: str

    def flush(self) -> None: ...

    def take(self) -> bytes: ...

    def send(self, data: bytes) -> None: ...

    def abort(self) -> None: ...


class _Generation:
    __slots__ = ("items", "ready", "after")

    def __init__(self, items: list[tuple[Queue, bytes]], after: Callable[[], None] | None = None) -> None:
        self.items = items
        self.ready = False
        self.after = after  # what to do once written (close the connection)


class Flusher:
    """Writes out every marked connection's collected output once per loop iteration."""

    __slots__ = ("_loop", "_dirty", "_scheduled", "barrier", "_held", "_tasks")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[Queue] = []
        self._scheduled = False
        # what this iteration must wait for before its output may go (the store's commit)
        self.barrier: Callable[[], Awaitable[None] | None] | None = None
        self._held: deque[_Generation] = deque()
        self._tasks: set[asyncio.Future[None]] = set()

    def mark(self, queue: Queue) -> None:
        self._dirty.append(queue)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        pending = self.barrier() if self.barrier is not None else None
        if pending is None and not self._held:
            for queue in dirty:
                try:
                    queue.flush()
                except Exception:  # one broken connection must not keep the others' output back
                    log.exception("flushing output to %s failed", queue.ip)
                    queue.abort()
            return
        generation = _Generation([(queue, queue.take()) for queue in dirty])
        self._held.append(generation)
        if pending is None:
            generation.ready = True
            self._release()
            return
        task = asyncio.ensure_future(pending)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._committed(generation, done))

    def _committed(self, generation: _Generation, done: asyncio.Future[None]) -> None:
        self._tasks.discard(done)
        if not done.cancelled() and done.exception() is not None:
            # Not durable, but chat goes on: the store's failure is logged where it happened
            log.error("history could not be written: %s", done.exception())
        generation.ready = True
        self._release()

    def _release(self) -> None:
        """Write out the held generations whose commits are done, oldest first."""
        held = self._held
        while held and held[0].ready:
            generation = held.popleft()
            for queue, data in generation.items:
                try:
                    queue.send(data)
                except Exception:
                    log.exception("flushing output to %s failed", queue.ip)
                    queue.abort()
            if generation.after is not None:
                generation.after()

    def finish(self, queue: Queue, then: Callable[[], None]) -> None:
        """Write out what `queue` holds, after anything held before it, then `then()`
        (a connection closing: its last lines keep their place behind held output)."""
        if not self._held:
            queue.flush()
            then()
            return
        generation = _Generation([(queue, queue.take())], then)
        generation.ready = True
        self._held.append(generation)
        self._release()

    async def drain(self) -> None:
        """Wait until nothing is held (shutdown: the last commits, then their output)."""
        self.flush()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
