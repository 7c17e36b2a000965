"""One person, one account, several devices and tabs, in Debian's Chromium against hubbub.

The account the page logs in to (SASL) is the one the session was logged in to, not
one named like the nick it has by then: after `/register` and a `/nick`, a reload (the
password given again) and a reconnection log in to the account; a phone with a nick of
its own (`alice_phone`, as docs/accounts.md suggests) names its account on the connect
screen; an account an `IDENTIFY` named is the one the connect screen offers after a
reload. A failed login to an account named otherwise than the nick does not invite to
create a second one.

Two tabs of one browser are two sessions: a reload of one rejoins its own channels and
lands where it was, not where the other tab was last; a new tab starts from what the
browser last remembered.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

from tests.e2e_accounts.support import registered_account  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOT_REMEMBERED = "Your password is not remembered in this browser: enter it to reconnect."


async def registered(page: Page) -> None:
    await expect(page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


async def logged_in_as(page: Page, account: str) -> None:
    await page.wait_for_function("(account) => window.hubbub.client.account === account", arg=account)


async def as_phone(page: Page) -> None:
    """Connect from the connect screen as `alice_phone`, naming the account `alice`."""
    await page.fill("#connect-nick", "alice_phone")
    await page.fill("#connect-account", "alice")
    await page.fill("#connect-password", "alice-words")
    await page.fill("#connect-channels", "#lobby")
    await page.click("#connect-submit")
    await registered(page)
    await logged_in_as(page, "alice")


def buffer_item(page: Page, name: str):
    """The conversation list's entry for exactly `name`."""
    exactly = re.compile(rf"^{re.escape(name)}$")
    return page.locator("#buffer-list li").filter(has=page.locator(".name", has_text=exactly))


async def account_of(web_server, name: str, password: str) -> None:
    """The account `name`, its registering client gone."""
    owner = await registered_account(web_server.runtime, name, password)
    owner.send("QUIT")
    await owner.closed()


async def whois_account(irc_user, nick: str) -> str | None:
    """The account WHOIS says `nick` is logged in to (None: none)."""
    asker = await irc_user(f"w{nick[:8]}")
    asker.send(f"WHOIS {nick}")
    reply = await asker.expect(lambda m: m.command in ("330", "318"))
    return reply.params[2] if reply.command == "330" else None


# -- the account across a /nick ------------------------------------------------------------------


async def test_after_register_and_a_nick_change_a_reload_logs_in_to_the_account(open_user, irc_user) -> None:
    bob = await open_user()
    page = bob.page
    await bob.connect("bob", "#lobby")
    await bob.say("/register bob-words-9")
    await expect(bob.messages()).to_contain_text("Account successfully registered")
    await logged_in_as(page, "bob")
    await bob.say("/nick bobby")
    await expect(page.locator("#nick-label")).to_have_text("bobby")

    await page.reload()  # the password not remembered: asked for, the account offered
    await expect(page.locator("#connect-reason")).to_have_text(NOT_REMEMBERED)
    await expect(page.locator("#connect-nick")).to_have_value("bobby")
    await expect(page.locator("#connect-account")).to_have_value("bob")
    await expect(page.locator("#connect-password")).to_be_focused()
    await page.keyboard.type("bob-words-9")
    await page.keyboard.press("Enter")
    await registered(page)
    await logged_in_as(page, "bob")
    await expect(page.locator("#nick-label")).to_have_text("bobby")
    await expect(bob.messages().locator(".row.error")).to_have_count(0)  # no "Login failed"
    assert await whois_account(irc_user, "bobby") == "bob"


async def test_after_register_and_a_nick_change_a_reconnection_logs_in_to_the_account(open_user) -> None:
    bob = await open_user()
    page = bob.page
    await bob.connect("bob", "#lobby")
    await bob.say("/register bob-words-9")
    await logged_in_as(page, "bob")
    await bob.say("/nick bobby")
    await expect(page.locator("#nick-label")).to_have_text("bobby")
    await page.evaluate("() => { window.lostSocket = window.hubbub.client.ws; window.lostSocket.close(); }")
    await page.wait_for_function(
        "() => { const c = window.hubbub.client; return c.ws && c.ws !== window.lostSocket && c.registered; }"
    )  # fmt: skip
    await logged_in_as(page, "bob")  # the new connection logged in (its account was reset on connecting)
    await expect(bob.messages().locator(".row.error")).to_have_count(0)


# -- an account named otherwise than the nick --------------------------------------------------------


async def test_a_phone_with_a_nick_of_its_own_logs_in_to_the_account_named_on_the_connect_screen(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    await account_of(web_server, "alice", "alice-words")
    phone = await open_user(touch=True, viewport={"width": 360, "height": 740})
    page = phone.page
    await expect(page.locator("#connect-account")).to_have_value("")  # blank: the account named like the nick
    await as_phone(page)
    await expect(phone.messages().locator(".row.error")).to_have_count(0)
    assert await whois_account(irc_user, "alice_phone") == "alice"

    await page.reload()  # the password not remembered: asked for again, the account kept
    await expect(page.locator("#connect-nick")).to_have_value("alice_phone")
    await expect(page.locator("#connect-account")).to_have_value("alice")
    await expect(page.locator("#connect-password")).to_be_focused()
    await page.keyboard.type("alice-words")
    await page.keyboard.press("Enter")
    await registered(page)
    await logged_in_as(page, "alice")


async def test_a_failed_login_to_an_account_named_otherwise_does_not_invite_to_create_one(
    web_server, open_user
) -> None:  # fmt: skip
    await account_of(web_server, "alice", "alice-words")
    phone = await open_user()
    page = phone.page
    await page.fill("#connect-nick", "alice_phone")
    await page.fill("#connect-account", "alice")
    await page.fill("#connect-password", "not-her-password")
    await page.click("#connect-submit")
    failed = phone.messages().locator(".row.error", has_text="Login to the account alice failed")
    await expect(failed).to_have_count(1)
    await expect(failed).to_contain_text("check the account's name and its password")
    await expect(phone.messages()).not_to_contain_text("/register")


async def test_the_account_an_identify_named_is_the_one_a_reload_logs_in_to(web_server, open_user, irc_user) -> None:
    await account_of(web_server, "bob", "bob-words-9")
    bob = await open_user()
    page = bob.page
    await bob.connect("bobby", "#lobby")
    await bob.say("/msg NickServ IDENTIFY bob bob-words-9")
    await logged_in_as(page, "bob")
    await page.reload()
    await expect(page.locator("#connect-reason")).to_have_text(NOT_REMEMBERED)
    await expect(page.locator("#connect-account")).to_have_value("bob")
    await page.fill("#connect-password", "bob-words-9")
    await page.click("#connect-submit")  # the form does not forget the account
    await registered(page)
    await logged_in_as(page, "bob")
    assert await whois_account(irc_user, "bobby") == "bob"


# -- two tabs of one browser ---------------------------------------------------------------------


async def test_a_reload_of_one_of_two_tabs_rejoins_its_own_channels(open_user) -> None:
    alice = await open_user()
    first = alice.page
    await alice.connect("alice", "#lobby")
    second = await alice.context.new_page()
    second.on("console", lambda m: m.type == "error" and alice.errors.append(m.text))
    await second.goto(alice.url)  # a new tab: the session the browser remembers, under a nick of its own
    await registered(second)
    await expect(second.locator("#nick-label")).to_have_text("alice_")
    await expect(second.locator("#buffer-title")).to_have_text("#lobby")

    await alice.say("/join #garden")
    await expect(first.locator("#buffer-title")).to_have_text("#garden")
    await second.fill("#input", "/join #kitchen")
    await second.press("#input", "Enter")
    await expect(second.locator("#buffer-title")).to_have_text("#kitchen")
    await second.wait_for_function(
        "() => JSON.parse(localStorage.getItem('hubbub.settings')).active === '#kitchen'"
    )  # fmt: skip  # the browser's last word is the second tab's

    await first.reload()
    await registered(first)
    await expect(first.locator("#buffer-title")).to_have_text("#garden")
    await expect(first.locator("#member-list")).to_contain_text("alice")  # joined again
    await first.wait_for_function("() => window.hubbub.state.buffer('#lobby')?.joined")
    await expect(buffer_item(first, "#kitchen")).to_have_count(0)

    await second.reload()
    await registered(second)
    await expect(second.locator("#buffer-title")).to_have_text("#kitchen")
    await second.wait_for_function("() => window.hubbub.state.buffer('#lobby')?.joined")
    await expect(buffer_item(second, "#garden")).to_have_count(0)

    # A new tab starts from what the browser remembered last (the second tab's session).
    # (each channel is written as it is joined again: wait for the second tab's last join)
    await second.wait_for_function(
        "() => JSON.parse(localStorage.getItem('hubbub.settings')).channels.slice().sort().join() === '#kitchen,#lobby'"
    )  # fmt: skip
    third = await alice.context.new_page()
    third.on("console", lambda m: m.type == "error" and alice.errors.append(m.text))
    await third.goto(alice.url)
    await registered(third)
    await expect(third.locator("#buffer-title")).to_have_text("#kitchen")
    await third.wait_for_function("() => window.hubbub.state.buffer('#lobby')?.joined")
    await expect(buffer_item(third, "#garden")).to_have_count(0)


async def test_a_phone_shows_what_was_said_privately_to_the_laptop_and_the_laptop_what_the_phone_said(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    """The laptop is an IRC client holding `alice`; the phone a page as `alice_phone` on
    the same account. bob writes to `alice`: the phone shows it, in bob's conversation;
    the laptop answers: the phone shows the answer there as its own line."""
    laptop = await registered_account(web_server.runtime, "alice", "alice-words")
    bob = await registered_account(web_server.runtime, "bob", "bob-words")
    phone = await open_user()
    page = phone.page
    await as_phone(page)
    bob.send("PRIVMSG alice :lunch at noon?")
    await laptop.expect("PRIVMSG", "alice", "lunch at noon?")
    await expect(buffer_item(page, "bob")).to_be_visible()
    laptop.send("PRIVMSG bob :yes, see you there")
    await bob.expect("PRIVMSG", "bob", "yes, see you there")
    await phone.switch_to("bob")
    rows = phone.messages().locator(".row")
    await expect(rows.filter(has_text="lunch at noon?")).to_have_count(1)
    mine = rows.filter(has_text="yes, see you there")
    await expect(mine).to_have_count(1)
    await expect(mine).to_have_class(re.compile(r"\bself\b"))  # the phone's own line, not a stranger's
    await expect(page.locator("#buffer-list")).not_to_contain_text("alice")  # no conversation with itself
