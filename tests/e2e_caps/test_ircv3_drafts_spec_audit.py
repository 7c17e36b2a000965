"""Spec audit of the IRCv3 drafts and small extensions hubbub claims (docs/ircv3.md):
draft/channel-rename, draft/pre-away, extended-monitor, setname, chghost, draft/metadata-2,
draft/read-marker, invite-notify, bot mode and UTF8ONLY.

Black box over real sockets, on the corners the other files leave: a capability asked
for after registration (`CAP REQ`) and turned off again (`CAP REQ -name`), what a client
without the capability gets instead (channel-rename's PART/JOIN fallback), exact replies,
the limits the server advertises (ISUPPORT, CAP values) at their edges, and several
connections at once. What test_channel_rename.py, test_pre_away.py, test_monitor.py,
test_user_notices.py, test_metadata.py, test_spec_more.py and test_ircv3_round2.py check
is not repeated. Specifications: ircv3-specifications extensions/channel-rename.md,
pre-away.md, extended-monitor.md, setname.md, chghost.md, metadata.md, read-marker.md,
invite-notify.md, bot-mode.md, utf8-only.md.

A test marked xfail(strict=True) records a deviation from the specification it quotes.
"""

from __future__ import annotations

from pathlib import Path

from hubbub.server.delivery import new_msgid
from hubbub.server.events import HostSet
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import batches, capped, mask
from tests.e2e_opers.conftest import make_oper_server, oper_hash  # noqa: F401  (fixtures)
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient, cap_ls, commands, isupport_tokens, sync

RENAME = "draft/channel-rename"
META = ("draft/metadata-2", "batch")


async def reply(client: LineClient, line: str | bytes) -> list:
    """Everything `client` is sent in answer to `line` (PONG excluded)."""
    client.send(line)
    return await sync(client)


async def cap(client: LineClient, request: str) -> None:
    """`CAP REQ :request`, acknowledged."""
    client.send(f"CAP REQ :{request}")
    await client.expect("CAP", client.nick, "ACK")


def params(messages: list) -> list[list[str]]:
    return [[m.command, *m.params] for m in messages]


async def negotiating(server, *caps: str) -> LineClient:
    """A client in the middle of CAP negotiation (the whole 302 list read), `caps` on."""
    client = await LineClient.connect(server)
    await cap_ls(client)
    if caps:
        client.send("CAP REQ :" + " ".join(caps))
        await client.expect("CAP", "*", "ACK")
    return client


async def finish(client: LineClient, nick: str) -> list:
    """NICK, USER, CAP END: the registration burst, up to the end of the MOTD."""
    client.send(f"NICK {nick}")
    client.send(f"USER u 0 * :{nick}")
    client.send("CAP END")
    burst = await client.collect_until(lambda m: m.command in ("376", "422"))
    client.nick = nick
    return burst


def change_host(server, nick: str, username: str, host: str) -> None:
    """What a cloak or vhost will do (no command changes a host yet): the one event that
    does, emitted in the running server, as test_user_notices.py does."""
    user = server.state.find_user(nick)
    server.engine.emit(None, HostSet(user.uid, username, host, server.clock(), new_msgid()))


# -- draft/channel-rename ------------------------------------------------------------------


async def test_channel_rename_asked_for_after_registration_then_turned_off(server, clients) -> None:
    """channel-rename: "Clients that negotiate this capability indicate that they are
    capable of handling the `RENAME` command." and "Server implementations MUST implement a
    fallback mechanism to inform clients that have not negotiated the
    `draft/channel-rename` capability of a channel name change." """
    alice = await capped(server, "alice", RENAME, channels=("#one",))
    bob = await capped(server, "bob", channels=("#one",))
    clients.extend([alice, bob])
    await cap(bob, RENAME)  # negotiated mid-session: RENAME from now on
    await sync(alice)
    alice.send("RENAME #one #two :tidy")
    assert params(await sync(bob)) == [["RENAME", "#one", "#two", "tidy"]]
    await cap(bob, "-" + RENAME)  # turned off: the fallback again
    alice.send("RENAME #two #three :again")
    await alice.expect("RENAME")
    shown = await bob.collect_until("366")
    assert commands(shown) == ["PART", "JOIN", "353", "366"]
    assert (shown[0].source, shown[0].params) == (mask("bob"), ["#two", "again"])
    assert (shown[1].source, shown[1].params) == (mask("bob"), ["#three"])
    assert "RENAME" not in commands(await sync(bob))


async def test_the_fallback_shows_each_client_only_its_own_part_and_join(server, clients) -> None:
    """channel-rename fallback: "Send the client a `PART` message for the old channel name
    ... Send the client a `JOIN` message followed by the usual messages that would be sent
    if the client had joined the new channel normally" (the client's own PART and JOIN:
    nobody else is seen leaving)."""
    alice = await capped(server, "alice", RENAME, channels=("#old",))
    bob = await capped(server, "bob", channels=("#old",))
    carol = await capped(server, "carol", channels=("#old",))
    clients.extend([alice, bob, carol])
    for client in (alice, bob, carol):
        await sync(client)
    alice.send("RENAME #old #new")
    await alice.expect("RENAME")
    for client, nick in ((bob, "bob"), (carol, "carol")):
        got = await client.collect_until("366")
        assert [(m.command, m.source) for m in got[:2]] == [("PART", mask(nick)), ("JOIN", mask(nick))]
        assert got[2].params == [nick, "=", "#new", "@alice bob carol"]
        assert commands(await sync(client)) == []  # nothing about the other member
    assert commands(await sync(alice)) == []  # the capability: the RENAME only


async def test_the_fallback_names_follow_the_clients_caps_and_a_labeled_renamer_gets_one_batch(server, clients) -> None:
    """channel-rename: "If a client sends a valid `RENAME` command without having
    negotiated the capability, the server SHOULD rename the channel, but use the fallback
    mechanism to report the name change to that client", the JOIN "followed by the usual
    messages that would be sent if the client had joined the new channel normally"
    (multi-prefix and userhost-in-names NAMES, and the labeled reply of labeled-response)."""
    alice = await capped(server, "alice", "multi-prefix", "userhost-in-names", "batch", "labeled-response",
                         channels=("#f",))  # fmt: skip
    carol = await capped(server, "carol", "multi-prefix", "userhost-in-names", channels=("#f",))
    clients.extend([alice, carol])
    alice.send("MODE #f +v alice")
    await carol.expect("MODE")
    await sync(alice)
    got = await reply(alice, "@label=r1 RENAME #f #g :why")
    (ref,) = batches(got)
    assert got[0].command == "BATCH" and got[0].tags == {"label": "r1"} and got[0].params[1] == "labeled-response"
    assert commands(got[1:-1]) == ["PART", "JOIN", "353", "366"]
    assert all(m.tags.get("batch") == ref for m in got[1:-1])
    names = f"@+{mask('alice')} {mask('carol')}"
    assert got[3].params == ["alice", "=", "#g", names]
    shown = await carol.collect_until("366")
    assert commands(shown) == ["PART", "JOIN", "353", "366"] and shown[2].params[-1] == names


async def test_the_fallback_join_is_followed_by_markread_for_read_marker_clients(server, clients) -> None:
    """read-marker: "If the `draft/read-marker` capability is negotiated, after the server
    sends a server `JOIN` command to the client for a corresponding channel, the server
    MUST send a `MARKREAD` command for that channel. The command MUST be sent before the
    `RPL_ENDOFNAMES` reply for that channel following the `JOIN`." The channel-rename
    fallback sends such a JOIN, "followed by the usual messages that would be sent if the
    client had joined the new channel normally"."""
    alice = await capped(server, "alice", RENAME, channels=("#foo",))
    bob = await capped(server, "bob", "draft/read-marker", channels=("#foo",))
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("RENAME #foo #bar")
    shown = await bob.collect_until("366")
    assert commands(shown)[:2] == ["PART", "JOIN"] and commands(shown)[-1] == "366"
    assert [m.params for m in shown if m.command == "MARKREAD"] == [["#bar", "*"]]


async def test_the_fallback_join_is_followed_by_the_metadata_a_join_sends(server, clients) -> None:
    """metadata: "On joining a channel, users will get the channel's current metadata sent
    to them with `METADATA` messages ... for the keys they are subscribed to." The
    channel-rename fallback's JOIN is "followed by the usual messages that would be sent if
    the client had joined the new channel normally" (the client forgot the old channel,
    its metadata with it, at the PART)."""
    alice = await capped(server, "alice", RENAME, *META, channels=("#m",))
    bob = await capped(server, "bob", *META)
    clients.extend([alice, bob])
    await reply(alice, "METADATA #m SET url :https://m.example")
    await reply(bob, "METADATA * SUB url")
    joined = await reply(bob, "JOIN #m")  # what a JOIN brings: the channel's subscribed keys
    assert commands(joined) == ["JOIN", "353", "366", "BATCH", "METADATA", "BATCH"]
    await sync(alice)
    alice.send("RENAME #m #n")
    await alice.expect("RENAME")
    await sync(alice)
    shown = await sync(bob)
    assert commands(shown) == ["PART", "JOIN", "353", "366", "BATCH", "METADATA", "BATCH"]
    assert shown[4].params[1:] == ["metadata", "#n"]
    assert shown[5].params == ["#n", "url", "*", "https://m.example"]


async def test_rename_keeps_to_the_advertised_channellen(server, clients) -> None:
    """channel-rename: "If existing error numerics (such as `ERR_CHANOPRIVSNEEDED`,
    `ERR_NOTONCHANNEL`, `ERR_NEEDMOREPARAMS`) are more appropriate, they SHOULD be used
    instead." A new name longer than CHANNELLEN is a bad channel name (476); one exactly
    CHANNELLEN long is taken."""
    alice = await capped(server, "alice", RENAME)
    clients.append(alice)
    channellen = int(isupport_tokens(alice.received)["CHANNELLEN"] or 0)  # from its welcome burst
    await alice.join("#a")
    too_long = "#" + "x" * channellen
    assert params(await reply(alice, f"RENAME #a {too_long}")) == [["476", "alice", too_long, "Bad Channel Mask"]]
    longest = "#" + "y" * (channellen - 1)
    assert params(await reply(alice, f"RENAME #a {longest}")) == [["RENAME", "#a", longest, ""]]


async def test_a_registered_channel_may_still_change_the_case_of_its_name(server, clients) -> None:
    """channel-rename: "Implementations MUST allow channels to be renamed while only
    changing the casing of a channel name." (tests/e2e_accounts/test_rename_registered.py
    pins the refusal as hubbub's choice.)"""
    alice = await registered_account(server, "alice", "correct-horse", "#chan")
    clients.append(alice)
    alice.send("PRIVMSG ChanServ :REGISTER #chan")
    await alice.expect("MODE", "#chan", "+q", "alice")
    await cap(alice, RENAME)
    assert params(await reply(alice, "RENAME #chan #Chan")) == [["RENAME", "#chan", "#Chan", ""]]


# -- draft/pre-away ------------------------------------------------------------------------


async def test_pre_away_star_reaches_away_notify_neighbours_as_star(server, clients) -> None:
    """pre-away: "Clients receiving `*` as an away message (for example, in `301 RPL_AWAY`
    or away-notify) SHOULD treat it as indicating that the user is not present for an
    unspecified reason." (hubbub relays it as `*`, docs/ircv3.md; the 301 is tested in
    test_pre_away.py.)"""
    watcher = await capped(server, "watcher", "away-notify", channels=("#room",))
    early = await negotiating(server, "draft/pre-away")
    clients.extend([watcher, early])
    assert commands(await reply(early, "AWAY *")) == ["306"]
    await finish(early, "early")
    await sync(watcher)
    early.send("JOIN #room")
    joined = await watcher.expect("JOIN")
    away = await watcher.expect("AWAY")
    assert (joined.source, away.source, away.params) == (mask("early"), mask("early"), ["*"])


async def test_pre_away_turned_off_before_registration_refuses_away_again(server, clients) -> None:
    """pre-away: "Clients wishing to make use of this specification MUST negotiate the
    capability" and "If the capability has been negotiated, servers MUST accept the `AWAY`
    command before connection registration has completed." Turned off again with
    `CAP REQ -draft/pre-away`, AWAY before registration is refused as without it."""
    early = await negotiating(server, "draft/pre-away")
    clients.append(early)
    assert commands(await reply(early, "AWAY :first")) == ["306"]
    early.send("CAP REQ -draft/pre-away")
    await early.expect("CAP", "*", "ACK")
    assert params(await reply(early, "AWAY :second")) == [["451", "*", "You have not registered"]]
    await finish(early, "early")
    got = await reply(early, "WHOIS early")
    assert [m.params[-1] for m in got if m.command == "301"] == ["first"]  # the accepted one stands


async def test_pre_away_message_is_cut_to_awaylen(server, clients) -> None:
    """pre-away: "the `AWAY` command MAY be used pre-registration to set a human-readable
    away message associated with the connection as usual": as usual, within the AWAYLEN
    the server advertises (bytes, cut on a character boundary)."""
    early = await negotiating(server, "draft/pre-away")
    clients.append(early)
    text = "é" * 250  # 500 bytes: longer than AWAYLEN
    assert commands(await reply(early, "AWAY :" + text)) == ["306"]
    awaylen = int(isupport_tokens(await finish(early, "early"))["AWAYLEN"] or 0)
    assert 0 < awaylen < 500
    (away,) = [m for m in await reply(early, "WHOIS early") if m.command == "301"]
    assert away.params[-1] == "é" * (awaylen // 2)


# -- extended-monitor ----------------------------------------------------------------------


async def test_extended_monitor_asked_for_mid_session_by_either_name_then_turned_off(server, clients) -> None:
    """extended-monitor: "When enabled by the client: If `away-notify` is also enabled, the
    client will get AWAY notifications for monitored nicks." Negotiated after the MONITOR
    list is made, under both names (one notice, not two), and turned off again."""
    watcher = await capped(server, "watcher", "away-notify")
    bob = await capped(server, "bob")
    clients.extend([watcher, bob])
    assert commands(await reply(watcher, "MONITOR + bob")) == ["730"]
    assert commands(await reply(bob, "AWAY :one")) == ["306"]
    assert commands(await sync(watcher)) == []  # not negotiated yet
    await cap(watcher, "extended-monitor draft/extended-monitor")
    await reply(bob, "AWAY :two")
    assert params(await sync(watcher)) == [["AWAY", "two"]]
    await cap(watcher, "-extended-monitor")  # the draft name still on
    await reply(bob, "AWAY")
    assert params(await sync(watcher)) == [["AWAY"]]
    await cap(watcher, "-draft/extended-monitor")
    await reply(bob, "AWAY :three")
    assert commands(await sync(watcher)) == []


async def test_extended_monitor_follows_the_nick_not_the_person(server, clients) -> None:
    """extended-monitor: "This specification extends MONITOR to also include AWAY,
    ACCOUNT, CHGHOST and SETNAME notifications" "for monitored nicks": once the user
    leaves the nick, nothing more about it; whoever takes the nick is told of."""
    watcher = await capped(server, "watcher", "away-notify", "extended-monitor")
    carol = await capped(server, "carol")
    other = await capped(server, "other")
    clients.extend([watcher, carol, other])
    await reply(watcher, "MONITOR + CAROL")  # any case
    await reply(carol, "AWAY :x")
    assert params(await sync(watcher)) == [["AWAY", "x"]]
    await reply(carol, "NICK caroline")
    assert commands(await sync(watcher)) == ["731"]
    await reply(carol, "AWAY :y")
    assert commands(await sync(watcher)) == []
    await reply(other, "NICK Carol")
    assert commands(await sync(watcher)) == ["730"]
    await reply(other, "AWAY :z")
    got = await sync(watcher)
    assert [(m.source, m.params) for m in got] == [("Carol!~u@127.0.0.1", ["z"])]


async def test_chghost_reaches_extended_monitor_watchers_and_mid_session_holders(server, clients) -> None:
    """extended-monitor: "If `chghost` is also enabled, the client will get CHGHOST
    notifications for monitored nicks." chghost: "servers MUST send the `CHGHOST` message
    to other clients who share channels with the target client and who have enabled the
    `chghost` capability", and the `~` of an unconfirmed username "MUST be considered part
    of the username and included in any CHGHOST messages"."""
    watcher = await capped(server, "watcher", "extended-monitor")
    neighbour = await capped(server, "neighbour", channels=("#room",))
    bob = await capped(server, "bob", channels=("#room",))
    clients.extend([watcher, neighbour, bob])
    await reply(watcher, "MONITOR + bob")
    await cap(watcher, "chghost")
    await cap(neighbour, "chghost")  # asked for after registration
    await sync(neighbour)
    change_host(server, "bob", "~b", "new.host")
    for client in (watcher, neighbour):
        (seen,) = await sync(client)
        assert (seen.command, seen.source, seen.params) == ("CHGHOST", mask("bob"), ["~b", "new.host"])
    await cap(neighbour, "-chghost")
    change_host(server, "bob", "~c", "newer.host")
    assert params(await sync(watcher)) == [["CHGHOST", "~c", "newer.host"]]
    assert commands(await sync(neighbour)) == []


# -- setname --------------------------------------------------------------------------------


async def test_setname_asked_for_mid_session_then_turned_off(server, clients) -> None:
    """setname: "If they accept the realname change, they MUST send the server-to-client
    version of the `SETNAME` message to all clients in common channels, as well as to the
    client from which it originated." and "If a client sends a `SETNAME` command without
    having negotiated the capability, the server SHOULD handle it silently"."""
    alice = await capped(server, "alice", channels=("#room",))
    bob = await capped(server, "bob", "setname", channels=("#room",))
    clients.extend([alice, bob])
    await sync(bob)
    await cap(alice, "setname")
    assert params(await reply(alice, "SETNAME :Alice One")) == [["SETNAME", "Alice One"]]
    assert params(await sync(bob)) == [["SETNAME", "Alice One"]]
    await cap(alice, "-setname")
    assert commands(await reply(alice, "SETNAME Alice2")) == []  # silently, as historic servers did
    assert params(await sync(bob)) == [["SETNAME", "Alice2"]]  # still told to those who asked
    got = await reply(bob, "WHOIS alice")
    assert [m.params[-1] for m in got if m.command == "311"] == ["Alice2"]


async def test_setname_length_is_namelen_bytes_and_a_refusal_is_a_fail_even_without_the_cap(
    make_server, clients
) -> None:
    """setname: "Servers MUST check the realname for validity (taking length limits into
    consideration)." and "The server MUST use the FAIL spec to notify the client of failed
    `SETNAME` commands." ... "FAIL SETNAME INVALID_REALNAME :Realname is not valid".
    NAMELEN counts bytes (docs/ircv3.md)."""
    server = await make_server("limits.namelen=10")
    alice = await capped(server, "alice", "setname")
    plain = await capped(server, "plain")
    clients.extend([alice, plain])
    assert params(await reply(alice, "SETNAME :ééééé")) == [["SETNAME", "ééééé"]]  # 10 bytes
    (fail,) = await reply(alice, "SETNAME :éééééa")  # 11 bytes, 6 characters
    assert fail.command == "FAIL" and fail.params[:2] == ["SETNAME", "INVALID_REALNAME"]
    (fail,) = await reply(plain, "SETNAME :" + "x" * 11)
    assert fail.command == "FAIL" and fail.params[:2] == ["SETNAME", "INVALID_REALNAME"]
    got = await reply(plain, "WHOIS alice")
    assert [m.params[-1] for m in got if m.command == "311"] == ["ééééé"]


# -- draft/metadata-2 ----------------------------------------------------------------------


async def test_metadata_registration_burst_has_an_empty_batch_when_no_key_is_set(server, clients) -> None:
    """metadata: "Upon requesting the `metadata` capability, clients receive their
    non-transient metadata (...) in a `metadata` batch with their own nick as target. If
    none exists, the server MUST send an empty batch instead." """
    early = await negotiating(server, *META)
    clients.append(early)
    burst = await finish(early, "early")
    (found,) = batches(burst).values()
    assert params(found) == [
        ["BATCH", found[0].params[0], "metadata", "early"],
        ["BATCH", "-" + found[0].params[0][1:]],
    ]


async def test_metadata_asked_for_after_registration_sends_ones_own_batch(server, clients) -> None:
    """metadata: "Upon requesting the `metadata` capability, clients receive their
    non-transient metadata (...) in a `metadata` batch with their own nick as target. If
    none exists, the server MUST send an empty batch instead." (requested here after
    registration)."""
    alice = await capped(server, "alice", "batch")
    clients.append(alice)
    got = await reply(alice, "CAP REQ draft/metadata-2")
    assert params(got[:1]) == [["CAP", "alice", "ACK", "draft/metadata-2"]]
    (found,) = batches(got[1:]).values()
    assert found[0].params[1:] == ["metadata", "alice"] and len(found) == 2


async def test_metadata_capabilities_may_come_in_any_order_and_never_beside_the_old_names(server, clients) -> None:
    """metadata: "This specification depends on the `batch` capability which MUST be
    negotiated to use `draft/metadata-2`. The order of capability negotiation is not
    significant and MUST not be enforced." and "Clients MUST NOT request both (`metadata`
    or `metadata-notify`) and (`draft/metadata-2` or `draft/metadata-notify-2`). Servers
    MUST NOT accept these requests either." """
    alice = await capped(server, "alice", "draft/metadata-2", channels=("#room",))  # batch after it
    bob = await capped(server, "bob", channels=("#room",))
    clients.extend([alice, bob])
    await cap(alice, "batch")
    await reply(alice, "METADATA * SET display-name :Alice")
    await reply(alice, "METADATA * SUB display-name")
    await reply(alice, "PART #room")
    got = await reply(alice, "JOIN #room")
    (found,) = batches(got).values()
    assert found[0].params[1:] == ["metadata", "#room"]
    assert params(found[1:-1]) == [["METADATA", "alice", "display-name", "*", "Alice"]]
    await sync(bob)
    for request in ("draft/metadata-2 metadata", "metadata-notify draft/metadata-2", "draft/metadata-notify-2"):
        assert params(await reply(bob, f"CAP REQ :{request}"))[0][:3] == ["CAP", "bob", "NAK"]


async def test_metadata_notifications_need_the_capability(server, clients) -> None:
    """metadata: "Clients MUST request this capability in order to receive `METADATA`
    notifications." A subscription made without it, or kept after turning it off, brings
    no METADATA line."""
    alice = await capped(server, "alice", *META, channels=("#room",))
    bob = await capped(server, "bob", "batch", channels=("#room",))
    carol = await capped(server, "carol", *META, channels=("#room",))
    clients.extend([alice, bob, carol])
    await reply(bob, "METADATA * SUB display-name")
    await reply(carol, "METADATA * SUB display-name")
    await sync(alice)
    await reply(alice, "METADATA * SET display-name :One")
    assert commands(await sync(bob)) == []
    assert params(await sync(carol)) == [["METADATA", "alice", "display-name", "*", "One"]]
    await cap(carol, "-draft/metadata-2")
    await reply(carol, "METADATA * SUB display-name")
    await reply(alice, "METADATA * SET display-name :Two")
    assert commands(await sync(carol)) == []
    assert commands(await sync(bob)) == []


async def test_metadata_of_oneself_is_told_when_someone_else_changes_it(make_oper_server, clients) -> None:  # noqa: F811
    """metadata: "Clients automatically receive metadata updates for themselves (excluding
    changes they make themselves), channels they are joined to, and other clients in the
    channels they are joined to." """
    server = await make_oper_server()
    alice = await capped(server, "alice", *META, channels=("#room",))
    oper = await an_oper(server, "ircop")
    clients.extend([alice, oper])
    await reply(alice, "METADATA * SUB status url")
    assert params(await reply(alice, "METADATA * SET status :mine")) == [
        ["761", "alice", "alice", "status", "*", "mine"]
    ]  # its own change: the reply only
    assert params(await reply(alice, "METADATA #room SET url :https://r.example")) == [
        ["761", "alice", "#room", "url", "*", "https://r.example"]
    ]
    assert params(await reply(oper, "METADATA alice SET status :set by an operator")) == [
        ["761", "ircop", "alice", "status", "*", "set by an operator"]
    ]
    assert params(await sync(alice)) == [["METADATA", "alice", "status", "*", "set by an operator"]]
    await reply(oper, "METADATA alice SET status")
    assert params(await sync(alice)) == [["METADATA", "alice", "status", "*"]]


async def test_metadata_one_notification_per_change_however_many_ways_one_sees_the_user(server, clients) -> None:
    """metadata: "When a user's metadata is updated, all users sharing a channel with that
    user (and all users who have [...] requested and are Monitoring that user) will
    receive a `METADATA` message notifying them of the change": one message, though they
    share two channels and monitor the user too."""
    alice = await capped(server, "alice", *META, channels=("#one", "#two"))
    bob = await capped(server, "bob", *META, channels=("#one", "#two"))
    clients.extend([alice, bob])
    await reply(bob, "MONITOR + alice")
    await reply(bob, "METADATA * SUB display-name")
    await sync(alice)
    await reply(alice, "METADATA * SET display-name :Alice")
    assert params(await sync(bob)) == [["METADATA", "alice", "display-name", "*", "Alice"]]


async def test_metadata_subs_lists_each_key_once_and_unsub_goes_on_past_an_invalid_key(server, clients) -> None:
    """metadata SUBS: "The server MUST NOT list the same key multiple times in a response
    to this subcommand." UNSUB: "If the client successfully unsubscribes from a key, or is
    not subscribed to a requested key, that key MUST appear in a `RPL_METADATAUNSUBOK`
    reply numeric. If the key's name is invalid, the server sends a [...] `INVALID_KEY`
    reply to the client and continues processing keys." """
    alice = await capped(server, "alice", *META)
    clients.append(alice)
    got = await reply(alice, "METADATA * SUB foo foo bar")
    assert [m.params for m in got if m.command == "770"] == [["alice", "foo"], ["alice", "foo"], ["alice", "bar"]]
    (found,) = batches(await reply(alice, "METADATA * SUBS")).values()
    assert sorted(m.params[1] for m in found if m.command == "772") == ["bar", "foo"]
    got = await reply(alice, "METADATA * UNSUB $bad foo never")
    assert [m.params[1:3] for m in got[:1]] == [["INVALID_KEY", "$bad"]]
    assert params(got[1:]) == [["771", "alice", "foo"], ["771", "alice", "never"]]
    (found,) = batches(await reply(alice, "METADATA * SUBS")).values()
    assert [m.params for m in found if m.command == "772"] == [["alice", "bar"]]


async def test_metadata_limits_at_their_exact_values(make_server, clients) -> None:
    """metadata: the capability "provides any limits and information about the system
    that clients must be aware of" (here `max-keys=2,max-value-bytes=10`, keys up to 64
    bytes: docs/ircv3.md), and "`LIMIT_REACHED` `<Target> :metadata limit reached`":
    a value of exactly max-value-bytes bytes is taken, a 64-byte key too, and a channel
    holds max-keys keys."""
    server = await make_server("limits.metadata_max_keys=2", "limits.metadata_max_value_bytes=10")
    alice = await capped(server, "alice", *META, channels=("#room",))
    clients.append(alice)
    assert "max-keys=2,max-value-bytes=10" in (await cap_ls(alice))[1]["draft/metadata-2"]
    assert params(await reply(alice, "METADATA * SET url :ééééé")) == [["761", "alice", "alice", "url", "*", "ééééé"]]
    key = "k" * 64
    assert params(await reply(alice, f"METADATA * SET {key} :v")) == [["761", "alice", "alice", key, "*", "v"]]
    await reply(alice, "METADATA #room SET a :1")
    await reply(alice, "METADATA #room SET b :2")
    assert params(await reply(alice, "METADATA #room SET c :3")) == [
        ["FAIL", "METADATA", "LIMIT_REACHED", "#room", "Metadata limit reached (at most 2 keys)"]
    ]


# -- draft/read-marker ---------------------------------------------------------------------


async def test_read_marker_asked_for_mid_session_then_turned_off(server, clients) -> None:
    """read-marker: "If the `draft/read-marker` capability is negotiated, after the server
    sends a server `JOIN` command to the client for a corresponding channel, the server
    MUST send a `MARKREAD` command for that channel." (and only then)."""
    alice = await capped(server, "alice")
    clients.append(alice)
    await cap(alice, "draft/read-marker")
    got = await reply(alice, "JOIN #one")
    assert commands(got).index("JOIN") < commands(got).index("MARKREAD") < commands(got).index("366")
    assert next(m for m in got if m.command == "MARKREAD").params == ["#one", "*"]
    await cap(alice, "-draft/read-marker")
    assert "MARKREAD" not in commands(await reply(alice, "JOIN #two"))


async def test_read_marker_updates_reach_the_accounts_connections_that_asked_and_no_one_else(
    make_server, clients, tmp_path: Path
) -> None:
    """read-marker: "If the `draft/read-marker` capability is negotiated, after the last
    read timestamp of a target changes, the server SHOULD send a `MARKREAD` command for
    that target to all the clients of the user." and "The read markers sent by a user MUST
    NOT be disclosed to other users by the server without an explicit opt-in." A connection
    of the account that asked for the capability mid-session is told, one that never asked
    is not, another user is not."""
    server = await make_server(f"store.db='{tmp_path / 'hubbub.db'}'")
    owner = await registered_account(server, "acct", "correct-horse", "#c")
    clients.append(owner)

    async def device(nick: str, *caps: str) -> LineClient:
        client = await capped(server, nick, *caps, channels=("#c",))
        clients.append(client)
        client.send("PRIVMSG NickServ :IDENTIFY acct correct-horse")
        await client.expect("900")
        return client

    laptop = await device("laptop", "draft/read-marker", "echo-message", "server-time")
    phone = await device("phone")
    tablet = await device("tablet")
    await cap(tablet, "draft/read-marker")
    stranger = await capped(server, "stranger", "draft/read-marker", channels=("#c",))
    clients.append(stranger)
    laptop.send("PRIVMSG #c :read up to here")
    stamp = "timestamp=" + (await laptop.expect("PRIVMSG")).tags["time"]
    for client in (phone, tablet, stranger):
        await client.expect("PRIVMSG")
    assert params(await reply(laptop, f"MARKREAD #c {stamp}")) == [["MARKREAD", "#c", stamp]]
    assert params(await sync(tablet)) == [["MARKREAD", "#c", stamp]]
    assert commands(await sync(phone)) == []
    assert commands(await sync(stranger)) == []


# -- invite-notify, bot mode, UTF8ONLY -----------------------------------------------------


async def test_invite_notify_asked_for_mid_session_then_turned_off(server, clients) -> None:
    """invite-notify: "The `invite-notify` client capability allows a client to specify that
    it would like to be notified when users are invited to channels." with the format
    ":<inviter> INVITE <target> <channel>"."""
    alice = await capped(server, "alice", channels=("#room",))
    bob = await capped(server, "bob", channels=("#room",))
    carol = await capped(server, "carol")
    dave = await capped(server, "dave")
    clients.extend([alice, bob, carol, dave])
    alice.send("MODE #room +o bob")
    await bob.expect("MODE")
    await cap(bob, "invite-notify")
    await reply(alice, "INVITE carol #room")
    (seen,) = await sync(bob)
    assert (seen.command, seen.source, seen.params) == ("INVITE", mask("alice"), ["carol", "#room"])
    await cap(bob, "-invite-notify")
    await reply(alice, "INVITE dave #room")
    assert commands(await sync(bob)) == []


async def test_the_bot_tag_follows_message_tags_turned_on_and_off(server, clients) -> None:
    """bot-mode: "This tag MUST only be sent to users who have requested the `message-tags`
    capability. Servers MUST NOT send this tag with a value" (requested, then turned off,
    after registration)."""
    bot = await capped(server, "bot", channels=("#room",))
    alice = await capped(server, "alice", channels=("#room",))
    clients.extend([bot, alice])
    await reply(bot, "MODE bot +B")
    await sync(alice)
    await cap(alice, "message-tags")
    await reply(bot, "PRIVMSG #room :beep")
    (said,) = await sync(alice)
    assert said.tags.get("bot") == "" and said.tags.get("draft/bot") == ""
    raw_tags = alice.raw[-2].split(" ")[0][1:].split(";")  # the line before the PONG
    assert "bot" in raw_tags and "draft/bot" in raw_tags  # no value, not even an empty one
    await cap(alice, "-message-tags")
    await reply(bot, "PRIVMSG #room :boop")
    (said,) = await sync(alice)
    assert said.tags == {} and not alice.raw[-2].startswith("@")


async def test_utf8only_refuses_a_realname_that_is_not_utf8_before_registration(server, clients) -> None:
    """utf-8-only: "Servers publishing this token MUST NOT relay content (such as `PRIVMSG`
    or `NOTICE` message data, channel topics, or realnames) containing non-UTF-8 data to
    clients." with the example "Client: USER u s e :<non-utf8 realname>" "Server: FAIL
    USER INVALID_UTF8 :...". The refused USER does not register; a valid one then does."""
    client = await negotiating(server)
    clients.append(client)
    client.send("NICK latin")
    got = await reply(client, b"USER u 0 * :caf\xe9\r\n")
    assert [m.params[:2] for m in got] == [["USER", "INVALID_UTF8"]] and got[0].command == "FAIL"
    burst = await finish(client, "latin")
    assert "UTF8ONLY" in isupport_tokens(burst)
    got = await reply(client, "WHOIS latin")
    assert [m.params[-1] for m in got if m.command == "311"] == ["latin"]
