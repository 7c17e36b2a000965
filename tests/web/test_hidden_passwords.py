"""Passwords in our own messages to NickServ: hidden in the page and its scroll-back, sent as typed.

In a real browser against a real hubbub, the web client says NickServ's password
commands with `/msg`; the server's echo (echo-message) or, with echo-message hidden
from the page, the client's own copy shows each password word as `*****`, and nothing
the page keeps (its buffers, localStorage) holds a password, while NickServ's answers
prove the real passwords reached it.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, WebSocketRoute, expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRETS = ("first-Secret1", "second-Secret2", "third-Secret3", "ghost-Secret4", "fourth-Secret5",
           "fifth-Secret6")
LOGGED_IN = "You're now logged in as alice"
CHANGED = "Password changed"


def without_echo_message(message: str | bytes) -> str | bytes:
    """The server's frame, with echo-message left out of what CAP offers."""
    if isinstance(message, str) and " CAP " in message:
        return re.sub(r"(?<=[ :])echo-message(?:=\S*)? ?", "", message)
    return message


async def hide_echo_message(page: Page) -> None:
    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: ws.send(without_echo_message(message)))

    await page.route_web_socket(re.compile(r"/webirc$"), route)


async def say_to_nickserv(user, line: str, answer: str, count: int = 1) -> None:
    await user.say(line)
    answers = user.messages().locator(".row.notice .text").filter(has_text=re.compile(rf"^{re.escape(answer)}$"))
    await expect(answers).to_have_count(count)


@pytest.mark.parametrize("echo", [True, False], ids=["echo-message", "local-echo"])
async def test_own_passwords_to_nickserv_are_hidden_in_the_page(open_user, irc_user, echo: bool) -> None:
    user = await open_user()
    if not echo:
        await hide_echo_message(user.page)
    await user.connect("alice")
    assert await user.page.evaluate("window.hubbub.client.has('echo-message')") is echo
    bob = await irc_user("bob", "#lobby")

    await say_to_nickserv(user, "/msg NickServ REGISTER first-Secret1 alice@example.org", LOGGED_IN)
    await expect(user.page.locator("#buffer-title")).to_have_text("NickServ")
    await say_to_nickserv(user, "/msg NickServ LOGOUT", "You're now logged out")
    await say_to_nickserv(user, "/msg nickserv identify alice first-Secret1", LOGGED_IN, 2)
    await say_to_nickserv(user, "/msg NickServ SET PASSWORD second-Secret2", CHANGED)
    await say_to_nickserv(user, "/msg NickServ PASSWD second-Secret2 third-Secret3 third-Secret3", CHANGED, 2)
    await say_to_nickserv(user, "/msg NickServ GHOST nobody ghost-Secret4", "No such nick")
    await say_to_nickserv(user, "SET PASS fourth-Secret5", CHANGED, 3)  # typed in NickServ's buffer
    await say_to_nickserv(user, "/msg NickServ IDENTIFY fifth-Secret6", "You're already logged into an account")
    await say_to_nickserv(user, "/msg NickServ DROP alice 0badc0de",  # a code, not a password
                          "Warning: dropping alice deletes it for good; its nick is then free for anyone.")
    own = user.messages().locator(".row.self .text")
    await expect(own).to_have_text([
        "REGISTER ***** alice@example.org", "LOGOUT", "identify alice *****", "SET PASSWORD *****",
        "PASSWD ***** ***** *****", "GHOST nobody *****", "SET PASS *****", "IDENTIFY *****",
        "DROP alice 0badc0de",
    ])

    # Not NickServ, or not ours: shown as they are.
    bob.send("PRIVMSG alice :IDENTIFY bob-visible")
    await expect(user.page.locator("#buffer-list")).to_contain_text("bob")
    await user.say("/msg bob IDENTIFY alice-visible")
    await expect(user.page.locator("#buffer-title")).to_have_text("bob")
    await expect(user.messages().locator(".row.message .text")).to_have_text(
        ["IDENTIFY bob-visible", "IDENTIFY alice-visible"])

    kept = await user.page.evaluate("""() => JSON.stringify({
        buffers: [...window.hubbub.state.buffers.values()].map((b) => b.messages),
        storage: { ...localStorage },
        page: document.body.innerText,
    })""")
    assert "alice-visible" in kept and "REGISTER *****" in kept
    for secret in SECRETS:
        assert secret not in kept
