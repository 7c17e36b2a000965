"""Encode once, write many, flush once: every connection's output leaves once per
event-loop iteration, so a burst of channel traffic costs one system call per
recipient, not one per line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hubbub.transport.ports import Flushable

log = logging.getLogger("hubbub.transport")


class Flusher:
    """Writes out every marked connection's collected output once per loop iteration.

    `before_flush` hooks run first, each iteration (the store commits there, so that
    what a client is about to read is durable before it is sent).
    """

    __slots__ = ("_loop", "_dirty", "_scheduled", "before_flush")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[Flushable] = []
        self._scheduled = False
        self.before_flush: list[Callable[[], None]] = []

    def mark(self, link: Flushable) -> None:
        self._dirty.append(link)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        for hook in self.before_flush:
            try:
                hook()
            except Exception:  # a failing hook must not keep everyone's output back
                log.exception("a before-flush hook failed")
        dirty, self._dirty = self._dirty, []
        for link in dirty:
            try:
                link.flush()
            except Exception:  # one broken connection must not keep the others' output back
                log.exception("flushing output to %s failed", link.ip)
                link.abort()
