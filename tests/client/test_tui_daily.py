"""What daily use needs, driven through the window against a real server (or the scripted
IRCv3 peer for chathistory): /ignore, highlights, Ctrl+F search, logs, /list, scroll-back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from hubbub.app import Runtime
from hubbub.client import ClientConfig
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.channel_list import ChannelListScreen
from hubbub.client.tui.widgets import BufferList, SearchBar
from tests.client.conftest import MakeClient, config_for
from tests.client.ircv3_peer import IRCv3Peer
from tests.client.test_tui import (
    SIZE,
    chat_app,
    joined,
    shown_text,
    static_text,
    submit,
    until,
)
from tests.client.test_tui_view import on_screen, view_of, visible_rows


async def test_ignore_hides_someones_messages_until_unignored(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        carol, _ = await make_client(server, "carol", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 3), "everyone in #lobby")
        await submit(pilot, "/ignore bob")
        assert "Ignoring bob" in shown_text(app)
        bob.privmsg("#lobby", "buy my stuff")
        bob.privmsg("alice", "psst, buy my stuff")
        carol.privmsg("#lobby", "hello alice")
        await until(pilot, lambda: "hello alice" in shown_text(app), "carol's line")
        await pilot.pause(0.1)
        assert "buy my stuff" not in shown_text(app)
        assert app.state.find("bob") is None  # no conversation window for him either
        await submit(pilot, "/ignore")
        assert "Ignoring: bob" in shown_text(app)
        await submit(pilot, "/unignore bob")
        bob.privmsg("#lobby", "back again")
        await until(pilot, lambda: "back again" in shown_text(app), "bob seen again")


async def test_highlight_words_mark_the_buffer_like_a_mention(server: Runtime, make_client: MakeClient) -> None:
    app = ChatApp(config_for(server, "alice", channels=("#lobby",)), highlights=["urgent"])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        await submit(pilot, "/highlight add deploy")
        await pilot.press("alt+1")
        lobby = app.state.find("#lobby")
        assert lobby is not None
        bob.privmsg("#lobby", "the deploy is done")
        await until(pilot, lambda: lobby.mentioned, "the highlight")
        assert "#lobby 1!" in static_text(app.query_one(BufferList))
        await pilot.press("alt+2")
        bob.privmsg("#lobby", "URGENT: coffee")
        await until(pilot, lambda: lobby.lines[-1].text == "URGENT: coffee", "the second line")
        assert lobby.lines[-1].mention  # from the command line
        await submit(pilot, "/highlight")
        assert "Highlighted words: urgent, deploy" in shown_text(app)


async def test_ctrl_f_finds_lines_in_the_scroll_back(server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        for i in range(90):
            bob.privmsg("#lobby", f"needle {i}" if i in (5, 60) else f"hay {i}")
        await until(pilot, lambda: on_screen(app, "hay 89"), "all the lines")
        await pilot.press("ctrl+f")
        bar = app.query_one(SearchBar)
        assert bar.display
        await pilot.press(*"needle", "enter")
        assert on_screen(app, "needle 60") and not on_screen(app, "hay 89")
        assert "1 of 2" in static_text(bar.query_one("#search-count"))  # type: ignore[arg-type]
        await pilot.press("enter")
        assert on_screen(app, "needle 5") and "2 of 2" in static_text(bar.query_one("#search-count"))  # type: ignore[arg-type]
        await pilot.press("down")
        assert on_screen(app, "needle 60")
        await pilot.press("escape")
        assert not bar.display
        await until(pilot, lambda: on_screen(app, "hay 89"), "back at the newest line")
        assert view_of(app).following


async def test_log_dir_writes_each_buffer_to_a_file(server: Runtime, make_client: MakeClient, tmp_path: Path) -> None:
    app = ChatApp(config_for(server, "alice", channels=("#lobby",)), log_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        await until(pilot, joined(app, "#lobby", 2), "bob joined")
        bob.privmsg("#lobby", "\x02hello\x02 log")
        bob.action("#lobby", "waves")
        await until(pilot, lambda: "bob waves" in shown_text(app), "the lines")
        log = tmp_path / "hubbub" / "#lobby.log"
        assert log.exists()
        text = log.read_text()
        assert "<bob> hello log" in text and "* bob waves" in text and "\x02" not in text
        # the server buffer in one file, named after the network, from the first line on
        # (those before the welcome named the network went to one named after the host)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["hubbub"], list(tmp_path.iterdir())
        server_log = (tmp_path / "hubbub" / "hubbub.log").read_text()
        assert "Connecting to" in server_log.splitlines()[0] and "You are alice." in server_log
        assert server_log.index("Connecting to") < server_log.index("You are alice.")
        await submit(pilot, "/log off")
        assert "Logging is off" in shown_text(app)
        bob.privmsg("#lobby", "not logged")
        await until(pilot, lambda: "not logged" in shown_text(app), "the unlogged line")
        assert "not logged" not in log.read_text()


async def test_logging_is_off_unless_asked_for(server: Runtime, make_client: MakeClient, tmp_path: Path,
                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "hello")
        await until(pilot, lambda: "alice hello" in shown_text(app), "the line")
        assert not any(tmp_path.iterdir())
        await submit(pilot, "/log on")
        assert f"Logging to {tmp_path / 'hubbub' / 'logs' / 'hubbub'}/" in app.state.current.lines[-1].text
        await submit(pilot, "now logged")
        await until(pilot, lambda: (tmp_path / "hubbub" / "logs" / "hubbub" / "#lobby.log").exists(), "the log")


async def test_list_is_a_browsable_filterable_list_to_join_from(server: Runtime, make_client: MakeClient) -> None:
    await make_client(server, "bob", channels=("#alpha", "#beta"))
    await make_client(server, "carol", channels=("#beta", "#gamma"))
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/list")
        await until(pilot, lambda: isinstance(app.screen, ChannelListScreen) and app.screen.channels is not None,
                    "the list")
        screen = app.screen
        assert isinstance(screen, ChannelListScreen)
        options = screen.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert names[0] == "#beta" and set(names) == {"#alpha", "#beta", "#gamma", "#lobby"}  # busiest first
        assert "322" not in shown_text(app) and "#gamma" not in shown_text(app)  # not dumped into the buffer
        await pilot.press("g", "a")
        assert screen.query_one(Input).value == "ga"
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["#gamma"]
        await pilot.press("enter")
        await until(pilot, lambda: app.state.current.name == "#gamma" and app.state.current.joined, "#gamma joined")
        assert not isinstance(app.screen, ChannelListScreen)
        await submit(pilot, "/list")
        await until(pilot, lambda: isinstance(app.screen, ChannelListScreen), "the list again")
        await pilot.press("escape")
        assert not isinstance(app.screen, ChannelListScreen)


async def page_up_until(pilot: Pilot, predicate: Callable[[], bool]) -> None:
    """Press PageUp, as a person reading back does, until `predicate` holds."""
    for _ in range(20):
        if predicate():
            return
        await pilot.press("pageup")
        await pilot.pause(0.1)
    assert predicate()


async def test_page_up_while_the_latest_page_is_on_its_way_asks_nothing_more(ircv3_peer: IRCv3Peer) -> None:
    """PageUp in a channel just joined, before the latest page asked for on joining has
    come, would ask for the page before the join: the same lines, and the two answers
    taken each for the other's. It waits for that page instead."""
    ircv3_peer.history["#long"] = [("bob", f"old {i}") for i in range(120)]
    ircv3_peer.history_gate = gate = asyncio.Event()
    port = await ircv3_peer.start()
    app = ChatApp(ClientConfig(host="127.0.0.1", port=port, nick="alice", channels=("#long",)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "CHATHISTORY LATEST #long * 50" in ircv3_peer.received, "the latest page asked")
        await until(pilot, lambda: app.state.current.name == "#long", "in #long")
        for _ in range(3):
            await pilot.press("pageup")
            await pilot.pause(0.05)
        gate.set()
        await until(pilot, lambda: on_screen(app, "old 119"), "the latest history")
        assert app.state.current.lines[0].text == "old 70"
        assert [line for line in ircv3_peer.received if line.startswith("CHATHISTORY")] == [
            "CHATHISTORY LATEST #long * 50"]
        await page_up_until(pilot, lambda: "CHATHISTORY BEFORE #long msgid=#long-70 50" in ircv3_peer.received)


async def test_page_up_at_the_top_fetches_older_history(ircv3_peer: IRCv3Peer) -> None:
    ircv3_peer.history["#long"] = [("bob", f"old {i}") for i in range(120)]
    port = await ircv3_peer.start()
    app = ChatApp(ClientConfig(host="127.0.0.1", port=port, nick="alice", channels=("#long",)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "old 119"), "the latest history")
        buffer = app.state.current
        assert buffer.lines[0].text == "old 70"  # the 50 latest
        await page_up_until(pilot, lambda: "CHATHISTORY BEFORE #long msgid=#long-70 50" in ircv3_peer.received)
        await until(pilot, lambda: buffer.lines[0].text == "old 20", "the 50 before")
        assert "CHATHISTORY BEFORE #long msgid=#long-70 50" in ircv3_peer.received
        texts = [line.text for line in buffer.lines if line.text.startswith("old ")]
        assert texts == [f"old {i}" for i in range(20, 120)]  # in order, nothing twice
        await until(pilot, lambda: on_screen(app, "old 69"), "the older page on screen")
        assert not view_of(app).following
        rows = [row for row in visible_rows(app) if "old " in row]
        assert rows and "old 69" in rows[-1]  # the page just above what was the top
        await page_up_until(pilot, lambda: buffer.lines[0].text == "old 0")
        await page_up_until(pilot, lambda: buffer.history_done)
        assert sum(line.startswith("CHATHISTORY BEFORE") for line in ircv3_peer.received) == 3
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("pageup")  # at the top, all of it known: said again, not asked again
        await pilot.pause(0.1)
        assert notes == ["No older messages on the server."]
        assert sum(line.startswith("CHATHISTORY BEFORE") for line in ircv3_peer.received) == 3
