"""Review of channel mode +f (f58e57d): what a hostile client can do with odd rules and
odd messages, whether the kick really stops a flood (lines already sent, NOTICE, CTCP,
STATUSMSG, several targets, multiline), the ban on IPv6 and on a full list, the count
across a PART, the server's KICK in history, and a store from before schema 6."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_channels.common import SERVER, op_sets, room
from tests.helpers import LineClient, commands, connected, sync

SPAM_IP = "127.0.0.77"
PW = "correct-horse"

OUTSIDERS = "+f counts members only: in a -n channel the kicked flooder goes on from outside, unlimited"
SETTER = "the +f ban's 367 names no setter ('*'): apply._channel_modes keeps set_by '' and ignores ev.source"
RESTORE = "a stored rule this version refuses: chanflood.parse raises in apply._channel_restored, no start"


async def from_address(runtime: Runtime, ip: str, nick: str) -> LineClient:
    """A client connecting from `ip` (any 127.x.y.z is the loopback on Linux), registered."""
    host, port = runtime.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(ip, 0), limit=1 << 20)
    client = LineClient(reader, writer)
    await client.register(nick)
    return client


def burst(sender: LineClient, *lines: str) -> None:
    """All `lines` in one write: the server reads them in one batch."""
    sender.send("".join(f"{line}\r\n" for line in lines).encode())


def texts(client: LineClient, command: str = "PRIVMSG") -> list[str]:
    return [m.params[-1] for m in client.received if m.command == command]


# -- does the kick stop the flood ------------------------------------------------------------


async def test_lines_sent_in_the_same_batch_after_the_kick_are_refused(server, clients) -> None:
    op, bystander, spammer = await room(server, clients, "op", "bystander", "spammer")
    await op_sets(op, "MODE #room +f 2:60", bystander, spammer)
    burst(spammer, *(f"PRIVMSG #room :line {i}" for i in range(6)))
    assert (await bystander.expect("KICK")).source == SERVER
    await sync(spammer)
    await sync(bystander)
    assert texts(bystander) == ["line 0", "line 1"]
    refused = [m for m in spammer.received if m.command == "404"]
    assert len(refused) == 3 and all(m.params[1] == "#room" for m in refused)  # +n: lines 3 to 5


async def test_a_flood_kick_stops_the_flood_in_a_channel_open_to_outsiders(server, clients) -> None:
    op, bystander, spammer = await room(server, clients, "op", "bystander", "spammer")
    assert await op_sets(op, "MODE #room -n+f 2:60", bystander, spammer) == ["#room", "-n+f", "2:60"]
    burst(spammer, *(f"PRIVMSG #room :line {i}" for i in range(8)))
    await bystander.expect("KICK")
    await sync(spammer)
    await sync(bystander)
    # InspIRCd counts whoever sends to the channel, member or not: at most 2 more within the window
    assert len(texts(bystander)) <= 4, texts(bystander)


async def test_notice_ctcp_and_statusmsg_count_alike(server, clients) -> None:
    op, spammer = await room(server, clients, "op", "spammer")
    await op_sets(op, "MODE #room +f 3:60", spammer)
    burst(spammer, "NOTICE #room :a notice", "PRIVMSG #room :\x01ACTION waves\x01", "PRIVMSG @#room :to the ops",
          "NOTICE @#room :one too many")  # fmt: skip
    kick = await op.expect("KICK")
    assert kick.params[:2] == ["#room", "spammer"]
    await sync(spammer)
    seen = [m for m in op.received if m.command in ("PRIVMSG", "NOTICE") and m.source.startswith("spammer!")]
    assert [m.params[-1] for m in seen] == ["a notice", "\x01ACTION waves\x01", "to the ops"]
    assert "NOTICE" not in commands(await sync(op))


async def test_several_targets_are_counted_channel_by_channel(server, clients) -> None:
    op, spammer = await room(server, clients, "op", "spammer")
    other = await connected(server, "other", "#other")
    clients.append(other)
    spammer.send("JOIN #other")
    await other.expect("JOIN")
    await op_sets(op, "MODE #room +f 2:60", spammer)
    burst(spammer, *(f"PRIVMSG #room,#other :both {i}" for i in range(3)))
    assert (await op.expect("KICK")).params[1] == "spammer"
    await sync(spammer)
    await sync(other)
    assert texts(other) == ["both 0", "both 1", "both 2"]  # #other has no rule: all three
    assert texts(op) == ["both 0", "both 1"]


async def test_a_multiline_message_counts_its_lines_and_is_held_back_whole(server, clients) -> None:
    caps = ("batch", "draft/multiline", "message-tags")
    op = await capped(server, "op", *caps, channels=("#room",))
    spammer = await capped(server, "spammer", *caps, channels=("#room",))
    clients.extend([op, spammer])
    await op.expect("JOIN")
    await op_sets(op, "MODE #room +f 3:60", spammer)
    for ref, count in (("a", 2), ("b", 2)):
        burst(spammer, f"BATCH +{ref} draft/multiline #room",
              *(f"@batch={ref} PRIVMSG #room :{ref}{i}" for i in range(count)), f"BATCH -{ref}")  # fmt: skip
    kick = await op.expect("KICK")
    assert kick.params[1] == "spammer"
    await sync(spammer)
    await sync(op)
    assert texts(op) == ["a0", "a1"]  # the second message would make 4 lines: none of it goes out


async def test_leaving_and_coming_back_does_not_start_the_count_over(server, clients) -> None:
    op, spammer = await room(server, clients, "op", "spammer")
    await op_sets(op, "MODE #room +f 3:3600", spammer)
    burst(spammer, "PRIVMSG #room :one", "PRIVMSG #room :two", "PART #room", "JOIN #room")
    await op.expect("JOIN")
    burst(spammer, "PRIVMSG #room :three", "PRIVMSG #room :four")
    assert (await op.expect("KICK")).params[1] == "spammer"
    await sync(op)
    assert texts(op) == ["one", "two", "three"]


# -- odd rules -------------------------------------------------------------------------------


async def test_odd_rules_are_refused_and_the_last_of_several_wins(server, clients) -> None:
    op, member = await room(server, clients, "op", "member")
    odd = ["３:１０", "٣:10", "1" * 40 + ":1", "1:" + "9" * 40, "*", "*:", ":", "-1:5", "+1:5", "1.5:5", " 1:5",
           "**1:5", "1:5*", "0x10:5", "1e2:5"]  # fmt: skip
    for rule in odd:
        op.send(f"MODE #room +f :{rule}")
    got = await sync(op)
    assert commands(got) == ["696"] * len(odd), got
    assert [m.params[3] for m in got] == ["*" if " " in r or r[0] == ":" else r for r in odd]  # as middle params
    assert await op_sets(op, "MODE #room +ff 3:10 *1:1", member) == ["#room", "+ff", "3:10", "*1:1"]
    op.send("MODE #room")
    assert (await op.expect("324")).params[2:] == ["+ntf", "*1:1"]
    assert await op_sets(op, "MODE #room -f+l 7", member) == ["#room", "-f+l", "7"]  # -f takes no argument
    assert await op_sets(op, "MODE #room +f-f 100:3600", member) == ["#room", "+f-f", "100:3600"]
    op.send("MODE #room")
    assert (await op.expect("324")).params[2:] == ["+ntl", "7"]
    member.send("PRIVMSG #room :still here")
    await op.expect("PRIVMSG", "#room", "still here")


# -- the ban -----------------------------------------------------------------------------


async def test_an_ipv6_flooder_is_banned_by_a_mask_that_keeps_it_out(make_server, clients) -> None:
    server = await make_server("listen.irc=['[::1]:0']")
    host, port = server.irc_address()
    op = await LineClient.connect_to(host, port)
    spammer = await LineClient.connect_to(host, port)
    clients.extend([op, spammer])
    await op.register("op")
    await op.join("#room")
    await spammer.register("spammer")
    await spammer.join("#room")
    await op.expect("JOIN")
    await op_sets(op, "MODE #room +f *1:60", spammer)
    burst(spammer, "PRIVMSG #room :one", "PRIVMSG #room :two")
    ban = await op.expect("MODE")
    assert ban.params[1:3] == ["+b", "*!*@::/64"]  # ::1's /64, a middle parameter all the same
    await op.expect("KICK")
    spammer.send("JOIN #room")
    assert (await spammer.expect("474")).params[1] == "#room"


async def test_with_the_ban_list_full_the_flooder_is_still_kicked_and_kept_out(make_server, clients) -> None:
    server = await make_server("limits.max_list_entries=2")
    op, bystander = await room(server, clients, "op", "bystander")
    spammer = await from_address(server, SPAM_IP, "spammer")
    clients.append(spammer)
    await spammer.join("#room")
    await op.expect("JOIN")
    await op_sets(op, "MODE #room +bbf *!*@a *!*@b *2:60", bystander, spammer)
    burst(spammer, *(f"PRIVMSG #room :line {i}" for i in range(3)))
    assert (await bystander.expect("MODE")).params == ["#room", "+b", f"*!*@{SPAM_IP}"]
    assert (await bystander.expect("KICK")).params[1] == "spammer"
    spammer.send("JOIN #room")
    assert (await spammer.expect("474")).params[1] == "#room"
    bystander.send("PRIVMSG #room :the rest still talk")
    await op.expect("PRIVMSG", "#room", "the rest still talk")


async def test_the_ban_list_names_the_server_as_the_setter_of_a_flood_ban(server, clients) -> None:
    op = await connected(server, "op", "#room")
    spammer = await from_address(server, SPAM_IP, "spammer")
    clients.extend([op, spammer])
    await spammer.join("#room")
    await op_sets(op, "MODE #room +f *1:60", spammer)
    burst(spammer, "PRIVMSG #room :one", "PRIVMSG #room :two")
    await op.expect("KICK")
    op.send("MODE #room b")
    entry = await op.expect("367")
    assert entry.params[2:4] == [f"*!*@{SPAM_IP}", SERVER], entry


async def test_an_exempt_flooder_is_kicked_but_may_come_back(server, clients) -> None:
    op = await connected(server, "op", "#room")
    spammer = await from_address(server, SPAM_IP, "spammer")
    clients.extend([op, spammer])
    await spammer.join("#room")
    await op_sets(op, f"MODE #room +ef *!*@{SPAM_IP} *1:60", spammer)
    burst(spammer, "PRIVMSG #room :one", "PRIVMSG #room :two")
    await op.expect("KICK")
    await spammer.join("#room")  # the exception outweighs the server's ban


# -- history and the store -------------------------------------------------------------------


async def test_the_servers_kick_and_ban_are_replayed_from_the_server(server, clients) -> None:
    playback = ("draft/chathistory", "batch", "server-time", "message-tags", "draft/event-playback")
    op = await capped(server, "op", *playback, channels=("#room",))
    spammer = await from_address(server, SPAM_IP, "spammer")
    clients.extend([op, spammer])
    await spammer.join("#room")
    await op_sets(op, "MODE #room +f *1:60", spammer)
    burst(spammer, "PRIVMSG #room :one", "PRIVMSG #room :two")
    live = await op.expect("KICK")
    op.send("CHATHISTORY LATEST #room * 10")
    opening = await op.expect("BATCH")
    closing = "-" + opening.params[0][1:]
    replayed = await op.collect_until(lambda m: m.command == "BATCH" and m.params[0] == closing)
    got = [m for m in replayed if m.command in ("MODE", "KICK")]
    assert [(m.command, m.source, m.params) for m in got][-2:] == [
        ("MODE", SERVER, ["#room", "+b", f"*!*@{SPAM_IP}"]),
        ("KICK", SERVER, live.params),
    ]
    assert got[-1].tags.get("msgid") == live.tags.get("msgid")


async def registered_channel(make_server, db: Path, *modes: str) -> None:
    """A store at `db` holding account alice and her registered #keep, with `modes` set."""
    server = await make_server(f"store.db='{db}'")
    alice = await registered_account(server, "alice", PW, "#keep")
    alice.send("PRIVMSG ChanServ :REGISTER #keep")
    await alice.expect(lambda m: m.command == "NOTICE" and m.source.startswith("ChanServ!"))
    for line in modes:
        alice.send(line)
        await alice.expect("MODE")
    await alice.close()
    await server.stop()


async def modes_of_keep(server: Runtime, clients: list[LineClient]) -> list[str]:
    """What alice, identified, sees of #keep's modes after joining it."""
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send(f"PRIVMSG NickServ :IDENTIFY {PW}")
    await alice.expect("900")
    await alice.join("#keep")
    alice.send("MODE #keep")
    return (await alice.expect("324")).params[2:]


async def test_a_registered_channel_from_a_schema_5_store_comes_back_and_then_keeps_its_rule(
    make_server, clients, tmp_path
) -> None:
    db = tmp_path / "hubbub.db"
    await registered_channel(make_server, db, "MODE #keep +l 9")
    with sqlite3.connect(db) as conn:  # as hubbub before f58e57d left it
        conn.execute("ALTER TABLE channels DROP COLUMN flood")
        conn.execute("ALTER TABLE channels DROP COLUMN join_flood")  # schema 7's, after
        conn.execute("DROP TABLE departures")  # schema 9's, after
        conn.execute("DROP TABLE live_channels")  # schema 10's
        conn.execute("ALTER TABLE accounts DROP COLUMN vhost")  # schema 13's
        conn.execute("DELETE FROM schema_version WHERE version >= 6")
    conn.close()
    again = await make_server(f"store.db='{db}'")
    assert await modes_of_keep(again, clients) == ["+ntl", "9"]
    clients[-1].send("MODE #keep +f *4:20")
    await clients[-1].expect("MODE")
    await sync(clients[-1])
    await again.stop()
    third = await make_server(f"store.db='{db}'")
    assert await modes_of_keep(third, clients) == ["+ntfl", "*4:20", "9"]


async def test_a_stored_rule_this_version_would_refuse_does_not_stop_the_server_starting(
    make_server, clients, tmp_path
) -> None:
    db = tmp_path / "hubbub.db"
    await registered_channel(make_server, db, "MODE #keep +f 5:10")
    with sqlite3.connect(db) as conn:  # as a hubbub with wider bounds (or a hand) could leave it
        conn.execute("UPDATE channels SET flood = '*500:10' WHERE key = '#keep'")
    conn.close()
    again = await make_server(f"store.db='{db}'")
    modes = await modes_of_keep(again, clients)
    assert modes[0].startswith("+nt"), modes  # the channel is back, whatever becomes of the odd rule
