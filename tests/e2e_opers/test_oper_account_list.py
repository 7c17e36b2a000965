"""An IRC operator lists the accounts of the running server with NickServ `LIST
[pattern]` (`hubbub account list` reads the store, which a running server on SQLite
keeps to itself); nobody else can."""

from __future__ import annotations

from hubbub.server.events import AccountRegistered
from tests.e2e_accounts.support import NS, ns, registered_account
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient


async def listing(client: LineClient, line: str) -> list[str]:
    """NickServ's answer to `line`, every notice up to its count line."""
    client.send(f"PRIVMSG NickServ :{line}")
    said: list[str] = []
    while not said or " match" not in said[-1]:  # "N accounts match", "1 account matches"
        said.append((await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1])
    return said


async def test_an_operator_lists_the_accounts_matching_a_pattern(make_oper_server, clients) -> None:
    server = await make_oper_server()
    erin = await registered_account(server, "Erin", "erins-password")
    evan = await registered_account(server, "evan", "evans-password")
    zoe = await registered_account(server, "zoe", "zoes-password")
    admin = await an_oper(server, "admin")
    clients.extend([erin, evan, zoe, admin])

    found = await listing(admin, "LIST e*")
    assert [line.split(" (registered ")[0] for line in found[:-1]] == ["Erin", "evan"]
    assert all(line.endswith(" UTC)") for line in found[:-1])
    assert found[-1] == "2 accounts match"
    assert await listing(admin, "LIST ERIN") == [found[0], "1 account matches"]  # case does not matter
    assert len(await listing(admin, "LIST")) == 4  # every account, then the count
    assert await listing(admin, "LIST nobody*") == ["0 accounts match"]

    assert await ns(zoe, "LIST") == "Permission denied: LIST is for IRC operators"


async def test_a_long_list_is_cut_with_a_count_of_the_rest(make_oper_server, clients) -> None:
    server = await make_oper_server()
    admin = await an_oper(server, "admin")
    clients.append(admin)
    for i in range(103):  # registered as the store's restore does (no password hashed 103 times, no throttle)
        server.engine.emit(None, AccountRegistered(f"user{i:03d}", f"user{i:03d}", "", "", "", server.clock()))
    found = await listing(admin, "LIST user*")
    assert len(found) == 101
    assert found[0].startswith("user000 ") and found[99].startswith("user099 ")
    assert found[-1] == "103 accounts match; 3 not shown: narrow the pattern"
