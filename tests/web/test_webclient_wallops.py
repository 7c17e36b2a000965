"""WALLOPS in the web client, in Debian's Chromium against a real hubbub with an operator
block: an operator's message to every +w user lands in the server buffer as
"Wallops from ircop: text", its IRC formatting drawn and any markup in it left as text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("playwright")

import pytest_asyncio  # noqa: E402
from playwright.async_api import expect  # noqa: E402

from hubbub.app import Runtime  # noqa: E402
from hubbub.config import load  # noqa: E402
from tests.helpers import LineClient, cheap_hash, connected  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPER_NAME = "admin"
OPER_PASSWORD = "oper-words"
SERVER_BUFFER = "hubbub"  # the server buffer is named after the network
PWN = "window.__pwned"
MARKUP = f"<b>sharp</b> <img src=x onerror={PWN}=1>"


@functools.cache
def oper_hash() -> str:
    return cheap_hash(OPER_PASSWORD)  # checked at the cost it was made at: the suite's cheap one


class OperServer:
    """A hubbub (web listener on) with the operator block `admin`, which needs a
    configuration file; raw IRC clients of it are closed at the end."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.clients: list[LineClient] = []

    async def oper(self, nick: str = "ircop") -> LineClient:
        client = await connected(self.runtime, nick)
        self.clients.append(client)
        client.send(f"OPER {OPER_NAME} {OPER_PASSWORD}")
        await client.expect("381", nick)
        return client


@pytest_asyncio.fixture(loop_scope="session")
async def oper_server(tmp_path: Path) -> AsyncIterator[OperServer]:
    """Ask for it before `open_page`: torn down after the pages are closed."""
    path = tmp_path / "hubbub.toml"
    path.write_text(f'[[opers]]\nname = "{OPER_NAME}"\npassword_hash = "{oper_hash()}"\n', encoding="utf-8")
    config = load(str(path), ["listen.irc=['127.0.0.1:0']", "listen.web='127.0.0.1:0'",
                              "limits.flood_control=false", "store.db=':memory:'"])  # fmt: skip
    runtime = Runtime(config)
    await runtime.start()
    own = OperServer(runtime)
    yield own
    for client in own.clients:
        await client.close()
    await runtime.stop()


def buffer_item(user, name: str):
    """The conversation list's entry for exactly `name`."""
    return user.page.locator("#buffer-list li").filter(
        has=user.page.locator(".name", has_text=re.compile(rf"^{re.escape(name)}$"))
    )


async def test_a_plus_w_user_sees_an_operators_wallops_in_the_server_buffer_as_text(oper_server, open_page) -> None:
    alice = await open_page(oper_server.runtime.web_url())
    await alice.connect("alice", "#lobby")
    page = alice.page
    rows = alice.messages().locator(".row.wallops")

    await alice.say("/mode alice +w")
    await alice.switch_to(SERVER_BUFFER)
    await expect(alice.messages().locator(".row.info").filter(has_text="Your user modes: +w")).to_have_count(1)
    await alice.switch_to("#lobby")

    ircop = await oper_server.oper()
    ircop.send(f"WALLOPS :\x02servers\x02 restart at \x0304noon\x03 {MARKUP}")
    # Not in the channel on screen: the server buffer counts it as unread.
    await expect(buffer_item(alice, SERVER_BUFFER).locator(".badge")).to_have_text("1")
    await expect(rows).to_have_count(0)
    await expect(alice.messages()).not_to_contain_text("Wallops")

    await alice.switch_to(SERVER_BUFFER)
    await expect(rows).to_have_count(1)
    text = rows.locator(".text")
    await expect(text).to_have_text(f"Wallops from ircop: servers restart at noon {MARKUP}")
    await expect(rows.locator(".nick")).to_have_attribute("data-nick", "ircop")
    await expect(text.locator(".b")).to_have_text("servers")  # \x02 drawn as bold
    await expect(text.locator(".fg-4")).to_have_text("noon")  # \x0304 drawn in red
    await expect(buffer_item(alice, SERVER_BUFFER).locator(".badge")).to_have_text("")

    # The markup stayed text: no element was made of it, nothing ran.
    for selector in ("#messages b", "#messages img", "#app img", "[onerror]"):
        assert await page.locator(selector).count() == 0, selector
    assert await page.evaluate(PWN) is None
    assert alice.dialogs == []


async def test_an_operator_in_the_browser_gets_wallops_after_oper_and_mode_w(oper_server, open_page) -> None:
    alice = await open_page(oper_server.runtime.web_url())
    await alice.connect("alice", "")  # no channel: the server buffer is on screen
    rows = alice.messages().locator(".row.wallops")

    await alice.say(f"/oper {OPER_NAME} {OPER_PASSWORD}")
    await expect(alice.messages()).to_contain_text("You are now an IRC operator")
    await alice.say("/mode alice +w")
    await expect(alice.messages().locator(".row.info").filter(has_text="Your user modes: +w")).to_have_count(1)

    await alice.say("/wallops rebooting the hub in 5 minutes")
    await expect(rows.locator(".text")).to_have_text(["Wallops from alice: rebooting the hub in 5 minutes"])
    bob = await oper_server.oper("bob")
    bob.send("WALLOPS :ack, draining")
    await expect(rows.locator(".text")).to_have_text(["Wallops from alice: rebooting the hub in 5 minutes",
                                                      "Wallops from bob: ack, draining"])  # fmt: skip
    await expect(rows.first).to_have_class(re.compile(r"\bself\b"))
