"""Channel modes +R (only those logged in to an account join) and +M (only those logged
in speak, below voice): the anti-spam modes of ergo and InspIRCd, over real sockets."""

from __future__ import annotations

from tests.e2e import test_webirc
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import history
from tests.helpers import LOBBY_CREATOR_OP, LineClient, commands, connect_plain, connected, sync


async def _mode(op: LineClient, change: str) -> None:
    op.send(f"MODE #c {change}")
    await op.expect("MODE")


async def test_plus_r_keeps_out_whoever_is_not_logged_in(server, clients) -> None:
    op = await connected(server, "op", "#c")
    guest = await connected(server, "guest")
    member = await registered_account(server, "member")
    clients.extend([op, guest, member])
    await _mode(op, "+R")
    guest.send("JOIN #c")
    refused = await guest.expect("477")
    assert refused.params[1] == "#c" and "+R" in refused.params[2]
    guest.send("PRIVMSG #c :let me in")  # still usable, still outside (+n)
    assert (await guest.expect("404")).params[1] == "#c"
    member.send("JOIN #c")
    assert (await member.expect("366")).params[1] == "#c"
    # an INVITE lets one in, as it does past +i, +k and +l
    op.send("INVITE guest #c")
    await op.expect("341")
    guest.send("JOIN #c")
    assert (await guest.expect("366")).params[1] == "#c"
    await _mode(op, "-R")
    late = await connected(server, "late")
    clients.append(late)
    late.send("JOIN #c")
    assert (await late.expect("366")).params[1] == "#c"


async def test_logging_in_opens_a_plus_r_channel(server, clients) -> None:
    op = await connected(server, "op", "#c")
    alice = await connected(server, "alice")
    clients.extend([op, alice])
    await _mode(op, "+R")
    alice.send("JOIN #c")
    await alice.expect("477")
    alice.send("PRIVMSG NickServ :REGISTER correct-horse")
    await alice.expect("900")
    alice.send("JOIN #c")
    assert (await alice.expect("366")).params[1] == "#c"


async def test_plus_m_lets_only_accounts_and_voices_speak(server, clients) -> None:
    op = await connected(server, "op", "#c")
    guest = await connected(server, "guest", "#c")
    member = await registered_account(server, "member", "correct-horse", "#c")
    clients.extend([op, guest, member])
    await _mode(op, "+M")
    guest.send("PRIVMSG #c :buy cheap watches")
    refused = await guest.expect("404")
    assert refused.params[1] == "#c" and "+M" in refused.params[2]
    guest.send("NOTICE #c :buy cheap watches")  # a NOTICE is dropped without an answer
    guest.send("TAGMSG #c")
    member.send("PRIVMSG #c :a word from an account")
    said = await op.expect("PRIVMSG")
    assert said.source.startswith("member!") and said.params == ["#c", "a word from an account"]
    assert not [m for m in await sync(op) if m.command in ("PRIVMSG", "NOTICE", "TAGMSG")]
    await _mode(op, "+v guest")
    guest.send("PRIVMSG #c :voiced now")
    assert (await op.expect("PRIVMSG")).params == ["#c", "voiced now"]
    await _mode(op, "-v guest")
    await _mode(op, "-M")
    guest.send("PRIVMSG #c :free again")
    assert (await op.expect("PRIVMSG")).params == ["#c", "free again"]


async def test_modes_are_advertised_and_shown(server, clients) -> None:
    op = await connected(server, "op", "#c")
    clients.append(op)
    await _mode(op, "+RM")
    op.send("MODE #c")
    shown = await op.expect("324")
    assert {"R", "M"} <= set(shown.params[2][1:])
    await _mode(op, "-R")
    member = await connected(server, "member", "#c")
    clients.append(member)
    member.send("MODE #c -M")  # a member below halfop may not change them
    assert (await member.expect("482")).params[1] == "#c"
    reader = await connected(server, "reader")
    clients.append(reader)
    tokens = {}
    for line in reader.raw:
        if " 005 " in line:
            tokens.update(dict(t.partition("=")[::2] for t in line.split(" :")[0].split()[3:]))
    assert {"R", "M"} <= set(tokens["CHANMODES"].split(",")[3])


async def test_plus_r_history_is_not_for_outsiders_who_could_not_join(stored, clients) -> None:
    server = await stored("history.enabled=true")
    op = await registered_account(server, "op", "correct-horse", "#c")
    clients.append(op)
    op.send("PRIVMSG #c :for accounts only")
    await _mode(op, "+R")
    guest = await capped(server, "guest", "draft/chathistory", "batch", "server-time", "message-tags")
    reader = await capped(server, "reader", "draft/chathistory", "batch", "server-time", "message-tags")
    clients.extend([guest, reader])
    reader.send("PRIVMSG NickServ :REGISTER correct-horse")
    await reader.expect("900")
    assert [m.params[-1] for m in await history(reader, "CHATHISTORY LATEST #c * 10") if m.command == "PRIVMSG"] == [
        "for accounts only"
    ]
    guest.send("CHATHISTORY LATEST #c * 10")
    refused = await guest.expect("FAIL")
    assert refused.params[:3] == ["CHATHISTORY", "INVALID_TARGET", "LATEST"]
    assert not [m for m in await sync(guest) if m.command == "PRIVMSG"]


async def test_a_registered_channel_keeps_r_and_m_across_a_restart(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice", "correct-horse", "#keep")
    alice.send("PRIVMSG ChanServ :REGISTER #keep")
    await alice.expect(lambda m: m.command == "NOTICE" and m.source.startswith("ChanServ"))
    alice.send("MODE #keep +RM")
    await alice.expect("MODE")
    await server.stop()
    again = await stored()
    guest = await connected(again, "guest")
    clients.append(guest)
    guest.send("JOIN #keep")
    assert (await guest.expect("477")).params[1] == "#keep"


async def test_a_plain_mode_person_reads_why_in_words(make_server, clients) -> None:
    server = await make_server(LOBBY_CREATOR_OP)  # op creates the lobby and runs it
    op = await connected(server, "op", "#lobby", "#members")
    clients.append(op)
    op.send("MODE #members +R")
    op.send("MODE #lobby +M")
    await sync(op)
    person = await connect_plain(server, "bob")
    clients.append(person)
    person.send("/join #members")
    await person.expect_text(r"^\* You can't join #members: it is only for people logged in to an account\.$")
    person.send("hello?")
    await person.expect_text(r"^\* Your message was not sent: in #lobby only people logged in to an account can")


# -- user mode +R: private messages only from accounts ----------------------------------------


make_gateway_server = test_webirc.make_gateway_server  # a server with an operator block


async def test_user_mode_r_keeps_private_messages_from_users_without_an_account(
    make_gateway_server, clients  # noqa: F811
) -> None:
    server = await make_gateway_server()
    quiet = await registered_account(server, "quiet")
    guest = await capped(server, "guest", "message-tags", "echo-message")
    friend = await registered_account(server, "friend")
    oper = await connected(server, "oper")
    clients.extend([quiet, guest, friend, oper])
    quiet.send("MODE quiet +R")
    assert (await quiet.expect("MODE")).params[1:] == ["+R"]
    guest.send("PRIVMSG quiet :buy my stuff")
    refused = await guest.expect("486")
    assert refused.params[1] == "quiet" and "logged in" in refused.params[2]
    guest.send("NOTICE quiet :buy my stuff")  # no reply ever answers a NOTICE
    guest.send("@+typing=active TAGMSG quiet")  # typing: dropped without a word
    guest.send("PRIVMSG quiet,friend :both")  # the other target still gets it
    await friend.expect("PRIVMSG", "friend", "both")
    assert [m.command for m in await sync(guest)] == ["486", "PRIVMSG"]  # refused again; its echo for friend
    assert not [m for m in await sync(quiet) if m.command in ("PRIVMSG", "NOTICE", "TAGMSG")]

    friend.send("PRIVMSG quiet :hello")  # logged in: through
    await quiet.expect("PRIVMSG", "quiet", "hello")
    oper.send(f"OPER admin {test_webirc.OPER_PASSWORD}")
    await oper.expect("381")
    oper.send("PRIVMSG quiet :an operator")
    await quiet.expect("PRIVMSG", "quiet", "an operator")
    guest.send("JOIN #c")  # channels are not private messages: +R does not reach them
    quiet.send("JOIN #c")
    await quiet.expect("366")
    guest.send("PRIVMSG #c :in the channel")
    await quiet.expect("PRIVMSG", "#c", "in the channel")

    quiet.send("MODE quiet -R")
    await quiet.expect("MODE")
    guest.send("PRIVMSG quiet :now?")
    await quiet.expect("PRIVMSG", "quiet", "now?")


async def test_user_mode_r_refuses_a_multiline_batch_and_tells_plain_text_users(server, clients) -> None:
    quiet = await registered_account(server, "quiet")
    quiet.send("MODE quiet +R")
    await quiet.expect("MODE")
    writer = await capped(server, "writer", "batch", "draft/multiline", "message-tags")
    person = await connect_plain(server, "person")
    clients.extend([quiet, writer, person])
    writer.send("BATCH +m draft/multiline quiet")
    writer.send("@batch=m PRIVMSG quiet :line one")
    writer.send("@batch=m PRIVMSG quiet :line two")
    writer.send("BATCH -m")
    assert (await writer.expect("486")).params[1] == "quiet"
    person.send("/msg quiet hi")
    await person.expect_text(r"^\* quiet only takes private messages from people logged in to an account\.$")
    assert not [m for m in await sync(quiet) if m.command in ("PRIVMSG", "BATCH")]


async def test_user_mode_r_refuses_an_invite_from_a_user_without_an_account(
    make_gateway_server, clients  # noqa: F811
) -> None:
    server = await make_gateway_server()
    quiet = await registered_account(server, "quiet")
    spammer = await connected(server, "spammer", "#spam")  # its op, with no account
    watcher = await capped(server, "watcher", "invite-notify", channels=("#spam",))
    friend = await registered_account(server, "friend", "correct-horse", "#spam")
    oper = await connected(server, "oper", "#staff")
    clients.extend([quiet, spammer, watcher, friend, oper])
    spammer.send("MODE #spam +i")
    spammer.send("MODE #spam +oo watcher friend")  # both could invite to +i: invite-notify tells them
    await spammer.expect(lambda m: m.command == "MODE" and m.params[1:] == ["+oo", "watcher", "friend"])
    quiet.send("MODE quiet +R")
    assert (await quiet.expect("MODE")).params[1:] == ["+R"]

    spammer.send("INVITE quiet #spam")
    refused = await spammer.expect("486")
    assert refused.params == ["spammer", "quiet", "only takes invitations from users logged in to an account"]
    assert not [m for m in await sync(spammer) if m.command in ("341", "301")]
    assert not [m for m in await sync(quiet) if m.command == "INVITE"]
    assert not [m for m in await sync(watcher) if m.command == "INVITE"]  # nothing for the channel's ops either
    quiet.send("INVITE")  # no invitation was recorded: it lets her past nothing
    assert commands(await quiet.collect_until("337")) == ["337"]
    quiet.send("JOIN #spam")
    assert (await quiet.expect("473")).params[1] == "#spam"

    friend.send("INVITE quiet #spam")  # logged in: through, and the channel's ops hear of it
    assert (await friend.expect("341")).params[1:] == ["quiet", "#spam"]
    assert (await quiet.expect("INVITE")).source.startswith("friend!")
    assert (await watcher.expect("INVITE")).params == ["quiet", "#spam"]
    oper.send(f"OPER admin {test_webirc.OPER_PASSWORD}")
    await oper.expect("381")
    oper.send("INVITE quiet #staff")  # an operator reaches everyone
    await oper.expect("341")
    assert (await quiet.expect("INVITE")).params == ["quiet", "#staff"]

    quiet.send("MODE quiet -R")
    await quiet.expect("MODE")
    spammer.send("INVITE quiet #spam")
    await spammer.expect("341")
    assert (await quiet.expect("INVITE")).source.startswith("spammer!")


async def test_a_plain_mode_person_reads_why_an_invitation_was_refused(server, clients) -> None:
    quiet = await registered_account(server, "quiet")
    quiet.send("MODE quiet +R")
    await quiet.expect("MODE")
    person = await connect_plain(server, "person")
    clients.extend([quiet, person])
    person.send("/invite quiet")  # to #lobby, the channel it is in
    await person.expect_text(r"^\* quiet only takes invitations from people logged in to an account\.$")
    assert not [m for m in await sync(quiet) if m.command == "INVITE"]
