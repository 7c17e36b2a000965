"""More of the terminal client as people use it: pastes, flood control, reconnection,
nick collisions, commands typed wrong, and other people's text shown safely."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from textual import events

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import BufferList, MemberList, StatusBar, TopicBar
from tests.client.conftest import MakeClient
from tests.client.test_tui import SIZE, chat_app, input_box, joined, shown_text, static_text, submit, until
from tests.helpers import connected

MakeServer = Callable[..., Awaitable[Runtime]]


def all_visible_text(app: ChatApp) -> str:
    """What every message view and bar shows, as text (the strips drawn, not the state)."""
    parts = [shown_text(app, buffer) for buffer in app.state.buffers if buffer in app.views]
    parts += [static_text(app.query_one(kind)) for kind in (TopicBar, StatusBar, BufferList, MemberList)]
    return "\n".join(parts)


# -- pastes and flood control ------------------------------------------------------------------


async def test_a_multi_line_paste_sends_every_line(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        _, bob_events = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        input_box(app).post_message(events.Paste("Traceback (most recent call last):\n  File x.py\nValueError: 3"))
        await pilot.pause()
        await pilot.press("enter")
        await submit(pilot, "end of paste")
        heard: list[str] = []
        while not heard or heard[-1] != "end of paste":
            heard.append((await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice")).text)
        assert heard == ["Traceback (most recent call last):", "  File x.py", "ValueError: 3", "end of paste"]


async def test_a_long_paste_is_not_dropped_for_excess_flood(make_server: MakeServer, make_client: MakeClient) -> None:
    # flood control on, as a real server has it (a faster rate than its default, to be quick)
    runtime = await make_server("limits.flood_control=true", "limits.flood_rate=20")
    bob = await connected(runtime, "bob", "#lobby")
    alice, alice_events = await make_client(runtime, "alice", channels=("#lobby",))
    await alice_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#lobby")
    await bob.expect("JOIN", "#lobby")
    lines = [f"line {i:03d} of a pasted log file, with some words to make it longer" for i in range(150)]
    alice.privmsg("#lobby", "\n".join(lines))
    heard: list[str] = []
    while len(heard) < len(lines):
        message = await bob.expect(lambda m: m.command in ("PRIVMSG", "QUIT"), timeout=90)
        assert message.command == "PRIVMSG", f"alice quit after {len(heard)} lines: {message.params}"
        heard.append(message.params[1])
    assert heard == lines


# -- nicknames ---------------------------------------------------------------------------------


async def test_a_long_taken_nick_gets_an_underscore(server: Runtime, make_client: MakeClient) -> None:
    await make_client(server, "verylongnickname")
    second, _ = await make_client(server, "verylongnickname")
    assert second.nick == "verylongnickname_"


async def test_a_taken_nick_at_connect_is_shown_and_the_chat_works(server: Runtime, make_client: MakeClient) -> None:
    _, bob_events = await make_client(server, "bob", channels=("#lobby",))
    holder = await connected(server, "alice")  # alice's nick is taken already
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice_ in #lobby")
        assert app.state.nick == "alice_"
        assert "alice_" in static_text(app.query_one(StatusBar))
        await submit(pilot, "hello under another name")
        heard = await bob_events.wait_for(ev.MessageReceived, lambda e: e.source == "alice_")
        assert heard.text == "hello under another name"
    await holder.close()


async def test_reconnecting_when_the_nick_was_taken_meanwhile(make_server: MakeServer) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime, channels=("#lobby", "#side"), reconnect_delay=0.5, reconnect_max_delay=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#side")(), "both channels")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        restarted = await make_server(f"listen.irc=['{host}:{port}']")
        squatter = await connected(restarted, "alice")  # takes the nick before the client is back
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#side")(), "rejoined both")
        assert app.state.nick == "alice_"
        await squatter.close()


# -- reconnection and keyed channels -----------------------------------------------------------


async def test_a_keyed_channel_is_rejoined_after_the_connection_drops(server: Runtime,
                                                                      make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#club",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    bob.send("MODE #club +k sesame")
    await bob_events.wait_for(ev.ModeChanged, lambda e: e.modes == "+k")
    alice, alice_events = await make_client(server, "alice", channels=())
    alice.join("#club", "sesame")
    await alice_events.wait_for(ev.Joined, lambda e: e.own and e.channel == "#club")
    assert alice._writer is not None
    alice._writer.transport.abort()  # the network drops the connection
    await alice_events.wait_for(ev.Disconnected)
    await alice_events.wait_for(ev.Registered)
    outcome = await alice_events.wait_for(
        lambda e: (isinstance(e, ev.Joined) and e.own and e.channel == "#club")
        or (isinstance(e, ev.Reply) and e.code == "475"))
    assert isinstance(outcome, ev.Joined), f"not rejoined: {outcome}"


# -- commands typed wrong --------------------------------------------------------------------


async def test_commands_typed_wrong_say_how_to_type_them(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        cases = [
            ("/join", "Which channel? Usage: /join #channel [key]"),
            ("/nick two words", "Which nickname (one word)? Usage: /nick newnick"),
            ("/me", "Do what? Usage: /me action"),
            ("/whois", "Who? Usage: /whois nick"),
            ("/query #lobby", "#lobby is a channel; use /join."),
            ("/quote", "Send what? Usage:"),
            ("/unignore", "Whom? Usage:"),
            ("/log sometimes", "On or off? Usage: /log [on|off]"),
            ("/help frobnicate", "There is no /frobnicate."),
            ("/highlight add", "Which word?"),
            ("/JOIN", "Which channel?"),  # commands are not case-sensitive
        ]
        for typed, answer in cases:
            await submit(pilot, typed)
            assert answer in shown_text(app), (typed, shown_text(app)[-300:])
        await pilot.press("alt+1")  # the server buffer: not a channel
        assert app.state.current.name != "#lobby"
        for typed, answer in [("/topic hello", "This is not a channel buffer."),
                              ("/part", "This is not a channel buffer."),
                              ("/close", "The server buffer stays open"),
                              ("just talking", "This is the server buffer")]:
            await submit(pilot, typed)
            assert answer in shown_text(app), (typed, shown_text(app)[-300:])
        assert app.return_code is None  # nothing typed wrong closed the app


async def test_server_refusals_are_shown_to_the_person(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/msg nobody hello?")
        await submit(pilot, "/nick 9lives")
        await submit(pilot, "/join #a:b")

        def everywhere() -> str:
            return "\n".join(line.text for buffer in app.state.buffers for line in buffer.lines)

        await until(pilot, lambda: "nobody" in everywhere() and "9lives" in everywhere() and "#a:b" in everywhere(),
                    "the three refusals")
        assert app.state.nick == "alice"


async def test_exit_is_quit(server: Runtime, make_client: MakeClient) -> None:
    _, bob_events = await make_client(server, "bob", channels=("#lobby",))
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob")
        await submit(pilot, "/exit")
        quit_ = await bob_events.wait_for(ev.UserQuit)
        assert quit_.nick == "alice"
        await until(pilot, lambda: app.return_code == 0, "the app to exit")


# -- what others do, shown -----------------------------------------------------------------------


async def test_a_private_message_opens_a_buffer_marked_for_attention(server: Runtime,
                                                                     make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=())
        bob.privmsg("alice", "psst, a secret")
        await until(pilot, lambda: app.state.find("bob") is not None, "bob's buffer")
        buffer = app.state.find("bob")
        assert buffer is not None
        assert app.state.current.name == "#lobby"  # it does not steal the screen
        assert "bob 1!" in static_text(app.query_one(BufferList))
        await submit(pilot, "/query bob")
        assert "psst, a secret" in shown_text(app)


async def test_kicks_bans_modes_and_topics_are_shown(server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#k",))
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    app = chat_app(server, channels=("#k",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#k", 2), "alice in #k")
        bob.send("MODE #k +v alice")
        await until(pilot, lambda: "+alice" in static_text(app.query_one(MemberList)),
                    "alice voiced in the member list")
        bob.set_topic("#k", "rules: be nice")
        await until(pilot, lambda: "rules: be nice" in static_text(app.query_one(TopicBar)),
                    "the topic")
        bob.send("MODE #k +b alice!*@*")
        bob.send("KICK #k alice :behave")
        await until(pilot, lambda: not app.state.current.joined, "kicked")
        screen = shown_text(app)
        assert "bob gave alice a voice (+v alice)" in screen
        assert "+b alice!*@*" in screen
        assert "behave" in screen and "kick" in screen.lower()
        await submit(pilot, "/join #k")
        await until(pilot, lambda: "banned" in shown_text(app).lower() or "(+b)" in shown_text(app),
                    "the refusal to rejoin")
        assert not app.state.current.joined


async def test_control_characters_from_others_never_reach_the_terminal(server: Runtime,
                                                                       make_client: MakeClient) -> None:
    nasty = "\x1b[2J\x1b]0;pwned\x07\x9b31m\x08\x0b"
    bob, bob_events = await make_client(server, "bob", channels=("#k",), realname=f"Bob {nasty}Real")
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    app = chat_app(server, channels=("#k",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#k", 2), "alice in #k")
        bob.set_topic("#k", f"topic {nasty}end")
        bob.privmsg("#k", f"message {nasty}end")
        bob.action("#k", f"waves {nasty}end")
        bob.send(f"PART #k :parting {nasty}end")
        await until(pilot, lambda: len(app.state.current.members) == 1, "bob gone")
        await submit(pilot, "/whois bob")
        await until(pilot, lambda: "Bob " in all_visible_text(app), "the whois")
        bob.privmsg("alice", f"private {nasty}end")
        await until(pilot, lambda: app.state.find("bob") is not None, "bob's buffer")
        text = all_visible_text(app)
        for word in ("topic", "message", "waves", "parting"):
            assert re.search(word + r" .*end", text), word
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)


async def test_a_narrow_status_bar_keeps_the_buffer_and_drops_the_network_first(
    server: Runtime, make_client: MakeClient
) -> None:
    """At 45 columns "alice · Connected to hubbub · #lobby · 2 members" does not fit: the
    network's name goes, not the channel and its count; a wider window brings it back."""
    await make_client(server, "bob", channels=("#lobby",))
    app = chat_app(server)
    async with app.run_test(size=(45, 30)) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        await pilot.pause(0.1)
        shown = static_text(app.query_one(StatusBar))
        assert "#lobby · 2 members" in shown and "Connected to" not in shown, shown
        await pilot.resize_terminal(120, 30)
        await until(pilot, lambda: "Connected to" in static_text(app.query_one(StatusBar)), "the network again")
        assert "#lobby · 2 members" in static_text(app.query_one(StatusBar))
