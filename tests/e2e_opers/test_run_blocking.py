"""The hand-off of slow work (`Context.run_blocking`): off the event loop, back on it,
and never back to a client that has left.

The first tests drive the sans-I/O core with an offload the test completes by hand,
so "the client left before the work was done" is a step of the transcript, not a race.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from hubbub.config import OperBlock, load
from hubbub.irc.message import Message, parse
from hubbub.plain.intake import Intake
from hubbub.server.context import Context, Services
from hubbub.server.core import local_core
from tests.e2e_opers.conftest import OPER_NAME, OPER_PASSWORD
from tests.helpers import connected


class Link:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True

    def hold_input(self) -> None:
        pass

    def release_input(self) -> None:
        pass

    def exempt_from_flood(self, exempt: bool) -> None:
        """No flood control without a transport (an operator is told it is exempt)."""

    def speaks_irc(self, session: object) -> None:
        self.irc_session = session

    def lines(self) -> list[str]:
        return [parse(line).params[-1] for line in self.data.decode().splitlines() if line]


class DeferredOffload:
    """Keeps each piece of work until the test finishes it."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []

    def __call__(self, conn: Any, work: Callable[[], Any], resume: Callable[[Any], None]) -> bool:
        self.pending.append((work, resume))
        return True

    def finish_all(self) -> None:
        pending, self.pending = self.pending, []
        for work, resume in pending:
            resume(work())


def registered(svc: Services, nick: str) -> tuple[Context, Link]:
    link = Link()
    intake = Intake(svc, link, "127.0.0.1")
    intake.line_received(f"NICK {nick}".encode())
    intake.line_received(b"USER u 0 * :U")
    ctx = intake.session.ctx
    assert ctx is not None and ctx.conn.registered
    link.data.clear()
    return ctx, link


def deferred_core(*overrides: str) -> tuple[Services, DeferredOffload]:
    offload = DeferredOffload()
    return local_core(load(None, list(overrides)), offload=offload), offload


def test_resume_runs_on_completion_with_the_result() -> None:
    svc, offload = deferred_core()
    ctx, link = registered(svc, "alice")
    results: list[int] = []
    ctx.run_blocking(lambda: 6 * 7, results.append)
    assert results == []  # nothing until the work is done
    offload.finish_all()
    assert results == [42]


def test_resume_is_skipped_when_the_client_left_meanwhile() -> None:
    svc, offload = deferred_core()
    ctx, link = registered(svc, "alice")
    resumed: list[object] = []
    ctx.run_blocking(lambda: "done", resumed.append)
    ctx.disconnect("Quit: bye")
    offload.finish_all()
    assert resumed == []
    assert ctx.user.uid not in svc.state.users


def test_oper_answered_after_its_client_left_grants_nothing(oper_hash: str) -> None:
    """The password is right and the check succeeds, but its client has gone: no
    operator appears, and no other operator hears that one did."""
    svc, offload = deferred_core()
    svc.config.opers = [OperBlock(OPER_NAME, oper_hash)]
    watcher, watcher_link = registered(svc, "watcher")
    _line(watcher, f"OPER {OPER_NAME} {OPER_PASSWORD}")
    offload.finish_all()
    _line(watcher, "MODE watcher +s")
    assert "o" in watcher.user.modes and watcher.conn in svc.notices.watchers
    leaver, leaver_link = registered(svc, "leaver")
    _line(leaver, f"OPER {OPER_NAME} {OPER_PASSWORD}")
    _line(leaver, "QUIT")
    watcher_link.data.clear()
    written = len(leaver_link.data)
    offload.finish_all()
    assert len(leaver_link.data) == written
    assert not any("is now an operator" in line for line in watcher_link.lines())
    assert svc.state.find_user("leaver") is None
    assert [c.nick for c in svc.notices.watchers] == ["watcher"]


def _line(ctx: Context, line: str) -> None:
    from hubbub.server.commands import dispatch

    dispatch(ctx, parse(line))


def test_without_a_runtime_the_work_runs_inline() -> None:
    svc = local_core(load(None, []))
    ctx, link = registered(svc, "alice")
    results: list[str] = []
    ctx.run_blocking(lambda: "now", results.append)
    assert results == ["now"]


async def test_the_runtime_runs_the_work_on_a_worker_thread(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    ctx = _context(server, "alice")
    done: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
    ctx.run_blocking(
        threading.get_ident, lambda worker: done.set_result((worker, threading.get_ident()))
    )
    worker, resumed_on = await asyncio.wait_for(done, 5)
    assert worker != threading.get_ident()  # off the loop
    assert resumed_on == threading.get_ident()  # and back on it


async def test_lines_sent_while_the_work_runs_wait_and_are_then_handled(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    ctx = _context(server, "alice")
    release = threading.Event()
    ctx.run_blocking(release.wait, lambda _: ctx.conn.send(Message("NOTICE", ["alice", "work done"])))
    alice.send("PING during")
    link: Any = ctx.conn.link
    await asyncio.wait_for(_until(lambda: len(link.gate.queue) > 0), 5)  # received, held back
    release.set()
    first = await alice.expect(lambda m: m.command in ("NOTICE", "PONG"))
    assert first.command == "NOTICE" and first.params == ["alice", "work done"]
    await alice.expect("PONG")


async def _until(condition: Callable[[], bool]) -> None:
    """Return once `condition()` holds (checked on each turn of the loop)."""
    while not condition():
        await asyncio.sleep(0.005)


def _context(server: Any, nick: str) -> Context:
    user = server.state.find_user(nick)
    assert user is not None
    return server.services.local[user.uid]
