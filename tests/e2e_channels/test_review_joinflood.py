"""Review of +K (fad44ac), +j joins:seconds (4da9ea4) and the status owed at a login
(14d470f), as someone who runs InspIRCd/ergo/Anope networks would try them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis

from hubbub.client import events as ev
from hubbub.client.state import describe_reply
from tests.client.conftest import make_client  # noqa: F401  (fixture)
from tests.cluster.support import caught_up, digests
from tests.cluster.test_divergence_random_audit import log_paused
from tests.e2e_accounts.confirming import give_channel
from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.e2e_channels.common import SERVER, op_sets, room
from tests.e2e_opers.conftest import make_oper_server, oper_hash, oper_toml  # noqa: F401  (fixtures)
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient, connect_plain, connected, sync

PW = "correct-horse"
FAST_SNAPSHOTS = "cluster.snapshot_interval=0.2"
CS = "ChanServ!ChanServ@services"


async def newcomers(server, clients: list[LineClient], *nicks: str) -> list[LineClient]:
    made = [await connected(server, nick) for nick in nicks]
    clients.extend(made)
    return made


async def joins(client: LineClient, channel: str = "#room") -> str:
    """JOIN and the answer: "366" when in, else the refusal's numeric."""
    client.send(f"JOIN {channel}")
    reply = await client.expect(lambda m: m.command in ("366", "437", "471", "473", "474", "475", "477"))
    return reply.command


async def modes_of(client: LineClient, channel: str = "#room") -> list[str]:
    client.send(f"MODE {channel}")
    return (await client.expect("324")).params[2:]


# -- +j: what counts ---------------------------------------------------------------------


async def test_refused_joins_and_joins_of_members_already_in_do_not_count(server, clients) -> None:
    op, member = await room(server, clients, "op", "member")
    await op_sets(op, "MODE #room +jl 3:3600 3", member)
    for _ in range(3):  # already in: nothing applied, nothing counted
        member.send("JOIN #room")
    await sync(member)
    a, b, c, d = await newcomers(server, clients, "a", "b", "c", "d")
    assert await joins(a) == "366"  # one counted; the room is full now
    assert [await joins(x) for x in (b, c, d)] == ["471"] * 3  # refused: not counted
    await op_sets(op, "MODE #room -l", member)
    assert await joins(b) == "366"  # two counted
    assert not [m for m in await sync(op) if m.command == "NOTICE"]
    assert await joins(c) == "366"  # three: closed by this one
    assert (await op.expect("NOTICE")).params[0] == "#room"
    assert await joins(d) == "437"


# -- +j in MODE lines --------------------------------------------------------------------


async def test_j_among_other_modes_in_one_line_and_minus_j_when_unset(server, clients) -> None:
    op, member = await room(server, clients, "op", "member")
    assert await op_sets(op, "MODE #room +lj-t+K 10 3:60", member) == ["#room", "+lj-t+K", "10", "3:60"]
    assert await modes_of(member) == ["+Knjl", "3:60", "10"]
    op.send("MODE #room +j 3:60")  # the same rule again: nothing changes, nothing said
    assert await op_sets(op, "MODE #room -j", member) == ["#room", "-j"]
    op.send("MODE #room -j")  # not set: nothing to take off
    got = await sync(op)
    assert [m for m in got if m.command == "MODE" or m.command.isdigit()] == [], got
    assert await op_sets(op, "MODE #room +j-l 0005:060", member) == ["#room", "+j-l", "5:60"]
    assert await modes_of(member) == ["+Knj", "5:60"]


async def closed_room(server, clients: list[LineClient], rule: str = "2:60") -> tuple[LineClient, list[LineClient]]:
    """#room (op in it) closed by +j `rule` (joins:...) just now: the joiners that closed it."""
    op, = await room(server, clients, "op")
    await op_sets(op, f"MODE #room +j {rule}")
    count = int(rule.split(":")[0])
    joiners = await newcomers(server, clients, *(f"j{i}" for i in range(count)))
    for joiner in joiners:
        assert await joins(joiner) == "366"
    await op.expect("NOTICE")
    return op, joiners


# -- a closed channel ----------------------------------------------------------------------


async def test_a_renamed_closed_channel_stays_closed_under_its_new_name(server, clients) -> None:
    op, _ = await closed_room(server, clients)
    op.send("RENAME #room #hall :moving")
    await op.expect(lambda m: m.command in ("RENAME", "PART", "JOIN"))
    late, = await newcomers(server, clients, "late")
    late.send("JOIN #hall")
    refused = await late.expect("437")
    assert refused.params[1] == "#hall"
    assert await modes_of(op, "#hall") == ["+ntj", "2:60"]
    assert await joins(late, "#room") == "366"  # the old name is a new, open channel


async def test_a_member_kicked_or_gone_by_join_0_is_refused_like_any_newcomer(server, clients) -> None:
    """As InspIRCd: a member who leaves a closed channel is a newcomer like any other."""
    op, (first, second) = await closed_room(server, clients)
    second.send("JOIN 0")
    await op.expect("PART")
    op.send("KICK #room j0")
    await op.expect("KICK")
    assert await joins(first) == "437"
    assert await joins(second) == "437"


async def test_an_invited_user_and_the_registered_founder_still_come_in_and_a_knock_may_ask(server, clients) -> None:
    founder = await registered_account(server, "alice", PW, "#room")
    clients.append(founder)
    founder.send("PRIVMSG ChanServ :REGISTER #room")
    await founder.expect(lambda m: m.command == "NOTICE" and m.source == CS)
    await founder.expect("MODE", "#room", "+q")
    await op_sets(founder, "MODE #room +j 1:60")
    first, guest, knocker = await newcomers(server, clients, "first", "guest", "knocker")
    assert await joins(first) == "366"
    await founder.expect("NOTICE")
    founder.send("PART #room")
    await founder.expect("PART")
    assert await joins(founder) == "366"  # its founder is never locked out
    founder.send("INVITE guest #room")
    await guest.expect("INVITE")
    assert await joins(guest) == "366"
    knocker.send("KNOCK #room :please")
    await knocker.expect("711")


async def test_joins_let_in_while_closed_do_not_close_it_again(server, clients) -> None:
    """docs/channels.md: "Once the time is over the count starts afresh"."""
    op, _ = await closed_room(server, clients, "1:60")  # one join closes it, for 60 s
    guest, late = await newcomers(server, clients, "guest", "late")
    server.services.set_clock(lambda: time.time() + 30)  # half way
    op.send("INVITE guest #room")
    await guest.expect("INVITE")
    assert await joins(guest) == "366"
    assert [m.params for m in await sync(op) if m.command == "NOTICE"] == []  # it was closed already
    server.services.set_clock(lambda: time.time() + 61)  # the minute since the closing is over
    assert await joins(late) == "366"


async def test_a_clock_stepped_back_does_not_keep_the_channel_closed_longer_than_the_lock(server, clients) -> None:
    await closed_room(server, clients, "1:60")
    late, = await newcomers(server, clients, "late")
    server.services.set_clock(lambda: time.time() - 3600)  # NTP steps the clock back an hour
    late.send("JOIN #room")
    refused = await late.expect(lambda m: m.command in ("366", "437"))
    if refused.command == "437":  # still closed: at most the minute promised
        wait = int(refused.params[2].rsplit(" ", 2)[1])
        assert wait <= 60, refused.params[2]


# -- the plain text mode -------------------------------------------------------------------


async def test_a_plain_user_reads_the_rule_and_the_refusal_in_words(server, clients) -> None:
    op, _ = await closed_room(server, clients, "2:60")
    pat = await connect_plain(server, "pat")
    clients.append(pat)
    pat.send("/join #room")
    line = await pat.expect_text(r"#room")
    assert "try again in" in line and "seconds" in line, line
    pat.send("/mode #room")
    line = await pat.expect_text(r"Modes of #room")
    assert "2 joins in 60 seconds close it to newcomers for a while" in line, line


async def test_a_plain_user_in_several_channels_is_told_which_one_closed(server, clients) -> None:
    op, = await room(server, clients, "op")
    await op_sets(op, "MODE #room +j 2:60")
    pat = await connect_plain(server, "pat")
    clients.append(pat)
    pat.send("/join #room")
    await pat.expect_text(r"^\* You joined #room")
    pat.send("/join #side")  # now talking in #side
    await pat.expect_text(r"^\* You joined #side")
    await op.expect("JOIN")
    joiner, = await newcomers(server, clients, "joiner")
    assert await joins(joiner) == "366"  # pat's and this one: two
    line = await pat.expect_text(r"closed to new joins")
    assert "#room" in line, line


# -- limits.join_lock ----------------------------------------------------------------------


async def test_rehash_of_join_lock_applies_to_the_next_closing(make_oper_server, oper_hash, clients) -> None:  # noqa: F811
    server = await make_oper_server(toml=oper_toml(oper_hash) + "[limits]\njoin_lock = 60\n")
    ircop = await an_oper(server, "ircop", "#room")
    clients.append(ircop)
    await op_sets(ircop, "MODE #room +j 1:1")
    Path(server.config_name).write_text(oper_toml(oper_hash) + "[limits]\njoin_lock = 5\n", encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "*** Configuration reloaded")
    first, late = await newcomers(server, clients, "first", "late")
    assert await joins(first) == "366"
    notice = await ircop.expect("NOTICE", "#room")
    assert notice.source == SERVER
    assert notice.params[1].startswith("This channel is closed to new joins for 5 seconds"), notice.params
    late.send("JOIN #room")
    assert (await late.expect("437")).params[2].endswith("try again in 5 seconds")


# -- a registered +j channel and the store -------------------------------------------------


async def identified(server, clients: list[LineClient], nick: str) -> LineClient:
    client = await connected(server, nick)
    clients.append(client)
    client.send(f"PRIVMSG NickServ :IDENTIFY {PW}")
    await client.expect("900")
    return client


async def test_a_registered_channel_keeps_its_rule_across_a_restart_and_counts_afresh(make_server, clients, db) -> None:
    server = await make_server(f"store.db='{db}'")
    alice = await registered_account(server, "alice", PW, "#keep")
    alice.send("PRIVMSG ChanServ :REGISTER #keep")
    await alice.expect("MODE", "#keep", "+q")
    await op_sets(alice, "MODE #keep +j 2:60")
    one, = await newcomers(server, clients, "one")
    assert await joins(one, "#keep") == "366"  # one counted before the restart
    await sync(alice)
    await alice.close()
    await server.stop()
    again = await make_server(f"store.db='{db}'")
    alice = await identified(again, clients, "alice")
    assert await joins(alice, "#keep") == "366"  # the founder's join counts: one
    assert await modes_of(alice, "#keep") == ["+ntj", "2:60"]
    bob, carol = await newcomers(again, clients, "bob", "carol")
    assert await joins(bob, "#keep") == "366"  # two: closed now
    await alice.expect("NOTICE", "#keep")
    assert await joins(carol, "#keep") == "437"


# -- a cluster -----------------------------------------------------------------------------


async def two_nodes(make_oper_server, redis_server, *overrides: str):  # noqa: F811
    """Two nodes of one network, in this process, on the session's redis-server."""
    keyspace = f"t{uuid.uuid4().hex[:12]}"
    sets = (f"cluster.url='{redis_server.url}'", f"cluster.keyspace='{keyspace}'", *overrides)
    one = await make_oper_server(*sets, "server.name='one.test'")
    return one, await make_oper_server(*sets, "server.name='two.test'")


async def names(client: LineClient, channel: str = "#room") -> list[str]:
    client.send(f"NAMES {channel}")
    return [n for m in await client.collect_until("366") if m.command == "353" for n in m.params[-1].split()]


async def snapshot_holds(url: str, keyspace: str, check) -> None:  # type: ignore[no-untyped-def]
    """Wait until the network's snapshot in Redis satisfies `check(state)`."""
    r = aioredis.from_url(url)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            blob = await r.get(f"{keyspace}:snapshot")
            if blob is not None and check(json.loads(blob)["state"]):
                return
            assert loop.time() < deadline, "no snapshot holding the expected state"
            await asyncio.sleep(0.05)
    finally:
        await r.aclose()


async def test_a_join_flood_from_two_nodes_closes_the_channel_at_the_same_join_everywhere(
    make_oper_server, redis_server, clients  # noqa: F811
) -> None:
    one, two = await two_nodes(make_oper_server, redis_server, FAST_SNAPSHOTS)
    op = await an_oper(one, "op", "#room")
    watcher = await connected(two, "watcher", "#room")
    clients.extend([op, watcher])
    await op_sets(op, "MODE #room +j 3:60")
    await watcher.expect("MODE", "#room", "+j")
    bots = [await connected(node, f"bot{i}{n}") for i in range(4) for n, node in enumerate((one, two))]
    clients.extend(bots)
    for bot in bots:
        await caught_up(bot)
    for bot in bots:  # all at once, from both nodes
        bot.send("JOIN #room")
    answers = await asyncio.gather(*(bot.expect(lambda m: m.command in ("366", "437")) for bot in bots))
    assert sorted(a.command for a in answers) == ["366"] * 3 + ["437"] * 5
    for client in (op, watcher):
        await caught_up(client)
    in_one, in_two = await names(op), await names(watcher)
    assert in_one == in_two and len(in_one) == 5, (in_one, in_two)
    said = [[m.params for m in c.received if m.command == "NOTICE" and m.params[0] == "#room"] for c in (op, watcher)]
    assert said[0] == said[1] and len(said[0]) == 1, said
    found = await digests(op, 2)
    assert len(set(found.values())) == 1, found
    # a node that joins now starts from a snapshot: the channel is closed there too
    keyspace = one.config.cluster.keyspace

    def closed(state) -> bool:  # type: ignore[no-untyped-def]
        return any(c["name"] == "#room" and c["join_closed"][1] > 0 for c in state["channels"])

    await snapshot_holds(redis_server.url, keyspace, closed)
    three = await make_oper_server(f"cluster.url='{redis_server.url}'", f"cluster.keyspace='{keyspace}'",
                                   FAST_SNAPSHOTS, "server.name='three.test'")  # fmt: skip
    late = await connected(three, "late")
    clients.append(late)
    assert await joins(late) == "437"
    found = await digests(op, 3)
    assert len(set(found.values())) == 1, found


async def test_a_plus_k_first_in_the_log_refuses_a_knock_its_node_let_through(
    make_oper_server, redis_server, clients  # noqa: F811
) -> None:
    one, two = await two_nodes(make_oper_server, redis_server)
    op = await an_oper(one, "op", "#room")
    knocker = await connected(two, "knocker")
    w1, w2 = await connected(one, "w1"), await connected(two, "w2")
    clients.extend([op, knocker, w1, w2])
    await op_sets(op, "MODE #room +i")
    await caught_up(knocker)
    async with log_paused(redis_server.url) as waiting:
        op.send("MODE #room +K")
        await sync(w1)
        await waiting(1)
        knocker.send("KNOCK #room :please")  # its node has not seen +K yet
        await sync(w2)
        await waiting(2)
    assert (await knocker.expect(lambda m: m.command in ("711", "480"))).command == "480"
    await caught_up(op)
    assert not [m for m in await sync(op) if m.command == "710"]


# -- +K ------------------------------------------------------------------------------------


async def test_an_irc_operator_s_knock_is_refused_by_plus_k_too(make_oper_server, clients) -> None:  # noqa: F811
    server = await make_oper_server()
    op, = await room(server, clients, "op")
    await op_sets(op, "MODE #room +iK")
    ircop = await an_oper(server, "ircop")
    clients.append(ircop)
    ircop.send("KNOCK #room")
    assert (await ircop.expect(lambda m: m.command in ("711", "480"))).command == "480"
    await op_sets(op, "MODE #room -i+j 1:60")  # open, then closed by +j: still no knocking
    first, = await newcomers(server, clients, "first")
    assert await joins(first) == "366"
    ircop.send("KNOCK #room")
    assert (await ircop.expect(lambda m: m.command in ("711", "480", "713"))).command == "480"
    assert not [m for m in await sync(op) if m.command == "710"]


# -- the status owed at a login ------------------------------------------------------------


async def founded(server, clients: list[LineClient], channel: str = "#garden") -> LineClient:
    """alice, logged in, founder of `channel`, which she created and is in (+q, +o)."""
    alice = await registered_account(server, "alice", PW, channel)
    clients.append(alice)
    alice.send(f"PRIVMSG ChanServ :REGISTER {channel}")
    await alice.expect("MODE", channel, "+q")
    return alice


async def test_a_sasl_login_before_joining_gives_the_status_once_by_the_join(server, clients) -> None:
    alice = await founded(server, clients)
    watcher = await connected(server, "watcher", "#garden")
    clients.append(watcher)
    alice.send("QUIT")
    await watcher.expect("QUIT")
    again, result = await sasl_plain(server, "alice", "alice", PW)
    clients.append(again)
    assert result == "903"
    await again.join("#garden")
    await sync(again)
    got = [m for m in await sync(watcher) if m.command == "MODE"]
    assert [(m.source, m.params) for m in got] == [(SERVER, ["#garden", "+q", "alice"])]


async def test_an_op_owed_founder_status_is_given_the_q_alone(server, clients) -> None:
    alice = await founded(server, clients)
    ali = await connected(server, "ali", "#garden")  # alice's second device, not logged in yet
    clients.append(ali)
    await alice.expect("JOIN")
    await op_sets(alice, "MODE #garden +o ali", ali)
    ali.send(f"PRIVMSG NickServ :IDENTIFY alice {PW}")
    await ali.expect("900")
    given = await alice.expect("MODE", "#garden")
    assert (given.source, given.params) == (CS, ["#garden", "+q", "ali"])
    assert not [m for m in await sync(alice) if m.command == "MODE"]
    alice.send("CAP REQ multi-prefix")
    await alice.expect("CAP")
    assert sorted(await names(alice, "#garden")) == ["~@ali", "~@alice"]


async def test_after_set_founder_a_login_gives_the_new_founder_q_and_the_old_nothing(server, clients) -> None:
    alice = await founded(server, clients)
    bob = await registered_account(server, "bob", PW)
    clients.append(bob)
    bob.send("QUIT")
    await bob.closed()
    ali = await connected(server, "ali", "#garden")  # alice's other device, not logged in
    bobby = await connected(server, "bobby", "#garden")  # bob, not logged in
    clients.extend([ali, bobby])
    assert await give_channel(alice, "#garden", "bob") == "The founder of #garden is now bob"
    assert (await alice.expect("MODE", "#garden")).params == ["#garden", "-q", "alice"]
    ali.send(f"PRIVMSG NickServ :IDENTIFY alice {PW}")
    await ali.expect("900")
    assert not [m for m in await sync(alice) if m.command == "MODE"]
    bobby.send(f"PRIVMSG NickServ :IDENTIFY bob {PW}")
    await bobby.expect("900")
    given = await alice.expect("MODE", "#garden")
    assert (given.source, given.params) == (CS, ["#garden", "+q", "bobby"])


async def test_in_a_cluster_the_status_owed_is_given_once(make_oper_server, redis_server, clients) -> None:  # noqa: F811
    one, two = await two_nodes(make_oper_server, redis_server)
    alice = await founded(one, clients)
    ircop = await an_oper(one, "ircop", "#garden")
    ali = await connected(two, "ali", "#garden")
    far = await connected(two, "far", "#garden")
    clients.extend([ircop, ali, far])
    for client in (alice, ircop, ali, far):
        await caught_up(client)
    ali.send(f"PRIVMSG NickServ :IDENTIFY alice {PW}")
    await ali.expect("900")
    for watcher in (ircop, far):
        given = await watcher.expect("MODE", "#garden")
        assert (given.source, given.params) == (CS, ["#garden", "+q", "ali"])
    for watcher in (ircop, far):
        await caught_up(watcher)
        assert not [m for m in await sync(watcher) if m.command == "MODE"]
    assert await names(ircop, "#garden") == await names(far, "#garden")
    found = await digests(ircop, 2)
    assert len(set(found.values())) == 1, found


# -- hubbub's own client ---------------------------------------------------------------------


async def test_the_terminal_client_shows_437_and_480_as_errors_about_the_channel_and_keeps_its_nick(
    server, make_client, clients  # noqa: F811
) -> None:
    op, _ = await closed_room(server, clients, "1:60")
    client, events = await make_client(server, "late")
    client.join("#room")
    refused = await events.wait_for(ev.Reply, lambda e: e.code == "437")
    assert refused.is_error and refused.params[0] == "#room"
    text = describe_reply(refused)
    assert text is not None and text.startswith("#room: Cannot join channel (+j)") and "try again in" in text
    await op_sets(op, "MODE #room +K")
    client.send("KNOCK #room")
    knock = await events.wait_for(ev.Reply, lambda e: e.code == "480")
    assert knock.is_error and describe_reply(knock) == "#room: Cannot KNOCK on channel (+K)"
    client.send("WHOIS late")  # the 437 was not taken for a nick refused: no NICK was tried
    assert (await events.wait_for(ev.Reply, lambda e: e.code == "311")).params[0] == "late"
    assert client.nick == "late"


async def joined_once_open(client: LineClient, channel: str = "#room") -> None:
    """JOIN until the channel lets the client in (it is closed for a moment)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while await joins(client, channel) != "366":
        assert loop.time() < deadline, "the channel never opened again"
        await asyncio.sleep(0.05)


async def test_a_node_whose_clock_is_behind_lets_people_in_once_the_network_reopened(
    make_oper_server, redis_server, clients  # noqa: F811
) -> None:
    one, two = await two_nodes(make_oper_server, redis_server, "limits.join_lock=0.5")
    two.services.set_clock(lambda: time.time() - 300)  # five minutes behind
    op = await an_oper(one, "op", "#room")
    clients.append(op)
    await op_sets(op, "MODE #room +j 2:3600")
    first, second, probe = [await connected(one, nick) for nick in ("first", "second", "probe")]
    far = await connected(two, "far")
    clients.extend([first, second, probe, far])
    assert [await joins(first), await joins(second)] == ["366", "366"]  # closed, for half a second
    await joined_once_open(probe)  # open again, for node one: one join counted since
    await caught_up(far)
    far.send("JOIN #room")
    answer = await far.expect(lambda m: m.command in ("366", "437"))
    assert answer.command == "366", answer.params
