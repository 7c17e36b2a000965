"""SILENCE, the server-side ignore, over real sockets (docs/ircv3.md, "SILENCE").

The silenced are `mallory` (from 127.0.0.2 where a test needs another address, any
127.x.y.z being this machine on Linux); `carol` stands for everyone else, whose
messages still arrive. Absence is proven with `sync`: once a PING sent after the
message comes back, nothing it caused is still on its way.
"""

from __future__ import annotations

from hubbub.irc.message import Message
from tests.e2e.test_cloaks import CLOAK, EXEMPT_LOCAL, host_in, registered_from
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_caps.test_ircv3_round2 import send_batch
from tests.helpers import LineClient, connected, isupport_tokens, sync

ME = "alice!~u@127.0.0.1"
SILENCED_KINDS = ("PRIVMSG", "NOTICE", "TAGMSG", "INVITE", "BATCH")


async def silence(client: LineClient, mask: str) -> Message:
    """`SILENCE <mask>`; its confirmation."""
    client.send(f"SILENCE {mask}")
    return await client.expect("SILENCE")


async def silence_list(client: LineClient) -> list[list[str]]:
    client.send("SILENCE")
    return [m.params for m in await client.collect_until("272")]


def from_whom(messages: list[Message], nick: str) -> list[Message]:
    return [m for m in messages if m.command in SILENCED_KINDS and (m.source or "").startswith(nick + "!")]


async def test_silence_adds_lists_and_removes_masks(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    assert isupport_tokens(alice.received)["SILENCE"] == "32"  # limits.silence, InspIRCd's default
    assert await silence_list(alice) == [["alice", "End of Silence List"]]

    added = await silence(alice, "+mallory")  # a nick alone is completed, as channel bans are
    assert (added.source, added.params) == (ME, ["+mallory!*@*"])
    assert (await silence(alice, "*@203.0.113.*")).params == ["+*!*@203.0.113.*"]  # a bare mask adds
    assert (await silence(alice, "+a:Mallory")).params == ["+a:Mallory"]
    alice.send("SILENCE +MALLORY")  # the same entry spelt otherwise: nothing changes, nothing said
    assert not [m for m in await sync(alice) if m.command == "SILENCE"]
    assert await silence_list(alice) == [
        ["alice", "alice", "mallory!*@*"],
        ["alice", "alice", "*!*@203.0.113.*"],
        ["alice", "alice", "a:Mallory"],
        ["alice", "End of Silence List"],
    ]

    assert (await silence(alice, "-Mallory")).params == ["-mallory!*@*"]
    alice.send("SILENCE -nobody")
    refused = await alice.expect("FAIL")
    assert refused.params == ["SILENCE", "NO_SUCH_ENTRY", "nobody!*@*", "That mask is not on your silence list"]
    assert [row[2] for row in (await silence_list(alice))[:-1]] == ["*!*@203.0.113.*", "a:Mallory"]


async def test_past_the_limit_511_and_the_list_is_unchanged(make_server, clients) -> None:
    server = await make_server("limits.silence=2")
    alice = await connected(server, "alice")
    clients.append(alice)
    assert isupport_tokens(alice.received)["SILENCE"] == "2"
    await silence(alice, "+one")
    await silence(alice, "+two")
    alice.send("SILENCE +three")
    full = await alice.expect("511")
    assert full.params == ["alice", "three!*@*", "Your silence list is full"]
    assert [row[2] for row in (await silence_list(alice))[:-1]] == ["one!*@*", "two!*@*"]
    await silence(alice, "-one")  # room again
    assert (await silence(alice, "+three")).params == ["+three!*@*"]


async def test_silenced_private_messages_invites_and_typing_never_arrive(server, clients) -> None:
    caps = ("message-tags", "batch", "draft/multiline", "echo-message")
    alice = await capped(server, "alice", *caps)
    mallory = await capped(server, "mallory", *caps, channels=("#den",))
    carol = await capped(server, "carol", *caps, channels=("#cafe",))
    clients.extend([alice, mallory, carol])
    await silence(alice, "+mallory")
    start = len(mallory.received)

    for sender, room in ((mallory, "#den"), (carol, "#cafe")):
        sender.send(f"PRIVMSG alice :hello from {sender.nick}")
        sender.send(f"NOTICE alice :notice from {sender.nick}")
        sender.send("@+typing=active TAGMSG alice")
        send_batch(sender, "alice", "two lines", "from " + sender.nick, ref=sender.nick)
        sender.send(f"INVITE alice {room}")
        await sender.expect("341")  # the inviter is told as usual
    got = await sync(alice)
    assert from_whom(got, "mallory") == []
    heard = from_whom(got, "carol")
    assert [m.command for m in heard if m.command != "BATCH"] == [
        "PRIVMSG", "NOTICE", "TAGMSG", "PRIVMSG", "PRIVMSG", "INVITE"
    ]  # fmt: skip
    # the silenced sender is told nothing, and gets its own echoes as usual
    await sync(mallory)
    echoed = mallory.received[start:]
    assert not [m for m in echoed if m.command[0] in "45" or m.command == "FAIL"], echoed
    assert [m.command for m in echoed if m.command in ("PRIVMSG", "NOTICE", "TAGMSG")] == [
        "PRIVMSG", "NOTICE", "TAGMSG", "PRIVMSG", "PRIVMSG"
    ]  # fmt: skip


async def test_a_silenced_sender_still_gets_the_away_reply_and_channels_are_not_filtered(server, clients) -> None:
    alice = await connected(server, "alice", "#c")
    mallory = await connected(server, "mallory", "#c")
    clients.extend([alice, mallory])
    await silence(alice, "+mallory")
    alice.send("AWAY :out")
    await alice.expect("306")
    mallory.send("PRIVMSG alice :are you there")
    away = await mallory.expect("301")  # what anyone gets: nothing tells the silence
    assert away.params == ["mallory", "alice", "out"]
    mallory.send("PRIVMSG #c :said in the channel")
    assert (await alice.expect("PRIVMSG")).params == ["#c", "said in the channel"]
    assert not from_whom(await sync(alice), "mallory")


async def test_masks_match_by_nick_by_host_behind_a_cloak_and_by_account(make_server, clients) -> None:
    server = await make_server(EXEMPT_LOCAL)
    alice = await connected(server, "alice")  # from 127.0.0.1: exempt from cloaking
    mallory = await registered_from(server, clients, "mallory")  # from 127.0.0.2: cloaked
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    welcome = next(m for m in mallory.received if m.command == "001")
    cloaked = host_in(welcome.params[-1].split()[-1])
    assert CLOAK.fullmatch(cloaked)

    async def reaches(sender: LineClient, text: str) -> bool:
        sender.send(f"PRIVMSG alice :{text}")
        await sync(sender)
        return any(m.params[-1] == text for m in await sync(alice) if m.command == "PRIVMSG")

    await silence(alice, "+mallory")  # by nick: a new nick is no longer matched
    assert not await reaches(mallory, "one")
    mallory.send("NICK mal")
    await mallory.expect("NICK")
    assert await reaches(mallory, "two")
    await silence(alice, "-mallory")

    # the host shown (a cloak), and the address under it, as channel bans match them
    for mask in (f"*!*@{cloaked}", "*!*@127.0.0.2", "*!*@127.0.0.2/32"):
        await silence(alice, "+" + mask)
        assert not await reaches(mallory, "mallory " + mask)
        assert await reaches(carol, "carol " + mask)  # from 127.0.0.1
        await silence(alice, "-" + mask)
    assert await reaches(mallory, "mallory unsilenced")


async def test_an_account_mask_follows_the_account_through_nick_changes(server, clients) -> None:
    alice = await connected(server, "alice")
    mallory = await registered_account(server, "mallory")
    clients.extend([alice, mallory])
    await silence(alice, "+a:MALLORY")
    mallory.send("NICK innocent")
    await mallory.expect("NICK")
    mallory.send("PRIVMSG alice :guess who")
    await sync(mallory)
    assert not [m for m in await sync(alice) if m.command == "PRIVMSG"]
    await silence(alice, "-a:mallory")
    mallory.send("PRIVMSG alice :back")
    assert (await alice.expect("PRIVMSG")).params == ["alice", "back"]


async def test_bad_masks_get_a_standard_reply_and_the_connection_stays_usable(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for line in ("SILENCE :", "SILENCE +", "SILENCE -"):
        alice.send(line)
        assert (await alice.expect("461")).params[1:] == ["SILENCE", "Not enough parameters"]
    for mask, shown in (("+" + "x" * 300, "*"), ("+m:bob", "m:bob"), ("+a:bob@host", "a:bob@host"),
                        ("+bob,carol", "bob,carol"), ("+q:bob", "q:bob")):  # fmt: skip
        alice.send(f"SILENCE {mask}")
        refused = await alice.expect("FAIL")
        assert refused.params[:3] == ["SILENCE", "INVALID_MASK", shown], refused
    assert await silence_list(alice) == [["alice", "End of Silence List"]]
    assert (await silence(alice, "+fine")).params == ["+fine!*@*"]
