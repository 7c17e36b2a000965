"""Who a reaction is, a reply given back, and reactions in search results: the web client
in Debian's Chromium against hubbub, with carol a raw IRC client that speaks message-tags.

A reaction is its reactor's account where hubbub says it (account-tag), else their nick,
followed through the nick changes seen: carol and alice change nick and their chips
follow them (alice takes hers back under her new nick), carol leaves and comes back
logged in under another nick and takes hers back; after a reload, history shows the
same. A reaction given before logging in (or registering) is the account's the person
logs in to: carol gives hers again once registered and still counts once, then takes it
back; alice, whose chip stays pressed when she registers, takes hers back with it. A
reply the server refuses, or one cut off by the connection, comes back in the box still
a reply, and Enter sends it as one. A search result shows the reactions the page knows
of to its message.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import LineClient  # noqa: E402
from tests.web.fixtures import BrowserUser, WebServer  # noqa: E402
from tests.web.test_webclient_reactions import carol_says, chip, from_alice, row, tagged_carol  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def react_with(alice: BrowserUser, text: str, emoji: str) -> None:
    """alice reacts to the message `text` with the mouse: React, then the emoji."""
    said = row(alice, text)
    await said.hover()
    await said.get_by_role("button", name="React", exact=True).click()
    await said.get_by_role("button", name=f"React with {emoji}").click()


async def test_a_chip_follows_its_reactors_nick_changes_and_history_agrees(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    party = await carol_says(carol, "the party is on")
    carol.send(f"@+draft/reply={party};+draft/react=👍 TAGMSG #lobby")
    await react_with(alice, "the party is on", "👍")
    thumbs = chip(alice, "the party is on", "👍")
    await expect(thumbs).to_have_attribute("title", "carol, alice")

    carol.send("NICK carol2")
    await expect(thumbs).to_have_attribute("title", "carol2, alice")
    await alice.say("/nick alice2")
    await expect(page.locator("#nick-label")).to_have_text("alice2")
    await expect(thumbs).to_have_attribute("title", "carol2, alice2")
    await expect(thumbs).to_have_attribute("aria-pressed", "true")  # still hers

    # alice takes back, under her new nick, what she gave under the old one
    await thumbs.click()
    taken = await carol.expect(lambda m: m.command == "TAGMSG" and (m.source or "").startswith("alice2!"))
    assert taken.tags.get("+draft/unreact") == "👍", taken.tags
    await expect(thumbs).to_have_attribute("title", "carol2")
    await expect(thumbs).to_have_attribute("aria-pressed", "false")
    # carol's again under hers: still one person
    carol.send(f"@+draft/reply={party};+draft/react=👍 TAGMSG #lobby")
    carol.send("PRIVMSG #lobby :after the reactions")
    await expect(row(alice, "after the reactions")).to_be_visible()
    await expect(thumbs).to_have_text(re.compile(r"👍\s*1"))

    # after a reload, history (the reactions and the nick changes) says the same
    await page.reload()
    await expect(row(alice, "after the reactions")).to_be_visible()
    await expect(thumbs).to_have_attribute("title", "carol2")
    await expect(thumbs).to_have_text(re.compile(r"👍\s*1"))


async def logged_in_carol(web_server: WebServer, nick: str, register: bool) -> LineClient:
    """carol in #lobby under `nick`, logged in to the account carol (created if `register`)."""
    carol = await LineClient.connect(web_server.runtime)
    carol.send("CAP REQ :message-tags echo-message server-time")
    carol.send(f"NICK {nick}")
    carol.send("USER u 0 * :Carol")
    await carol.expect("CAP")
    carol.send("CAP END")
    await carol.expect("001")
    carol.nick = nick
    carol.send("PRIVMSG NickServ :REGISTER carol-words" if register else "PRIVMSG NickServ :IDENTIFY carol carol-words")
    await carol.expect("900")
    await carol.join("#lobby")
    return carol


async def test_a_reaction_is_its_accounts_under_any_nick(web_server, open_user) -> None:
    carol = await logged_in_carol(web_server, "carol", register=True)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    cake = await carol_says(carol, "I baked a cake")
    carol.send(f"@+draft/reply={cake};+draft/react=❤️ TAGMSG #lobby")
    heart = chip(alice, "I baked a cake", "❤️")
    await expect(heart).to_have_attribute("title", "carol")

    # carol leaves and comes back as someone else, logged in to her account: no NICK seen
    carol.send("QUIT")
    await carol.closed()
    baker = await logged_in_carol(web_server, "baker", register=False)
    baker.send(f"@+draft/reply={cake};+draft/react=❤️ TAGMSG #lobby")
    await expect(heart).to_have_attribute("title", "baker")
    await expect(heart).to_have_text(re.compile(r"❤️\s*1"))
    baker.send(f"@+draft/reply={cake};+draft/unreact=❤️ TAGMSG #lobby")
    baker.send("PRIVMSG #lobby :taken back")
    await expect(row(alice, "taken back")).to_be_visible()
    await expect(heart).to_have_count(0)

    await page.reload()
    await expect(row(alice, "taken back")).to_be_visible()
    await expect(row(alice, "I baked a cake").locator(".reaction")).to_have_count(0)


async def test_a_reaction_given_before_registering_counts_once_and_is_taken_back_after(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    plan = await carol_says(carol, "the plan is ready")
    carol.send(f"@+draft/reply={plan};+draft/react=👍 TAGMSG #lobby")
    thumbs = chip(alice, "the plan is ready", "👍")
    await expect(thumbs).to_have_attribute("title", "carol")

    # carol registers her nick (logged in from then on) and gives the same again: one person
    carol.send("PRIVMSG NickServ :REGISTER carol-words")
    await carol.expect("900")
    carol.send(f"@+draft/reply={plan};+draft/react=👍 TAGMSG #lobby")
    carol.send("PRIVMSG #lobby :registered now")
    await expect(row(alice, "registered now")).to_be_visible()
    await expect(thumbs).to_have_attribute("title", "carol")
    await expect(thumbs).to_have_text(re.compile(r"👍\s*1"))
    # and takes it back logged in: gone, the reaction she gave as a guest with it
    carol.send(f"@+draft/reply={plan};+draft/unreact=👍 TAGMSG #lobby")
    carol.send("PRIVMSG #lobby :taken back")
    await expect(row(alice, "taken back")).to_be_visible()
    await expect(thumbs).to_have_count(0)

    await page.reload()
    await expect(row(alice, "taken back")).to_be_visible()
    await expect(row(alice, "the plan is ready").locator(".reaction")).to_have_count(0)


async def test_our_reaction_given_before_registering_is_ours_after(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    await carol_says(carol, "the plan is ready")
    await react_with(alice, "the plan is ready", "👍")
    thumbs = chip(alice, "the plan is ready", "👍")
    await expect(thumbs).to_have_attribute("aria-pressed", "true")

    await alice.say("/msg NickServ REGISTER alice-words")
    notices = alice.messages().locator(".row.notice .text")
    await expect(notices.filter(has_text="You're now logged in as alice")).to_have_count(1)
    await alice.switch_to("#lobby")
    await expect(thumbs).to_have_attribute("aria-pressed", "true")  # still hers
    await thumbs.click()
    taken = await carol.expect(lambda m: m.command == "TAGMSG" and "+draft/unreact" in m.tags)
    assert (taken.source or "").startswith("alice!"), taken
    await expect(thumbs).to_have_count(0)

    carol.send("PRIVMSG #lobby :after alice took it back")
    await expect(row(alice, "after alice took it back")).to_be_visible()
    await page.reload()
    await expect(row(alice, "after alice took it back")).to_be_visible()
    await expect(row(alice, "the plan is ready").locator(".reaction")).to_have_count(0)


async def test_a_reply_refused_comes_back_in_the_box_as_a_reply(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)  # the first in #lobby: its operator
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    lunch = await carol_says(carol, "lunch at noon?")
    carol.send("MODE #lobby +m")
    await expect(alice.messages().locator(".row.mode").last).to_contain_text("+m")

    await row(alice, "lunch at noon?").hover()
    await row(alice, "lunch at noon?").get_by_role("button", name="Reply", exact=True).click()
    await alice.say("yes, at the usual place")
    refused = alice.messages().locator(".row.error").last
    await expect(refused).to_contain_text("It is back in the message box")
    await expect(page.locator("#input")).to_have_value("yes, at the usual place")
    await expect(page.locator("#replying")).to_be_visible()
    await expect(page.locator("#replying")).to_have_text(re.compile(r"Replying to carol: lunch at noon\?"))

    carol.send("MODE #lobby -m")
    await expect(alice.messages().locator(".row.mode").last).to_contain_text("-m")
    await page.press("#input", "Enter")
    answer = await carol.expect(from_alice("PRIVMSG"))
    assert answer.params[-1] == "yes, at the usual place"
    assert answer.tags.get("+draft/reply") == lunch, answer.tags
    await expect(page.locator("#replying")).to_be_hidden()
    quote = row(alice, "yes, at the usual place").locator(".quote")
    await expect(quote).to_have_text(re.compile(r"carol\s+lunch at noon\?"))


async def test_a_reply_cut_off_by_the_connection_comes_back_as_a_reply(web_server, open_user) -> None:
    carol = await LineClient.connect(web_server.runtime)
    carol.send("CAP REQ :message-tags echo-message server-time batch draft/multiline")
    carol.send("NICK carol")
    carol.send("USER u 0 * :Carol")
    await carol.expect("CAP")
    carol.send("CAP END")
    await carol.expect("001")
    carol.nick = "carol"
    await carol.join("#lobby")
    alice = await open_user()
    alice.allowed_errors.append(r"WebSocket")  # the socket closed under it
    await alice.connect("alice", "#lobby")
    page = alice.page
    lunch = await carol_says(carol, "lunch at noon?")
    await row(alice, "lunch at noon?").hover()
    await row(alice, "lunch at noon?").get_by_role("button", name="Reply", exact=True).click()
    await page.fill("#input", "yes\nat the usual place")
    # Enter as the connection drops: the two lines (one message) go into a closing socket.
    # Its backoff is made endless: it comes back when told.
    await page.evaluate("""() => {
        const c = window.hubbub.client;
        c.random = () => 1e6;
        c.ws.close();
        const enter = new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true });
        document.getElementById("input").dispatchEvent(enter);
    }""")
    lost = alice.messages().locator(".row.error").last
    await expect(lost).to_contain_text("They are back in the message box")
    await expect(page.locator("#input")).to_have_value("yes\nat the usual place")
    await expect(page.locator("#replying")).to_have_text(re.compile(r"Replying to carol: lunch at noon\?"))

    await page.wait_for_function("() => window.hubbub.client.status === 'waiting'")
    await page.evaluate("() => window.hubbub.client.reconnectNow()")
    await carol.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("alice!"))
    await page.press("#input", "Enter")
    opened = await carol.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"))
    assert opened.tags.get("+draft/reply") == lunch, opened.tags
    await expect(page.locator("#replying")).to_be_hidden()


async def test_a_search_result_shows_the_reactions_known_to_its_message(web_server, open_user) -> None:
    carol = await tagged_carol(web_server)
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    word = await carol_says(carol, "the word is xylophone")
    await carol_says(carol, "no reactions to xylophone here")
    carol.send(f"@+draft/reply={word};+draft/react=👍 TAGMSG #lobby")
    await react_with(alice, "the word is xylophone", "🎉")
    await expect(chip(alice, "the word is xylophone", "🎉")).to_have_text(re.compile(r"🎉\s*1"))
    await expect(chip(alice, "the word is xylophone", "👍")).to_have_text(re.compile(r"👍\s*1"))

    await page.fill("#search-input", "xylophone")
    await page.press("#search-input", "Enter")
    found = page.locator("#search-results .result", has_text="the word is xylophone")
    await expect(found.locator(".reaction")).to_have_count(2)
    await expect(found.locator(".reaction").first).to_have_attribute("title", "carol")
    await expect(found.locator(".reaction").first).to_have_text(re.compile(r"👍\s*1"))
    await expect(found.locator(".reaction").nth(1)).to_have_attribute("title", "alice")
    await expect(found).to_have_accessible_name(re.compile(r"Reactions: 👍\s*1 \(carol\), 🎉\s*1 \(alice\)"))
    assert await found.locator("button").count() == 0  # read only: the result is the one button
    other = page.locator("#search-results .result", has_text="no reactions to xylophone here")
    await expect(other.locator(".reactions")).to_have_count(0)

    # one that comes while the results are open shows there too
    carol.send(f"@+draft/reply={word};+draft/react=❤️ TAGMSG #lobby")
    await expect(found.locator(".reaction")).to_have_count(3)
    # and the result still goes to the message
    await found.click()
    await expect(row(alice, "the word is xylophone")).to_be_focused()
