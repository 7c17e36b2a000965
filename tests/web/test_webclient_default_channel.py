"""A first visit's connect screen suggests the server's own default channel
(`server.default_channel`, served as /client.json), not a `#lobby` the community may not
use; what the browser remembers, and an invite link, still come first. In Debian's
Chromium against hubbub servers of the test's own."""

from __future__ import annotations

import json

import aiohttp
import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.web.test_browser_daily import servers  # noqa: E402, F401

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_client_json_says_the_default_channel(servers) -> None:  # noqa: F811
    runtime = await servers.start("server.default_channel='#community'", "server.network='Garden'")
    async with aiohttp.ClientSession() as session, session.get(runtime.web_url("/client.json")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert "Content-Security-Policy" in response.headers
        assert json.loads(await response.text()) == {"channel": "#community", "network": "Garden", "password": False}


async def test_a_first_visit_is_offered_the_servers_channel_and_lands_there(servers, open_page) -> None:  # noqa: F811
    runtime = await servers.start("server.default_channel='#community'")
    user = await open_page(runtime.web_url())
    page = user.page
    await expect(page.locator("#connect-channels")).to_have_value("#community")
    await page.fill("#connect-nick", "newcomer")
    await page.click("#connect-submit")
    await expect(page.locator("#buffer-title")).to_have_text("#community")

    await page.evaluate("() => localStorage.clear()")  # an invite link wins over the suggestion
    other = await open_page(runtime.web_url("/#garden"))
    await expect(other.page.locator("#connect-channels")).to_have_value("#garden")


async def test_a_remembered_channel_list_is_kept(servers, open_page) -> None:  # noqa: F811
    runtime = await servers.start("server.default_channel='#community'")
    user = await open_page(runtime.web_url())
    page = user.page
    await page.fill("#connect-nick", "regular")
    await page.fill("#connect-channels", "#dev")
    await page.click("#connect-submit")
    await expect(page.locator("#buffer-title")).to_have_text("#dev")
    await page.locator("#input").fill("/quit")  # back to the connect screen, which remembers
    async with page.expect_event("load"):  # the reload, not the field as typed before it
        await page.locator("#input").press("Enter")
    await expect(page.locator("#connect")).to_be_visible()
    await expect(page.locator("#connect-channels")).to_have_value("#dev")


async def test_a_server_with_a_password_asks_for_it_and_a_wrong_one_is_said_once(servers, open_page) -> None:  # noqa: F811
    """`server.password`: the connect screen shows its field (client.json says so); the
    right one gets in, sent as PASS beside the account's own password; a wrong one
    brings the screen back saying so at that field, with no reconnection behind it
    (each would be refused again, and count against the address)."""
    runtime = await servers.start("server.password='letmein'")
    async with aiohttp.ClientSession() as session, session.get(runtime.web_url("/client.json")) as response:
        assert json.loads(await response.text())["password"] is True
    user = await open_page(runtime.web_url())
    page = user.page
    await expect(page.locator("#connect-server-password")).to_be_visible()
    await page.fill("#connect-nick", "guesser")
    await page.fill("#connect-server-password", "wrong")
    async with page.expect_event("load"):
        await page.click("#connect-submit")
    await expect(page.locator("#connect")).to_be_visible()
    await expect(page.locator("#connect-error")).to_contain_text("The server refused its password")
    await expect(page.locator("#connect-server-password")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#connect-server-password")).to_be_focused()
    counted = runtime.services.state.login_failures
    now = runtime.services.clock()
    assert counted.blocked("pass:127.0.0.1", now, 1) is not None  # the wrong guess counted...
    assert counted.blocked("pass:127.0.0.1", now, 2) is None  # ...once

    await page.fill("#connect-server-password", "letmein")
    await page.click("#connect-submit")
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
    assert runtime.services.state.find_user("guesser") is not None


async def test_a_server_password_not_remembered_is_asked_for_at_its_field(servers, open_page) -> None:  # noqa: F811
    runtime = await servers.start("server.password='letmein'")
    user = await open_page(runtime.web_url())
    page = user.page
    settings = {"nick": "regular", "channels": ["#lobby"], "autoconnect": True, "usesServerPassword": True,
                "remember": False}  # fmt: skip
    await page.evaluate("(s) => localStorage.setItem('hubbub.settings', JSON.stringify(s))", settings)
    await page.reload()
    await expect(page.locator("#connect-reason")).to_contain_text("not remembered")
    await expect(page.locator("#connect-server-password")).to_be_focused()
    await page.fill("#connect-server-password", "letmein")
    await page.click("#connect-submit")
    await expect(page.locator("#buffer-title")).to_have_text("#lobby")
