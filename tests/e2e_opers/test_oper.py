"""OPER and the operator user modes: +o (with WHOIS 313, WHO *, USERHOST *), -o, +s, +w.

The password check is argon2id on a worker thread; these transcripts also prove the
hand-off keeps replies in order and survives the client leaving before it is done.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading
from typing import Any

from hubbub.runtime.workers import WorkerPool
from hubbub.server.handlers.usermodes import USER_MODE_TABLE
from hubbub.server.isupport import USER_MODES
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import SERVER, an_oper, oper_up
from tests.helpers import LineClient, commands, connected, sync

# -- OPER --------------------------------------------------------------------------------


async def test_oper_with_the_right_password_gives_381_then_mode_plus_o(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin operpass")
    reply = await alice.collect_until("MODE")
    assert commands(reply) == ["381", "MODE"]
    assert reply[0].params == ["alice", "You are now an IRC operator"]
    assert reply[1].source.startswith("alice!") and reply[1].params == ["alice", "+o"]
    assert [m.command for m in await sync(alice)] == []  # exactly one MODE


async def test_oper_with_a_wrong_password_is_464_and_no_privileges(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin wrong")
    assert (await alice.expect("464")).params == ["alice", "Password incorrect"]
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+"]
    alice.send("KILL alice :x")
    await alice.expect("481")


async def test_oper_with_an_unknown_name_is_464_like_a_wrong_password(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER nobody operpass")
    await alice.expect("464")
    assert "381" not in commands(await sync(alice))


async def test_oper_without_a_password_is_461(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin")
    assert (await alice.expect("461")).params[:2] == ["alice", "OPER"]


async def test_oper_from_a_host_the_block_does_not_allow_is_told_as_a_wrong_password(
    make_oper_server, oper_hash, clients
) -> None:
    """The right password from elsewhere, a wrong one, a name that is no block: one
    answer, so that nobody learns which names exist (the operators watching are told)."""
    blocks = oper_toml(oper_hash, hosts=["*@192.0.2.*"]) + oper_toml(oper_hash, "local", ["~u@127.0.0.1"])
    server = await make_oper_server(toml=blocks)
    alice = await connected(server, "alice")
    watcher = await connected(server, "watcher")
    clients.extend([alice, watcher])
    await oper_up(watcher, "local")
    watcher.send("MODE watcher +s")
    await sync(watcher)
    answers = []
    for line in ("OPER admin operpass", "OPER admin wrong", "OPER nosuch wrong"):
        alice.send(line)
        answers.append((await alice.expect(lambda m: m.command in ("464", "491", "381"))).params)
    assert answers == [["alice", "Password incorrect"]] * 3
    notice = await watcher.expect(lambda m: m.command == "NOTICE" and "Failed OPER" in m.params[-1])
    assert notice.params[-1].endswith(": not allowed from this host as admin")
    await oper_up(alice, "local")  # a block whose mask matches ~u@127.0.0.1 works


async def test_replies_to_oper_come_before_those_to_later_lines(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin operpass\r\nMODE alice\r\nPING after-oper")  # one write: all queued at once
    reply = await alice.collect_until("PONG")
    assert commands(reply) == ["381", "MODE", "221", "PONG"]
    assert reply[2].params == ["alice", "+o"]


async def test_oper_of_a_client_gone_before_the_check_ends_changes_nothing(oper_server, clients) -> None:
    """The client is really gone (reset, not half-closed: a half-closed client's lines are
    still answered) while its right password is being checked: when the check ends, no
    operator appears and nobody is told one did."""
    watcher = await an_oper(oper_server, "watcher")
    clients.append(watcher)
    watcher.send("MODE watcher +s")
    await watcher.expect("MODE", "watcher", "+s")
    workers = oper_server.workers = Watched(1)  # one worker, kept busy until the client is gone
    release = threading.Event()
    workers.submit(release.wait, lambda done: None)
    leaver = await connected(oper_server, "leaver")
    leaver.send("OPER admin operpass")
    await asyncio.wait_for(workers.offloaded, 10)  # the check is queued...
    reset(leaver)  # ...and its client goes
    await watcher.expect(lambda m: m.command == "NOTICE" and "Client exiting: leaver" in m.params[-1])
    checked = asyncio.get_running_loop().create_future()
    workers.submit(lambda: None, lambda done: checked.set_result(None))  # runs after the OPER's check
    release.set()
    await asyncio.wait_for(checked, 10)
    assert workers.pending == 0  # the check ended, and its answer was thrown away
    assert not [m for m in await sync(watcher) if m.command == "NOTICE"]  # no "leaver is now an operator"
    assert oper_server.state.find_user("leaver") is None
    assert oper_server.state.mode_counts["o"] == 1
    assert [c.nick for c in oper_server.services.notices.watchers] == ["watcher"]


class Watched(WorkerPool):
    """A worker pool that tells when a client's work has been handed to it."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.offloaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def offload(self, *args: Any) -> bool:
        taken = super().offload(*args)
        if taken and not self.offloaded.done():
            self.offloaded.set_result(None)
        return taken


def reset(client: LineClient) -> None:
    """Drop the connection at once (RST), as a crashed client or a lost network does."""
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.writer.transport.abort()


# -- guessing ----------------------------------------------------------------------------


async def test_a_connection_that_keeps_failing_oper_is_refused_then_closed_and_each_failure_logged(
    make_oper_server, caplog, clients
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    server = await make_oper_server("accounts.login_failures=2")
    guesser = await connected(server, "guesser")
    for attempt in ("one", "two"):
        guesser.send(f"OPER admin {attempt}")
        assert (await guesser.expect("464")).params == ["guesser", "Password incorrect"]
    hashed = server.workers.pending
    guesser.send("OPER admin operpass")  # right, but refused unchecked: it failed twice already
    refusal = await guesser.expect("464")
    assert refusal.params[1].startswith("Too many failed attempts; try again in ")
    assert server.workers.pending == hashed
    guesser.send("OPER admin operpass")  # still trying: closed
    await guesser.expect("464")
    lines = await guesser.closed()
    assert lines == ["ERROR :Closing Link: 127.0.0.1 (Too many failed OPER attempts)"], lines
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("failed OPER")]
    who = "guesser!~u@127.0.0.1 [127.0.0.1]"
    assert logged == [f"failed OPER attempt by {who}: wrong name or password"] * 2 + [
        f"failed OPER attempt by {who}: refused, too many failed attempts"
    ] * 2
    assert not any("one" in line or "two" in line or "operpass" in line for line in logged)  # never a password


async def test_an_address_that_failed_too_often_is_refused_unchecked_until_its_window_passes(
    make_oper_server, clients
) -> None:
    server = await make_oper_server("accounts.login_failures=2", "accounts.login_window=60")
    guesser = await connected(server, "guesser")
    other = await connected(server, "other")  # the same address, another connection
    clients += [guesser, other]
    for attempt in ("one", "two"):
        guesser.send(f"OPER admin {attempt}")
        await guesser.expect("464")
    hashed = server.workers.pending
    other.send("OPER admin operpass")  # the right password, refused all the same
    refusal = await other.expect("464")
    assert refusal.params[1].startswith("Too many failed attempts; try again in ")
    assert server.workers.pending == hashed  # nothing was checked
    assert "381" not in commands(await sync(other))
    now = server.clock()
    server.clock = lambda: now + 61  # the window has passed
    await oper_up(other)


async def test_a_flood_of_opers_is_refused_past_the_work_queue_not_queued(oper_server, clients) -> None:
    workers = oper_server.workers = WorkerPool(1, max_pending=2)
    release = threading.Event()
    workers.submit(release.wait, lambda done: None)  # the one worker is busy
    guessers = [await connected(oper_server, f"guesser{i}") for i in range(5)]
    clients += guessers
    for guesser in guessers:
        guesser.send("OPER admin wrong")
    answers = []
    for guesser in guessers[2:]:  # past the queue's two places: answered at once, not queued
        reply = await guesser.expect(lambda m: m.command.isdigit())
        answers.append((reply.command, reply.params[1]))
    assert answers == [("263", "OPER")] * 3
    assert workers.pending == 2
    release.set()
    for guesser in guessers[:2]:  # the two queued ones are checked in turn
        assert (await guesser.expect(lambda m: m.command.isdigit())).command == "464"


async def test_labeled_oper_gets_its_reply_labeled_though_it_comes_later(oper_server, clients) -> None:
    alice = await LineClient.connect(oper_server)
    clients.append(alice)
    alice.send("CAP REQ :labeled-response batch")
    alice.send("CAP END")
    await alice.register("alice")
    alice.send("@label=op1 OPER admin operpass")
    opening = await alice.expect("BATCH")
    assert opening.tags.get("label") == "op1" and opening.params[1] == "labeled-response"
    inside = await alice.collect_until("BATCH")
    assert commands(inside) == ["381", "MODE", "BATCH"]


# -- user modes ------------------------------------------------------------------------


async def test_plus_o_from_the_user_itself_is_ignored(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +o")
    assert [m.command for m in await sync(alice)] == []
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+"]


async def test_minus_o_drops_operator_status_and_server_notices(oper_server, clients) -> None:
    alice = await an_oper(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +sw")
    await alice.expect("MODE", "alice", "+sw")
    alice.send("MODE alice -o")
    assert (await alice.expect("MODE", "alice")).params == ["alice", "-os"]
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+w"]
    alice.send("WALLOPS :still there?")
    await alice.expect("481")


async def test_plus_s_is_for_operators_only(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +si")
    assert (await alice.expect("MODE", "alice")).params == ["alice", "+i"]


async def test_unknown_user_mode_is_501_and_known_ones_still_apply(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +wZ")
    reply = await alice.collect_until("MODE")
    assert commands(reply) == ["501", "MODE"]
    assert reply[1].params == ["alice", "+w"]


async def test_operator_shows_in_whois_who_and_userhost(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#ops")
    bob = await connected(oper_server, "bob", "#ops")
    clients.extend([ircop, bob])
    bob.send("WHOIS ircop")
    whois = await bob.collect_until("318")
    assert ["bob", "ircop", "is an IRC operator"] in [m.params for m in whois if m.command == "313"]
    assert "379" not in commands(whois)  # modes are shown to oneself and operators only
    bob.send("WHO #ops")
    flags = {m.params[5]: m.params[6] for m in await bob.collect_until("315") if m.command == "352"}
    assert flags == {"ircop": "H*@", "bob": "H"}
    bob.send("USERHOST ircop bob")
    assert (await bob.expect("302")).params[1] == "ircop*=+~u@127.0.0.1 bob=+~u@127.0.0.1"


async def test_whois_shows_address_and_modes_to_operators(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    bob = await connected(oper_server, "bob")
    clients.extend([ircop, bob])
    bob.send("MODE bob +wi")
    await bob.expect("MODE", "bob")
    ircop.send("WHOIS bob")
    seen = {m.command: m.params for m in await ircop.collect_until("318")}
    assert seen["379"] == ["ircop", "bob", "is using modes +iw"]
    assert seen["378"] == ["ircop", "bob", "is connecting from *@127.0.0.1 127.0.0.1"]
    bob.send("WHOIS bob")  # a user sees its own address, not a list of its modes
    own = commands(await bob.collect_until("318"))
    assert "378" in own and "379" not in own


async def test_myinfo_advertises_exactly_the_user_modes_of_the_table(oper_server, clients) -> None:
    alice = await LineClient.connect(oper_server)
    clients.append(alice)
    alice.send("NICK alice")
    alice.send("USER u 0 * :A")
    myinfo = await alice.expect("004")
    assert myinfo.params[3] == USER_MODES
    assert sorted(USER_MODES) == sorted(USER_MODE_TABLE)
    assert myinfo.params[1] == SERVER
