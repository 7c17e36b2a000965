"""HostServ: an operator gives an account a virtual host, kept with the account; its
owner is shown with it whenever logged in (after a restart too), with the cloak or
address otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hubbub.server.apply import apply
from hubbub.server.events import (
    AccountRegistered,
    AccountVhostSet,
    Event,
    HostSet,
    Registered,
    from_record,
    to_record,
)
from hubbub.server.state import ChatState
from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.e2e_caps.support import capped
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient, commands, connected, sync

HS = "HostServ!HostServ@services"


async def hs(client: LineClient, line: str) -> str:
    """Say `line` to HostServ; its first answer."""
    client.send(f"HS {line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == HS)).params[-1]


async def whois_host(client: LineClient, nick: str) -> str:
    client.send(f"WHOIS {nick}")
    return next(m.params[3] for m in await client.collect_until("318") if m.command == "311")


async def test_a_vhost_shows_while_its_owner_is_logged_in_and_outlives_a_restart(make_oper_server, db, clients) -> None:
    server = await make_oper_server(f"store.db='{db}'")
    ircop = await an_oper(server, "ircop", "#room")
    watcher = await capped(server, "watcher", "chghost", channels=("#room",))
    alice = await registered_account(server, "alice", "correct-horse", "#room")
    clients.extend([ircop, watcher, alice])
    await sync(alice)

    assert await hs(ircop, "SET alice user/alice") == "Set the vhost of alice to user/alice"
    assert (await alice.expect("396")).params[1:] == ["user/alice", "is now your displayed host"]
    change = await watcher.expect("CHGHOST")
    assert change.source == "alice!~u@127.0.0.1" and change.params == ["~u", "user/alice"]
    alice.send("PRIVMSG #room :hi")
    assert (await watcher.expect("PRIVMSG", "#room", "hi")).source == "alice!~u@user/alice"

    alice.send("PRIVMSG NickServ :LOGOUT")  # logged out: the address (exempt from cloaks here) again
    assert (await alice.expect("396")).params[1] == "127.0.0.1"
    assert (await watcher.expect("CHGHOST")).params == ["~u", "127.0.0.1"]
    alice.send("PRIVMSG NickServ :IDENTIFY correct-horse")  # and back with a login
    assert (await alice.expect("396")).params[1] == "user/alice"
    assert await whois_host(ircop, "alice") == "user/alice"
    await server.stop()

    again = await make_oper_server(f"store.db='{db}'")  # the same store: the vhost was kept
    bob = await connected(again, "bob")
    sasl, result = await sasl_plain(again, "alice2", "alice", "correct-horse")  # logged in while registering
    clients.extend([bob, sasl])
    assert result == "903"
    welcome = await sasl.collect_until("376")
    assert [m.params[1] for m in welcome if m.command == "396"] == ["user/alice"]
    assert not [m for m in welcome if m.command == "CHGHOST"]
    assert await whois_host(bob, "alice2") == "user/alice"

    ircop = await an_oper(again, "ircop")
    clients.append(ircop)
    assert await hs(ircop, "DEL alice") == "Took the vhost of alice away"
    assert (await sasl.expect("396")).params[1] == "127.0.0.1"
    assert await whois_host(bob, "alice2") == "127.0.0.1"


async def test_a_chghost_outlasts_a_logout_and_a_drop_takes_the_vhost_back(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    alice = await registered_account(oper_server, "alice")
    carol = await registered_account(oper_server, "carol")
    clients.extend([ircop, alice, carol])
    await hs(ircop, "SET carol carol.example.org")
    assert (await carol.expect("396")).params[1] == "carol.example.org"
    ircop.send("CHGHOST alice guest.example.org")  # a host for this connection, not the account's
    assert (await alice.expect("396")).params[1] == "guest.example.org"
    alice.send("PRIVMSG NickServ :LOGOUT")
    await alice.expect("901")
    assert "396" not in commands(await sync(alice))  # what an operator gave stays
    assert await whois_host(ircop, "alice") == "guest.example.org"

    carol.send("PRIVMSG NickServ :DROP")
    told = await carol.expect(lambda m: m.command == "NOTICE" and "DROP carol " in m.params[-1])
    code = told.params[-1].split()[-1]
    carol.send(f"PRIVMSG NickServ :DROP carol {code}")
    assert (await carol.expect("396")).params[1] == "127.0.0.1"  # no account, no vhost


async def test_a_logout_s_chghost_is_its_own_and_a_del_gives_back_the_host_under_the_vhost(
    oper_server, clients
) -> None:
    """The host is decided where the logout is applied: its CHGHOST follows its ACCOUNT,
    with its time and an id made from its own. A vhost given over a host from CHGHOST
    leaves that host under it, shown again when the vhost goes."""
    ircop = await an_oper(oper_server, "ircop", "#room")
    watcher = await capped(oper_server, "watcher", "chghost", "account-notify", "message-tags", "server-time",
                           channels=("#room",))  # fmt: skip
    alice = await registered_account(oper_server, "alice", "correct-horse", "#room")
    clients.extend([ircop, watcher, alice])
    await hs(ircop, "SET alice user/alice")
    await alice.expect("396")
    assert (await watcher.expect("CHGHOST")).params == ["~u", "user/alice"]
    alice.send("PRIVMSG NickServ :LOGOUT")
    account = await watcher.expect("ACCOUNT", "*")
    change = await watcher.expect("CHGHOST")
    assert (account.source, account.params) == ("alice!~u@user/alice", ["*"])
    assert (change.source, change.params) == ("alice!~u@user/alice", ["~u", "127.0.0.1"])
    assert change.tags["msgid"] == account.tags["msgid"] + "-host0"
    assert change.tags["time"] == account.tags["time"]
    assert (await alice.expect("396")).params[1] == "127.0.0.1"

    ircop.send("CHGHOST alice guest.example.org")
    assert (await alice.expect("396")).params[1] == "guest.example.org"
    alice.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    assert (await alice.expect("396")).params[1] == "user/alice"
    assert await hs(ircop, "DEL alice") == "Took the vhost of alice away"
    assert (await alice.expect("396")).params[1] == "guest.example.org"  # not the address: what was under it
    for shown in ("guest.example.org", "user/alice", "guest.example.org"):  # CHGHOST, the login, DEL
        assert (await watcher.expect("CHGHOST")).params == ["~u", shown]


async def test_hostserv_answers_operators_and_owners(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    alice = await registered_account(oper_server, "alice")
    guest = await connected(oper_server, "guest")
    clients.extend([ircop, alice, guest])
    assert await hs(alice, "SET alice me.example.org") == "Permission denied: SET is for IRC operators"
    assert await hs(alice, "DEL alice") == "Permission denied: DEL is for IRC operators"
    assert await hs(alice, "LIST") == "Permission denied: LIST is for IRC operators"
    assert await hs(alice, "INFO") == "alice has no vhost"
    assert await hs(guest, "INFO") == "You're not logged into an account"
    assert await hs(ircop, "SET nobody x.example.org") == "There is no account nobody"
    for bad in ("a@b", "10.0.0.1", "2001-db8--5", "/alice", "user//alice", "user/", "x" * 64, "caf\u00e9.example"):
        assert "cannot be a host" in await hs(ircop, f"SET alice {bad}"), bad
    assert await hs(ircop, "DEL alice") == "alice has no vhost"
    assert "396" not in commands(await sync(alice))

    assert await hs(ircop, "SET alice staff/example.org") == "Set the vhost of alice to staff/example.org"
    assert await hs(alice, "INFO") == "The vhost of alice is staff/example.org"
    assert await hs(guest, "INFO alice") == "Permission denied: INFO is for IRC operators"
    assert await hs(ircop, "INFO alice") == "The vhost of alice is staff/example.org"
    assert await hs(ircop, "SET alice staff/example.org") == "Set the vhost of alice to staff/example.org"
    ircop.send("HS LIST")
    listed = [m.params[-1] for m in await ircop.collect_until(lambda m: "have a vhost" in m.params[-1]
                                                              or "has a vhost" in m.params[-1])]  # fmt: skip
    assert listed[-2:] == ["alice: staff/example.org", "1 account has a vhost"]


# What nodes of the versions before do not know: kinds of events they skip, fields of
# events they ignore (events.from_record). Before HostServ; and with HostServ, before
# hosts were decided where logins, logouts and vhosts are applied (those nodes apply
# each HostSet as it comes, and Registered's host as its node saw it).
DECIDED_WHEN_APPLIED: dict[type[Any], frozenset[str]] = {
    HostSet: frozenset({"for_older_nodes"}), AccountVhostSet: frozenset({"time", "msgid"}),
}
BEFORE_HOSTSERV: dict[type[Any], frozenset[str]] = {
    **DECIDED_WHEN_APPLIED, Registered: frozenset({"host"}), AccountRegistered: frozenset({"vhost"}),
}


def as_a_version_before(state: ChatState, event: Event, unknown: dict[type[Any], frozenset[str]]) -> None:
    """Apply `event` as such a node does: only a HostSet changes a registered user's host
    (and Registered's host, once there was one), nothing is decided when applied."""
    if isinstance(event, AccountVhostSet) and unknown is BEFORE_HOSTSERV:
        return
    record = to_record(event)
    for field in unknown.get(type(event), ()):
        del record[field]
    old: Any = from_record(json.loads(json.dumps(record)))
    hosts = {uid: user.host for uid, user in state.users.items()}
    apply(state, old)
    if isinstance(old, HostSet):
        return
    for uid, host in hosts.items():
        user = state.users.get(uid)
        if user is not None:
            user.host = old.host if isinstance(old, Registered) and old.uid == uid and old.host else host
            user.vhost_of = None
            user.refresh_prefix()


@pytest.mark.parametrize("unknown", [BEFORE_HOSTSERV, DECIDED_WHEN_APPLIED], ids=["before HostServ", "with it"])
async def test_a_node_of_the_version_before_shows_the_vhost_of_a_login_at_the_welcome_too(
    make_oper_server, clients, unknown: dict[type[Any], frozenset[str]]
) -> None:
    """A rolling upgrade: a node of a version before applies the same events, without
    what it does not know. The users' hosts must be the same there as here, that of a
    user logged in with SASL while registering too."""
    server = await make_oper_server()
    before = ChatState(0.0)
    server.engine.subscribe(lambda event, outcome: as_a_version_before(before, event, unknown))
    ircop = await an_oper(server, "ircop")
    alice = await registered_account(server, "alice", "correct-horse")
    clients.extend([ircop, alice])
    await hs(ircop, "SET alice user/alice")
    await alice.expect("396")
    sasl, result = await sasl_plain(server, "phone", "alice", "correct-horse")
    clients.append(sasl)
    assert result == "903"
    welcome = await sasl.collect_until("376")
    assert [m.params[1] for m in welcome if m.command == "396"] == ["user/alice"]  # once, as before
    await sync(sasl)

    def hosts(state: ChatState) -> dict[str, str]:
        return {user.nick: user.host for user in state.users.values() if user.registered}

    assert hosts(server.engine.state)["phone"] == "user/alice"
    assert hosts(before) == hosts(server.engine.state)


async def test_a_plain_text_user_is_told_its_vhost_and_then_its_address_as_it_is(oper_server, clients) -> None:
    """The plain text mode's 396: a vhost hides the address; after a logout from 127.0.0.1
    (shown as it is here, exempt from cloaks), the address is no longer hidden."""
    ircop = await an_oper(oper_server, "ircop")
    person = await LineClient.connect(oper_server)
    clients.extend([ircop, person])
    await person.expect_text(r"Type a nickname")
    person.send("dora")
    await person.expect_text(r"Welcome, dora")
    person.send("/msg NickServ REGISTER correct-horse")
    await person.expect_text(r"logged in as dora")
    await hs(ircop, "SET dora user/dora")
    line = await person.expect_text(r"Others see your address")
    assert line.endswith("Others see your address as user/dora (your IP address is hidden)"), line
    person.send("/msg NickServ LOGOUT")
    line = await person.expect_text(r"Others see your address")
    assert line.endswith("Others see your address as it is: 127.0.0.1"), line
