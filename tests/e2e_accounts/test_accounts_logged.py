"""The server log keeps what outlives a connection, with who did it from where: accounts
registered (by NickServ or the IRCv3 REGISTER) and dropped, channels registered, given
away and unregistered; never a password."""

from __future__ import annotations

import logging

from tests.e2e_accounts.confirming import CS, code_for, give_channel
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.helpers import connected


async def test_accounts_and_channels_registered_given_and_dropped_are_logged_with_who_did_it(
    server, clients, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    bob = await registered_account(server, "bob", "bobs-Password", "#garden")
    dave = await capped(server, "dave", "draft/account-registration")
    clients.extend([bob, dave])
    dave.send("REGISTER * * daves-Password")
    await dave.expect("REGISTER", "SUCCESS")
    bob.send("PRIVMSG ChanServ :REGISTER #garden")
    await bob.expect(lambda m: m.command == "NOTICE" and m.source == CS)
    assert await give_channel(bob, "#garden", "dave") == "The founder of #garden is now dave"
    await dave.join("#garden")
    code = await code_for(dave, "DROP #garden")
    dave.send(f"PRIVMSG ChanServ :DROP #garden {code}")
    await dave.expect(lambda m: m.command == "NOTICE" and m.source == CS)
    bob.send("PRIVMSG NickServ :DROP")
    code = (await bob.expect(lambda m: m.command == "NOTICE" and "To confirm" in m.params[-1])).params[-1]
    bob.send(f"PRIVMSG NickServ :DROP bob {code.split()[-1]}")
    await bob.expect("901")
    clients.append(await connected(server, "sync"))  # every line before it is logged

    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith(("account ", "channel "))]
    assert logged == [
        "account bob registered by bob!~u@127.0.0.1 [127.0.0.1]",
        "account dave registered by dave!~u@127.0.0.1 [127.0.0.1]",
        "channel #garden registered to account bob by bob!~u@127.0.0.1 [127.0.0.1]",
        "channel #garden given to account dave by bob!~u@127.0.0.1 [127.0.0.1]",
        "channel #garden unregistered by dave!~u@127.0.0.1 [127.0.0.1]",
        "account bob dropped by bob!~u@127.0.0.1 [127.0.0.1]",
    ]
    assert not any("Password" in r.getMessage() for r in caplog.records)
