"""Transcripts of channel mode +f: a member who sends more than the rule allows is kicked
by the server (and banned first with `*`); halfops and above are not counted."""

from __future__ import annotations

from tests.e2e_channels.common import SERVER, op_sets, room
from tests.helpers import LineClient, commands, isupport_tokens, sync


async def flood(sender: LineClient, count: int, channel: str = "#room") -> None:
    for i in range(count):
        sender.send(f"PRIVMSG {channel} :line {i}")


async def test_a_member_past_the_rule_is_kicked_by_the_server(server, clients) -> None:
    op, bystander, spammer = await room(server, clients, "op", "bystander", "spammer")
    assert await op_sets(op, "MODE #room +f 3:10", bystander, spammer) == ["#room", "+f", "3:10"]
    await flood(spammer, 5)
    kick = await bystander.expect("KICK")
    assert kick.source == SERVER
    assert kick.params == ["#room", "spammer", "Channel flood triggered (3 lines in 10 seconds)"]
    seen = await sync(bystander)
    said = [m.params[-1] for m in bystander.received if m.command == "PRIVMSG"]
    assert said == ["line 0", "line 1", "line 2"], said  # the fourth is not relayed, nor what follows
    assert "KICK" not in commands(seen)  # once
    assert (await spammer.expect("KICK")).params[1] == "spammer"
    spammer.send("JOIN #room")  # no ban without *: it may come back
    await spammer.expect("366")


async def test_with_a_star_the_flooder_is_banned_too(server, clients) -> None:
    op, bystander, spammer = await room(server, clients, "op", "bystander", "spammer")
    await op_sets(op, "MODE #room +f *2:60", bystander, spammer)
    await flood(spammer, 3)
    ban = await bystander.expect("MODE")
    assert ban.source == SERVER and ban.params == ["#room", "+b", "*!*@127.0.0.1"]
    assert (await bystander.expect("KICK")).params[1] == "spammer"
    spammer.send("JOIN #room")
    assert (await spammer.expect("474")).params[1] == "#room"


async def test_halfops_and_ops_are_not_counted_and_the_window_starts_over(server, clients) -> None:
    op, half, member = await room(server, clients, "op", "half", "member")
    await op_sets(op, "MODE #room +h half", half, member)
    await op_sets(op, "MODE #room +f 2:1", half, member)
    await flood(op, 5)
    await flood(half, 5)
    seen = await sync(member)
    assert "KICK" not in commands(seen) and len([m for m in seen if m.command == "PRIVMSG"]) == 10
    member.send("PRIVMSG #room :one")
    member.send("PRIVMSG #room :two")
    await op.expect("PRIVMSG", "#room", "two")
    await op_sets(op, "MODE #room -f", half, member)  # a new rule counts afresh
    await op_sets(op, "MODE #room +f 2:3600", half, member)
    member.send("PRIVMSG #room :three")
    member.send("PRIVMSG #room :four")
    await op.expect("PRIVMSG", "#room", "four")
    member.send("PRIVMSG #room :five")
    assert (await op.expect("KICK")).params[1] == "member"


async def test_the_rule_is_shown_checked_and_removed(server, clients) -> None:
    op, member = await room(server, clients, "op", "member")
    assert "f" in isupport_tokens(op.received)["CHANMODES"].split(",")[2]  # a parameter when set
    for bad in ("0:10", "3:0", "abc", "3", "101:10", "*3:99999", "3:10:2"):
        op.send(f"MODE #room +f {bad}")
        refused = await op.expect("696")
        assert refused.params[1:4] == ["#room", "f", bad], refused
    assert await op_sets(op, "MODE #room +f *05:010", member) == ["#room", "+f", "*5:10"]  # as the rule reads
    op.send("MODE #room")
    assert (await op.expect("324")).params[2:] == ["+ntf", "*5:10"]
    member.send("MODE #room -f")
    assert (await member.expect("482")).params[1] == "#room"
    assert await op_sets(op, "MODE #room -f", member) == ["#room", "-f"]
    op.send("MODE #room")
    assert (await op.expect("324")).params[2:] == ["+nt"]


async def test_after_the_kick_the_rest_of_the_window_is_refused_even_after_a_rejoin(server, clients) -> None:
    op, bystander, spammer = await room(server, clients, "op", "bystander", "spammer")
    await op_sets(op, "MODE #room +f 2:3600", bystander, spammer)
    await flood(spammer, 3)
    assert (await bystander.expect("KICK")).params[1] == "spammer"
    spammer.send("JOIN #room")  # no ban: back in at once
    await spammer.expect("366")
    spammer.send("PRIVMSG #room :I am back")
    refused = await spammer.expect("404")
    assert refused.params[1] == "#room" and refused.params[2].startswith("Cannot send to channel (+f: flood, wait ")
    seen = await sync(bystander)
    assert [m.params[-1] for m in seen if m.command == "PRIVMSG"] == []
    assert "KICK" not in commands(seen)  # refused, not kicked again


async def test_a_tagmsg_weighs_a_fifth_of_a_line(server, clients) -> None:
    """Typing notifications do not bring someone near the rule; a flood of TAGMSGs does
    (InspIRCd's default weights: a line 1, a TAGMSG 0.2)."""
    op, bystander, typist = await room(server, clients, "op", "bystander", "typist")
    for client in (bystander, typist):
        client.send("CAP REQ :message-tags")
        await client.expect("CAP")
    await op_sets(op, "MODE #room +f 2:3600", bystander, typist)
    for state in ("active", "paused", "active", "paused", "done"):  # 5 × 0.2: one line's worth
        typist.send(f"@+typing={state} TAGMSG #room")
    typist.send("PRIVMSG #room :one line")  # 2 in all: within the rule
    await bystander.expect("PRIVMSG", "#room", "one line")
    assert [m.tags.get("+typing") for m in bystander.received if m.command == "TAGMSG"] == [
        "active", "paused", "active", "paused", "done"]  # fmt: skip
    typist.send("@+typing=active TAGMSG #room")  # 2.2: past it
    kick = await bystander.expect("KICK")
    assert kick.params[1:] == ["typist", "Channel flood triggered (2 lines in 3600 seconds)"]
    seen = await sync(bystander)
    assert "TAGMSG" not in commands(seen)  # the TAGMSG past the rule is not relayed
