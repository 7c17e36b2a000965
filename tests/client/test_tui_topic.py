"""The topic bar says the topic the channel has now: after a kick, a rejoin, a reconnection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import TopicBar
from tests.client.conftest import MakeClient
from tests.client.test_tui import chat_app, joined, static_text, submit, until


def topic_bar(app: ChatApp) -> str:
    return static_text(app.query_one(TopicBar))


async def test_rejoining_after_a_kick_shows_the_topic_as_it_is_now(server: Runtime, make_client: MakeClient) -> None:
    bob, bob_events = await make_client(server, "bob", channels=("#k",))  # bob opens #k: he is its operator
    await bob_events.wait_for(ev.Joined, lambda e: e.own)
    bob.set_topic("#k", "the old topic")
    app = chat_app(server, channels=("#k",))
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, joined(app, "#k", 2), "alice in #k")
        await until(pilot, lambda: "the old topic" in topic_bar(app), "the topic in the bar")
        bob.send("KICK #k alice :out")
        await until(pilot, lambda: not app.state.current.joined, "alice kicked")
        assert "the old topic" not in topic_bar(app)
        bob.set_topic("#k", "")
        await bob_events.wait_for(ev.TopicChanged, lambda e: e.topic == "")
        await submit(pilot, "/join #k")
        await until(pilot, joined(app, "#k", 2), "alice back in #k")
        await pilot.pause(0.2)
        assert "the old topic" not in topic_bar(app)
        assert "no topic" in topic_bar(app)


async def test_a_reconnection_forgets_the_old_topic(make_server: Callable[..., Awaitable[Runtime]]) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/topic before the restart")
        await until(pilot, lambda: "before the restart" in topic_bar(app), "the topic in the bar")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        await make_server(f"listen.irc=['{host}:{port}']")  # a new server: #lobby has no topic there
        await until(pilot, joined(app, "#lobby"), "rejoined #lobby")
        await pilot.pause(0.2)
        assert "before the restart" not in topic_bar(app)
        assert "no topic" in topic_bar(app)
