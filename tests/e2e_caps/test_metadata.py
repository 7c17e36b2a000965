"""draft/metadata-2: keys and values on users and channels, subscriptions, the limits
the capability advertises, before-connect, notifications and synchronisation."""

from __future__ import annotations

from tests.e2e_caps.support import batches, capped
from tests.helpers import LineClient, commands, connected, sync

META = "draft/metadata-2"
AWARE = (META, "batch")


async def reply(client: LineClient, line: str) -> list:
    """Everything `client` is sent in answer to `line` (PONG excluded)."""
    client.send(line)
    return await sync(client)


def the_batch(messages: list, kind: str = "metadata") -> tuple[list[str], list]:
    """The parameters and the contents of the one batch among `messages`."""
    (found,) = batches(messages).values()
    opening, *inside, closing = found
    assert opening.params[1] == kind and closing.command == "BATCH"
    return opening.params[2:], inside


def params(messages: list) -> list[list[str]]:
    return [[m.command, *m.params] for m in messages]


async def test_the_capability_advertises_the_configured_limits(make_server, clients) -> None:
    for overrides, value in (
        ((), "before-connect,max-subs=50,max-keys=20,max-value-bytes=256"),
        (("limits.metadata_max_subs=3", "limits.metadata_max_keys=4", "limits.metadata_max_value_bytes=100"),
         "before-connect,max-subs=3,max-keys=4,max-value-bytes=100"),
    ):  # fmt: skip
        server = await make_server(*overrides)
        client = await LineClient.connect(server)
        clients.append(client)
        client.send("CAP LS 302")
        listed = await client.collect_until(lambda m: m.command == "CAP" and m.params[2] != "*")
        tokens = " ".join(m.params[-1] for m in listed).split()
        assert f"{META}={value}" in tokens


async def test_set_get_list_and_remove_ones_own_keys(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE)
    clients.append(alice)
    assert params(await reply(alice, "METADATA * SET display-name :Alice L")) == [
        ["761", "alice", "alice", "display-name", "*", "Alice L"]
    ]
    await reply(alice, "METADATA alice SET pronouns :she/her")
    target, inside = the_batch(await reply(alice, "METADATA * GET pronouns avatar Bad-Key display-name"))
    assert target == ["alice"]
    assert params(inside) == [
        ["761", "alice", "alice", "pronouns", "*", "she/her"],
        ["766", "alice", "alice", "avatar", "Key not set"],
        ["WARN", "METADATA", "INVALID_KEY", "Bad-Key", "Invalid key"],
        ["761", "alice", "alice", "display-name", "*", "Alice L"],
    ]
    target, inside = the_batch(await reply(alice, "METADATA * LIST"))
    assert [m.params[2:] for m in inside] == [["display-name", "*", "Alice L"], ["pronouns", "*", "she/her"]]
    assert params(await reply(alice, "METADATA * SET pronouns")) == [
        ["766", "alice", "alice", "pronouns", "Key not set"]
    ]
    # removing a key that is not there, or setting a value again, is no error
    assert commands(await reply(alice, "METADATA * SET pronouns :")) == ["766"]
    assert commands(await reply(alice, "METADATA * SET display-name :Alice L")) == ["761"]


async def test_anyone_reads_a_users_keys_only_the_user_changes_them(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE)
    bob = await capped(server, "bob", *AWARE)
    clients.extend([alice, bob])
    await reply(alice, "METADATA * SET website :https://alice.example")
    _, inside = the_batch(await reply(bob, "METADATA Alice GET website"))
    assert inside[0].params == ["bob", "alice", "website", "*", "https://alice.example"]
    assert params(await reply(bob, "METADATA alice SET website :https://evil.example")) == [
        ["FAIL", "METADATA", "KEY_NO_PERMISSION", "alice", "website", "You may not set metadata on this target"]
    ]
    assert params(await reply(bob, "METADATA alice CLEAR"))[0][:5] == [
        "FAIL", "METADATA", "KEY_NO_PERMISSION", "alice", "*"
    ]
    assert commands(await sync(alice)) == []
    _, inside = the_batch(await reply(alice, "METADATA * LIST"))
    assert [m.params[-1] for m in inside] == ["https://alice.example"]


async def test_errors_are_standard_replies_without_a_batch(make_server, clients) -> None:
    server = await make_server("limits.metadata_max_keys=2", "limits.metadata_max_value_bytes=10")
    alice = await capped(server, "alice", *AWARE)
    clients.append(alice)
    cases = {
        "METADATA nobody LIST": ["INVALID_TARGET", "nobody", "Invalid metadata target"],
        "METADATA #nowhere GET url": ["INVALID_TARGET", "#nowhere", "Invalid metadata target"],
        "METADATA * SET Url :x": ["INVALID_KEY", "Url", "Invalid key"],
        "METADATA * SET " + "k" * 65 + " :x": ["INVALID_KEY", "k" * 65, "Invalid key"],
        "METADATA * SET url :" + "x" * 11: ["VALUE_INVALID", "url", "The value is too long (at most 10 bytes)"],
        "METADATA * SET url :éééééé": ["VALUE_INVALID", "url", "The value is too long (at most 10 bytes)"],
        "METADATA": ["INVALID_PARAMS", "*", "Not enough parameters"],
        "METADATA *": ["INVALID_PARAMS", "*", "Not enough parameters"],
        "METADATA * SNEEZE": ["INVALID_PARAMS", "SNEEZE", "Unknown subcommand"],
        "METADATA * GET": ["INVALID_PARAMS", "GET", "Not enough parameters"],
        "METADATA * SET url two words": ["INVALID_PARAMS", "SET", "METADATA <target> SET <key> [:<value>]"],
        "METADATA * LIST extra": ["INVALID_PARAMS", "LIST", "Too many parameters"],
    }
    for line, expected in cases.items():
        assert params(await reply(alice, line)) == [["FAIL", "METADATA", *expected]], line
    await reply(alice, "METADATA * SET a :1")
    await reply(alice, "METADATA * SET b :2")
    assert params(await reply(alice, "METADATA * SET c :3")) == [
        ["FAIL", "METADATA", "LIMIT_REACHED", "alice", "Metadata limit reached (at most 2 keys)"]
    ]
    assert commands(await reply(alice, "METADATA * SET b :changed")) == ["761"]  # an existing key still changes


async def test_subscriptions_follow_the_advertised_limit(make_server, clients) -> None:
    server = await make_server("limits.metadata_max_subs=3")
    alice = await capped(server, "alice", *AWARE)
    clients.append(alice)
    got = await reply(alice, "METADATA * SUB avatar $url website avatar")
    assert params(got) == [
        ["770", "alice", "avatar"],
        ["WARN", "METADATA", "INVALID_KEY", "$url", "Invalid key"],
        ["770", "alice", "website"],
        ["770", "alice", "avatar"],
        ["BATCH", got[4].params[0], "metadata", "*ALL"],  # the current values of the new keys: none
        ["BATCH", "-" + got[4].params[0][1:]],
    ]
    got = await reply(alice, "METADATA * SUB status foo bar")
    assert params(got)[:2] == [
        ["770", "alice", "status"],
        ["FAIL", "METADATA", "TOO_MANY_SUBS", "foo", "Too many subscriptions (at most 3)"],
    ]
    _, inside = the_batch(await reply(alice, "METADATA * SUBS"), "metadata-subs")
    assert params(inside) == [["772", "alice", "avatar"], ["772", "alice", "status"], ["772", "alice", "website"]]
    assert params(await reply(alice, "METADATA * UNSUB status nothing")) == [
        ["771", "alice", "status"], ["771", "alice", "nothing"],
    ]  # fmt: skip
    assert params(await reply(alice, "METADATA bob SUBS"))[0][:4] == ["FAIL", "METADATA", "INVALID_TARGET", "bob"]
    alice.send("CAP REQ -draft/metadata-2")  # turned off: the subscriptions go with it
    await alice.expect("CAP")
    alice.send("CAP REQ draft/metadata-2")
    await alice.expect("CAP")
    opening = await alice.expect("BATCH")  # one's own metadata (none), as the spec wants after a late REQ
    assert opening.params[1:] == ["metadata", "alice"]
    await alice.expect("BATCH", "-" + opening.params[0][1:])
    _, inside = the_batch(await reply(alice, "METADATA * SUBS"), "metadata-subs")
    assert inside == []


async def test_subscribers_sharing_a_channel_or_monitoring_hear_of_changes(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, channels=("#room",))
    bob = await capped(server, "bob", *AWARE, channels=("#room",))
    carol = await capped(server, "carol", *AWARE, channels=("#room",))  # not subscribed
    dave = await capped(server, "dave", "batch", channels=("#room",))  # no capability
    erin = await capped(server, "erin", *AWARE)  # monitors alice, shares no channel
    stranger = await capped(server, "stranger", *AWARE)
    clients.extend([alice, bob, carol, dave, erin, stranger])
    for client in (alice, bob, carol, dave):
        await sync(client)  # the JOINs are read
    for client in (bob, erin, stranger, alice):
        await reply(client, "METADATA * SUB display-name")
    await reply(erin, "MONITOR + alice")
    await reply(alice, "METADATA * SET display-name :Alice")
    await reply(alice, "METADATA * SET avatar :https://a.example/a.png")  # nobody subscribed to it
    for watcher in (bob, erin):
        assert params(await sync(watcher)) == [["METADATA", "alice", "display-name", "*", "Alice"]]
        assert watcher.raw[-2] == ":hubbub.local METADATA alice display-name * Alice"
    for other in (carol, dave, stranger):
        assert commands(await sync(other)) == []
    removed = [["METADATA", "alice", "display-name", "*"]]
    await reply(alice, "METADATA * SET display-name")
    for watcher in (bob, erin):
        assert params(await sync(watcher)) == removed
    await reply(alice, "METADATA * SET display-name :Alice again")
    for watcher in (bob, erin):
        assert params(await sync(watcher)) == [["METADATA", "alice", "display-name", "*", "Alice again"]]
    await reply(alice, "METADATA * CLEAR")
    for watcher in (bob, erin):
        assert params(await sync(watcher)) == removed


async def test_channel_keys_are_set_by_halfops_and_told_to_subscribed_members(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, channels=("#room",))
    bob = await capped(server, "bob", *AWARE, channels=("#room",))
    outsider = await capped(server, "outsider", *AWARE)
    clients.extend([alice, bob, outsider])
    await sync(alice)
    await reply(bob, "METADATA * SUB url")
    await reply(outsider, "METADATA * SUB url")
    assert params(await reply(bob, "METADATA #room SET url :https://room.example"))[0][:4] == [
        "FAIL", "METADATA", "KEY_NO_PERMISSION", "#room"
    ]
    assert params(await reply(alice, "METADATA #ROOM SET url :https://room.example")) == [
        ["761", "alice", "#room", "url", "*", "https://room.example"]
    ]
    assert params(await sync(bob)) == [["METADATA", "#room", "url", "*", "https://room.example"]]
    assert commands(await sync(outsider)) == []
    _, inside = the_batch(await reply(outsider, "METADATA #room GET url"))  # a public channel's keys
    assert inside[0].params[-1] == "https://room.example"
    await reply(alice, "MODE #room +sh bob")
    assert params(await reply(outsider, "METADATA #room GET url"))[0][:4] == [
        "FAIL", "METADATA", "INVALID_TARGET", "#room"
    ]
    await sync(bob)
    assert commands(await reply(bob, "METADATA #room SET topic-url :https://t.example")) == ["761"]  # halfop
    _, inside = the_batch(await reply(bob, "METADATA #room CLEAR"))
    assert params(inside) == [
        ["766", "bob", "#room", "url", "Key not set"], ["766", "bob", "#room", "topic-url", "Key not set"],
    ]  # fmt: skip
    assert params(await sync(alice)) == []  # not subscribed to anything


async def test_joining_synchronises_the_channel_and_its_members(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, channels=("#room",))
    clients.append(alice)
    await reply(alice, "METADATA * SET display-name :Alice")
    await reply(alice, "METADATA #room SET url :https://room.example")
    bob = await capped(server, "bob", *AWARE)
    clients.append(bob)
    await reply(bob, "METADATA * SUB display-name url")
    await reply(bob, "METADATA * SET display-name :Bob")
    got = await reply(bob, "JOIN #room")
    assert commands(got)[:3] == ["JOIN", "353", "366"]
    target, inside = the_batch(got[3:])
    assert target == ["#room"]
    assert params(inside) == [
        ["METADATA", "#room", "url", "*", "https://room.example"],
        ["METADATA", "alice", "display-name", "*", "Alice"],
        ["METADATA", "bob", "display-name", "*", "Bob"],
    ]
    plain = await capped(server, "plain", "batch")  # not metadata-aware: no batch on JOIN
    clients.append(plain)
    assert commands(await reply(plain, "JOIN #room")) == ["JOIN", "353", "366"]


async def test_sync_of_a_target_a_channel_and_everything(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, channels=("#room",))
    bob = await capped(server, "bob", *AWARE, channels=("#room",))
    clients.extend([alice, bob])
    await reply(alice, "METADATA * SET status :around")
    await reply(alice, "METADATA #room SET status :busy room")
    await reply(bob, "METADATA * SUB status")
    target, inside = the_batch(await reply(bob, "METADATA alice SYNC"))
    assert target == ["alice"] and params(inside) == [["METADATA", "alice", "status", "*", "around"]]
    target, inside = the_batch(await reply(bob, "METADATA #room SYNC"))
    assert target == ["#room"] and [m.params[0] for m in inside] == ["#room", "alice"]
    target, inside = the_batch(await reply(bob, "METADATA *ALL SYNC"))
    assert target == ["*ALL"] and sorted(m.params[0] for m in inside) == ["#room", "alice"]


async def test_subscribing_after_registration_sends_the_current_values(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, channels=("#room",))
    bob = await capped(server, "bob", *AWARE, channels=("#room",))
    clients.extend([alice, bob])
    await reply(alice, "METADATA * SET avatar :https://a.example/a.png")
    await reply(alice, "METADATA * SET status :hi")
    got = await reply(bob, "METADATA * SUB avatar")
    assert commands(got[:1]) == ["770"]
    target, inside = the_batch(got[1:])
    assert target == ["*ALL"] and params(inside) == [["METADATA", "alice", "avatar", "*", "https://a.example/a.png"]]
    assert commands(await reply(bob, "METADATA * SUB avatar")) == ["770"]  # nothing new: nothing to send


async def test_before_connect_keys_and_subscriptions_then_the_registration_burst(server, clients) -> None:
    watcher = await capped(server, "watcher", *AWARE)
    clients.append(watcher)
    await reply(watcher, "METADATA * SUB display-name")
    await reply(watcher, "MONITOR + early")
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("CAP LS 302")
    await early.expect("CAP")
    early.send("CAP REQ :batch draft/metadata-2")
    await early.expect("CAP", "*", "ACK")
    assert params(await reply(early, "METADATA * SUB display-name")) == [["770", "*", "display-name"]]
    assert params(await reply(early, "METADATA * SET display-name :Early Bird")) == [
        ["761", "*", "*", "display-name", "*", "Early Bird"]
    ]
    assert params(await reply(early, "METADATA watcher GET display-name"))[0][:4] == [
        "FAIL", "METADATA", "INVALID_TARGET", "watcher"
    ]
    early.send("NICK early")
    early.send("USER e 0 * :Early")
    early.send("CAP END")
    burst = await early.collect_until("376")
    start = commands(burst).index("BATCH")
    assert commands(burst).index("375") > start  # before the MOTD
    target, inside = the_batch(burst[start : start + 3])
    assert target == ["early"] and params(inside) == [["761", "early", "early", "display-name", "*", "Early Bird"]]
    online = await watcher.collect_until(lambda m: m.command == "BATCH" and m.params[0].startswith("-"))
    assert commands(online)[0] == "730"
    _, inside = the_batch(online[1:])
    assert params(inside) == [["METADATA", "early", "display-name", "*", "Early Bird"]]


async def test_metadata_before_registration_is_for_oneself_only(server, clients) -> None:
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("CAP LS 302")
    await early.expect("CAP")
    early.send("METADATA #room LIST")
    assert (await early.expect("FAIL")).params[:3] == ["METADATA", "INVALID_TARGET", "#room"]


async def test_monitoring_a_user_sends_its_subscribed_keys(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE)
    bob = await capped(server, "bob", *AWARE)
    clients.extend([alice, bob])
    await reply(alice, "METADATA * SET display-name :Alice")
    await reply(bob, "METADATA * SUB display-name")
    got = await reply(bob, "MONITOR + alice,nobody")
    assert commands(got)[:2] == ["730", "731"]
    target, inside = the_batch(got[2:])
    assert target == ["alice"] and params(inside) == [["METADATA", "alice", "display-name", "*", "Alice"]]


async def test_a_labeled_get_carries_the_label_on_its_batch(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, "labeled-response")
    clients.append(alice)
    got = await reply(alice, "@label=m1 METADATA * GET url")
    assert got[0].command == "BATCH" and got[0].tags == {"label": "m1"} and got[0].params[1:] == ["metadata", "alice"]
    assert params(got[1:-1]) == [["766", "alice", "alice", "url", "Key not set"]]
    (fail,) = await reply(alice, "@label=m2 METADATA * SET URL :x")
    assert fail.command == "FAIL" and fail.tags == {"label": "m2"}


async def test_without_batch_the_replies_come_alone(server, clients) -> None:
    alice = await capped(server, "alice", META)
    clients.append(alice)
    await reply(alice, "METADATA * SET url :https://a.example")
    assert params(await reply(alice, "METADATA * GET url")) == [["761", "alice", "alice", "url", "*", "https://a.example"]]


async def test_whois_shows_the_keys_people_read(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE)
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    await reply(alice, "METADATA * SET display-name :Alice Liddell")
    await reply(alice, "METADATA * SET x-internal :42")
    bob.send("WHOIS alice")
    whois = await bob.collect_until("318")
    assert [m.params for m in whois if m.command == "760"] == [["bob", "alice", "display-name", "*", "Alice Liddell"]]


async def test_a_sync_too_big_for_the_send_queue_is_postponed_with_774(make_server, clients) -> None:
    server = await make_server("limits.sendq=4096", "limits.metadata_max_value_bytes=200")
    alice = await capped(server, "alice", *AWARE, channels=("#big",))
    clients.append(alice)
    for i in range(12):
        await reply(alice, f"METADATA * SET k{i} :" + "v" * 200)
    bob = await capped(server, "bob", *AWARE)
    clients.append(bob)
    await reply(bob, "METADATA * SUB " + " ".join(f"k{i}" for i in range(12)))
    got = await reply(bob, "JOIN #big")
    assert params(got)[-1] == ["774", "bob", "#big", "60", "Too much metadata to send at once"]


async def test_a_rename_keeps_the_channels_metadata(server, clients) -> None:
    alice = await capped(server, "alice", *AWARE, "draft/channel-rename", channels=("#old",))
    clients.append(alice)
    await reply(alice, "METADATA #old SET url :https://x.example")
    await reply(alice, "RENAME #old #new")
    _, inside = the_batch(await reply(alice, "METADATA #new LIST"))
    assert params(inside) == [["761", "alice", "#new", "url", "*", "https://x.example"]]
