"""The store, put to work for a running server.

At start-up: open the store (migrating its schema), and give the chat state what it
must begin with (K-lines, accounts, registered channels) before anyone connects. Then:
record the engine's ordered stream (store/recorder.py), commit each loop iteration's
writes before that iteration's output leaves (the flusher's barrier, in the iterations
that wrote anything), answer queries
for handlers without blocking the loop, forget what retention says to forget, and at
shutdown commit the last writes and close.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hubbub.config import Config, found_at
from hubbub.server.apply import apply
from hubbub.server.connection import Connection
from hubbub.server.context import Services
from hubbub.server.engine import Engine
from hubbub.server.storage import (
    AddMessage,
    Backlog,
    Departure,
    ForgetConversation,
    ForgetExpiredKlines,
    ForgetSilentChannel,
    PutDepartures,
    Store,
    StoreBehind,
    StoreError,
)
from hubbub.store import POSTGRESQL_SCHEMES, open_store, shown
from hubbub.store.recorder import Recorder, end_channels
from hubbub.store.restore import restore_events

log = logging.getLogger("hubbub.store")

PRUNE_EVERY = 600.0  # seconds between retention passes
PRUNE_FIRST = 60.0  # seconds from start-up to the first (a server restarted often still prunes)


class Persistence:
    def __init__(self, config: Config, services: Services, engine: Engine) -> None:
        self.config = config
        self.services = services
        self.engine = engine
        self.store: Store | None = None
        self.recorder: Recorder | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pruner: asyncio.Task[None] | None = None
        self.failed_writes = 0
        self.departures: tuple[Departure, ...] = ()  # to keep at the stop (server/departures.py)
        # told after each committed batch: messages of history in it, seconds it took (metrics)
        self.written: Callable[[int, float], None] | None = None

    async def open(self) -> None:
        """Open the store and restore the state; raises StoreError with a one-line reason."""
        settings = self.config.store
        store = open_store(settings.db, settings.readers, settings.commit_on_loop, output_wait=settings.output_wait)
        snapshot = await store.open()
        state = self.services.state
        for event in restore_events(snapshot, self.services.clock()):
            apply(state, event)  # straight into the state: nothing to tell, nothing to write back
        # what comes now is stamped after what was kept, even on a clock just behind it (a
        # restart during a clock's step back): history lists it after (apply.in_time_order)
        state.clock_us = max(state.clock_us, (snapshot.latest_ms + 1) * 1000)
        # Channels that did not end cleanly (a crash, a kill): they ended all the same (an
        # unregistered channel does not outlive its server). The closed ones take their
        # history along; the others leave nothing if nothing was said in them (recorder.py
        # `_ended`). Not in a cluster: there the channels live on in the other nodes, whose
        # state this node has not received yet.
        lone = not self.config.cluster.url
        ended = [key for key in snapshot.closed if key not in state.channels] if lone else []
        gone = set(ended).union(state.channels)
        live = [key for key in snapshot.live if key not in gone] if lone else []
        now = self.services.clock()
        expired = [k for k in snapshot.klines if k.expires is not None and k.expires <= now]  # left out above
        if ended or live or expired:
            until = state.clock_us / 1_000_000  # after everything kept
            await store.write([*(ForgetConversation(key) for key in ended),
                               *(ForgetSilentChannel(key, until) for key in live),
                               *([ForgetExpiredKlines(now)] if expired else [])])  # fmt: skip
        if ended:
            log.info("forgot the history of %d closed channels that ended with the last run", len(ended))
        if live:
            log.info("ended the %d channels the last run left: nothing is kept of those where nothing was said",
                     len(live))  # fmt: skip
        self.store = store
        self.recorder = Recorder(state, self.config.history)
        self.engine.subscribe_own(self.recorder)
        self.services.store = store
        if snapshot.decoy_secret:
            self.services.decoy_secret = snapshot.decoy_secret.encode()
        self.services.departures.restore(snapshot.departures, self.services.clock())
        if snapshot.others and not self.config.cluster.url:
            log.warning("%s is in use by %d other running hubbub server%s: this one is not a node of their "
                        "network (no --cluster), so neither sees the other's users, channels or new accounts; "
                        "start it with --cluster and their Redis", shown(self.config.store.db), snapshot.others,
                        "s" if snapshot.others != 1 else "")  # fmt: skip
        self.services.awaiting = self.awaiting
        self._pruner = asyncio.create_task(self._prune_forever())  # idle while no retention is set
        db = self.config.store.db
        # a file by its whole path: where the data lives is what this line is read for
        where = found_at(db) if db != ":memory:" and not db.startswith(POSTGRESQL_SCHEMES) else shown(db)
        log.info("store %s: %d accounts, %d registered channels, %d K-lines", where, len(snapshot.accounts),
                 len(snapshot.channels), len(snapshot.klines) - len(expired))  # fmt: skip

    def barrier(self) -> Awaitable[None] | None:
        """The flusher's barrier: hand over this iteration's writes; the commit to wait for."""
        if self.recorder is None or self.store is None or not self.recorder.pending:
            return None
        batch = self.recorder.cut()
        started = time.perf_counter()
        done = self.store.write(batch)
        if isinstance(done, asyncio.Future):  # the usual case, once per loop iteration: no task
            if done.done():  # committed already, or kept (StoreBehind): the output may go at once
                self._finished(done, batch, started)
                return None
            done.add_done_callback(lambda finished: self._finished(finished, batch, started))
            return done
        return self._write(batch, done)

    async def _write(self, batch: list[Any], done: Awaitable[None] | None = None) -> None:
        assert self.store is not None
        started = time.perf_counter()
        try:
            await (done if done is not None else self.store.write(batch))
        except StoreBehind:
            return  # kept, and committed when the store answers (it says so itself)
        except StoreError as exc:
            self.failed_writes += 1
            log.error("could not store %d writes: %s", len(batch), exc)
            return
        self._report(batch, started)

    def status(self) -> tuple[int, Backlog]:
        """Batches the store refused, and what waits to be committed (metrics)."""
        return self.failed_writes, self.store.backlog() if self.store is not None else Backlog(0, False, 0)

    def _report(self, batch: list[Any], started: float) -> None:
        """A batch is committed: the history it held, and how long that took (metrics)."""
        if self.written is not None:
            self.written(sum(1 for write in batch if type(write) is AddMessage), time.perf_counter() - started)

    def _finished(self, done: asyncio.Future[None], batch: list[Any], started: float) -> None:
        if done.cancelled():
            return
        failure = done.exception()
        if failure is None:
            self._report(batch, started)
        elif not isinstance(failure, StoreBehind):  # kept: the store says so itself, once
            self.failed_writes += 1
            log.error("could not store %d writes: %s", len(batch), failure)

    def awaiting(
        self, conn: Connection, make: Callable[[], Awaitable[Any]], resume: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:  # fmt: skip
        """Run a store query for a connection: its later lines wait until the answer."""
        link = conn.link
        link.hold_input()

        async def run() -> tuple[Callable[[Any], None], Any]:
            try:
                return resume, await make()
            except Exception as exc:
                log.warning("a store query failed: %s", exc)
                return failed, exc

        task = asyncio.ensure_future(run())
        self._tasks.add(task)

        def done(finished: asyncio.Task[tuple[Callable[[Any], None], Any]]) -> None:
            self._tasks.discard(finished)
            try:
                if finished.cancelled():
                    return
                callback, value = finished.result()
                try:
                    callback(value)
                except Exception:
                    log.exception("internal error answering %r", conn)
                    self.services.disconnect(conn, "Internal error")
            finally:
                link.release_input()

        task.add_done_callback(done)

    def ending(self) -> None:
        """A lone server is stopping: its unregistered channels end now (see recorder)."""
        if self.recorder is not None:
            end_channels(self.recorder)

    def reconfigure(self, config: Config) -> None:
        """A reload's settings: what is recorded (`[history]`) and retention, at once.
        The store itself (`store.db`) stays: it needs a restart."""
        self.config = config
        if self.recorder is not None:
            self.recorder.history = config.history
            self.engine.reroute()  # the recorder's route for messages follows history.enabled

    async def _prune_forever(self) -> None:
        await asyncio.sleep(PRUNE_FIRST)
        while True:
            if self.store is None:
                return
            history = self.config.history  # read each pass: a reload may change it
            if history.max_age_days or history.max_per_target:
                await self._prune_once(history.max_age_days, history.max_per_target)
            await asyncio.sleep(PRUNE_EVERY)

    async def _prune_once(self, max_age_days: float, max_per_target: int) -> None:
        """One retention pass; a failure is logged, and the next pass tries again."""
        assert self.store is not None
        cutoff = time.time() - max_age_days * 86400 if max_age_days else None
        try:
            forgotten = await self.store.prune(cutoff, max_per_target)
        except StoreError as exc:
            log.error("retention failed: %s", exc)
            return
        if forgotten:
            log.info("retention: forgot %d messages", forgotten)

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.store is not None:
            try:
                if self.recorder is not None and self.recorder.pending:
                    await self._write(self.recorder.cut())
                if self.departures:
                    await self._write([PutDepartures(self.departures)])
            finally:  # whatever a last write met, the stop goes on: the pool (and its lock) closes
                await self.store.close()
                self.store = None
