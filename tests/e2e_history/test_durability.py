"""The store as a process sees it: a crash loses nothing any client has seen, and a store
that cannot be used stops the server with one clear line."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.e2e_limits.test_cli import run
from tests.helpers import LineClient


@pytest.mark.parametrize("on_loop", ["false", "true"])
async def test_every_message_a_client_received_is_in_the_history_after_sigkill(serve, db: str, on_loop: str) -> None:
    """Either way a store commits (on its writer thread, or on the loop when it is idle:
    store.commit_on_loop)."""
    served = await serve("--db", db, "--set", "history.chathistory_max=100000", "--set", "limits.flood_control=false",
                         "--set", f"store.commit_on_loop={on_loop}")  # fmt: skip
    watcher = await served.capped("watcher", "message-tags")
    watcher.send("JOIN #c")
    await watcher.expect("366")
    senders = [await served.capped(f"s{i}", "message-tags") for i in range(3)]
    for sender in senders:
        sender.send("JOIN #c")
        await sender.expect("366")

    async def chatter(sender: LineClient) -> None:
        for i in range(100_000):
            sender.send(f"PRIVMSG #c :{sender.nick} says {i}")
            if i % 20 == 0:
                await asyncio.sleep(0.001)

    tasks = [asyncio.ensure_future(chatter(sender)) for sender in senders]
    seen: set[str] = set()
    while len(seen) < 400:
        message = await watcher.expect("PRIVMSG")
        seen.add(message.tags["msgid"])
    os.kill(served.proc.pid, signal.SIGKILL)  # mid-traffic: no chance to finish anything
    await served.proc.wait()
    # what reached the watcher before the kill, to the last byte the kernel delivered
    while True:
        try:
            message = await watcher.read_message(timeout=2)
        except (TimeoutError, ConnectionError, ValueError):
            break
        if message is None:
            break
        if message.command == "PRIVMSG" and "msgid" in message.tags:
            seen.add(message.tags["msgid"])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    # the reply (thousands of lines) is queued at once: room for it in the sendq however
    # slowly this reader reads on a loaded machine (a run with four workers dropped it)
    again = await serve("--db", db, "--set", "history.chathistory_max=100000", "--set", "limits.sendq=67108864")
    reader = await again.capped("reader", "draft/chathistory batch message-tags")
    reader.send("JOIN #c")
    await reader.expect("366")
    reader.send("CHATHISTORY LATEST #c * 100000")
    await reader.expect("BATCH")
    stored: set[str] = set()
    while True:
        message = await reader.read_message()
        assert message is not None
        if message.command == "BATCH":
            break
        if message.command == "PRIVMSG":
            stored.add(message.tags["msgid"])
    assert len(seen) >= 400
    missing = seen - stored
    assert not missing, f"{len(missing)} of {len(seen)} messages received before the crash are not in the history"


def test_a_file_that_is_not_a_database_is_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "hubbub.db"
    db.write_bytes(b"this is not a database, just some text that happens to be here" * 100)
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("hubbub:")]
    assert len(lines) == 1 and "not a hubbub database" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


async def test_a_file_in_use_by_another_server_is_one_clear_line(serve, tmp_path: Path) -> None:
    db = str(tmp_path / "hubbub.db")
    await serve("--db", db)
    result = await asyncio.to_thread(run, "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", db, cwd=tmp_path)
    assert result.returncode == 1
    assert "in use by another hubbub server" in result.stderr and "Traceback" not in result.stderr


def test_a_place_that_cannot_hold_a_file_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", str(blocker / "hubbub.db"), cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("hubbub:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_database_from_a_newer_hubbub_is_refused(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "hubbub.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (999)")
    conn.commit()
    conn.close()
    result = run("serve", "--listen", "127.0.0.1:0", "--no-web", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 1 and "newer hubbub" in result.stderr and "Traceback" not in result.stderr


async def test_a_message_nobody_here_was_sent_is_committed_all_the_same(serve, db: str) -> None:
    """A sender alone in its channel, without echo-message: the message makes no output
    at all, and is committed all the same, at once, not at the next output of this
    server, which may never come (in a cluster: a message to members on other nodes)."""
    import sqlite3

    import asyncpg

    served = await serve("--db", db)
    alone = await served.capped("alone", "message-tags")
    alone.send("JOIN #quiet")
    await alone.expect("366")
    alone.send("PRIVMSG #quiet :nobody here to hear this")  # nothing is sent back, and nothing is read after

    query = "SELECT count(*) FROM messages WHERE body LIKE '%nobody here%'"

    def in_file() -> bool:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return bool(conn.execute(query).fetchone()[0] == 1)
        finally:
            conn.close()

    async def stored() -> bool:
        if not db.startswith("postgresql"):
            return await asyncio.to_thread(in_file)
        conn = await asyncpg.connect(db)
        try:
            return bool(await conn.fetchval(query) == 1)
        finally:
            await conn.close()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await stored():
        assert loop.time() < deadline, "the message was never committed"
        await asyncio.sleep(0.05)
    os.kill(served.proc.pid, signal.SIGKILL)
    await served.proc.wait()
