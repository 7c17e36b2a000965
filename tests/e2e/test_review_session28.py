"""Review of session 28 (4599f75..38bebe4): departures kept across a clean stop (schema 9),
the clean-up of dropped accounts' leftovers (schema 8), the lock of older hubbubs, the
plain mode's /knock, and the server's threads by name.

Real servers on real sockets, a real SQLite file or PostgreSQL database, real redis-server
for the cluster. What is right passes; what is wrong is a strict xfail of the right
behaviour, its reason saying what goes wrong.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from hubbub.bench.procstat import threads, threads_between
from hubbub.irc.casemap import casefold
from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    HistoryQuery,
    PutAccount,
    PutChannel,
    PutMarker,
    StoredMessage,
    StoreError,
    dm_key,
)
from hubbub.store import open_store
from tests.cluster.support import Cluster
from tests.e2e.test_weechat_person_audit import _rest, join, replayed, weechat
from tests.e2e_accounts.support import NS, registered_account
from tests.helpers import LineClient, connect_plain, connected, start_server, sync
from tests.store.test_old_files import as_an_old_file
from tests.store.test_upgrade_real_audit import make_old_db

T0 = 1_800_000_000.0


def file_db(tmp_path: Path) -> str:
    return f"store.db='{tmp_path / 'hubbub.db'}'"


async def first_run_with_alice_seeing_a_line(db: str, clock_skew: list[float] | None = None):  # -> Runtime
    """alice (an account, as WeeChat) and bob in #tea; bob says a line alice sees live.
    With `clock_skew`, the server's clock runs that many seconds ahead (read each time)."""
    first = await start_server(db)
    if clock_skew is not None:
        first.clock = lambda: time.time() + clock_skew[0]
    alice = await registered_account(first, "alice", "alicepass1")
    await alice.close()
    alice, _ = await weechat(first, "alice", ("alice", "alicepass1"))
    bob, _ = await weechat(first, "bob")
    await join(alice, "#tea")
    await join(bob, "#tea")
    bob.send("PRIVMSG #tea :seen live")
    await alice.expect("PRIVMSG", "#tea", "seen live")
    await sync(bob)
    return first, alice, bob


async def bob_says_after_the_restart_and_alice_rejoins(again) -> list[str]:  # again: Runtime
    bob, _ = await weechat(again, "bob")
    alice = None
    try:
        await join(bob, "#tea")
        bob.send("PRIVMSG #tea :said after the restart")
        await sync(bob)
        alice, _ = await weechat(again, "alice", ("alice", "alicepass1"))
        return replayed(await join(alice, "#tea"))
    finally:
        await bob.close()
        if alice is not None:
            await alice.close()


# -- departures kept at a clean stop -----------------------------------------------------


async def test_a_rejoin_after_a_restart_gets_what_was_said_since_the_stop_and_nothing_before(tmp_path) -> None:
    db = file_db(tmp_path)
    first, alice, bob = await first_run_with_alice_seeing_a_line(db)
    await first.stop()
    await _rest(alice)
    await _rest(bob)
    again = await start_server(db)
    try:
        assert await bob_says_after_the_restart_and_alice_rejoins(again) == ["said after the restart"]
    finally:
        await again.stop()


async def test_after_a_restart_on_a_clock_set_back_the_lines_said_since_are_replayed(tmp_path) -> None:
    """The machine's clock ran a minute fast (NTP steps it back before the restart); the
    channel was quiet for ten seconds before the stop. Lines said after the restart, which
    alice never saw, must come in her rejoin's replay."""
    db = file_db(tmp_path)
    skew = [60.0]
    first, alice, bob = await first_run_with_alice_seeing_a_line(db, skew)
    skew[0] = 70.0  # ten quiet seconds, then the stop
    await first.stop()
    await _rest(alice)
    await _rest(bob)
    again = await start_server(db)  # the clock now right
    try:
        assert await bob_says_after_the_restart_and_alice_rejoins(again) == ["said after the restart"]
    finally:
        await again.stop()


async def test_whoever_registers_a_dropped_name_after_a_restart_gets_the_channels_last_lines(tmp_path) -> None:
    db = file_db(tmp_path)
    first = await start_server(db)
    try:
        alice = await registered_account(first, "alice", "alicepass1", "#tea")
        bob = await connected(first, "bob", "#tea")
        bob.send("PRIVMSG #tea :before the drop")
        await alice.expect("PRIVMSG", "#tea", "before the drop")
        alice.send("PART #tea")
        await alice.expect("PART")
        alice.send("PRIVMSG NickServ :DROP")
        await alice.expect(lambda m: m.command == "NOTICE" and m.source == NS and "deletes it" in m.params[-1])
        confirm = await alice.expect(lambda m: m.command == "NOTICE" and m.source == NS)
        alice.send(f"PRIVMSG NickServ :DROP alice {confirm.params[-1].split()[-1]}")
        await alice.expect(lambda m: m.command == "NOTICE" and "Successfully unregistered" in m.params[-1])
    finally:
        await first.stop()
    await _rest(alice)
    await _rest(bob)
    again = await start_server(db)
    try:
        bob = await connected(again, "bob", "#tea")
        newcomer = await registered_account(again, "alice", "another-pass1")  # someone else, the same name
        try:
            assert replayed(await join(newcomer, "#tea")) == ["before the drop"]
        finally:
            await newcomer.close()
            await bob.close()
    finally:
        await again.stop()


async def test_a_cluster_node_restarted_replays_what_the_other_node_said_meanwhile(
    redis_server, tmp_path, postgres_url
) -> None:
    """node1 stops cleanly (alice in #tea there), node2 goes on: bob says a line; node1
    comes back on the shared database and alice's rejoin there replays it, and not the
    line she saw live."""
    config = tmp_path / "hubbub.toml"
    config.write_text("")
    network = Cluster(redis_server.url, str(config), db=postgres_url)
    try:
        one, two = await network.start(2)
        alice = await network.client(one, "alice")
        alice.send("PRIVMSG NickServ :REGISTER alicepass1")
        await alice.expect("900")
        await alice.join("#tea")
        bob = await network.client(two, "bob", "#tea")
        bob.send("PRIVMSG #tea :seen live")
        await alice.expect("PRIVMSG", "#tea", "seen live")
        await one.stop()
        bob.send("PRIVMSG #tea :said while node1 was down")
        await sync(bob)
        one.address = None  # a new port: Node.start reads it again
        await one.start()
        back = await network.client(one, "alice2")
        back.send("PRIVMSG NickServ :IDENTIFY alice alicepass1")
        await back.expect("900")
        assert replayed(await join(back, "#tea")) == ["said while node1 was down"]
    finally:
        await network.close()


# -- schema 8: what dropped accounts left, and nothing else ----------------------------------


def _account(name: str, n: int) -> AccountRecord:
    return AccountRecord(casefold(name), name, "$argon2id$x", "", "", T0, (f"{n:064x}",))


def _channel(name: str, founder: str, access: tuple[tuple[str, str], ...]) -> ChannelRecord:
    return ChannelRecord(casefold(name), name, founder, T0, "topic", "x!u@h", T0, "nt", None, None, (), access)


def _said(target: str, msgid: str) -> StoredMessage:
    return StoredMessage(target, msgid, T0, "PRIVMSG", "x!u@h", "x", ("x", "hi"), None, "hi")


async def test_schema_8_keeps_what_upper_case_and_non_ascii_accounts_hold(db: str) -> None:
    zoe, emile = "ZOE", "Émile"  # keys "zoe" and "Émile" (ascii casemapping: É stays)
    talks = [dm_key(zoe, emile), dm_key("bob", zoe), dm_key(emile, "Dan")]
    store = open_store(db)
    await store.open()
    await store.write([
        *(PutAccount(_account(name, n)) for n, name in enumerate((zoe, emile, "bob", "Dan"))),
        PutChannel(_channel("#Zoes", casefold(zoe), ((casefold(emile), "o"),))),
        PutChannel(_channel("#ÉMILES", casefold(emile), (("zoe", "v"), ("dan", "o")))),
        PutMarker(casefold(emile), "#zoes", T0), PutMarker("dan", "#zoes", T0),
        *(AddMessage(_said(key, f"m{n}")) for n, key in enumerate(talks)),
    ])  # fmt: skip
    await store.close()
    await as_an_old_file(db)  # Dan dropped as before schema 3, the file at schema 7
    store = open_store(db)
    snapshot = await store.open()
    try:
        assert sorted(a.name for a in snapshot.accounts) == sorted([zoe, emile, "bob"])
        kept = sorted((c.name, c.founder, c.access) for c in snapshot.channels)
        assert kept == [("#Zoes", "zoe", (("Émile", "o"),)), ("#ÉMILES", "Émile", (("zoe", "v"),))]
        assert await store.marker("Émile", "#zoes") == T0
        assert await store.marker("dan", "#zoes") is None
        found = [[m.msgid for m in await store.history(HistoryQuery(key, "latest", None, None, 5, False))]
                 for key in talks]  # fmt: skip
        assert found == [["m0"], ["m1"], []]
    finally:
        await store.close()


# -- the lock of a hubbub before schema 5 ------------------------------------------------------


async def test_an_older_server_started_on_a_symlink_keeps_a_newer_one_out(tmp_path) -> None:
    old = make_old_db(tmp_path / "real.db", 4)
    link = tmp_path / "hubbub.db"
    link.symlink_to(old.path)
    fd = os.open(str(link) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)  # what that server holds
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            runtime = await start_server(f"store.db='{link}'")
        except StoreError as exc:
            refusal = str(exc)
        else:
            await runtime.stop()
            refusal = ""
    finally:
        os.close(fd)
    assert "in use by another hubbub server" in refusal
    assert old.versions() == [1, 2, 3, 4]


# -- plain mode's /knock ------------------------------------------------------------------------


async def _invite_only(server, clients: list[LineClient]) -> LineClient:
    """bob's +i channel #mine; returns bob."""
    bob = await connected(server, "bob", "#mine")
    clients.append(bob)
    bob.send("MODE #mine +i")
    await bob.expect("MODE", "#mine", "+i")
    return bob


async def test_a_banned_plain_user_who_knocks_reads_that_they_are_banned(server, clients) -> None:
    bob = await _invite_only(server, clients)
    bob.send("MODE #mine +b carol!*@*")
    await bob.expect("MODE", "#mine", "+b")
    carol = await connect_plain(server, "carol")
    clients.append(carol)
    carol.send("/knock #mine please")
    line = await carol.expect_text(r"#mine")
    assert "banned" in line and "message" not in line


async def test_a_second_knock_on_another_channel_does_not_say_again(server, clients) -> None:
    await _invite_only(server, clients)
    dave = await connected(server, "dave", "#other")
    clients.append(dave)
    dave.send("MODE #other +i")
    await dave.expect("MODE", "#other", "+i")
    carol = await connect_plain(server, "carol")
    clients.append(carol)
    carol.send("/knock #mine")
    await carol.expect_text(r"^\* You knocked on #mine")
    carol.send("/knock #other")
    line = await carol.expect_text(r"#other")
    assert line.startswith("* You can't knock") and "again" not in line


async def test_a_plain_knock_with_text_reaches_a_plain_operator_in_words(server, clients) -> None:
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    bob.send("/join #mine")
    await bob.expect_text(r"^\* You joined #mine")
    bob.send("/mode +i")
    await bob.expect_text(r"invite-only|\+i")
    carol = await connect_plain(server, "carol")
    clients.append(carol)
    carol.send("/knock #mine it's me: carol!")
    await carol.expect_text(r"^\* You knocked on #mine")
    await bob.expect_text(r"^\* carol \(carol!\S+\) asks to be invited to #mine: it's me: carol! "
                          r"/invite carol #mine lets them in\.$")


# -- the threads by name ------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="no /proc")
async def test_the_bench_sees_the_event_loop_and_the_store_writer_apart(tmp_path, clients) -> None:
    runtime = await start_server(file_db(tmp_path))
    try:
        start = threads(os.getpid())
        alice = await connected(runtime, "alice", "#tea")
        clients.append(alice)
        for n in range(50):
            alice.send(f"PRIVMSG #tea :line {n}")
        await sync(alice)
        spent = threads_between(start, threads(os.getpid()))
    finally:
        await runtime.stop()
    assert spent is not None and "main" in spent and "hubbub-write" in spent
    assert spent["main"] > 0
