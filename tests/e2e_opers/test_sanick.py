"""SANICK: an operator renames a user; everyone sharing a channel sees the NICK."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.e2e_opers.support import an_oper
from tests.helpers import commands, connected, sync


async def test_an_operator_renames_a_user_and_everyone_sees_it(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#room")
    rude = await connected(oper_server, "rudename", "#room")
    peer = await connected(oper_server, "peer", "#room")
    clients.extend([ircop, rude, peer])
    await sync(peer)
    ircop.send("SANICK rudename Guest1")
    changed = await rude.expect("NICK")
    assert changed.source.startswith("rudename!") and changed.params == ["Guest1"]
    assert (await peer.expect("NICK")).params == ["Guest1"]
    assert (await ircop.expect("NOTICE")).params[-1] == "*** rudename is now Guest1"
    rude.nick = "Guest1"
    rude.send("PRIVMSG #room :still here")
    assert (await peer.expect("PRIVMSG")).source.startswith("Guest1!")


async def test_sanick_refusals(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    user = await connected(oper_server, "user")
    owner = await registered_account(oper_server, "owner")
    clients.extend([ircop, user, owner])
    user.send("SANICK ircop other")
    assert (await user.expect("481")).params[-1] == "Permission Denied- You're not an IRC operator"
    ircop.send("SANICK nobody other")
    await ircop.expect("401")
    ircop.send("SANICK user ircop")  # in use
    assert (await ircop.expect("433")).params[-1] == "Nickname is already in use"
    ircop.send("SANICK user NickServ")
    await ircop.expect("432")
    ircop.send("SANICK user bad,nick")
    await ircop.expect("432")
    owner.send("NICK owner_away")
    await owner.expect("NICK")
    ircop.send("SANICK user owner")  # an account's nick, the user not logged in to it
    assert (await ircop.expect("433")).params[-1] == "Nickname is registered to another account"
    ircop.send("SANICK owner_away owner")  # its own account's nick: fine
    assert (await owner.expect("NICK")).params == ["owner"]
    assert commands(await sync(user)) == []
