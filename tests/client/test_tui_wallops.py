"""WALLOPS in the terminal client: an operator's message to every +w user, shown in the
server buffer as `-!- Wallops from ircop: text`, formatting drawn, never as a raw line.

Driven by Textual's pilot against a real hubbub with an operator block (operator blocks
need a configuration file, so the server here reads one).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rich.style import Style

from hubbub.app import Runtime
from hubbub.client.tui.app import ChatApp
from hubbub.config import load
from tests.client.conftest import config_for
from tests.client.test_tui import SIZE, chat_app, joined, shown_text, submit, until
from tests.helpers import LineClient, cheap_hash, connected

OPER_NAME = "admin"
OPER_PASSWORD = "oper words"  # with a space: /quote OPER sends it as two parameters, as irssi does


@functools.cache
def oper_hash() -> str:
    return cheap_hash(OPER_PASSWORD)  # checked at the cost it was made at: the suite's cheap one


@pytest.fixture
async def oper_server(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A hubbub on port 0 whose configuration file has the operator block `admin`."""
    path = tmp_path / "hubbub.toml"
    path.write_text(f'[[opers]]\nname = "{OPER_NAME}"\npassword_hash = "{oper_hash()}"\n', encoding="utf-8")
    config = load(str(path), ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                              "store.db=':memory:'"])  # fmt: skip
    runtime = Runtime(config)
    await runtime.start()
    yield runtime
    await runtime.stop()


@pytest.fixture
async def raw_clients() -> AsyncIterator[list[LineClient]]:
    opened: list[LineClient] = []
    yield opened
    for client in opened:
        await client.close()


async def an_oper(runtime: Runtime, nick: str = "ircop") -> LineClient:
    client = await connected(runtime, nick)
    client.send(f"OPER {OPER_NAME} {OPER_PASSWORD}")
    await client.expect("381", nick)
    return client


def server_lines(app: ChatApp) -> str:
    return "\n".join(f"{line.kind}: {line.text}" for line in app.state.server.lines)


def style_in_wallops(app: ChatApp, word: str) -> Style:
    """The style the server buffer's view draws `word` in, on the (one-row) wallops line."""
    view = app.views[app.state.server]
    for strip in view.lines:
        if "Wallops from" in strip.text:
            for segment in strip:
                if word in segment.text:
                    return segment.style or Style()
    raise AssertionError(f"{word!r} is not drawn on a wallops line")


async def test_a_plus_w_user_sees_an_operators_wallops_in_the_server_buffer(
        oper_server: Runtime, raw_clients: list[LineClient]) -> None:
    app = chat_app(oper_server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/mode alice +w")
        await until(pilot, lambda: "alice sets mode +w" in server_lines(app), "the server confirming +w")

        ircop = await an_oper(oper_server)
        raw_clients.append(ircop)
        ircop.send("WALLOPS :\x02servers\x02 restart at \x0304noon\x03 <b>sharp</b>")
        await until(pilot, lambda: "wallops:" in server_lines(app), "the wallops in the server buffer")

        lobby = app.state.find("#lobby")
        assert lobby is not None and app.state.current is lobby
        assert "Wallops" not in shown_text(app) and "restart" not in shown_text(app)  # not in the channel
        assert app.state.server.unread == 1  # the server buffer says something came

        await pilot.press("alt+1")
        await until(pilot, lambda: "Wallops from" in shown_text(app), "the wallops on screen")
        screen = shown_text(app)
        assert "-!- Wallops from ircop: servers restart at noon <b>sharp</b>" in screen, screen
        assert "WALLOPS" not in screen and "\x02" not in screen and "\x03" not in screen
        assert style_in_wallops(app, "servers").bold
        noon = style_in_wallops(app, "noon").color
        assert noon is not None and noon.triplet is not None and noon.triplet.hex == "#ff0000"
        assert app.state.server.unread == 0


async def test_an_operator_sets_w_and_sees_wallops_including_its_own(
        oper_server: Runtime, raw_clients: list[LineClient], tmp_path: Path) -> None:
    app = ChatApp(config_for(oper_server, "alice", channels=()), log_dir=tmp_path / "logs")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.client.ready, "alice registered")
        await submit(pilot, f"/oper {OPER_NAME} {OPER_PASSWORD}")
        await until(pilot, lambda: "You are now an IRC operator" in server_lines(app), "alice an operator")
        await submit(pilot, "/mode alice +w")
        await until(pilot, lambda: "alice sets mode +w" in server_lines(app), "the server confirming +w")

        await submit(pilot, "/wallops rebooting the hub in 5 minutes")
        await until(pilot, lambda: "Wallops from alice" in shown_text(app), "alice's own wallops")
        other = await an_oper(oper_server, "bob")
        raw_clients.append(other)
        other.send("WALLOPS :ack, draining")
        await until(pilot, lambda: "Wallops from bob" in shown_text(app), "bob's wallops")
        screen = shown_text(app)
        assert "-!- Wallops from alice: rebooting the hub in 5 minutes" in screen, screen
        assert "-!- Wallops from bob: ack, draining" in screen, screen
        assert screen.index("Wallops from alice") < screen.index("Wallops from bob")
        assert app.chatlog is not None
        logged = app.chatlog.path_for(app.state.server.name).read_text(encoding="utf-8")
        assert logged.endswith("-!- Wallops from bob: ack, draining\n"), logged
        assert " -!- Wallops from alice: rebooting the hub in 5 minutes\n" in logged
