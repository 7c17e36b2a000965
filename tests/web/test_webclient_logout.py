"""A logout sticks, in Debian's Chromium against hubbub.

Logged in to an account at connection (SASL), the person types `/msg NickServ LOGOUT`:
the browser forgets the login. The connection's own reconnection (the network dropped)
and a reload come back as a guest under the same nick, without logging in again with
the password the page had; a reload whose password was not remembered resumes too,
rather than ask for a password the person no longer logs in with. An `IDENTIFY` later
logs in again, and a reload then logs in by itself, as before the logout. The other
tabs of the browser logged in to that account log out of it too.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

from tests.e2e_accounts.support import registered_account  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

SETTINGS = "() => JSON.parse(localStorage.getItem('hubbub.settings'))"


async def account_of(web_server, name: str, password: str) -> None:
    """The account `name`, its registering client gone."""
    owner = await registered_account(web_server.runtime, name, password)
    owner.send("QUIT")
    await owner.closed()


async def connect_logged_in(page: Page, nick: str, password: str, remember: bool) -> None:
    await page.fill("#connect-nick", nick)
    await page.fill("#connect-password", password)
    await page.fill("#connect-channels", "#lobby")
    await page.set_checked("#connect-remember", remember)
    await page.click("#connect-submit")
    await registered_as(page, nick)


async def registered_as(page: Page, account: str | None) -> None:
    """Registered (on this page's current connection), logged in to `account` (None: a guest).
    A login at connection (SASL) comes before the welcome."""
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    assert await page.evaluate("() => window.hubbub.client.account") == account


async def log_out(page: Page) -> None:
    await page.fill("#input", "/msg NickServ LOGOUT")
    await page.press("#input", "Enter")
    await page.wait_for_function("() => window.hubbub.client.account === null")


async def whois_account(asker, nick: str) -> str | None:
    """The account WHOIS says `nick` is logged in to (None: none), as `asker` hears it."""
    asker.send(f"WHOIS {nick}")
    reply = await asker.expect(lambda m: m.command in ("330", "318"))
    return reply.params[2] if reply.command == "330" else None


async def test_after_a_logout_neither_a_reconnection_nor_a_reload_logs_in_again(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    await account_of(web_server, "dave", "dave-words")
    asker = await irc_user("asker")
    dave = await open_user()
    page = dave.page
    await connect_logged_in(page, "dave", "dave-words", remember=True)
    await log_out(page)
    settings = await page.evaluate(SETTINGS)
    assert "password" not in settings and not settings.get("usesPassword") and "account" not in settings
    assert settings["nick"] == "dave" and settings["remember"] is True

    # the network drops: the connection comes back as a guest
    await page.evaluate("() => { window.lostSocket = window.hubbub.client.ws; window.lostSocket.close(); }")
    await page.wait_for_function(
        "() => { const c = window.hubbub.client; return c.ws && c.ws !== window.lostSocket && c.registered; }"
    )  # fmt: skip
    await registered_as(page, None)
    assert await whois_account(asker, await page.evaluate("() => window.hubbub.client.nick")) is None

    await page.reload()  # the session resumes, as a guest
    await expect(page.locator("#app")).to_be_visible()
    await registered_as(page, None)
    await expect(page.locator("#nick-label")).to_have_text("dave")
    assert await whois_account(asker, "dave") is None

    # logging in again by hand: remembered again, and a reload logs in by itself
    await page.fill("#input", "/msg NickServ IDENTIFY dave-words")
    await page.press("#input", "Enter")
    await page.wait_for_function("() => window.hubbub.client.account === 'dave'")
    assert (await page.evaluate(SETTINGS))["password"] == "dave-words"
    await page.reload()
    await registered_as(page, "dave")


async def test_after_a_logout_a_reload_without_the_password_remembered_resumes_as_a_guest(
    web_server, open_user
) -> None:  # fmt: skip
    await account_of(web_server, "erin", "erin-words")
    erin = await open_user()
    page = erin.page
    await connect_logged_in(page, "erin", "erin-words", remember=False)
    await log_out(page)
    await page.reload()  # nothing to ask for: the session resumes
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#connect")).to_be_hidden()
    await registered_as(page, None)
    await page.wait_for_function("() => window.hubbub.state.buffer('#lobby')?.joined")


async def test_a_logout_in_one_tab_logs_the_other_tabs_out_of_that_account(web_server, open_user, irc_user) -> None:
    await account_of(web_server, "fay", "fay-words")
    asker = await irc_user("asker")
    fay = await open_user()
    first = fay.page
    await connect_logged_in(first, "fay", "fay-words", remember=True)
    second = await fay.context.new_page()  # a second tab: it resumes, logged in as well
    second.on("console", lambda m: m.type == "error" and fay.errors.append(m.text))
    await second.goto(fay.url)
    await expect(second.locator("#connection-dot")).to_have_attribute("data-status", "registered")
    await second.wait_for_function("() => window.hubbub.client.account === 'fay'")
    other_nick = await second.evaluate("() => window.hubbub.client.nick")
    assert other_nick != "fay"
    assert await whois_account(asker, other_nick) == "fay"

    await log_out(first)
    # the other tab hears of it and logs out of the account too, and says why
    await second.wait_for_function("() => window.hubbub.client.account === null")
    assert await whois_account(asker, other_nick) is None
    await expect(second.locator("#messages")).to_contain_text("Logged out of fay in another tab of this browser")
    await second.reload()  # and stays so
    await registered_as(second, None)
    await second.close()
