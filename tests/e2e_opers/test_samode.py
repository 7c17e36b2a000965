"""SAMODE: an IRC operator changes a channel's modes without a rank in it."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.e2e_opers.support import an_oper, oper_up
from tests.helpers import commands, connected, sync


async def test_an_operator_takes_back_a_channel_whose_operator_turned_on_its_users(oper_server, clients) -> None:
    owner = await connected(oper_server, "owner", "#help")  # created it: its operator
    victim = await connected(oper_server, "victim", "#help")
    ircop = await an_oper(oper_server, "ircop", "#help")
    clients.extend([owner, victim, ircop])
    ircop.send("MODE #help +o ircop")
    await ircop.expect("482")  # an operator of the server is no operator of the channel
    ircop.send("SAMODE #help -o+o-b owner ircop *!*@nowhere")
    line = await victim.expect("MODE")
    assert line.source.startswith("ircop!") and line.params == ["#help", "-o+o", "owner", "ircop"]
    assert (await ircop.expect("NOTICE")).params[-1] == "*** SAMODE #help -o+o owner ircop"
    ircop.send("KICK #help owner :take a break")  # and now it is one
    await victim.expect("KICK")


async def test_an_operator_takes_the_lobby_nobody_runs_and_registers_it(oper_server, clients) -> None:
    """docs/channels.md "The default channel": its creator is no op, so the admin, an IRC
    operator logged in to an account, gives itself op with SAMODE and registers it."""
    admin = await registered_account(oper_server, "admin", "correct-horse", "#lobby")
    clients.append(admin)
    await oper_up(admin)
    admin.send("PRIVMSG ChanServ :REGISTER #lobby")
    refused = await admin.expect(lambda m: m.command == "NOTICE" and m.source.startswith("ChanServ!"))
    assert refused.params[-1] == "You must be an oper on the channel to register it"
    admin.send("SAMODE #lobby +o admin")
    await admin.expect("MODE", "#lobby", "+o", "admin")
    admin.send("PRIVMSG ChanServ :REGISTER #lobby")
    await admin.expect("MODE", "#lobby", "+q", "admin")


async def test_samode_works_from_outside_and_tells_the_operator_and_the_watchers(oper_server, clients) -> None:
    owner = await connected(oper_server, "owner", "#spam")
    ircop = await an_oper(oper_server, "ircop")
    watcher = await an_oper(oper_server, "watcher")
    clients.extend([owner, ircop, watcher])
    watcher.send("MODE watcher +s")
    await watcher.expect("MODE")
    ircop.send("SAMODE #spam +ik sesame")
    line = await owner.expect("MODE")
    assert line.params == ["#spam", "+ik", "sesame"]
    told = await ircop.expect("NOTICE")
    assert told.params[-1] == "*** SAMODE #spam +ik *"  # the key stays with the members
    notice = await watcher.expect(lambda m: m.command == "NOTICE" and "SAMODE" in m.params[-1])
    assert notice.params[-1].endswith("ircop used SAMODE #spam +ik *")


async def test_samode_is_for_operators_and_channels_that_exist(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice", "#mine")
    ircop = await an_oper(oper_server, "ircop")
    clients.extend([alice, ircop])
    alice.send("SAMODE #mine +m")
    await alice.expect("481")
    ircop.send("SAMODE #nowhere +m")
    assert (await ircop.expect("403")).params[1] == "#nowhere"
    ircop.send("SAMODE #mine")
    await ircop.expect("461")
    ircop.send("SAMODE #mine +Z")  # checked as MODE is, but for rank
    await ircop.expect("472")
    ircop.send("SAMODE #mine +m")  # the connection goes on
    assert (await alice.expect("MODE")).params == ["#mine", "+m"]
    await ircop.expect("NOTICE")
    ircop.send("SAMODE #mine +m")  # nothing changes: nothing said
    assert "NOTICE" not in commands(await sync(ircop))
