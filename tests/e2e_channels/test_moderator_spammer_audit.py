"""A channel moderator against a spammer, as on an InspIRCd or ergo network: bans on the
spammer's address that follow it through nick and ident changes and reconnections, the
mute extban (`m:`, EXTBAN=,am), invitations to and from a banned user, KNOCK, +m and
exceptions, +C and +T on messages to the ops only, a ChanServ helper's halfop and what it
may kick, a mass KICK at the advertised TARGMAX and KICKLEN, and a registered channel's
bans still at work after a restart. What each side sees, numeric by numeric.

What tests/e2e_channels, tests/e2e_accounts and tests/e2e_opers already show (bans on
nicks, mute basics, +e/+I/+i ordering, KICK errors, +R/+M, +C/+T on the channel itself,
the ban list listed after a restart) is not repeated. hubbub has no anti-flood channel
modes (InspIRCd's +f and +j): nothing is written for them here.
"""

from __future__ import annotations

import asyncio

from hubbub.app import Runtime
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_channels.common import room
from tests.helpers import LineClient, commands, connected, isupport_tokens, sync

CS = "ChanServ!ChanServ@services"
PW = "correct-horse"
SPAM_IP = "127.0.0.66"


async def from_address(runtime: Runtime, ip: str, nick: str, user: str = "u") -> LineClient:
    """A client connecting from `ip` (any 127.x.y.z is the loopback on Linux), registered."""
    host, port = runtime.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(ip, 0), limit=1 << 20)
    client = LineClient(reader, writer)
    await client.register(nick, user)
    return client


async def cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def names(client: LineClient, channel: str) -> set[str]:
    client.send(f"NAMES {channel}")
    return {n for m in await client.collect_until("366") if m.command == "353" for n in m.params[-1].split()}


def said(messages) -> list[str]:
    return [m.command for m in messages if m.command in ("PRIVMSG", "NOTICE", "TAGMSG", "NICK", "TOPIC", "BATCH")]


# -- a ban on the spammer's address -----------------------------------------------------------


async def test_host_ban_silences_the_spammer_in_place_and_follows_it_through_nick_and_reconnection(
    server, clients
) -> None:
    op, bystander = await room(server, clients, "op", "bystander", channel="#c")
    spammer = await from_address(server, SPAM_IP, "spammer")
    bot = await from_address(server, SPAM_IP, "bot")  # a trusted bot behind the same address
    clients.extend([spammer, bot])
    for member in (spammer, bot):
        await member.join("#c")
    await sync(op)
    await sync(bystander)
    op.send(f"MODE #c +be *!*@{SPAM_IP} bot!*@*")
    for member in (op, bystander, spammer, bot):
        change = await member.expect("MODE")
        assert change.source == "op!~u@127.0.0.1"
        assert change.params == ["#c", "+be", f"*!*@{SPAM_IP}", "bot!*@*"]
    spammer.send("PRIVMSG #c :buy cheap watches")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot send to channel (you are banned)"]
    spammer.send("NOTICE #c :buy cheap watches")  # dropped without a word (RFC 1459)
    spammer.send("NICK innocent")
    assert (await spammer.expect("435")).params == [
        "spammer", "innocent", "#c", "Cannot change nickname while banned on channel",
    ]  # fmt: skip
    spammer.send("TOPIC #c :visit spam.example")  # +t, as every new channel
    assert (await spammer.expect("482")).params == ["spammer", "#c", "You're not channel operator"]
    assert commands(await sync(spammer)) == []
    bot.send("PRIVMSG #c :the exception keeps me talking")
    assert (await bystander.expect("PRIVMSG")).params == ["#c", "the exception keeps me talking"]
    assert said(await sync(bystander)) == []  # nothing of the spammer's reached the channel
    op.send("KICK #c spammer :spam")
    for member in (op, bystander, spammer):
        assert (await member.expect("KICK")).params == ["#c", "spammer", "spam"]
    spammer.send("JOIN #c")
    assert (await spammer.expect("474")).params == ["spammer", "#c", "Cannot join channel (+b)"]
    spammer.send("PRIVMSG #c :let me back")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot send to channel (no external messages)"]
    op.send("PRIVMSG #c :the spammer no longer reads this")
    await bystander.expect("PRIVMSG")
    assert said(await sync(spammer)) == []
    # outside the channel, a new nick is its own business, but the address is still banned
    spammer.send("NICK innocent")
    await spammer.expect("NICK")
    spammer.send("JOIN #c")
    assert (await spammer.expect("474")).params == ["innocent", "#c", "Cannot join channel (+b)"]
    # and so is a new connection with another nick and another ident
    again = await from_address(server, SPAM_IP, "newcomer", user="otherident")
    clients.append(again)
    again.send("JOIN #c")
    assert (await again.expect("474")).params == ["newcomer", "#c", "Cannot join channel (+b)"]
    neighbour = await from_address(server, "127.0.0.67", "neighbour")  # the next address is not banned
    clients.append(neighbour)
    await neighbour.join("#c")
    seen = await sync(bystander)
    assert [m.source for m in seen if m.command == "JOIN"] == ["neighbour!~u@127.0.0.67"]


# -- the mute extban ------------------------------------------------------------------------------


async def test_mute_extban_is_advertised_and_silences_without_kicking_until_lifted(server, clients) -> None:
    op, bystander = await room(server, clients, "op", "bystander", channel="#c")
    spammer = await from_address(server, SPAM_IP, "spammer")
    clients.append(spammer)
    assert isupport_tokens(spammer.received)["EXTBAN"] == ",am"  # no prefix character; a: and m:
    await spammer.join("#c")
    await sync(op)
    await sync(bystander)
    op.send(f"MODE #c +b m:*!*@{SPAM_IP}")
    assert (await bystander.expect("MODE")).params == ["#c", "+b", f"m:*!*@{SPAM_IP}"]
    await spammer.expect("MODE")
    muted = ["spammer", "#c", "Cannot send to channel (you are muted)"]
    for line in (
        "PRIVMSG #c :buy cheap watches",
        "PRIVMSG #c :\x01ACTION sells watches\x01",
        "PRIVMSG @#c :ops, a deal for you",  # to the ops only: still the channel's speech
        "PRIVMSG +#c :voiced, a deal for you",
    ):
        spammer.send(line)
        assert (await spammer.expect("404")).params == muted, line
    spammer.send("NICK watches")
    assert (await spammer.expect("435")).params[:3] == ["spammer", "watches", "#c"]
    assert said(await sync(op)) == []
    assert said(await sync(bystander)) == []
    assert "spammer" in await names(op, "#c")  # silenced, not kicked: still a member
    bystander.send("PRIVMSG #c :can the spammer read us?")
    assert (await spammer.expect("PRIVMSG")).params == ["#c", "can the spammer read us?"]
    op.send(f"MODE #c -b m:*!*@{SPAM_IP}")
    await spammer.expect("MODE", "#c", "-b")
    spammer.send("PRIVMSG #c :sorry, I will behave")
    assert (await bystander.expect("PRIVMSG")).params == ["#c", "sorry, I will behave"]


async def test_a_mute_on_an_account_either_mutes_it_or_is_refused(server, clients) -> None:
    op = await connected(server, "op", "#c")
    clients.append(op)
    spammer = await registered_account(server, "spammer", PW, "#c")
    clients.append(spammer)
    await sync(op)
    op.send("MODE #c +b m:a:spammer")
    reply = await op.expect(lambda m: m.command in ("MODE", "696"))
    if reply.command == "696":  # refused, as an unknown extban type is: the moderator knows
        return
    spammer.send("PRIVMSG #c :buy cheap watches")
    assert "404" in commands(await sync(spammer)), f"{reply.params} set, yet the account still speaks"
    assert "PRIVMSG" not in commands(await sync(op))


async def test_an_account_mute_silences_the_account_on_any_nick_and_an_account_exception_exempts(
        server, clients) -> None:
    """`m:a:<account mask>`, InspIRCd's stacked extban: the account is muted whatever nick or
    address it uses; `+e m:a:<mask>` exempts an account from mutes; both leave with the account."""
    op = await connected(server, "op", "#c")
    clients.append(op)
    spammer = await registered_account(server, "spammer", PW, "#c")
    helper = await registered_account(server, "spambot", PW, "#c")  # matched by the wildcard, but exempt
    clients.extend([spammer, helper])
    await sync(op)
    op.send("MODE #c +b m:a:SPAM*")
    assert (await op.expect("MODE", "#c")).params[1:] == ["+b", "m:a:SPAM*"]
    op.send("MODE #c +e m:a:spambot")
    await op.expect("MODE", "#c", "+e")
    spammer.send("NICK someone_else")  # no new nick while muted, as with any mute
    assert (await spammer.expect("435")).params[1:3] == ["someone_else", "#c"]
    spammer.send("PRIVMSG #c :buy cheap watches")
    assert (await spammer.expect("404")).params[-1] == "Cannot send to channel (you are muted)"
    helper.send("PRIVMSG #c :exempt and heard")
    assert (await op.expect("PRIVMSG", "#c")).params[1] == "exempt and heard"
    op.send("MODE #c +b m:x:foo")  # a mute of an unknown type: refused, never stored as a mask
    assert (await op.expect("696")).params[2:4] == ["b", "m:x:foo"]
    op.send("MODE #c -b m:a:spam*")
    await op.expect("MODE", "#c", "-b")
    spammer.send("PRIVMSG #c :heard again")
    assert (await op.expect("PRIVMSG", "#c")).params[1] == "heard again"


# -- invitations and KNOCK ------------------------------------------------------------------------


async def test_a_banned_member_cannot_invite_and_an_ops_invitation_lets_it_in_still_silenced(server, clients) -> None:
    op, bystander = await room(server, clients, "op", "bystander", channel="#c")
    spammer = await from_address(server, SPAM_IP, "spammer")
    friend = await connected(server, "friend")
    clients.extend([spammer, friend])
    await spammer.join("#c")
    await sync(op)
    await sync(bystander)
    op.send(f"MODE #c +ib *!*@{SPAM_IP}")
    await spammer.expect("MODE", "#c", "+ib")
    spammer.send("INVITE friend #c")  # a +i channel: halfops and above invite
    assert (await spammer.expect("482")).params == ["spammer", "#c", "You're not channel operator"]
    assert "INVITE" not in commands(await sync(friend))
    op.send("KICK #c spammer")
    await spammer.expect("KICK")
    spammer.send("INVITE friend #c")
    assert (await spammer.expect("442")).params == ["spammer", "#c", "You're not on that channel"]
    spammer.send("JOIN #c")  # the ban is checked before +i
    assert (await spammer.expect("474")).params == ["spammer", "#c", "Cannot join channel (+b)"]
    # the op lets it back in to talk it over: the invitation opens the door, not its mouth
    op.send("INVITE spammer #c")
    assert (await op.expect("341")).params == ["op", "spammer", "#c"]
    await spammer.expect("INVITE")
    await spammer.join("#c")
    spammer.send("PRIVMSG #c :thanks, now buy my watches")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot send to channel (you are banned)"]
    spammer.send("NICK watches")
    assert (await spammer.expect("435")).params[:3] == ["spammer", "watches", "#c"]
    seen = await sync(bystander)
    assert [m.source for m in seen if m.command == "JOIN"] == [f"spammer!~u@{SPAM_IP}"]
    assert said(seen) == []


async def test_a_banned_user_cannot_knock_to_pester_the_ops(server, clients) -> None:
    (op,) = await room(server, clients, "op", channel="#c")
    await sync(op)
    op.send(f"MODE #c +ib *!*@{SPAM_IP}")
    await op.expect("MODE")
    spammer = await from_address(server, SPAM_IP, "spammer")
    clients.append(spammer)
    assert "KNOCK" in isupport_tokens(spammer.received)
    spammer.send("KNOCK #c :let me in")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot KNOCK on channel (+b)"]
    seen = await sync(op)
    assert said(seen) == [] and "710" not in commands(seen)


# -- +m, exceptions and nick changes ------------------------------------------------------------


async def test_under_plus_m_an_exception_is_not_voice_and_nick_changes_stay_free(server, clients) -> None:
    op, bystander, spammer = await room(server, clients, "op", "bystander", "spammer", channel="#c")
    op.send("MODE #c +me spammer")
    assert (await bystander.expect("MODE")).params == ["#c", "+me", "spammer!*@*"]
    spammer.send("PRIVMSG #c :exempt from bans, not from +m")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot send to channel (+m)"]
    bystander.send("PRIVMSG #c :me neither")
    assert (await bystander.expect("404")).params == ["bystander", "#c", "Cannot send to channel (+m)"]
    # +m alone is no ban: nick changes go through (InspIRCd, ergo and solanum agree)
    spammer.send("NICK spammer_")
    assert (await op.expect("NICK")).params == ["spammer_"]
    op.send("MODE #c +v spammer_")
    await spammer.expect("MODE", "#c", "+v", "spammer_")
    spammer.send("PRIVMSG #c :voiced")
    assert (await bystander.expect("PRIVMSG")).params == ["#c", "voiced"]


# -- +C and +T on messages to the ops only, and in multiline batches -------------------------------


async def test_no_ctcp_and_no_notice_also_bind_messages_to_the_ops(server, clients) -> None:
    caps = ("batch", "draft/multiline", "message-tags")
    op = await capped(server, "op", *caps, channels=("#c",))
    bystander = await capped(server, "bystander", *caps, channels=("#c",))
    spammer = await capped(server, "spammer", *caps, channels=("#c",))
    clients.extend([op, bystander, spammer])
    await sync(op)
    await sync(bystander)
    op.send("MODE #c +CT")
    for member in (bystander, spammer):
        await member.expect("MODE", "#c", "+CT")
    spammer.send("PRIVMSG @#c :\x01VERSION\x01")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot send to channel (+C)"]
    spammer.send("NOTICE @#c :ops, click my link")  # +T: dropped without a word
    spammer.send("BATCH +m1 draft/multiline #c")  # a CTCP cut in two by a concat tag
    spammer.send("@batch=m1 PRIVMSG #c :\x01VERS")
    spammer.send("@batch=m1;draft/multiline-concat PRIVMSG #c :ION\x01")
    spammer.send("BATCH -m1")
    assert (await spammer.expect("404")).params == ["spammer", "#c", "Cannot send to channel (+C)"]
    assert commands(await sync(spammer)) == []
    spammer.send("PRIVMSG @#c :\x01ACTION waves at the ops\x01")  # ACTION is /me, not CTCP
    relayed = await op.expect("PRIVMSG")
    assert relayed.params == ["@#c", "\x01ACTION waves at the ops\x01"]
    assert said(await sync(op)) == []
    assert said(await sync(bystander)) == []


# -- ChanServ's helpers ---------------------------------------------------------------------------------


async def test_chanserv_helper_halfop_kicks_the_voiced_and_plain_but_not_ops_or_the_founder(server, clients) -> None:
    alice = await registered_account(server, "alice", PW, "#c")
    helper = await registered_account(server, "helper", PW)
    mod = await registered_account(server, "mod", PW)
    clients.extend([alice, helper, mod])
    assert await cs(alice, "REGISTER #c") == "Channel #c successfully registered"
    await alice.expect("MODE", "#c", "+q", "alice")
    assert await cs(alice, "AMODE #c +h helper") == "Successfully set persistent mode +h on helper"
    assert await cs(alice, "AMODE #c +o mod") == "Successfully set persistent mode +o on mod"
    await helper.join("#c")
    await mod.join("#c")
    spammer = await connected(server, "spammer", "#c")
    troll = await connected(server, "troll", "#c")
    clients.extend([spammer, troll])
    alice.send("MODE #c +v spammer")
    await spammer.expect("MODE", "#c", "+v", "spammer")
    assert await names(alice, "#c") == {"~alice", "%helper", "@mod", "+spammer", "troll"}
    await sync(helper)
    await sync(mod)
    helper.send("KICK #c spammer,troll,mod,alice :" + "x" * 400)
    got = [m for m in await sync(helper) if m.command in ("KICK", "482")]
    assert [(m.command, m.params[:2]) for m in got] == [
        ("KICK", ["#c", "spammer"]),
        ("KICK", ["#c", "troll"]),
        ("482", ["helper", "#c"]),
        ("482", ["helper", "#c"]),
    ]
    assert [len(m.params[2]) for m in got if m.command == "KICK"] == [300, 300]  # cut at KICKLEN, not refused
    assert [m.params[1] for m in await sync(mod) if m.command == "KICK"] == ["spammer", "troll"]
    assert await names(mod, "#c") == {"~alice", "%helper", "@mod"}
    # a halfop sets the ban that keeps the spammer out
    helper.send("MODE #c +b spammer!*@*")
    assert (await mod.expect("MODE")).params == ["#c", "+b", "spammer!*@*"]
    spammer.send("JOIN #c")
    assert (await spammer.expect("474")).params[:2] == ["spammer", "#c"]


async def test_the_channel_is_told_of_the_status_chanserv_gives_a_helper_on_join(server, clients) -> None:
    alice = await registered_account(server, "alice", PW, "#c")
    helper = await registered_account(server, "helper", PW)
    bystander = await connected(server, "bystander", "#c")
    clients.extend([alice, helper, bystander])
    await cs(alice, "REGISTER #c")
    assert await cs(alice, "AMODE #c +h helper") == "Successfully set persistent mode +h on helper"
    await sync(bystander)
    await helper.join("#c")
    seen = await sync(bystander)
    assert [m.source for m in seen if m.command == "JOIN"] == ["helper!~u@127.0.0.1"]
    modes = [m.params for m in seen if m.command == "MODE"]
    assert ["#c", "+h", "helper"] in modes, f"the channel saw {commands(seen)}: no +h for the helper"


# -- a mass KICK at the advertised limits ----------------------------------------------------------------


async def test_mass_kick_takes_the_advertised_targmax_and_cuts_the_reason_at_kicklen(server, clients) -> None:
    nicks = ("op", "s1", "s2", "s3", "s4", "s5", "bystander")
    op, *spammers, bystander = await room(server, clients, *nicks, channel="#c")
    tokens = isupport_tokens(op.received)
    kick_max = int(dict(t.split(":") for t in tokens["TARGMAX"].split(","))["KICK"])
    kicklen = int(tokens["KICKLEN"])
    assert (kick_max, kicklen) == (4, 300)  # the documented defaults
    reason = "0123456789" * 40  # the KICK line stays within 512 bytes
    op.send("KICK #c s1,s2,s3,s4,s5 :" + reason)  # one more than TARGMAX: refused whole, as PRIVMSG's
    errors = [m.params for m in await sync(op) if m.command[0] in "45"]
    assert errors == [["op", "s1,s2,s3,s4,s5", "Too many targets, the limit is 4"]]
    op.send("KICK #c s1,s2,s3,s4 :" + reason)
    assert [m.command for m in await sync(op) if m.command[0] in "45"] == []
    kicks = [m.params for m in await sync(bystander) if m.command == "KICK"]
    assert kicks == [["#c", nick, reason[:kicklen]] for nick in ("s1", "s2", "s3", "s4")]
    for kicked in spammers[:4]:
        await kicked.expect("KICK", "#c", kicked.nick)
    assert await names(bystander, "#c") == {"@op", "s5", "bystander"}


# -- a registered channel's bans after a restart -----------------------------------------------------------


async def test_a_registered_channels_bans_and_mutes_still_bite_after_a_restart(make_server, clients, tmp_path) -> None:
    store = f"store.db='{tmp_path / 'hubbub.db'}'"
    server = await make_server(store)
    alice = await registered_account(server, "alice", PW, "#c")
    clients.append(alice)
    assert await cs(alice, "REGISTER #c") == "Channel #c successfully registered"
    await alice.expect("MODE", "#c", "+q", "alice")
    alice.send(f"MODE #c +bbe *!*@{SPAM_IP} m:*!*@127.0.0.80/30 bot!*@*")
    assert (await alice.expect("MODE")).params == ["#c", "+bbe", f"*!*@{SPAM_IP}", "m:*!*@127.0.0.80/30", "bot!*@*"]
    alice.send("MODE #c be")
    before = [(m.command, m.params[1:]) for m in await alice.collect_until("349")]
    await server.stop()

    again = await make_server(store)
    spammer = await from_address(again, SPAM_IP, "fresh", user="newident")
    bot = await from_address(again, SPAM_IP, "bot")
    quiet = await from_address(again, "127.0.0.81", "quiet")
    clients.extend([spammer, bot, quiet])
    spammer.send("JOIN #c")
    assert (await spammer.expect("474")).params == ["fresh", "#c", "Cannot join channel (+b)"]
    await bot.join("#c")  # excepted
    await quiet.join("#c")  # muted, so let in
    quiet.send("PRIVMSG #c :buy cheap watches")
    assert (await quiet.expect("404")).params == ["quiet", "#c", "Cannot send to channel (you are muted)"]
    quiet.send("NICK loud")
    assert (await quiet.expect("435")).params[:3] == ["quiet", "loud", "#c"]
    quiet.send("MODE #c be")  # the same entries, with who set them and when
    after = [(m.command, m.params[1:]) for m in await quiet.collect_until("349")]
    assert after == before
    assert said(await sync(bot)) == []
    # the founder comes back and lifts the mute
    founder = await connected(again, "alice")
    clients.append(founder)
    founder.send(f"PRIVMSG NickServ :IDENTIFY {PW}")
    await founder.expect("900")
    await founder.join("#c")
    founder.send("MODE #c -b m:*!*@127.0.0.80/30")
    await quiet.expect("MODE", "#c", "-b")
    quiet.send("PRIVMSG #c :I will behave")
    assert (await bot.expect("PRIVMSG")).params == ["#c", "I will behave"]
