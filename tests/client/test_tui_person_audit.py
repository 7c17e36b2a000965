"""The terminal client audited by a person used to irssi and WeeChat, driven with Textual's
pilot against a real hubbub server: /help and every command it lists, /exit with a goodbye,
refusals shown in the channel they are about, private actions, each buffer's place in the
scroll-back, completion of IRC-style nicks, editing keys, lines of spaces and indented code,
formatting in away messages, a conversation across a server restart, history said on an
earlier day, and other clients' typing notifications.

Behaviour that is wrong today is written as it should be, under a strict xfail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.state import Buffer
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.channel_list import ChannelListScreen
from hubbub.client.tui.widgets import BufferList, StatusBar
from tests.client.conftest import MakeClient, config_for
from tests.client.test_tui import SIZE, chat_app, input_box, joined, static_text, submit, until
from tests.client.test_tui_view import on_screen, view_of, visible_rows
from tests.helpers import connected

MakeServer = Callable[..., Awaitable[Runtime]]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# -- helpers -----------------------------------------------------------------------------------


def buffer(app: ChatApp, name: str) -> Buffer:
    found = app.state.find(name)
    assert found is not None, f"no buffer {name}"
    return found


def texts(found: Buffer) -> list[str]:
    return [line.text for line in found.lines]


def every_line(app: ChatApp) -> list[str]:
    return [line.text for b in app.state.buffers for line in b.lines]


def has_line(app: ChatApp, name: str, text: str) -> Callable[[], bool]:
    def check() -> bool:
        found = app.state.find(name)
        return found is not None and any(text in line.text for line in found.lines)
    return check


def error_count(app: ChatApp) -> int:
    return sum(line.kind == "error" for b in app.state.buffers for line in b.lines)


async def shown_help(pilot: Pilot[int], app: ChatApp) -> list[str]:
    """Type /help; the lines it shows in the buffer on screen."""
    before = len(app.state.current.lines)
    await submit(pilot, "/help")
    await until(pilot, lambda: any(t.startswith("Keys:") for t in texts(app.state.current)[before:]), "the help")
    return texts(app.state.current)[before:]


def commands_in_help(lines: list[str]) -> set[str]:
    """The command names of the /help list (`  /join #channel [key]   Join a channel...`)."""
    return {line.split()[0][1:] for line in lines if line.startswith("  /")}


# -- /help and the commands it lists ---------------------------------------------------------------


def documented_commands() -> set[str]:
    """Every /name the commands table of docs/client.md gives, aliases (`/exit`, `/leave`) included."""
    section = DOCS.read_text(encoding="utf-8").split("### Commands", 1)[1].split("\n\n", 2)[1]
    rows = [row for row in section.splitlines() if row.startswith("| `/")]
    assert len(rows) > 20, rows
    return {name for row in rows for name in re.findall(r"`/([a-z]+)", row)}


async def test_help_names_every_command_and_alias_the_docs_give(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        shown = "\n".join(await shown_help(pilot, app))
        missing = sorted(name for name in documented_commands()
                         if not re.search(rf"(?<![\w/])/{name}\b", shown))
        assert missing == [], missing


async def test_every_command_help_lists_does_what_it_says(server: Runtime, make_client: MakeClient,
                                                         tmp_path: Path) -> None:
    app = ChatApp(config_for(server, "alice", channels=("#k",)), log_dir=tmp_path / "logs")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#k"), "alice in #k, its operator")
        bob, heard = await make_client(server, "bob", channels=("#k",))
        await until(pilot, joined(app, "#k", 2), "bob in #k")

        async def bob_gets(check: Callable[[ev.Event], bool]) -> None:
            await heard.wait_for(check, timeout=5)

        async def refused(typed: str) -> None:  # the server's answer, shown as an error line
            before = error_count(app)
            await submit(pilot, typed)
            await until(pilot, lambda: error_count(app) > before, f"the answer to {typed}")

        async def says(typed: str, text: str) -> None:
            await submit(pilot, typed)
            await until(pilot, has_line(app, app.state.current.name, text), f"{text!r} after {typed}")

        listed = commands_in_help(await shown_help(pilot, app))
        tried: set[str] = {"help"}

        await says("/highlight deploy", "“deploy” now counts as a mention.")
        await says("/ignore carol", "Ignoring carol")
        await says("/unignore carol", "No longer ignoring carol.")
        await says("/silence", "Your silence list at the server is empty")
        await says("/log", "Logging to ")
        await says("/log off", "Logging is off.")
        tried |= {"highlight", "ignore", "unignore", "silence", "log"}

        await submit(pilot, "/me waves")
        await bob_gets(lambda e: isinstance(e, ev.MessageReceived) and e.kind == "action" and e.text == "waves")
        await submit(pilot, "/msg bob a quiet word")
        await bob_gets(lambda e: isinstance(e, ev.MessageReceived) and e.private and e.text == "a quiet word")
        await submit(pilot, "/notice bob heads up")
        await bob_gets(lambda e: isinstance(e, ev.MessageReceived) and e.kind == "notice" and e.text == "heads up")
        await submit(pilot, "/query bob")
        assert app.state.current.name == "bob"
        await submit(pilot, "/close")
        assert app.state.find("bob") is None and app.state.current.name == "#k"
        tried |= {"me", "msg", "notice", "query", "close"}

        bob.privmsg("#k", "any questions?")
        await until(pilot, has_line(app, "#k", "any questions?"), "bob's question")
        await submit(pilot, "/reply 1 none")
        await bob_gets(lambda e: isinstance(e, ev.MessageReceived) and e.text == "none" and "+draft/reply" in e.tags)
        await submit(pilot, "/react 1 👍")
        await bob_gets(lambda e: isinstance(e, ev.Reacted) and e.on and e.emoji == "👍")
        await submit(pilot, "/unreact bob 👍")
        await bob_gets(lambda e: isinstance(e, ev.Reacted) and not e.on and e.emoji == "👍")
        tried |= {"reply", "react", "unreact"}

        await submit(pilot, "/topic fresh paint")
        await bob_gets(lambda e: isinstance(e, ev.TopicChanged) and e.topic == "fresh paint")
        await submit(pilot, "/mode +m")
        await bob_gets(lambda e: isinstance(e, ev.ModeChanged) and e.target == "#k" and e.modes == "+m")
        await says("/names", "In #k (2): @alice bob")
        await says("/whois bob", "bob is ~bob@")
        tried |= {"topic", "mode", "names", "whois"}

        await submit(pilot, "/join #other")
        await until(pilot, lambda: app.state.current.name == "#other" and app.state.current.joined, "#other")
        await submit(pilot, "/invite bob")
        await bob_gets(lambda e: isinstance(e, ev.Invited) and e.channel == "#other")
        await says("/part bye for now", "You left #other (bye for now)")
        await submit(pilot, "/join #k")
        assert app.state.current.name == "#k"
        await submit(pilot, "/kick bob behave")
        await bob_gets(lambda e: isinstance(e, ev.Kicked) and e.own and e.reason == "behave")
        bob.join("#k")  # back, to see the goodbye at the end
        await until(pilot, joined(app, "#k", 2), "bob back in #k")
        tried |= {"join", "invite", "part", "kick"}

        def mode(modes: str, *args: str) -> Callable[[ev.Event], bool]:
            return lambda e: isinstance(e, ev.ModeChanged) and e.modes == modes and e.args == args

        for typed, modes, arg in (("/voice bob", "+v", "bob"), ("/devoice bob", "-v", "bob"),
                                  ("/op bob", "+o", "bob"), ("/deop bob", "-o", "bob"),
                                  ("/mute bob", "+b", "m:bob!*@*"), ("/unmute bob", "-b", "m:bob!*@*"),
                                  ("/ban carol", "+b", "carol!*@*")):
            await submit(pilot, typed)
            await bob_gets(mode(modes, arg))
        await says("/ban", "carol!*@* — set by alice")
        await submit(pilot, "/unban carol")
        await bob_gets(mode("-b", "carol!*@*"))
        await submit(pilot, "/kickban bob out")
        await bob_gets(lambda e: isinstance(e, ev.Kicked) and e.own and e.reason == "out")
        await submit(pilot, "/unban bob")
        await until(pilot, has_line(app, "#k", "alice lifted the ban on bob!*@* (-b bob!*@*)"), "bob unbanned")
        bob.join("#k")
        await until(pilot, joined(app, "#k", 2), "bob back in #k again")
        tried |= {"voice", "devoice", "op", "deop", "mute", "unmute", "ban", "unban", "kickban"}

        await submit(pilot, "/nick alicia")
        await until(pilot, lambda: app.state.nick == "alicia", "the new nick")
        await submit(pilot, "/away tea")
        await until(pilot, lambda: app.state.away == "tea", "away")
        await submit(pilot, "/back")
        await until(pilot, lambda: app.state.away is None, "back")
        await submit(pilot, "/quote PRIVMSG bob :raw words")
        await bob_gets(lambda e: isinstance(e, ev.MessageReceived) and e.text == "raw words")
        await refused("/oper nobody wrong words")
        await refused("/wallops hello everyone")
        await refused("/knock #k")  # alicia is in it already
        tried |= {"nick", "away", "back", "quote", "oper", "wallops", "knock"}
        await says("/register first-Secret1", "You're now logged in as alicia")
        tried.add("register")

        await submit(pilot, "/list")
        await until(pilot, lambda: isinstance(app.screen, ChannelListScreen), "the channel list")
        await pilot.press("escape")
        assert not isinstance(app.screen, ChannelListScreen)
        tried.add("list")

        assert not [t for t in every_line(app) if "Unknown command" in t or "Usage:" in t]
        assert tried | {"quit"} == listed, sorted(listed ^ (tried | {"quit"}))
        await submit(pilot, "/quit see you all")
        await bob_gets(lambda e: isinstance(e, ev.UserQuit) and e.nick == "alicia"
                       and e.reason.endswith("see you all"))
        await until(pilot, lambda: app.return_code == 0, "the app to exit")


async def test_exit_with_a_message_is_the_goodbye_others_see(server: Runtime, make_client: MakeClient) -> None:
    _, bob_events = await make_client(server, "bob", channels=("#lobby",))
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        await submit(pilot, "/exit :) off to bed")  # a smiley first: a ":" that must not be eaten
        quit_ = await bob_events.wait_for(ev.UserQuit, lambda e: e.nick == "alice")
        assert quit_.reason.endswith(":) off to bed"), quit_.reason
        await until(pilot, lambda: app.return_code == 0, "the app to exit")


# -- refusals, where they belong ------------------------------------------------------------------


async def test_refusals_to_speak_or_act_show_in_the_channel_as_sentences(server: Runtime) -> None:
    bob = await connected(server, "bob", "#m")  # bob founds #m: its operator
    app = chat_app(server, channels=("#lobby", "#m"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby")() and joined(app, "#m", 2)(), "alice in both")
        bob.send("MODE #m +m")
        await until(pilot, has_line(app, "#m", "bob moderated #m: only people with a voice talk (+m)"), "+m")
        await pilot.press("alt+3")
        assert app.state.current.name == "#m"
        await submit(pilot, "may I speak?")
        await until(pilot, lambda: on_screen(app, "#m: Cannot send to channel (+m)"), "the +m refusal")
        await submit(pilot, "/topic mine now")
        await submit(pilot, "/kick bob out")
        await until(pilot, lambda: "\n".join(visible_rows(app)).count("You're not channel operator") == 2,
                    "both refusals of an operator's command")
        bob.send("MODE #m -m+b alice!*@*")
        await until(pilot, has_line(app, "#m", "+b alice!*@*"), "the ban")
        await submit(pilot, "am I banned?")
        await until(pilot, lambda: on_screen(app, "#m: Cannot send to channel (you are banned)"), "the ban refusal")
        said = [line.text for line in buffer(app, "#m").lines if line.kind == "message"]
        assert said == []  # nothing refused shows as said
        assert "Cannot send" not in "\n".join(texts(buffer(app, "#lobby")))
        rows = "\n".join(visible_rows(app))
        assert not re.search(r"\b(404|482)\b", rows), rows
    await bob.close()


# -- private conversations ------------------------------------------------------------------------


async def test_a_private_action_opens_the_conversation_as_a_mention(server: Runtime) -> None:
    bob = await connected(server, "bob", "#lobby")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        rung: list[int] = []
        app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        bob.send("PRIVMSG alice :\x01ACTION hugs alice\x01")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation")
        query = buffer(app, "bob")
        assert app.state.current.name == "#lobby"  # not pulled away
        assert (query.unread, query.mentioned) == (1, True) and rung == [1]
        assert "bob 1!" in static_text(app.query_one(BufferList))
        await pilot.press("alt+3")
        await until(pilot, lambda: on_screen(app, "bob hugs alice"), "the action")
        row = next(row for row in visible_rows(app) if "hugs alice" in row)
        assert "*" in row and "ACTION" not in row and not CONTROL.search(row)
    await bob.close()


async def test_a_conversation_goes_on_in_the_same_buffer_after_a_server_restart(
        make_server: MakeServer, make_client: MakeClient) -> None:
    runtime = await make_server()
    host, port = runtime.irc_address()
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(runtime, "bob", channels=("#lobby",))  # it reconnects by itself too
        bob.privmsg("alice", "before the restart")
        await until(pilot, lambda: app.state.find("bob") is not None, "the conversation")
        await submit(pilot, "/query bob")
        await runtime.stop()
        await until(pilot, lambda: app.state.status == "disconnected", "disconnected")
        await make_server(f"listen.irc=['{host}:{port}']")
        await until(pilot, joined(app, "#lobby", 2), "alice and bob back in #lobby")
        bob.privmsg("alice", "after the restart")
        await until(pilot, lambda: on_screen(app, "after the restart"), "bob's new line")
        assert [b.name for b in app.state.buffers] == ["hubbub", "#lobby", "bob"]
        assert app.state.current.name == "bob"
        rows = visible_rows(app)
        assert sum("before the restart" in r for r in rows) == 1 and sum("after the restart" in r for r in rows) == 1
        await submit(pilot, "good to see you")
        await until(pilot, lambda: on_screen(app, "good to see you"), "alice's answer in the conversation")


# -- the message view ------------------------------------------------------------------------------


async def test_each_buffer_keeps_its_place_in_the_scroll_back_when_switching(server: Runtime) -> None:
    bob = await connected(server, "bob", "#lobby", "#side")
    app = chat_app(server, channels=("#lobby", "#side"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby", 2)() and joined(app, "#side", 2)(), "alice in both")
        await pilot.press("alt+2")
        for i in range(80):
            bob.send(f"PRIVMSG #lobby :line {i}")
        await until(pilot, lambda: on_screen(app, "line 79"), "all lines")
        await pilot.press("pageup")
        await until(pilot, lambda: not view_of(app).following, "reading back")
        reading = visible_rows(app)
        assert "line 79" not in "\n".join(reading)
        await pilot.press("alt+3")
        bob.send("PRIVMSG #lobby :said while I looked at #side")
        bob.send("PRIVMSG #side :hello in side")
        await until(pilot, lambda: on_screen(app, "hello in side"), "#side's line")
        await until(pilot, has_line(app, "#lobby", "said while I looked"), "the line in #lobby")
        await pilot.press("alt+2")
        await pilot.pause(0.1)
        assert visible_rows(app) == reading  # the same page, not pulled down
        for _ in range(10):
            if view_of(app).following:
                break
            await pilot.press("pagedown")
        await until(pilot, lambda: on_screen(app, "said while I looked at #side"), "the newest line")
    await bob.close()


async def test_a_line_of_spaces_sends_nothing_and_indented_code_keeps_its_indentation(server: Runtime) -> None:
    bob = await connected(server, "bob", "#lobby")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        before = len(buffer(app, "#lobby").lines)
        await submit(pilot, "    ")
        assert input_box(app).value == ""
        assert len(buffer(app, "#lobby").lines) == before  # no error, nothing said
        await submit(pilot, "    def main():")
        await submit(pilot, "\treturn 0")
        first = await bob.expect("PRIVMSG")
        second = await bob.expect("PRIVMSG")
        assert [first.params, second.params] == [["#lobby", "    def main():"], ["#lobby", "\treturn 0"]]
        await until(pilot, lambda: on_screen(app, "return 0"), "both lines on screen")
        rows = visible_rows(app)
        code = [row.split("alice", 1)[1] for row in rows if "def main" in row or "return 0" in row]
        assert code[0].startswith("     def main():"), code  # the nick's space, then four of its own
        assert re.match(r" {2,}return 0", code[1]) and "\t" not in code[1], code
        assert not any(CONTROL.search(row) for row in rows)
    await bob.close()


async def test_colours_in_an_away_message_are_drawn_not_printed(server: Runtime) -> None:
    bob = await connected(server, "bob", "#lobby")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        bob.send("AWAY :\x0304,01red\x03 \x02alert\x02, back at 5")
        await bob.expect("306")
        await submit(pilot, "/whois bob")
        await until(pilot, lambda: on_screen(app, "bob is away: red alert, back at 5"), "the away message")
        await submit(pilot, "/msg bob are you there?")
        await until(pilot, lambda: "\n".join(visible_rows(app)).count("bob is away: red alert, back at 5") == 2,
                    "the away message after writing to bob")
        rows = "\n".join(visible_rows(app))
        assert "04,01" not in rows and not CONTROL.search(rows)
    await bob.close()


# -- the input line ------------------------------------------------------------------------------


async def test_completion_of_irc_style_nicks_and_channels_and_the_editing_keys(server: Runtime) -> None:
    bob = await connected(server, "bob", "#lobby", "#side")
    odd = await connected(server, "[x]tra|away", "#lobby")
    app = chat_app(server, channels=("#lobby", "#side"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: joined(app, "#lobby", 3)() and joined(app, "#side", 2)(), "everyone in")
        await pilot.press("alt+2")
        box = input_box(app)
        await pilot.press("[", "x", "tab")
        assert box.value == "[x]tra|away: "
        box.value, box.cursor_position = "", 0
        await pilot.press(*"hey BO", "tab")
        assert box.value == "hey bob "
        await pilot.press(*"come to #si", "tab")
        assert box.value == "hey bob come to #side "
        await pilot.press(*"soon", "ctrl+w")  # irssi and WeeChat: delete the word before the cursor
        assert box.value == "hey bob come to #side "
        await pilot.press("ctrl+a")
        assert box.cursor_position == 0
        await pilot.press("ctrl+e")
        assert box.cursor_position == len(box.value)
        await pilot.press("ctrl+a", "ctrl+k")
        assert box.value == ""
        await pilot.press(*"oops")
        await pilot.press("ctrl+u")
        assert box.value == ""
        assert app.focused is box
    await bob.close()
    await odd.close()


# -- other clients' traffic -------------------------------------------------------------------------


async def test_typing_notifications_of_web_client_users_are_not_shown_as_raw_lines(server: Runtime) -> None:
    bob = await connected(server, "bob", "#lobby")
    bob.send("CAP REQ :message-tags")  # the web client's capability
    await bob.expect("CAP", "bob", "ACK")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby", 2), "alice and bob in #lobby")
        server_lines = len(app.state.server.lines)
        for status in ("active", "paused", "done"):  # what hubbub/web/js/client.js sends as bob types
            bob.send(f"@+typing={status} TAGMSG #lobby")
            bob.send(f"@+typing={status} TAGMSG alice")
        bob.send("PRIVMSG #lobby :done typing")
        await until(pilot, lambda: on_screen(app, "done typing"), "bob's message after the notifications")
        raw = [t for t in every_line(app) if "TAGMSG" in t or "typing=" in t]
        assert (raw, len(app.state.server.lines)) == ([], server_lines)
    await bob.close()


# -- history said on an earlier day -----------------------------------------------------------------


AGO = 2 * 86400 + 3 * 3600 + 17 * 60  # two days, three hours and a bit: another day, another time


async def said_days_ago(make_server: MakeServer, tmp_path: Path) -> tuple[Runtime, datetime]:
    """A server with a store in which bob said two lines in #lobby AGO seconds ago; when that was."""
    runtime = await make_server(f"store.db='{tmp_path / 'store.db'}'")
    then = time.time() - AGO
    runtime.clock = lambda: time.time() - AGO  # before anything happens, so times stay in order
    bob = await connected(runtime, "bob", "#lobby")
    bob.send("PRIVMSG #lobby :the build is green")
    bob.send("PRIVMSG #lobby :alice: your turn tomorrow")
    bob.send("PING :stored")
    await bob.expect("PONG")
    await bob.close()
    runtime.clock = time.time
    return runtime, datetime.fromtimestamp(then).astimezone()


async def test_history_from_an_earlier_day_shows_the_time_it_was_said(make_server: MakeServer,
                                                                     tmp_path: Path) -> None:
    runtime, then = await said_days_ago(make_server, tmp_path)
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "your turn tomorrow"), "the history on screen")
        lobby = buffer(app, "#lobby")
        said = texts(lobby)
        assert said.index("the build is green") < said.index("alice: your turn tomorrow") < said.index(
            "You joined #lobby")
        old = next(line for line in lobby.lines if line.text == "the build is green")
        assert abs((old.time - then).total_seconds()) < 60  # the time it was said, not the time of joining
        row = next(row for row in visible_rows(app) if "the build is green" in row)
        assert row.startswith(old.time.astimezone().strftime("%H:%M")), row
        assert not row.startswith(datetime.now().astimezone().strftime("%H:%M"))
        assert (lobby.unread, lobby.mentioned) == (0, False)  # old news, not a new mention


async def test_history_from_an_earlier_day_says_which_day(make_server: MakeServer, tmp_path: Path) -> None:
    runtime, then = await said_days_ago(make_server, tmp_path)
    app = chat_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: on_screen(app, "your turn tomorrow"), "the history on screen")
        day = then.date()
        ways = {day.isoformat(), day.strftime("%d.%m."), day.strftime("%m/%d"), day.strftime("%d/%m"),
                f"{day.day} {day:%b}", f"{day:%b} {day.day}", f"{day:%b} {day:%d}", f"{day:%d} {day:%b}",
                f"{day.day} {day:%B}", f"{day:%B} {day.day}"}
        rows = visible_rows(app)
        assert any(way in row for row in rows for way in ways), (sorted(ways), rows)


async def test_lines_arriving_below_a_scrolled_back_view_are_counted_in_the_status_bar(
        server: Runtime, make_client: MakeClient) -> None:
    """irssi's `-- more --`: reading older lines, the person is told that new ones came
    below; back at the bottom, the count goes."""
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        for i in range(60):
            bob.privmsg("#lobby", f"backlog {i}")
        await until(pilot, lambda: on_screen(app, "backlog 59"), "the backlog")
        await pilot.press("pageup")
        assert not view_of(app).following
        assert "more" not in static_text(app.query_one(StatusBar))
        for i in range(3):
            bob.privmsg("#lobby", f"new {i}")
        await until(pilot, lambda: "-- more (3) --" in static_text(app.query_one(StatusBar)), "the count of new lines")
        assert not on_screen(app, "new 2")  # the view stayed where the person was reading
        await pilot.press("pagedown")
        await pilot.press("pagedown")
        await until(pilot, lambda: on_screen(app, "new 2"), "the new lines at the bottom")
        await until(pilot, lambda: "more" not in static_text(app.query_one(StatusBar)), "the count gone")


async def test_lines_that_came_while_a_scrolled_back_view_was_hidden_are_counted_too(
        server: Runtime, make_client: MakeClient) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob, _ = await make_client(server, "bob", channels=("#lobby",))
        for i in range(60):
            bob.privmsg("#lobby", f"backlog {i}")
        await until(pilot, lambda: on_screen(app, "backlog 59"), "the backlog")
        await pilot.press("pageup")
        assert not view_of(app).following
        await pilot.press("alt+1")  # the server buffer
        await until(pilot, lambda: app.state.current is app.state.server, "the server buffer")
        for i in range(2):
            bob.privmsg("#lobby", f"while away {i}")
        lobby = app.state.find("#lobby")
        await until(pilot, lambda: lobby is not None and any(line.text == "while away 1" for line in lobby.lines),
                    "the lines in #lobby")
        await pilot.press("alt+2")
        await until(pilot, lambda: "-- more (2) --" in static_text(app.query_one(StatusBar)), "the count")
