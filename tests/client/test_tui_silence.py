"""Server-side ignore from the terminal client, driven with Textual's pilot against a real
hubbub: /ignore also puts the person on the connection's SILENCE list, so their private
messages, notices and invites never reach us (the server keeps them, not only the
window); the list is given again after a reconnection; /unignore lifts it; /silence
shows the server's list and its refusals in words.

What reaches the client is read from the client library's own events, under the
window's hiding: bob writes first, then carol, and once carol's message is here, bob's
would be before it (the server delivers to one connection in the order it handled
them; `sync` says it handled bob's)."""

from __future__ import annotations

from hubbub.app import Runtime
from hubbub.client import ClientConfig, Subscription
from hubbub.client import events as ev
from hubbub.client.tui.app import ChatApp
from tests.client.conftest import MakeServer
from tests.client.ircv3_peer import IRCv3Peer
from tests.client.test_tui import SIZE, chat_app, joined, submit, until
from tests.client.test_tui_audit3 import round_trip
from tests.helpers import LineClient, connected, sync


async def what_reaches_alice(bob: LineClient, carol: LineClient, events: Subscription) -> list[str]:
    """bob's private message, notice and invitation to alice, then carol's message: what of
    them the client received, up to carol's."""
    bob.send("PRIVMSG alice :psst")
    bob.send("NOTICE alice :psst, a notice")
    bob.send("INVITE alice #bobs")
    await sync(bob)
    carol.send("PRIVMSG alice :hello")
    seen: list[str] = []
    while True:
        event = await events.get(timeout=10)
        if isinstance(event, ev.MessageReceived) and not event.own and not event.from_server:
            seen.append(f"{event.source}: {event.text}")
            if event.source == "carol":
                return seen
        elif isinstance(event, ev.Invited):
            seen.append(f"{event.by} invites to {event.channel}")


def on_screen(app: ChatApp, text: str) -> bool:
    """A line of the buffer on screen holds `text`."""
    return any(text in line.text for line in app.state.current.lines)


FROM_BOB = ["bob: psst", "bob: psst, a notice", "bob invites to #bobs"]


async def test_ignore_stops_private_messages_at_the_server_and_across_a_reconnection(server: Runtime) -> None:
    bob = await connected(server, "bob", "#bobs")
    carol = await connected(server, "carol")
    app = chat_app(server)
    events = app.client.subscribe()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        assert await what_reaches_alice(bob, carol, events) == [*FROM_BOB, "carol: hello"]

        await submit(pilot, "/ignore bob")
        await round_trip(pilot, app)  # the server has handled what /ignore sent
        assert await what_reaches_alice(bob, carol, events) == ["carol: hello"]
        assert on_screen(app, "The server now keeps bob!*@*'s private messages, notices and invites from you")
        await submit(pilot, "/silence")
        await until(pilot, lambda: on_screen(app, "Silenced at the server (1 of 32): bob!*@*"), "the list")

        assert app.client._writer is not None
        app.client._writer.transport.abort()  # the network drops the connection
        await events.wait_for(ev.Registered)
        await round_trip(pilot, app)  # what the client sends first on a new connection has been handled
        assert await what_reaches_alice(bob, carol, events) == ["carol: hello"]
        # given again by the client itself: said in the server buffer, not where the person reads
        assert any(line.text == "Silenced at the server again: bob!*@*." for line in app.state.server.lines)
        assert not on_screen(app, "Silenced at the server again")

        await submit(pilot, "/unignore bob")
        await round_trip(pilot, app)
        assert await what_reaches_alice(bob, carol, events) == [*FROM_BOB, "carol: hello"]
        assert on_screen(app, "The server no longer keeps bob!*@*'s private messages from you.")
        await submit(pilot, "/silence")
        await until(pilot, lambda: on_screen(app, "Your silence list at the server is empty"), "the empty list")
    await bob.close()
    await carol.close()


async def test_silence_adds_and_removes_and_says_the_servers_refusals_in_words(make_server: MakeServer) -> None:
    runtime = await make_server("limits.silence=1")
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/silence +*@spam.example")
        await until(pilot, lambda: on_screen(app, "The server now keeps *!*@spam.example's"), "added")
        await submit(pilot, "/silence mallory")  # the list holds one
        await until(pilot, lambda: on_screen(app, "The server's silence list is full: mallory!*@* was not added"),
                    "511")
        await submit(pilot, "/silence +a,b")
        await until(pilot, lambda: on_screen(app, "The server refused a,b as a silence mask:"), "INVALID_MASK")
        await submit(pilot, "/silence -nobody")
        await until(pilot, lambda: on_screen(app, "nobody!*@* is not on your silence list at the server"),
                    "NO_SUCH_ENTRY")
        await submit(pilot, "/silence")
        await until(pilot, lambda: on_screen(app, "Silenced at the server (1 of 1): *!*@spam.example"), "the list")
        await submit(pilot, "/silence -*@spam.example")
        await until(pilot, lambda: on_screen(app, "no longer keeps *!*@spam.example's"), "removed")
        await submit(pilot, "/silence +")
        await until(pilot, lambda: on_screen(app, "Which mask? Usage: /silence [+|-mask]"), "typed wrong")
        errors = [line.text for line in app.state.current.lines if line.kind == "error"]
        assert len(errors) == 4, errors  # the refusals and the typing mistake, each an error line


async def test_without_silence_at_the_server_ignore_hides_in_the_window_alone(ircv3_peer: IRCv3Peer) -> None:
    port = await ircv3_peer.start()  # a scripted server that advertises no SILENCE
    app = ChatApp(ClientConfig(host="127.0.0.1", port=port, nick="alice", channels=()))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.client.ready, "alice connected")
        await submit(pilot, "/ignore bob")
        assert on_screen(app, "Ignoring bob: their messages are hidden.")
        await submit(pilot, "/silence")
        assert on_screen(app, "This server keeps no ignore list for you (no SILENCE)")
        await submit(pilot, "/quote PING last")
        await until(pilot, lambda: "PING last" in ircv3_peer.received, "the server read what came before")
        assert not [line for line in ircv3_peer.received if line.startswith("SILENCE")]
