"""Keys that come in a burst (fast typing, a laggy SSH link that delivers keys in
batches): a line is sent once, as typed, and what is typed after its Enter, before the
app has handled the line, starts the next one. Against a real server."""

from __future__ import annotations

from textual import events

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.tui.widgets import ChatInput
from tests.client.conftest import MakeClient
from tests.client.test_tui import SIZE, chat_app, joined, until


async def test_keys_typed_before_a_sent_line_is_handled_start_the_next_line(
    server: Runtime, make_client: MakeClient
) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, got = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        field = app.query_one(ChatInput)
        field.value = "burst one"
        await field.action_submit()
        field.insert_text_at_cursor("burst t")  # before the app has handled the first line
        await field.action_submit()
        field.insert_text_at_cursor("wo")
        await pilot.pause()
        assert field.value == "wo"
        field.value = "burst three"
        await field.action_submit()
        said = []
        while "burst three" not in said:
            heard = await got.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
            said.append(heard.text)
        assert said == ["burst one", "burst t", "burst three"], said
        assert field.value == ""


def _burst(app: object, keys: str) -> None:
    """Keys as a terminal's driver hands them to the app, all at once: none is handled
    before the next is queued (pilot.press waits for each)."""
    for key in keys.split():
        character = {"enter": "\r", "tab": "\t", "space": " "}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))  # type: ignore[attr-defined]


async def test_enter_and_tab_in_a_burst_of_keys_act_where_they_were_typed(
    server: Runtime, make_client: MakeClient
) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, got = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        field = app.query_one(ChatInput)
        _burst(app, "m 1 enter n 1 enter")  # Enter was run after the keys behind it: "m1n1"
        said = [(await got.wait_for(ev.MessageReceived, lambda e: e.source == "alice")).text for _ in range(2)]
        assert said == ["m1", "n1"], said
        _burst(app, "b o tab")  # Tab was run before the keys ahead of it: "bo" left as it was
        await until(pilot, lambda: field.value == "bob: ", f"bob completed, not {field.value!r}")
        _burst(app, "h i enter")
        heard = await got.wait_for(ev.MessageReceived, lambda e: e.source == "alice")
        assert heard.text == "bob: hi"
        assert field.value == ""
