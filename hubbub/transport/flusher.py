"""Encode once, write many, flush once: every connection's output leaves once per
event-loop iteration, so a burst of channel traffic costs one system call per
recipient, not one per line.

With a store, output also waits for durability: the `barrier`, called at a flush once
the recorder has said writes are due (`due`), hands the store what this iteration
changed and returns the commit to wait for. The
output collected in this iteration is then held, and written when that commit is done,
generations strictly in order: nothing reaches a client before what it shows is
committed. Without pending writes (or with them committed at once) and with nothing
held, output goes out at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from hubbub.speedups import compiled

log = logging.getLogger("hubbub.transport")


class Queue(Protocol):
    """A connection's output queue (transport/gate.py's `OutputQueue`)."""

    ip: str

    def flush(self) -> None: ...

    def take(self) -> bytes: ...

    def send(self, data: bytes) -> None: ...

    def abort(self) -> None: ...


def _failed(queue: Queue, error: Exception) -> None:
    """Writing to one connection failed: logged, and that connection closed."""
    log.error("flushing output to %s failed", queue.ip, exc_info=error)
    queue.abort()


class _Generation:
    __slots__ = ("queues", "data", "ready", "after")

    def __init__(self, queues: list[Queue], data: list[bytes], after: Callable[[], None] | None = None) -> None:
        self.queues = queues
        self.data = data  # what each queue had collected, to write once committed
        self.ready = False
        self.after = after  # what to do once written (close the connection)


def _take_each(queues: list[Queue]) -> list[bytes]:
    return [queue.take() for queue in queues]


def _send_each(queues: list[Queue], data: list[bytes], failed: Callable[[Queue, Exception], None]) -> None:
    for queue, taken in zip(queues, data, strict=True):
        try:
            queue.send(taken)
        except Exception as exc:
            failed(queue, exc)


class Flusher:
    """Writes out every marked connection's collected output once per loop iteration."""

    __slots__ = ("marked", "_scheduled", "_schedule", "barrier", "_due", "_held", "_waiting", "_releasing")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.marked: list[Queue] = []
        self._scheduled = False
        # what this iteration must wait for before its output may go (the store's commit),
        # asked only in a pass after `due()`: most passes have nothing to commit
        self.barrier: Callable[[], Awaitable[None] | None] | None = None
        self._due = False
        self._held: deque[_Generation] = deque()
        self._waiting: set[asyncio.Future[None]] = set()  # the commits held output waits for
        # Every message schedules a flush: the call made once (a partial, which costs no
        # Python frame to call). It has no keyword argument (no `context=`): a partial with
        # one is called the slow way, its keywords copied into a new dict at each call,
        # which costs more than the copy of the current context call_soon then makes. The
        # compiled output queue schedules it as `mark` does, through `_scheduled` and
        # `_schedule` (hubbub/_speedups.c, wake_flusher).
        self._schedule = partial(loop.call_soon, self.flush)
        self._releasing = False

    def mark(self, queue: Queue) -> None:
        self.marked.append(queue)
        if not self._scheduled:  # wake(), inlined: the first output of every iteration passes here
            self._scheduled = True
            self._schedule()

    def wake(self) -> None:
        """Have a pass come at the end of this iteration: for output marked, or, without
        any, for the store's writes to commit (the barrier)."""
        if not self._scheduled:
            self._scheduled = True
            self._schedule()

    def due(self) -> None:
        """Writes for the store are pending (the recorder's first since its last batch):
        the next pass calls the barrier, which hands them over."""
        self._due = True
        self.wake()

    def flush(self) -> None:
        self._scheduled = False
        marked = self.marked  # the queues hold this list: emptied, never replaced
        dirty = marked.copy()
        marked.clear()
        pending = None
        if self._due:
            self._due = False
            if self.barrier is not None:
                pending = self.barrier()
        if pending is None and not self._held:
            if compiled is not None:  # the same loop in C (hubbub/_speedups.c)
                compiled.flush_each(dirty, _failed)
                return
            for queue in dirty:
                try:
                    queue.flush()
                except Exception as exc:  # one broken connection must not keep the others' output back
                    _failed(queue, exc)
            return
        take_each = compiled.take_each if compiled is not None else _take_each
        generation = _Generation(dirty, take_each(dirty))
        self._held.append(generation)
        if pending is None:
            generation.ready = True
            self._release()
            return
        commit = asyncio.ensure_future(pending)  # the store's own future as it is; else a task
        self._waiting.add(commit)
        commit.add_done_callback(partial(self._committed, generation))

    def _committed(self, generation: _Generation, done: asyncio.Future[None]) -> None:
        self._waiting.discard(done)
        if not done.cancelled():
            done.exception()  # not durable, but chat goes on: the store's failure is logged where it happened
        generation.ready = True
        self._release()

    def _release(self) -> None:
        """Write out the held generations whose commits are done, oldest first.

        Not again while it runs: writing a generation can drop a client (past its sendq),
        whose closing comes back here (`finish`); were the next generation written then,
        the rest of this one's recipients would get it first. The loop below writes what
        that appended, in order."""
        if self._releasing:
            return
        self._releasing = True
        try:
            held = self._held
            while held and held[0].ready:
                generation = held.popleft()
                send_each = compiled.send_each if compiled is not None else _send_each
                send_each(generation.queues, generation.data, _failed)
                if generation.after is not None:
                    generation.after()
        finally:
            self._releasing = False

    def finish(self, queue: Queue, then: Callable[[], None]) -> None:
        """Write out what `queue` holds, after anything held before it, then `then()`
        (a connection closing: its last lines keep their place behind held output)."""
        if not self._held:
            queue.flush()
            then()
            return
        generation = _Generation([queue], [queue.take()], then)
        generation.ready = True
        self._held.append(generation)
        self._release()

    async def drain(self) -> None:
        """Wait until nothing is held (shutdown: the last commits, then their output)."""
        self.flush()
        while self._waiting:
            await asyncio.gather(*self._waiting, return_exceptions=True)
