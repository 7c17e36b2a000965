"""The client library against a real hubbub server, over real sockets."""

from __future__ import annotations

import asyncio
import datetime
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.client import DEFAULT_CAPS, Client, ClientConfig, NotConnectedError, Subscription
from hubbub.client import events as ev
from tests.client.conftest import FAST, MakeClient, config_for
from tests.client.ircv3_peer import IRCv3Peer
from tests.e2e_caps.support import capped
from tests.helpers import cap_ls, connected, sync

MakeServer = Callable[..., Awaitable[Runtime]]


async def offered_caps(runtime: Runtime) -> set[str]:
    """What the server offers in CAP LS, asked with a raw client."""
    raw = await connected(runtime)
    try:
        _, offered = await cap_ls(raw)  # over several lines: the offer passes 512 bytes
        return set(offered)
    finally:
        await raw.close()


async def test_registers_with_only_the_wanted_caps_the_server_offers(server: Runtime,
                                                                     make_client: MakeClient) -> None:
    offered = await offered_caps(server)
    client, events = await make_client(server, "alice")
    assert client.ready and client.nick == "alice"
    # sasl is asked for only with a password to log in with
    assert client.caps == (offered & client.config.caps) - {"sasl"}
    assert "echo-message" in client.caps  # hubbub offers it today; the rest is followed above
    seen: list[ev.Event] = []
    while not isinstance(registered := await events.get(timeout=10), ev.Registered):
        seen.append(registered)
    # the greeting for people typing is not shown to a client: it speaks first
    assert not [e for e in seen if isinstance(e, ev.MessageReceived) and "Type a nickname" in e.text]
    assert registered.network == client.isupport.network == "hubbub"
    assert client.isupport.casemapping == "ascii" and client.isupport.prefix_chars == "~&@%+"


async def test_two_clients_talk_in_a_channel(server: Runtime, make_client: MakeClient) -> None:
    alice, alice_events = await make_client(server, "alice", channels=("#lobby",))
    await alice_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#lobby")
    bob, bob_events = await make_client(server, "bob", channels=("#lobby",))
    await alice_events.wait_for(ev.Joined, lambda e: e.nick == "bob")
    members = await alice_events.wait_for(ev.MembersChanged, lambda e: len(e.members) == 2)
    assert [(m.nick, m.prefix) for m in members.members] == [("alice", "@"), ("bob", "")]

    await bob_events.wait_for(ev.MembersChanged, lambda e: len(e.members) == 2)
    bob.privmsg("#lobby", "hello alice ✨")
    heard = await alice_events.wait_for(ev.MessageReceived, lambda e: e.source == "bob")
    assert (heard.conversation, heard.text, heard.own, heard.private) == ("#lobby", "hello alice ✨", False, False)
    own = await bob_events.wait_for(ev.MessageReceived, lambda e: e.own)
    assert own.text == "hello alice ✨"  # echoed by the server (echo-message)

    alice.action("#lobby", "waves")
    action = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
    assert (action.kind, action.text) == ("action", "waves")


async def test_private_messages_belong_to_the_other_persons_conversation(server: Runtime,
                                                                          make_client: MakeClient) -> None:
    alice, alice_events = await make_client(server, "alice")
    _, bob_events = await make_client(server, "bob")
    alice.privmsg("bob", "psst")
    heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.text == "psst")
    assert (heard.conversation, heard.private) == ("alice", True)
    sent = await alice_events.wait_for(ev.MessageReceived, lambda e: e.text == "psst")
    assert (sent.conversation, sent.own) == ("bob", True)


async def test_a_long_message_arrives_whole_in_several_lines(server: Runtime, make_client: MakeClient) -> None:
    alice, _ = await make_client(server, "alice")
    _, bob_events = await make_client(server, "bob")
    text = " ".join(f"mot{i}é" for i in range(400))
    alice.privmsg("bob", text)
    pieces: list[str] = []
    while " ".join(pieces) != text:
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        pieces.append(heard.text)
    assert len(pieces) > 1


async def test_nick_changes_topics_and_quits_are_reported(server: Runtime, make_client: MakeClient) -> None:
    alice, alice_events = await make_client(server, "alice", channels=("#c",))
    await alice_events.wait_for(ev.MembersChanged, lambda e: e.channel == "#c")
    bob, bob_events = await make_client(server, "bob", channels=("#c",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)

    alice.set_topic("#c", "Today: cake")
    topic = await bob_events.wait_for(ev.TopicChanged)
    assert (topic.topic, topic.by, topic.initial) == ("Today: cake", "alice", False)

    bob.change_nick("robert")
    renamed = await alice_events.wait_for(ev.NickChanged)
    assert (renamed.old, renamed.new, renamed.channels) == ("bob", "robert", ("#c",))
    assert (await bob_events.wait_for(ev.NickChanged)).own and bob.nick == "robert"

    await bob.close("off to lunch")
    quit_ = await alice_events.wait_for(ev.UserQuit)
    assert (quit_.nick, quit_.channels) == ("robert", ("#c",))
    assert "off to lunch" in quit_.reason
    members = await alice_events.wait_for(ev.MembersChanged, lambda e: len(e.members) == 1)
    assert members.members[0].nick == "alice"


async def test_whois_and_away_replies_come_back_as_replies(server: Runtime, make_client: MakeClient) -> None:
    alice, events = await make_client(server, "alice")
    await make_client(server, "bob", realname="Bob Builder")
    alice.whois("bob")
    user = await events.wait_for(ev.Reply, lambda e: e.code == "311")
    assert user.params[0] == "bob" and user.text == "Bob Builder"
    await events.wait_for(ev.Reply, lambda e: e.code == "318")
    alice.set_away("lunch")
    away = await events.wait_for(ev.AwayChanged)
    assert (away.own, away.message) == (True, "lunch")
    alice.set_away(None)
    assert (await events.wait_for(ev.AwayChanged)).message is None


async def test_a_taken_nick_falls_back_to_another(server: Runtime, make_client: MakeClient) -> None:
    await make_client(server, "alice")
    second, _ = await make_client(server, "alice")
    assert second.nick == "alice_"


async def test_the_server_password_is_sent(make_server: MakeServer, make_client: MakeClient) -> None:
    runtime = await make_server("server.password='sesame'")
    client, _ = await make_client(runtime, "alice", password="sesame")
    assert client.ready
    with pytest.raises(ConnectionError, match="Bad password"):
        await make_client(runtime, "mallory", password="guess", reconnect=False)


async def test_logs_in_to_an_account_with_sasl_and_is_told_when_it_fails(server: Runtime,
                                                                          make_client: MakeClient) -> None:
    from hubbub.passwords import credentials
    from hubbub.server.events import AccountRegistered

    password_hash, scram = credentials("correct horse")
    server.engine.emit(None, AccountRegistered("alice", "alice", password_hash, scram, "", 0.0))
    client, events = await make_client(server, "alice", sasl_password="correct horse")
    result = await events.wait_for(ev.SaslResult)
    assert result.success and result.account == "alice" and client.ready and "sasl" in client.caps
    _, wrong = await make_client(server, "alice2", sasl_account="alice", sasl_password="battery staple")
    assert not (await wrong.wait_for(ev.SaslResult)).success


async def test_sasl_credentials_are_not_used_where_the_server_offers_no_sasl() -> None:
    """A peer that offers everything but SASL (whatever hubbub itself offers by now)."""
    peer = IRCv3Peer({"alice": "wonderland"}, {}, caps="batch server-time message-tags echo-message")
    port = await peer.start()
    client = Client(ClientConfig(host="127.0.0.1", port=port, nick="alice", sasl_password="wonderland", **FAST))
    events = client.subscribe()
    try:
        await client.connect(timeout=10)
        assert client.ready and "sasl" not in client.caps
        assert [e for e in events.pending() if isinstance(e, ev.SaslResult)] == []
        assert not [line for line in peer.received if line.startswith(("AUTHENTICATE", "CAP REQ :sasl"))]
        assert not any("sasl" in line for line in peer.received if line.startswith("CAP REQ"))
    finally:
        await client.close()
        await peer.stop()


async def test_reconnects_and_rejoins_after_a_server_restart(make_server: MakeServer,
                                                             make_client: MakeClient) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    alice, events = await make_client(runtime, "alice", channels=("#keep",))
    await events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#keep")
    alice.join("#also")
    await events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#also")

    await runtime.stop()
    gone = await events.wait_for(ev.Disconnected)
    assert gone.reconnect_in is not None and "shutting down" in gone.reason
    with pytest.raises(NotConnectedError):
        alice.privmsg("#keep", "anyone?")

    restarted = await make_server(f"listen.irc=['{host}:{port}']")
    await events.wait_for(ev.Registered, timeout=10)
    rejoined = {(await events.wait_for(ev.Joined, lambda e: e.own)).channel for _ in range(2)}
    assert rejoined == {"#keep", "#also"}

    _, bob_events = await make_client(restarted, "bob", channels=("#keep",))
    members = await bob_events.wait_for(ev.MembersChanged, lambda e: e.channel == "#keep" and len(e.members) == 2)
    assert {m.nick for m in members.members} == {"alice", "bob"}
    alice.privmsg("#keep", "back again")
    assert (await bob_events.wait_for(ev.MessageReceived)).text == "back again"


async def test_reconnection_waits_double_after_each_failure_up_to_the_maximum(make_server: MakeServer,
                                                                                make_client: MakeClient) -> None:
    runtime = await make_server()
    alice, events = await make_client(runtime, "alice", reconnect_delay=0.05, reconnect_max_delay=0.3)
    await runtime.stop()  # from now on every attempt is refused
    waits = []
    for _ in range(5):
        gone = await events.wait_for(ev.Disconnected, timeout=10)
        assert gone.reconnect_in is not None
        waits.append(gone.reconnect_in)
    for wait, base in zip(waits, [0.05, 0.1, 0.2, 0.3, 0.3], strict=True):  # doubling, capped; ±20% jitter
        assert base * 0.8 <= wait <= base * 1.2, waits
    await alice.close()


async def test_a_refused_first_connection_raises(make_client: MakeClient, server: Runtime) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    client = Client(ClientConfig(host="127.0.0.1", port=free_port, nick="alice", **FAST))  # type: ignore[arg-type]
    with pytest.raises(ConnectionError, match="could not connect"):
        await client.connect(timeout=10)
    assert not client.running


async def test_closing_says_goodbye_and_stops_reconnecting(server: Runtime, make_client: MakeClient) -> None:
    _, alice_events = await make_client(server, "alice", channels=("#c",))
    bob, bob_events = await make_client(server, "bob", channels=("#c",))
    await alice_events.wait_for(ev.Joined, lambda e: e.nick == "bob")
    await bob.close("good night")
    assert "good night" in (await alice_events.wait_for(ev.UserQuit)).reason
    final = await bob_events.wait_for(ev.Disconnected)
    assert final.reconnect_in is None and not bob.running


# -- peers that misbehave: a silent server and a TLS front ----------------------------------


@pytest.fixture
async def scripted_server() -> AsyncIterator[Callable[[bool], Awaitable[int]]]:
    """A TCP server that welcomes a client (or not) and then never answers again."""
    servers: list[asyncio.Server] = []
    writers: list[asyncio.StreamWriter] = []

    async def start(welcome: bool) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            while line := await reader.readline():
                if welcome and line.startswith(b"USER"):
                    writer.write(b":mute.test 001 alice :Welcome\r\n:mute.test 376 alice :End of MOTD\r\n")

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield start
    for writer in writers:
        writer.close()
    for server in servers:
        server.close()


async def test_a_server_that_never_welcomes_us_times_out(scripted_server: Callable[[bool], Awaitable[int]]) -> None:
    port = await scripted_server(False)
    client = Client(ClientConfig(host="127.0.0.1", port=port, nick="alice", registration_timeout=0.2,
                                 reconnect=False))
    with pytest.raises(ConnectionError, match="registration timed out"):
        await client.connect(timeout=10)


async def test_a_connection_that_goes_silent_is_detected_by_our_ping(
        scripted_server: Callable[[bool], Awaitable[int]]) -> None:
    port = await scripted_server(True)
    client = Client(ClientConfig(host="127.0.0.1", port=port, nick="alice", ping_interval=0.1,
                                 ping_timeout=0.1, reconnect=False, caps=frozenset()))
    events = client.subscribe()
    await client.connect(timeout=10)
    assert (await events.wait_for(ev.Disconnected)).reason == "ping timeout"


@pytest.fixture
async def tls_server(make_server: MakeServer, tmp_path: Path) -> Runtime:
    """hubbub with a TLS listener and a self-signed certificate (which names localhost)."""
    return await make_server(
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
        f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}",
    )  # fmt: skip


async def test_connects_over_tls(tls_server: Runtime, make_client: MakeClient) -> None:
    client, events = await make_client(tls_server, "alice", host="localhost", port=tls_server.tls_address()[1],
                                       tls=True, tls_verify=False)
    connected_event = await events.wait_for(ev.Connected)
    assert connected_event.tls and client.ready


async def test_tls_certificates_are_verified_by_default(tls_server: Runtime) -> None:
    port = tls_server.tls_address()[1]
    client = Client(config_for(tls_server, "alice", host="localhost", port=port, tls=True, reconnect=False))
    with pytest.raises(ConnectionError, match=r"untrusted certificate: --insecure to accept it "
                                              r"\(self.signed certificate\)"):
        await client.connect(timeout=10)


async def test_tls_to_a_plain_port_says_so_in_words(server: Runtime) -> None:
    """OpenSSL's own words were `[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:...)`."""
    client = Client(config_for(server, "alice", tls=True, tls_verify=False, reconnect=False))
    with pytest.raises(ConnectionError, match=r"no TLS on that port: try without --tls$"):
        await client.connect(timeout=10)


# -- IRCv3 features hubbub does not offer yet (SASL, chathistory), against a scripted peer ----


async def test_sasl_plain_logs_in_before_registration_ends(ircv3_peer: IRCv3Peer) -> None:
    port = await ircv3_peer.start()
    client = Client(ClientConfig(host="127.0.0.1", port=port, nick="alice", sasl_password="wonderland", **FAST))
    events = client.subscribe()
    await client.connect(timeout=10)
    try:
        result = await events.wait_for(ev.SaslResult)
        assert (result.success, result.account) == (True, "alice")
        assert client.protocol.account == "alice"
        sent = ircv3_peer.received
        assert sent.index("AUTHENTICATE PLAIN") < sent.index("CAP END")
    finally:
        await client.close()


async def test_failed_sasl_is_reported_and_the_client_still_connects(ircv3_peer: IRCv3Peer) -> None:
    port = await ircv3_peer.start()
    client = Client(ClientConfig(host="127.0.0.1", port=port, nick="alice", sasl_password="guess", **FAST))
    events = client.subscribe()
    await client.connect(timeout=10)
    try:
        result = await events.wait_for(ev.SaslResult)
        assert not result.success and client.ready and client.protocol.account is None
    finally:
        await client.close()


async def test_history_is_fetched_on_join_with_server_times(ircv3_peer: IRCv3Peer) -> None:
    port = await ircv3_peer.start()
    client = Client(ClientConfig(host="127.0.0.1", port=port, nick="alice", channels=("#past",), **FAST))
    events = client.subscribe()
    await client.connect(timeout=10)
    try:
        assert {"batch", "server-time", "draft/chathistory"} <= client.caps
        history = await events.wait_for(ev.History)
        assert [(m.source, m.text, m.msgid) for m in history.messages] == [
            ("bob", "first!", "#past-0"), ("carol", "second", "#past-1")]
        assert history.messages[0].time == datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.UTC)
        assert "CHATHISTORY LATEST #past * 50" in ircv3_peer.received
        client.privmsg("#past", "now")
        echo = await events.wait_for(ev.MessageReceived, lambda e: e.own)
        assert echo.time == datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC)
    finally:
        await client.close()


async def test_a_history_page_says_whether_it_was_as_long_as_asked(make_server: MakeServer,
                                                                   make_client: MakeClient) -> None:
    """A page of joins and parts alone, as long as the limit asked (`full`), may have more
    before it; a shorter one is all there is. A refused request has its answer too: the
    next page is counted against its own limit, not the refused one's."""
    runtime = await make_server("history.chathistory_max=5")
    bob = await connected(runtime, "bob", "#doors")
    carol = await connected(runtime, "carol")
    try:
        for _ in range(3):
            carol.send("JOIN #doors")
            carol.send("PART #doors")
        await sync(carol)
        alice, got = await make_client(runtime, "alice", channels=("#doors",))
        latest = await got.wait_for(ev.History, lambda e: e.target == "#doors")
        assert (latest.asked, latest.lines, latest.messages, latest.full) == (5, 5, (), True)
        oldest = latest.events[0]
        assert isinstance(oldest, ev.Joined | ev.Parted) and oldest.msgid
        alice.request_history_before("#doors", msgid=oldest.msgid)
        before = await got.wait_for(ev.History, lambda e: e.target == "#doors")
        assert before.asked == 5 and 0 < before.lines < 5 and not before.full

        alice.request_history("#nowhere", limit=3)
        await got.wait_for(ev.StandardReply, lambda e: e.kind == "FAIL" and e.context[-1:] == ("#nowhere",))
        await bob.join("#nowhere")
        alice.request_history("#nowhere", limit=1)
        page = await got.wait_for(ev.History, lambda e: e.target == "#nowhere")
        assert (page.asked, page.lines, page.full) == (1, 1, True)
    finally:
        await bob.close()
        await carol.close()


async def test_reactions_from_web_clients_arrive_as_events(server: Runtime, make_client: MakeClient) -> None:
    """A web client's reaction (a TAGMSG with +draft/react and +draft/reply) and its
    withdrawal (+draft/unreact) reach the library as `Reacted`, in the conversation they
    belong to; a typing notification does not."""
    bob, got = await make_client(server, "bob", channels=("#lobby",))
    carol = await capped(server, "carol", "message-tags", channels=("#lobby",))
    try:
        carol.send("@+typing=active TAGMSG #lobby")
        carol.send("@+draft/react=👍;+draft/reply=m1 TAGMSG #lobby")
        reacted = await got.wait_for(ev.Reacted)
        assert (reacted.source, reacted.conversation, reacted.emoji, reacted.to, reacted.on, reacted.own) == (
            "carol", "#lobby", "👍", "m1", True, False)
        carol.send("@+draft/unreact=👍;+draft/reply=m1 TAGMSG bob")
        withdrawn = await got.wait_for(ev.Reacted)
        assert (withdrawn.conversation, withdrawn.on) == ("carol", False)
    finally:
        await carol.close()


async def _until(events: Subscription, check: Callable[[ev.Event], bool]) -> list[ev.Event]:
    """Every event up to the first that passes `check`, that one included."""
    seen: list[ev.Event] = []
    while not seen or not check(seen[-1]):
        seen.append(await events.get(timeout=10))
    return seen


async def test_replies_and_reactions_go_out_tagged_and_come_back_once(server: Runtime,
                                                                      make_client: MakeClient) -> None:
    """As the web client sends them; with echo-message the server's echo is our own
    reaction (the library adds none of its own)."""
    alice, got = await make_client(server, "alice", channels=("#lobby",))
    carol = await capped(server, "carol", "message-tags", channels=("#lobby",))
    try:
        await got.wait_for(ev.Joined, lambda e: e.nick == "carol")
        carol.send("PRIVMSG #lobby :who has the keys?")
        question = await got.wait_for(ev.MessageReceived, lambda e: e.source == "carol")
        assert question.msgid and alice.tags_supported
        assert alice.reply("#lobby", question.msgid, "I do")
        heard = await carol.expect("PRIVMSG")
        assert (heard.params, heard.tags["+draft/reply"]) == (["#lobby", "I do"], question.msgid)
        echo = await got.wait_for(ev.MessageReceived, lambda e: e.own)
        assert echo.tags["+draft/reply"] == question.msgid
        assert alice.react("#lobby", question.msgid, "👍")
        assert alice.react("#lobby", question.msgid, "👍", on=False)
        alice.privmsg("#lobby", "that's all")
        seen = await _until(got, lambda e: isinstance(e, ev.MessageReceived) and e.text == "that's all")
        reacted = [e for e in seen if isinstance(e, ev.Reacted)]
        assert [(e.emoji, e.to, e.on, e.own) for e in reacted] == [("👍", question.msgid, True, True),
                                                                   ("👍", question.msgid, False, True)]
        assert all(e.msgid for e in reacted)  # the server's echoes
        react, unreact = await carol.expect("TAGMSG"), await carol.expect("TAGMSG")
        assert react.tags["+draft/react"] == unreact.tags["+draft/unreact"] == "👍"
        assert react.tags["+draft/reply"] == unreact.tags["+draft/reply"] == question.msgid
    finally:
        await carol.close()


async def test_without_echo_message_our_reply_and_reaction_are_reported_by_the_library(
        server: Runtime, make_client: MakeClient) -> None:
    alice, got = await make_client(server, "alice", channels=("#lobby",), caps=DEFAULT_CAPS - {"echo-message"})
    carol = await capped(server, "carol", "message-tags", channels=("#lobby",))
    try:
        await got.wait_for(ev.Joined, lambda e: e.nick == "carol")
        carol.send("PRIVMSG #lobby :who has the keys?")
        question = await got.wait_for(ev.MessageReceived, lambda e: e.source == "carol")
        assert question.msgid
        alice.reply("#lobby", question.msgid, "I do")
        said = await got.wait_for(ev.MessageReceived, lambda e: e.own)
        assert (said.text, said.tags) == ("I do", {"+draft/reply": question.msgid})
        alice.react("#lobby", question.msgid, "🎉")
        reacted = await got.wait_for(ev.Reacted)
        assert (reacted.conversation, reacted.emoji, reacted.to, reacted.own) == ("#lobby", "🎉", question.msgid, True)
        assert (await carol.expect("TAGMSG")).tags["+draft/react"] == "🎉"
    finally:
        await carol.close()


async def test_without_message_tags_replies_and_reactions_are_not_sent(server: Runtime,
                                                                     make_client: MakeClient) -> None:
    alice, _ = await make_client(server, "alice", channels=("#lobby",), caps=DEFAULT_CAPS - {"message-tags"})
    assert not alice.tags_supported
    assert not alice.reply("#lobby", "m1", "I do") and not alice.react("#lobby", "m1", "👍")


async def test_reactions_come_back_with_history_among_the_messages(server: Runtime,
                                                                   make_client: MakeClient) -> None:
    """hubbub keeps TAGMSGs and plays them back to a client with draft/event-playback: a
    reaction is a `Reacted` in `History.events`, in server-time order, with its msgid."""
    bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#keys",))
    carol = await capped(server, "carol", "message-tags", channels=("#keys",))
    try:
        bob.send("PRIVMSG #keys :who has the keys?")
        msgid = (await bob.expect("PRIVMSG")).tags["msgid"]
        carol.send(f"@+draft/react=👍;+draft/reply={msgid} TAGMSG #keys")
        carol.send("@+typing=active TAGMSG #keys")
        # the reaction is relayed (so kept) before bob answers: two connections' lines
        # sent at once may be read in either order (a loaded machine once read bob's first)
        await bob.expect(lambda m: m.command == "TAGMSG" and "+draft/react" in m.tags)
        bob.send(f"@+draft/reply={msgid} PRIVMSG #keys :not me")
        await bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "not me")
        _, got = await make_client(server, "alice", channels=("#keys",))
        history = await got.wait_for(ev.History, lambda e: e.target == "#keys")
        said = [(type(e).__name__, getattr(e, "source", "")) for e in history.events
                if isinstance(e, ev.MessageReceived | ev.Reacted)]
        assert said == [("MessageReceived", "bob"), ("Reacted", "carol"), ("MessageReceived", "bob")]
        reacted = next(e for e in history.events if isinstance(e, ev.Reacted))
        assert (reacted.emoji, reacted.to, reacted.on, reacted.own) == ("👍", msgid, True, False)
        assert reacted.msgid and reacted.time <= history.messages[-1].time
    finally:
        await bob.close()
        await carol.close()
