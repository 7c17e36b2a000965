"""Notices about other users: extended-join, away-notify, account-notify and
account-tag (no accounts yet), setname and chghost."""

from __future__ import annotations

from hubbub.server.delivery import new_msgid
from hubbub.server.events import HostSet
from tests.e2e_caps.support import capped, mask
from tests.helpers import commands, connected, sync

# -- extended-join -------------------------------------------------------------------


async def test_extended_join_shows_account_star_and_realname(server, clients) -> None:
    alice = await capped(server, "alice", "extended-join", channels=("#room",))
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, carol])
    bob = await capped(server, "bob", realname="Bob Builder")
    clients.append(bob)
    await bob.join("#room")
    ext = await alice.expect(lambda m: m.command == "JOIN" and m.source == mask("bob"))
    assert ext.params == ["#room", "*", "Bob Builder"]
    assert (await carol.expect("JOIN")).params == ["#room"]  # without the cap: the classic form


async def test_extended_join_applies_to_ones_own_join(server, clients) -> None:
    alice = await capped(server, "alice", "extended-join")
    clients.append(alice)
    alice.send("JOIN #mine")
    assert (await alice.expect("JOIN")).params == ["#mine", "*", "Real Name"]


# -- away-notify ---------------------------------------------------------------------


async def test_away_notify_tells_channel_neighbours_of_away_and_back(server, clients) -> None:
    alice = await capped(server, "alice", "away-notify", channels=("#room",))
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    stranger = await capped(server, "stranger", "away-notify")
    clients.extend([alice, bob, carol, stranger])
    bob.send("AWAY :lunch")
    await bob.expect("306")
    away = await alice.expect("AWAY")
    assert away.source == mask("bob") and away.params == ["lunch"]
    bob.send("AWAY")
    await bob.expect("305")
    back = await alice.expect("AWAY")
    assert back.source == mask("bob") and back.params == []
    assert "AWAY" not in commands(await sync(carol))  # no cap
    assert "AWAY" not in commands(await sync(stranger))  # no shared channel
    assert "AWAY" not in commands(await sync(bob))  # not to oneself: 305/306 say it


async def test_away_notify_on_join_of_someone_already_away(server, clients) -> None:
    alice = await capped(server, "alice", "away-notify", channels=("#room",))
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("AWAY :already gone")
    await bob.expect("306")
    await bob.join("#room")
    assert (await alice.expect("JOIN")).source == mask("bob")
    away = await alice.expect("AWAY")
    assert away.source == mask("bob") and away.params == ["already gone"]


async def test_repeating_the_same_away_state_tells_nobody(server, clients) -> None:
    alice = await capped(server, "alice", "away-notify", channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("AWAY")  # was not away
    await bob.expect("305")
    assert "AWAY" not in commands(await sync(alice))


# -- account-notify, account-tag (no accounts exist yet) ------------------------------


async def test_without_accounts_nothing_carries_an_account(server, clients) -> None:
    alice = await capped(
        server, "alice", "account-notify", "account-tag", "extended-join", "message-tags", channels=("#room",)
    )
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    await bob.join("#room")
    join = await alice.expect("JOIN")
    assert join.params[1] == "*" and "account" not in join.tags
    bob.send("PRIVMSG #room :hello")
    said = await alice.expect("PRIVMSG")
    assert "account" not in said.tags
    bob.send("NICK robert")
    await alice.expect("NICK")
    assert "ACCOUNT" not in commands(await sync(alice))


# -- setname -------------------------------------------------------------------------


async def test_setname_is_confirmed_and_told_to_neighbours_with_the_cap(server, clients) -> None:
    alice = await capped(server, "alice", "setname", channels=("#room",))
    bob = await capped(server, "bob", "setname", channels=("#room",))
    carol = await connected(server, "carol", "#room")
    stranger = await capped(server, "stranger", "setname")
    clients.extend([alice, bob, carol, stranger])
    alice.send("SETNAME :Alice in Wonderland")
    confirmed = await alice.expect("SETNAME")
    assert confirmed.source == mask("alice") and confirmed.params == ["Alice in Wonderland"]
    told = await bob.expect("SETNAME")
    assert told.source == mask("alice") and told.params == ["Alice in Wonderland"]
    assert "SETNAME" not in commands(await sync(carol))
    assert "SETNAME" not in commands(await sync(stranger))
    carol.send("WHOIS alice")
    assert (await carol.expect("311")).params[-1] == "Alice in Wonderland"


async def test_setname_without_the_cap_works_silently(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("SETNAME :Quiet Change")
    assert commands(await sync(alice)) == []
    alice.send("WHOIS alice")
    assert (await alice.expect("311")).params[-1] == "Quiet Change"


async def test_setname_refuses_empty_and_too_long_realnames(make_server, clients) -> None:
    server = await make_server("limits.namelen=10")
    alice = await capped(server, "alice", "setname")
    clients.append(alice)
    alice.send("SETNAME :")
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["SETNAME", "INVALID_REALNAME"]
    alice.send("SETNAME :eleven char")
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["SETNAME", "INVALID_REALNAME"]
    alice.send("SETNAME :ten chars!")
    assert (await alice.expect("SETNAME")).params == ["ten chars!"]
    alice.send("SETNAME")
    assert (await alice.expect("FAIL")).params[:2] == ["SETNAME", "INVALID_REALNAME"]


async def test_user_realnames_are_cut_to_namelen(make_server, clients) -> None:
    server = await make_server("limits.namelen=5")
    alice = await capped(server, "alice", realname="Alice Liddell")
    clients.append(alice)
    alice.send("WHOIS alice")
    assert (await alice.expect("311")).params[-1] == "Alice"


# -- chghost -------------------------------------------------------------------------
# No command changes a host yet (no cloaks, vhosts or accounts): the tests emit the one
# event that will, in the running server, and watch the wire.


def change_host(server, nick: str, username: str, host: str) -> None:
    user = server.state.find_user(nick)
    server.engine.emit(None, HostSet(user.uid, username, host, server.clock(), new_msgid()))


async def test_chghost_is_sent_to_cap_holders_sharing_a_channel_and_to_the_user(server, clients) -> None:
    alice = await capped(server, "alice", "chghost", channels=("#room",))
    bob = await capped(server, "bob", "chghost", channels=("#room",))
    carol = await connected(server, "carol", "#room")
    stranger = await capped(server, "stranger", "chghost")
    clients.extend([alice, bob, carol, stranger])
    await sync(bob)
    change_host(server, "bob", "~b", "new.host")
    for client in (alice, bob):
        change = await client.expect("CHGHOST")
        assert change.source == mask("bob") and change.params == ["~b", "new.host"]
    assert "CHGHOST" not in commands(await sync(carol))
    assert "CHGHOST" not in commands(await sync(stranger))
    bob.send("PRIVMSG #room :with my new host")
    assert (await carol.expect("PRIVMSG")).source == "bob!~b@new.host"


async def test_chghost_to_the_same_user_and_host_says_nothing(server, clients) -> None:
    alice = await capped(server, "alice", "chghost")
    clients.append(alice)
    await sync(alice)
    change_host(server, "alice", "~u", "127.0.0.1")
    assert "CHGHOST" not in commands(await sync(alice))
