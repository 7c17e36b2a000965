"""Desktop notifications in Debian's Chromium against a real hubbub: turned on with
/notify (the browser's permission granted to the page's origin), one for a mention or a
private message while the page is not in front, none for channel chatter or while it
is, a click on none needed to close them: reading the conversation does."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The browser's own Notification, each one made recorded (the page's code calls the
# global by name at the time it notifies).
RECORD = """() => {
  const Real = window.Notification;
  window.__shown = [];
  window.__closed = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__shown.push({ title, body: options.body, tag: options.tag });
    }
    close() {
      window.__closed.push(this.tag);
      super.close();
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
}"""
AWAY = "() => { document.hasFocus = () => false; window.dispatchEvent(new Event('blur')); }"
BACK = "() => { document.hasFocus = () => true; window.dispatchEvent(new Event('focus')); }"


async def command(user, line: str) -> None:
    await user.page.fill("#input", line)
    await user.page.press("#input", "Enter")


async def test_a_mention_or_a_private_message_while_away_is_a_desktop_notification(
    web_server, open_user, irc_user
) -> None:  # fmt: skip
    alice = await open_user()
    page = alice.page
    await alice.context.grant_permissions(["notifications"], origin=web_server.url)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    await page.evaluate(RECORD)
    await command(alice, "/notify")
    await expect(alice.messages()).to_contain_text("Desktop notifications are off. /notify on")
    await command(alice, "/notify on")
    await expect(alice.messages()).to_contain_text("Desktop notifications are on")

    carol.send("PRIVMSG #lobby :alice: in front of you, no need")
    await expect(alice.messages()).to_contain_text("in front of you, no need")
    await page.evaluate(AWAY)
    carol.send("PRIVMSG #lobby :just chatter")
    carol.send("PRIVMSG #lobby :\x02alice\x02, lunch?")
    carol.send("PRIVMSG alice :psst, a word")
    await expect(page.locator("#buffer-list")).to_contain_text("carol")
    await expect(alice.messages()).to_contain_text("alice, lunch?")
    assert await page.evaluate("() => window.__shown") == [
        {"title": "carol in #lobby", "body": "alice, lunch?", "tag": "#lobby"},
        {"title": "carol", "body": "psst, a word", "tag": "carol"},
    ]  # fmt: skip

    await page.evaluate(BACK)  # #lobby in front again: its notification is read
    await page.wait_for_function("() => window.__closed.includes('#lobby')")
    assert "carol" not in await page.evaluate("() => window.__closed")  # not read yet
    await command(alice, "/notify off")
    await expect(alice.messages()).to_contain_text("Desktop notifications are off")
    await page.evaluate(AWAY)
    carol.send("PRIVMSG #lobby :alice, still there?")
    await expect(alice.messages()).to_contain_text("still there?")
    assert len(await page.evaluate("() => window.__shown")) == 2
