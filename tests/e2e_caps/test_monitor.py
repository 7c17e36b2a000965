"""MONITOR and extended-monitor: being told when nicks come and go, and more."""

from __future__ import annotations

from tests.e2e_caps.support import capped, mask
from tests.helpers import commands, connected, sync


async def test_monitor_reports_state_at_once_then_changes(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR + bob,carol")
    online = await alice.expect("730")
    assert online.params == ["alice", mask("bob")]
    assert (await alice.expect("731")).params == ["alice", "carol"]
    carol = await connected(server, "carol")
    clients.append(carol)
    assert (await alice.expect("730")).params == ["alice", mask("carol")]
    bob.send("QUIT :bye")
    assert (await alice.expect("731")).params == ["alice", "bob"]


async def test_monitor_follows_nick_changes_but_not_case_changes(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR + qux")
    await alice.expect("731")
    bob.send("NICK qux")
    assert (await alice.expect("730")).params == ["alice", "qux!~u@127.0.0.1"]
    bob.send("NICK QUX")
    await bob.expect("NICK")
    assert commands(await sync(alice)) == []
    bob.send("NICK other")
    assert (await alice.expect("731")).params == ["alice", "QUX"]


async def test_monitor_list_remove_clear_and_status(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR L")
    assert commands(await sync(alice)) == ["733"]
    alice.send("MONITOR + Bob,carol,dave")
    await sync(alice)
    alice.send("MONITOR - dave")
    assert commands(await sync(alice)) == []  # removal has no reply
    alice.send("MONITOR L")
    listed = await alice.collect_until("733")
    assert sorted(",".join(m.params[1] for m in listed if m.command == "732").split(",")) == ["Bob", "carol"]
    alice.send("MONITOR S")
    status = await sync(alice)
    assert sorted((m.command, m.params[1]) for m in status) == [("730", mask("bob")), ("731", "carol")]
    alice.send("MONITOR C")
    assert commands(await sync(alice)) == []
    alice.send("MONITOR L")
    assert commands(await sync(alice)) == ["733"]
    bob.send("QUIT")
    await bob.closed()
    assert commands(await sync(alice)) == []  # no longer watched


async def test_an_unwatched_nick_tells_nothing_even_if_another_client_watches_it(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR + qux")
    bob.send("MONITOR + qux")
    await sync(alice)
    await sync(bob)
    bob.send("MONITOR - qux")
    qux = await connected(server, "qux")
    clients.append(qux)
    assert (await alice.expect("730")).params[1] == mask("qux")
    assert commands(await sync(bob)) == []


async def test_monitor_list_is_limited_and_says_what_was_not_added(make_server, clients) -> None:
    server = await make_server("limits.monitor=2")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MONITOR + a1,a2,a3,a4")
    full = await alice.expect("734")
    assert full.params == ["alice", "2", "a3,a4", "Monitor list is full."]
    assert (await alice.expect("731")).params == ["alice", "a1,a2"]
    alice.send("MONITOR + a1")  # already there: still fits
    assert commands(await sync(alice)) == ["731"]


async def test_monitor_accepts_nicknames_only(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MONITOR + *!username@127.0.0.1,#chan,ok")
    replies = await sync(alice)
    assert [(m.command, m.params[1]) for m in replies] == [("731", "ok")]
    alice.send("MONITOR L")
    listed = await alice.collect_until("733")
    assert [m.params[1] for m in listed if m.command == "732"] == ["ok"]


async def test_monitor_bad_input(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MONITOR")
    assert (await alice.expect("461")).params[1] == "MONITOR"
    alice.send("MONITOR +")
    assert (await alice.expect("461")).params[1] == "MONITOR"
    alice.send("MONITOR X")
    fail = await alice.expect("FAIL")
    assert fail.params[:3] == ["MONITOR", "INVALID_PARAMS", "X"]
    alice.send("PING still-here")
    await alice.expect("PONG")


async def test_monitor_lists_go_with_their_owner(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MONITOR + bob")
    await alice.expect("731")
    alice.send("QUIT")
    await alice.closed()
    assert server.services.monitors.watchers == {}


# -- extended-monitor ------------------------------------------------------------------


async def test_extended_monitor_sends_away_and_setname_of_watched_nicks(server, clients) -> None:
    alice = await capped(server, "alice", "extended-monitor", "away-notify", "setname")
    plain_watcher = await capped(server, "plainw", "away-notify", "setname")  # no extended-monitor
    clients.extend([alice, plain_watcher])
    for watcher in (alice, plain_watcher):
        watcher.send("MONITOR + bob")
        await watcher.expect("731")
    bob = await capped(server, "bob", "setname")
    clients.append(bob)
    await alice.expect("730")
    bob.send("AWAY :afk")
    away = await alice.expect("AWAY")
    assert away.source == mask("bob") and away.params == ["afk"]
    bob.send("SETNAME :New Name")
    await bob.expect("SETNAME")
    assert (await alice.expect("SETNAME")).params == ["New Name"]
    assert {"AWAY", "SETNAME"}.isdisjoint(commands(await sync(plain_watcher)))


async def test_extended_monitor_needs_the_notice_capability_too(server, clients) -> None:
    alice = await capped(server, "alice", "draft/extended-monitor")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR + bob")
    await alice.expect("730")
    bob.send("AWAY :afk")
    await bob.expect("306")
    assert "AWAY" not in commands(await sync(alice))


async def test_extended_monitor_does_not_repeat_what_a_shared_channel_already_told(server, clients) -> None:
    alice = await capped(server, "alice", "extended-monitor", "away-notify", channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MONITOR + bob")
    await alice.expect("730")
    bob.send("AWAY :afk")
    await bob.expect("306")
    assert commands(await sync(alice)) == ["AWAY"]


async def test_a_nick_named_twice_in_one_command_is_answered_once(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR + bob,BOB,carol,Carol")
    got = await sync(alice)
    assert [(m.command, m.params[1]) for m in got] == [("730", mask("bob")), ("731", "carol")], got
