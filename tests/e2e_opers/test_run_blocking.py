"""The hand-off of slow work (`Network.run_blocking`): off the event loop, back on it,
and never back to a client that has left.

The first tests drive the sans-I/O core with an offload the test completes by hand,
so "the client left before the work was done" is a step of the transcript, not a race.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from hubbub.config import Config
from hubbub.irc.message import Message
from hubbub.server.network import Network
from hubbub.server.session import Session
from tests.helpers import connected


class Link:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True


class DeferredOffload:
    """Keeps each piece of work until the test finishes it."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []

    def __call__(self, client: Any, work: Callable[[], Any], resume: Callable[[Any], None]) -> None:
        self.pending.append((work, resume))

    def finish_all(self) -> None:
        pending, self.pending = self.pending, []
        for work, resume in pending:
            resume(work())


def registered(net: Network, nick: str) -> tuple[Session, Link]:
    link = Link()
    session = Session(net, link, "127.0.0.1")
    session.line_received(f"NICK {nick}".encode())
    session.line_received(b"USER u 0 * :U")
    assert session.client.registered
    link.data.clear()
    return session, link


def test_resume_runs_on_completion_with_the_result() -> None:
    net = Network(Config())
    net.offload = offload = DeferredOffload()
    session, link = registered(net, "alice")
    results: list[int] = []
    net.run_blocking(session.client, lambda: 6 * 7, results.append)
    assert results == []  # nothing until the work is done
    offload.finish_all()
    assert results == [42]


def test_resume_is_skipped_when_the_client_left_meanwhile() -> None:
    net = Network(Config())
    net.offload = offload = DeferredOffload()
    session, link = registered(net, "alice")
    resumed: list[object] = []
    net.run_blocking(session.client, lambda: "done", resumed.append)
    session.line_received(b"QUIT :bye")
    offload.finish_all()
    assert resumed == []
    assert session.client not in net.clients


def test_oper_answered_after_its_client_left_grants_nothing() -> None:
    net = Network(Config())
    net.offload = offload = DeferredOffload()
    session, link = registered(net, "alice")
    session.line_received(b"OPER admin whatever")
    session.line_received(b"QUIT")
    written = len(link.data)
    offload.finish_all()
    assert len(link.data) == written
    assert "o" not in session.client.modes


def test_without_a_runtime_the_work_runs_inline() -> None:
    net = Network(Config())
    session, link = registered(net, "alice")
    results: list[str] = []
    net.run_blocking(session.client, lambda: "now", results.append)
    assert results == ["now"]


async def test_the_runtime_runs_the_work_on_a_worker_thread(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    client = server.net.find_user("alice")
    assert client is not None
    done: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
    server.net.run_blocking(
        client, threading.get_ident, lambda worker: done.set_result((worker, threading.get_ident()))
    )
    worker, resumed_on = await asyncio.wait_for(done, 5)
    assert worker != threading.get_ident()  # off the loop
    assert resumed_on == threading.get_ident()  # and back on it


async def test_lines_sent_while_the_work_runs_wait_and_are_then_handled(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    client = server.net.find_user("alice")
    assert client is not None
    release = threading.Event()
    server.net.run_blocking(client, release.wait, lambda _: client.send(Message("NOTICE", ["alice", "work done"])))
    alice.send("PING during")
    await asyncio.wait_for(_until(lambda: client.link.gate.waiting > 0), 5)  # received, held back
    release.set()
    first = await alice.expect(lambda m: m.command in ("NOTICE", "PONG"))
    assert first.command == "NOTICE" and first.params == ["alice", "work done"]
    await alice.expect("PONG")


async def _until(condition: Callable[[], bool]) -> None:
    """Return once `condition()` holds (checked on each turn of the loop)."""
    while not condition():
        await asyncio.sleep(0.005)
