"""The terminal client reads a draft/multiline batch of NOTICE lines, sent by another
client, as notices: it does not negotiate draft/multiline, so the server gives it the
batch's lines one by one, NOTICE lines, drawn as notices (`-bob- text`), never as
messages; and the same when the channel's history is played back on joining. Against a
real hubbub server, with Textual's pilot."""

from __future__ import annotations

from hubbub.app import Runtime
from hubbub.client.tui.app import ChatApp
from tests.client.test_tui import chat_app, joined, until
from tests.client.test_tui_view import on_screen
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, sync

TALK = ("message", "action", "notice")


def notice_batch(client: LineClient, target: str, ref: str, *texts: str) -> None:
    client.send(f"BATCH +{ref} draft/multiline {target}")
    for text in texts:
        client.send(f"@batch={ref} NOTICE {target} :{text}")
    client.send(f"BATCH -{ref}")


def said(app: ChatApp, name: str, nick: str) -> list[tuple[str, str]]:
    """What `nick` said in buffer `name`, each line with its kind (message, notice...)."""
    found = app.state.find(name)
    assert found is not None, name
    return [(line.kind, line.text) for line in found.lines if line.nick == nick and line.kind in TALK]


async def test_a_multiline_notice_is_shown_as_notices_live_and_from_history(server: Runtime, clients) -> None:
    bob = await capped(server, "bob", "batch", "draft/multiline", channels=("#past",))
    clients.append(bob)
    notice_batch(bob, "#past", "h", "said before", "", "you came")  # kept: played back on joining
    await sync(bob)
    app = chat_app(server, channels=("#lobby", "#past"))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, joined(app, "#past", 2), "alice in #past")
        await until(pilot, lambda: len(said(app, "#past", "bob")) == 2, "the played back notices")
        assert said(app, "#past", "bob") == [("notice", "said before"), ("notice", "you came")]
        bob.send("JOIN #lobby")
        await until(pilot, joined(app, "#lobby", 2), "bob in #lobby")
        notice_batch(bob, "#lobby", "n", "deploy finished:", "", "3 hosts up")
        await until(pilot, lambda: len(said(app, "#lobby", "bob")) == 2, "the notices")
        assert said(app, "#lobby", "bob") == [("notice", "deploy finished:"), ("notice", "3 hosts up")]
        lobby = app.state.find("#lobby")
        assert lobby is not None
        await pilot.press(f"alt+{app.state.buffers.index(lobby) + 1}")  # alt+1: the first buffer, the server's
        assert app.state.current is lobby
        await until(pilot, lambda: on_screen(app, "-bob-"), "the notices drawn")
        assert on_screen(app, "deploy finished:") and on_screen(app, "3 hosts up")
