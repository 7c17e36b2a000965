"""A member forgot their password: an IRC operator sets a new one with NickServ
`PASSWD <account> <new>` (ergo's form) on the running server, which keeps it."""

from __future__ import annotations

import logging

from argon2 import extract_parameters

from hubbub.passwords import verify_password
from tests.e2e_accounts.support import NS, ns, registered_account
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient, connected

INVALID = "Authentication failed: Invalid account credentials"


async def identify(client: LineClient, account: str, password: str) -> str:
    """IDENTIFY to `account` with `password`: the account logged in to, or the refusal."""
    client.send(f"PRIVMSG NickServ :IDENTIFY {account} {password}")
    answer = await client.expect(
        lambda m: m.command == "900" or (m.command == "NOTICE" and m.source == NS and m.params[-1] == INVALID)
    )
    return answer.params[2] if answer.command == "900" else answer.params[-1]


async def test_an_operator_resets_a_members_password_and_it_outlives_a_restart(
    make_oper_server, db, clients, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub.opers")
    server = await make_oper_server(f"store.db='{db}'")
    member = await registered_account(server, "erin", "forgotten-one")
    watcher = await an_oper(server, "watcher")
    admin = await an_oper(server, "admin")
    clients.extend([member, watcher, admin])
    watcher.send("MODE watcher +s")
    await watcher.expect("MODE")

    assert await ns(admin, "PASSWD erin brand-new-one") == "Password of erin changed"
    notice = await watcher.expect(lambda m: m.command == "NOTICE" and "reset the password" in m.params[-1])
    assert notice.params[-1] == "*** Notice -- admin reset the password of account erin"
    logged = [r.getMessage() for r in caplog.records if "reset the password" in r.getMessage()]
    assert logged == ["admin!~u@127.0.0.1 reset the password of account erin"]  # never the password

    phone = await connected(server, "erin_phone")
    clients.append(phone)
    assert await identify(phone, "erin", "forgotten-one") == INVALID
    assert await identify(phone, "erin", "brand-new-one") == "erin"

    await server.stop()
    restarted = await make_oper_server(f"store.db='{db}'")
    again = await connected(restarted, "erin_phone")
    clients.append(again)
    assert await identify(again, "erin", "brand-new-one") == "erin"


async def test_only_an_operator_resets_another_accounts_password(make_oper_server, clients) -> None:
    server = await make_oper_server()
    erin = await registered_account(server, "erin", "erins-password")
    mallory = await registered_account(server, "mallory", "mallorys-password")
    admin = await an_oper(server, "admin")
    clients.extend([erin, mallory, admin])
    assert await ns(mallory, "PASSWD erin taken-over") == (
        "Invalid parameters. Usage: PASSWD <current> <new> <new again>"
    )
    assert await ns(admin, "PASSWD nobody whatever-1") == "Account does not exist"
    assert await ns(admin, "PASSWD erin erin") == "The password cannot be the account name"
    phone = await connected(server, "erin_phone")
    clients.append(phone)
    assert await identify(phone, "erin", "erins-password") == "erin"  # unchanged by any of those


async def test_a_reset_password_is_hashed_at_the_configured_cost(make_oper_server, clients) -> None:
    server = await make_oper_server(
        "accounts.hash_time_cost=2", "accounts.hash_memory_kib=1024", "accounts.hash_parallelism=1"
    )
    erin = await registered_account(server, "erin", "forgotten-one")
    admin = await an_oper(server, "admin")
    clients.extend([erin, admin])
    assert await ns(admin, "PASSWD erin brand-new-one") == "Password of erin changed"
    reset = extract_parameters(server.services.state.accounts["erin"].password_hash)
    assert (reset.time_cost, reset.memory_cost, reset.parallelism) == (2, 1024, 1)
    assert verify_password(server.services.state.accounts["erin"].password_hash, "brand-new-one")
