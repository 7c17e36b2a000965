"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, a real hubbub.

Every test and fixture here runs in the session's event loop (the browser is started
once per session and Playwright's connection belongs to one loop); test modules say
so with `pytestmark = pytest.mark.asyncio(loop_scope="session")`.

`web_server` is the only way tests reach the server side: a hubbub with its web
listener on a free port, the base URL where it serves the web client (and IRC over
WebSocket at /webirc), the `runtime` itself (for raw IRC users), and `restart()`.

The tests of coming back share their opening and their leaving: `reads_lobby` (alice
has read a line carol said in #lobby), then `away_while` (the tab closed) or
`cut_off_while` (the connection dropped) while carol says more.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from hubbub.app import Runtime
from tests.helpers import LOBBY_CREATOR_OP, LineClient, sync
from tests.web.wsclient import start_web_server

CHROMIUM = "/usr/bin/chromium"
# Every new context of a headless Chromium opens a browser window, and each window loads
# the omnibox's two popups (chrome://omnibox-popup.top-chrome/, a WebUI page apiece, in
# renderers of their own) that no test sees: about 0.6 CPU s per context, over half of
# what a page cost. Chromium keeps only the last --disable-features it is given, so the
# list Playwright passes (1.65) is repeated here before the two popups.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
]  # fmt: skip
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=" + ",".join([*PLAYWRIGHT_DISABLED_FEATURES, "WebUIOmniboxPopup", "WebUIOmniboxAimPopup"]),
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PHONE_LARGE = {"width": 412, "height": 915}

expect.set_options(timeout=10_000)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian's chromium package)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@dataclass
class WebServer:
    url: str
    runtime: Runtime
    _restart: Callable[[], Awaitable[Runtime]]

    async def restart(self) -> None:
        """Stop the hubbub server and start a new one on the same ports (the same URL)."""
        self.runtime = await self._restart()


@pytest_asyncio.fixture(loop_scope="session")
async def web_server() -> AsyncIterator[WebServer]:
    """The browser tests' server. Its #lobby, which the web client suggests and the first
    user opens, makes its creator op as any other channel (LOBBY_CREATOR_OP): these tests
    set its topic and moderate it. (The default gives it none:
    tests/e2e_channels/test_default_channel.py.)"""
    runtime = await start_web_server(LOBBY_CREATOR_OP)
    holder = {"runtime": runtime}

    async def restart() -> Runtime:
        irc_host, irc_port = holder["runtime"].irc_address()
        web_host, web_port = holder["runtime"].listeners.address("web")
        await holder["runtime"].stop()
        holder["runtime"] = await start_web_server(f"listen.irc=['{irc_host}:{irc_port}']",
                                                   f"listen.web='{web_host}:{web_port}'", LOBBY_CREATOR_OP)  # fmt: skip
        return holder["runtime"]

    server = WebServer(runtime.web_url(), runtime, restart)
    try:
        yield server
    finally:
        await holder["runtime"].stop()


@dataclass
class BrowserUser:
    """One person in one browser context (its own storage), with the console watched."""

    page: Page
    context: BrowserContext
    url: str  # where it was opened: the web client of its server
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    # Console errors a test expects (the browser's own report of a refused WebSocket
    # while the server is down, say): regexes.
    allowed_errors: list[str] = field(default_factory=list)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(re.search(p, e) for p in self.allowed_errors)]

    async def connect(self, nick: str, channels: str = "#lobby", password: str = "") -> None:
        page = self.page
        await page.fill("#connect-nick", nick)
        await page.fill("#connect-channels", channels)
        if password:
            await page.fill("#connect-password", password)
        await page.click("#connect-submit")
        first = channels.split()[0] if channels else None
        if first:
            await expect(page.locator("#buffer-title")).to_have_text(first)
            await expect(page.locator("#member-list")).to_contain_text(nick)
        else:
            await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")

    async def say(self, text: str) -> None:
        await self.page.fill("#input", text)
        await self.page.press("#input", "Enter")

    def messages(self):
        return self.page.locator("#messages")

    async def switch_to(self, name: str) -> None:
        await self.page.locator("#buffer-list .buffer", has_text=re.compile(rf"^{re.escape(name)}")).first.click()
        await expect(self.page.locator("#buffer-title")).to_have_text(name)

    async def reconnect_only_when_told(self) -> None:
        """Make the page's backoff endless: once cut off, it comes back only by its
        "Reconnect now" button or `reconnectNow()`, never by its timer winning a race."""
        await self.page.evaluate("() => { window.hubbub.client.random = () => 1e6; }")


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[BrowserUser]]]:
    """Open the client at a URL in a fresh context; at the end, no console errors allowed.

    `touch=True` is a phone's browser: a touch screen (the pointer is coarse, nothing
    hovers) and the page's viewport meta tag obeyed, as Chromium emulates a mobile device.
    """
    users: list[BrowserUser] = []

    async def open_(url: str, viewport: dict[str, int] | None = None, color_scheme: str = "light",
                    touch: bool = False) -> BrowserUser:  # fmt: skip
        context = await browser.new_context(viewport=viewport or DESKTOP, color_scheme=color_scheme,
                                            has_touch=touch, is_mobile=touch)  # fmt: skip
        page = await context.new_page()
        user = BrowserUser(page, context, url)
        page.on("console", lambda m: m.type == "error" and user.errors.append(m.text))
        page.on("pageerror", lambda e: user.errors.append(f"pageerror: {e}"))

        async def on_dialog(dialog) -> None:  # an XSS payload's alert() would land here
            user.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        await page.goto(url)
        users.append(user)
        return user

    yield open_
    problems = {}
    for user in users:
        if user.unexpected_errors() or user.dialogs:
            problems[id(user)] = (user.unexpected_errors(), user.dialogs)
        await user.context.close()
    assert not problems, f"console errors or dialogs: {list(problems.values())}"


@pytest_asyncio.fixture(loop_scope="session")
async def open_user(web_server: WebServer, open_page) -> Callable[..., Awaitable[BrowserUser]]:
    """Open the client served by `web_server` (desktop size unless told).

    `web_server` comes first so that it is torn down last: the pages are closed (and
    their console checked) while the server still answers. The other way round, a
    request a page makes as the test ends (a reload's favicon, say) was refused.
    """

    async def open_(viewport: dict[str, int] | None = None, color_scheme: str = "light",
                    touch: bool = False) -> BrowserUser:  # fmt: skip
        return await open_page(web_server.url, viewport, color_scheme, touch)

    return open_


@pytest_asyncio.fixture(loop_scope="session")
async def irc_user(web_server: WebServer) -> AsyncIterator[Callable[..., Awaitable[LineClient]]]:
    """Raw-socket IRC users (tests.helpers.LineClient), registered and in `channels`."""
    opened: list[LineClient] = []

    async def connect(nick: str, *channels: str, realname: str = "Real Name") -> LineClient:
        client = await LineClient.connect(web_server.runtime)
        opened.append(client)
        client.send(f"NICK {nick}")
        client.send(f"USER u 0 * :{realname}")
        await client.expect("001")
        await client.expect(lambda m: m.command in ("376", "422"))
        client.nick = nick
        for channel in channels:
            await client.join(channel)
        return client

    yield connect
    for client in opened:
        await client.close()


# -- coming back: what the tests of a return share ------------------------------------------

# Whether the channels named are joined again with their history fetched.
caught_up = """(names) => names.every((name) => {
  const b = window.hubbub && window.hubbub.state.buffer(name);
  return b && b.joined && !b.historyPending;
})"""


async def reads_lobby(
    open_user: Callable[[], Awaitable[BrowserUser]],
    irc_user: Callable[..., Awaitable[LineClient]],
    channels: str = "#lobby",
) -> tuple[BrowserUser, LineClient]:
    """carol (a raw IRC user) and alice (a page) in `channels`, #lobby first, and alice
    has read a line carol said in #lobby ("read while here": looked at, seen), the point
    she read to when she leaves. `open_user()` and `irc_user(nick, *channels)` are the
    fixtures, or their like for a server of the test's own."""
    carol = await irc_user("carol", *channels.split())
    alice = await open_user()
    await alice.connect("alice", channels)
    carol.send("PRIVMSG #lobby :read while here")
    await expect(alice.messages()).to_contain_text("read while here")
    return alice, carol


async def away_while(alice: BrowserUser, carol: LineClient, *lines: str) -> None:
    """alice closes the tab; once carol has seen her go, carol sends `lines` (well after
    the line read: alice's QUIT came between); alice opens it again and the session
    resumes."""
    await alice.page.goto("about:blank")
    await _saying(carol, lines)
    await alice.page.goto(alice.url)


async def cut_off_while(alice: BrowserUser, carol: LineClient, *lines: str) -> None:
    """alice's connection drops while carol sends `lines` (once she has seen her go), and
    comes back: the page keeps what it had. Meanwhile its backoff is made endless, so
    it comes back only when told."""
    page = alice.page
    await alice.reconnect_only_when_told()
    await page.evaluate("() => window.hubbub.client.ws.close()")
    await _saying(carol, lines)
    await page.wait_for_function("() => window.hubbub.client.status === 'waiting'")  # the page knows it is cut off
    await page.evaluate("() => window.hubbub.client.reconnectNow()")


async def _saying(carol: LineClient, lines: tuple[str, ...]) -> None:
    await carol.expect("QUIT")
    for line in lines:
        carol.send(line)
    await sync(carol)
