"""Moderation in the terminal client, for someone coming from Discord or Slack: one-step
commands (/op, /ban, /mute, /kickban...) acting on the channel on screen, the ban list in
words, moderation events in the history fetched on joining, and short reconnect and
login-failure texts that say what to do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hubbub.app import Runtime
from hubbub.client.tui.widgets import StatusBar
from hubbub.irc.message import Message
from tests.client.test_tui import SIZE, chat_app, joined, shown_text, static_text, submit, until
from tests.helpers import connected


def _mode(channel: str, modes: str, *args: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "MODE" and m.params == [channel, modes, *args]


async def test_one_step_moderation_commands_act_on_the_channel_on_screen(server: Runtime) -> None:
    app = chat_app(server, channels=("#garden",))  # alice founds #garden: its operator
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#garden"), "alice in #garden")
        sam = await connected(server, "sam", "#garden")
        spammy = await connected(server, "spammy", "#garden")
        await until(pilot, joined(app, "#garden", 3), "sam and spammy in #garden")

        await submit(pilot, "/op sam")
        await sam.expect(_mode("#garden", "+o", "sam"))
        await submit(pilot, "/deop sam")
        await sam.expect(_mode("#garden", "-o", "sam"))
        await submit(pilot, "/voice sam spammy")
        await sam.expect(_mode("#garden", "+vv", "sam", "spammy"))
        await submit(pilot, "/devoice spammy")
        await sam.expect(_mode("#garden", "-v", "spammy"))

        await submit(pilot, "/mute spammy")
        await sam.expect(_mode("#garden", "+b", "m:spammy!*@*"))
        spammy.send("PRIVMSG #garden :buy now")
        await spammy.expect("404")  # muted: cannot speak
        await submit(pilot, "/unmute spammy")
        await sam.expect(_mode("#garden", "-b", "m:spammy!*@*"))

        await submit(pilot, "/ban spammy2 *!*@bad.example")
        await sam.expect(_mode("#garden", "+bb", "spammy2!*@*", "*!*@bad.example"))
        await submit(pilot, "/unban *!*@bad.example")
        await sam.expect(_mode("#garden", "-b", "*!*@bad.example"))

        # the ban list in words, not a Unix timestamp
        await submit(pilot, "/ban")
        await until(pilot, lambda: "End of the bans of #garden" in shown_text(app), "the ban list")
        assert "spammy2!*@* — set by alice, just now" in shown_text(app)
        assert not any(word.isdigit() and len(word) >= 9 for word in shown_text(app).split())

        await submit(pilot, "/kickban spammy enough")
        await sam.expect(_mode("#garden", "+b", "spammy!*@*"))
        kick = await sam.expect("KICK")
        assert kick.params == ["#garden", "spammy", "enough"]
        await until(pilot, lambda: not any(m.nick == "spammy" for m in app.state.current.members), "spammy out")

        await submit(pilot, "/kb sam")
        await sam.expect(_mode("#garden", "+b", "sam!*@*"))
        assert (await sam.expect("KICK")).params[:2] == ["#garden", "sam"]
        assert "Unknown command" not in shown_text(app)
        await sam.close()
        await spammy.close()


async def test_help_lists_the_moderation_commands_under_their_heading(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/help")
        await until(pilot, lambda: "Moderation" in shown_text(app), "the help")
        text = [line.text for line in app.state.current.lines]
        heading = next(i for i, line in enumerate(text) if line.startswith("Moderation"))
        below = "\n".join(text[heading:])
        for name in ("/op", "/deop", "/voice", "/devoice", "/kick", "/ban", "/unban", "/mute", "/unmute",
                     "/kickban"):
            assert f"  {name} " in below, name
        assert "(also /kb)" in below
        assert "  /join " in "\n".join(text[:heading])  # the others come before it
        await submit(pilot, "/op")
        await until(pilot, lambda: "Whom? Usage: /op nick" in shown_text(app), "the usage")


async def test_history_on_joining_shows_kicks_and_mode_changes(server: Runtime) -> None:
    maya = await connected(server, "maya", "#garden")  # maya founds #garden
    spammy = await connected(server, "spammy", "#garden")
    maya.send("PRIVMSG #garden :welcome")
    maya.send("MODE #garden +b spammy!*@*")
    await maya.expect(_mode("#garden", "+b", "spammy!*@*"))
    maya.send("KICK #garden spammy :spam")
    await maya.expect("KICK")
    maya.send("MODE #garden +f 3:10")
    await maya.expect(_mode("#garden", "+f", "3:10"))
    flooder = await connected(server, "flooder", "#garden")
    for i in range(4):
        flooder.send(f"PRIVMSG #garden :flood {i}")
    await maya.expect(lambda m: m.command == "KICK" and m.params[1] == "flooder")  # +f: the server kicks
    await spammy.close()
    await flooder.close()
    app = chat_app(server, channels=("#garden",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#garden", 2), "alice in #garden")
        await until(pilot, lambda: "welcome" in shown_text(app), "the history")
        await until(pilot, lambda: "maya kicked spammy (spam)" in shown_text(app), "the kick in the history")
        text = shown_text(app)
        assert "maya banned spammy!*@* (+b spammy!*@*)" in text
        assert "maya kicked whoever sends more than 3 lines" in text and "(+f 3:10)" in text  # wrapped
        assert text.index("welcome") < text.index("+b spammy") < text.index("kicked spammy") < text.index("+f")
        assert "kicked flooder (Channel flood triggered" in text
        assert text.count("You joined #garden") == 1
        assert text.index("+f") < text.index("You joined #garden")
    await maya.close()


async def test_the_reconnect_status_fits_in_100_columns(make_server: Callable[..., Awaitable[Runtime]]) -> None:
    runtime = await make_server()
    app = chat_app(runtime)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await runtime.stop()
        await until(pilot, lambda: "refused" in app.state.status_text, "a refused reconnection")
        status = static_text(app.query_one(StatusBar))
        assert status.startswith("Not connected: connection refused; retrying in "), status
        assert len(status) < 60 and "…" not in status
        server_lines = "\n".join(line.text for line in app.state.server.lines)
        assert "is the server running?" in server_lines  # the whole reason, in the server buffer


async def test_a_failed_login_says_how_to_register(server: Runtime) -> None:
    app = chat_app(server, sasl_password="hunter22")  # no account named alice yet
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        server_lines = "\n".join(line.text for line in app.state.server.lines)
        assert "Login failed" in server_lines
        assert "/register <password>" in server_lines
        await submit(pilot, "/register first-Secret1")
        await until(pilot, lambda: app.state.current.name.lower() == "nickserv", "the NickServ buffer")
        await until(pilot, lambda: "now logged in as alice" in shown_text(app), "NickServ's answer")
        assert "first-Secret1" not in shown_text(app) and "REGISTER *****" in shown_text(app)
        await submit(pilot, "/help")
        await until(pilot, lambda: "/register" in shown_text(app), "/register in the help")
