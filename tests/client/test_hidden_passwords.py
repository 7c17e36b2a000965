"""Passwords in our own messages to NickServ: hidden on screen and in the logs, sent as typed.

The terminal client, driven by Textual's pilot against a real hubbub, says NickServ's
password commands with `/msg`; the server's echo (echo-message) or the client's own copy
(without it) shows each password word as `*****`, in the window, the scroll-back and the
log file, while NickServ's answers prove the real passwords reached it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from hubbub.app import Runtime
from hubbub.client.protocol import DEFAULT_CAPS
from hubbub.client.state import Line
from hubbub.client.tui.app import ChatApp
from tests.client.conftest import MakeClient, config_for
from tests.client.test_tui import SIZE, joined, shown_text, submit, until

SECRETS = ("first-Secret1", "second-Secret2", "third-Secret3", "ghost-Secret4", "fourth-Secret5",
           "fifth-Secret6")


def answers(app: ChatApp, text: str) -> int:
    """How many lines saying `text` came from others (NickServ's answers)."""
    return sum(line.text == text and not line.own for buffer in app.state.buffers for line in buffer.lines)


def lines_of(app: ChatApp, name: str) -> list[Line]:
    buffer = app.state.find(name)
    return list(buffer.lines) if buffer is not None else []


async def say_to_nickserv(pilot: Pilot, app: ChatApp, line: str, answer: str, count: int = 1) -> None:
    await submit(pilot, line)
    await until(pilot, lambda: answers(app, answer) >= count, f"NickServ's {answer!r} to {line!r}")


@pytest.mark.parametrize("echo", [True, False], ids=["echo-message", "local-echo"])
async def test_own_passwords_to_nickserv_are_hidden_on_screen_and_in_the_log(
        server: Runtime, make_client: MakeClient, tmp_path: Path, echo: bool) -> None:
    caps = DEFAULT_CAPS if echo else DEFAULT_CAPS - {"echo-message"}
    app = ChatApp(config_for(server, "alice", channels=("#lobby",), caps=caps), log_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        assert ("echo-message" in app.client.caps) is echo
        bob, _ = await make_client(server, "bob", channels=("#lobby",))

        logged_in = "You're now logged in as alice"
        await say_to_nickserv(pilot, app, "/msg NickServ REGISTER first-Secret1 alice@example.org", logged_in)
        await say_to_nickserv(pilot, app, "/msg NickServ LOGOUT", "You're now logged out")
        await say_to_nickserv(pilot, app, "/msg nickserv identify alice first-Secret1", logged_in, 2)
        await say_to_nickserv(pilot, app, "/msg NickServ SET PASSWORD second-Secret2", "Password changed")
        await say_to_nickserv(pilot, app, "/msg NickServ PASSWD second-Secret2 third-Secret3 third-Secret3",
                              "Password changed", 2)
        await say_to_nickserv(pilot, app, "/msg NickServ GHOST nobody ghost-Secret4", "No such nick")
        await say_to_nickserv(pilot, app, "/msg NickServ SET PASS fourth-Secret5", "Password changed", 3)
        await say_to_nickserv(pilot, app, "/msg NickServ IDENTIFY fifth-Secret6",
                              "You're already logged into an account")
        await say_to_nickserv(pilot, app, "/msg NickServ DROP alice 0badc0de",  # a code, not a password
                              "Warning: dropping alice deletes it for good; its nick is then free for anyone.")
        # Not NickServ, or not ours: shown as they are.
        await submit(pilot, "/msg bob IDENTIFY alice-visible")
        bob.privmsg("alice", "IDENTIFY bob-visible")
        await until(pilot, lambda: sum("visible" in line.text for line in lines_of(app, "bob")) == 2,
                    "the lines between alice and bob")

        nickserv, bob_buffer = app.state.find("NickServ"), app.state.find("bob")
        assert nickserv is not None and bob_buffer is not None
        await until(pilot, lambda: any("DROP" in line.text for line in nickserv.lines if line.own), "our DROP line")
        app.switch_to(nickserv)  # the view writes its lines at its next refresh: waited for
        await until(pilot, lambda: "alice DROP alice 0badc0de" in shown_text(app, nickserv), "NickServ's lines shown")
        screen = shown_text(app, nickserv)
        for shown in ("alice REGISTER ***** alice@example.org", "alice identify alice *****",
                      "alice SET PASSWORD *****", "alice PASSWD ***** ***** *****", "alice GHOST nobody *****",
                      "alice SET PASS *****", "alice IDENTIFY *****", "alice DROP alice 0badc0de"):
            assert shown in screen, (shown, screen)
        app.switch_to(bob_buffer)
        await until(pilot, lambda: "bob IDENTIFY bob-visible" in shown_text(app, bob_buffer), "bob's lines shown")
        screen = shown_text(app, bob_buffer)
        assert "alice IDENTIFY alice-visible" in screen and "bob IDENTIFY bob-visible" in screen

        everything = "\n".join(line.text for buffer in app.state.buffers for line in buffer.lines)
        logs = {path.name: path.read_text() for path in tmp_path.rglob("*.log")}
        for secret in SECRETS:
            assert secret not in everything
            assert not any(secret in text for text in logs.values()), secret
        log = logs["nickserv.log"]
        assert "<alice> REGISTER ***** alice@example.org" in log
        assert "<alice> PASSWD ***** ***** *****" in log
        assert "<alice> DROP alice 0badc0de" in log
        assert "<alice> IDENTIFY alice-visible" in logs["bob.log"]
