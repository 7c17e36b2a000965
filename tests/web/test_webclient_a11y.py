"""The web client's second accessibility audit, in Debian's Chromium against a real hubbub:
what test_webclient_a11y_audit left out.

What was wrong: links in messages were Tab stops each (the list is meant to be one);
a topic change in the messages shrank to a sliver, styled as the top bar's topic;
closing a conversation with the keyboard dropped the focus on the page; a phone's
slide-over panels let Tab go behind them and had no button to close them by touch;
the quick switcher's choice scrolled out of its list; a message was read time first,
its nick run into its text; a mention in the conversation shown was told by colour
alone; the date lines and the "New messages" line were read as a bare "separator"; a
message named while focused was a plain div (which ARIA forbids naming); text fields
had edges too faint to find (1.25:1); the skip link on the connect screen led to the
hidden message box; the chat had no first-level heading; and the text ignored the size
the browser was set to.

What a screen reader reads is taken from Chromium's accessibility tree (the DevTools
protocol), as in test_webclient_a11y_audit.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

from tests.helpers import sync  # noqa: E402
from tests.web.fixtures import PHONE, away_while, reads_lobby  # noqa: E402
from tests.web.test_webclient_a11y_audit import (  # noqa: E402
    AA_NON_TEXT,
    DRAWN_COLOURS,
    ax_node,
    buffer_item,
    contrast,
    parse_colour,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

TIME = r"\d\d?:\d\d( [AP]M)?"  # a message's time, as the browser's locale writes it


async def spoken(page: Page, selector: str) -> str:
    """What a screen reader reads of the first element matching `selector` in browse
    mode: the text of its accessibility subtree in order, without what is hidden from it."""
    cdp = await page.context.new_cdp_session(page)
    try:
        root = await cdp.send("DOM.getDocument", {"depth": 0})
        found = await cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector})
        assert found["nodeId"], f"nothing matches {selector}"
        backend = (await cdp.send("DOM.describeNode", {"nodeId": found["nodeId"]}))["node"]["backendNodeId"]
        tree = await cdp.send("Accessibility.getFullAXTree")
    finally:
        await cdp.detach()
    nodes = {n["nodeId"]: n for n in tree["nodes"]}
    texts: list[str] = []

    def walk(node: dict) -> None:
        if node.get("role", {}).get("value") == "StaticText":
            if not node.get("ignored"):
                texts.append(node["name"]["value"])
            return
        for child in node.get("childIds", []):
            walk(nodes[child])

    walk(next(n for n in tree["nodes"] if n.get("backendDOMNodeId") == backend))
    return re.sub(r"\s+", " ", "".join(texts)).strip()


async def focus_last_row(page: Page) -> None:
    """From the message box to the message list (one Shift+Tab), then ↑ to its last row."""
    await page.locator("#input").focus()
    await page.keyboard.press("Shift+Tab")
    await expect(page.locator("#messages")).to_be_focused()
    await page.keyboard.press("ArrowUp")
    assert await page.evaluate("() => document.activeElement.classList.contains('row')")


# -- the keyboard --------------------------------------------------------------------------------


async def test_links_in_messages_are_tab_stops_only_on_the_message_with_the_focus(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :see https://example.com/one and https://example.com/two")
    page = alice.page
    links = alice.messages().locator("a")
    await expect(links).to_have_count(2)
    await focus_last_row(page)  # Shift+Tab from the box lands on the list, not on the last link
    await page.keyboard.press("Tab")  # on the message, its links are the next stops
    await expect(links.nth(0)).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(links.nth(1)).to_be_focused()
    await page.locator("#input").focus()  # the message left: its links are no stops again
    assert await links.evaluate_all("(all) => all.map((a) => a.tabIndex)") == [-1, -1]


async def test_closing_a_conversation_with_the_keyboard_leaves_the_focus_on_its_neighbour(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby #a #b")
    page = alice.page
    close = page.get_by_role("button", name="Close #a")
    await close.focus()
    await page.keyboard.press("Enter")
    await expect(buffer_item(alice, "#a")).to_have_count(0)
    await expect(buffer_item(alice, "#b").locator(".buffer")).to_be_focused()  # the next one
    await page.get_by_role("button", name="Close #b").focus()
    await page.keyboard.press("Enter")
    await expect(buffer_item(alice, "#b")).to_have_count(0)
    await expect(buffer_item(alice, "#lobby").locator(".buffer")).to_be_focused()  # the last: the one before


async def test_on_a_phone_an_open_panel_keeps_tab_in_it_and_has_a_close_button(open_user) -> None:
    alice = await open_user(viewport=PHONE)
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    for toggle, panel, close in [("#toggle-buffers", "#sidebar", "Close the conversation list"),
                                 ("#toggle-members", "#members", "Close the member list")]:  # fmt: skip
        await page.click(toggle)
        await expect(page.locator("#scrim")).to_be_visible()
        for _ in range(15):  # round the panel (and the browser's own bar), never behind the scrim
            await page.keyboard.press("Tab")
            where = await page.evaluate(
                "(panel) => document.activeElement === document.body || "
                "document.querySelector(panel).contains(document.activeElement)", panel)  # fmt: skip
            assert where, f"{panel}: Tab went to {await page.evaluate('document.activeElement.outerHTML')}"
        button = page.locator(panel).get_by_role("button", name=close, exact=True)
        await expect(button).to_be_visible()
        await button.click()
        await expect(page.locator("#scrim")).to_be_hidden()
        await expect(page.locator(toggle)).to_be_focused()  # back on what opened it
        await expect(page.get_by_role("textbox", name="Message #lobby")).to_be_visible()  # the chat is back


# Whether the option chosen in a list box is within the part of the list shown.
CHOICE_SHOWN = """(list) => {
  const o = list.querySelector("[aria-selected=true]").getBoundingClientRect();
  const l = list.getBoundingClientRect();
  return o.top >= l.top - 1 && o.bottom <= l.bottom + 1;
}"""


async def test_the_quick_switcher_keeps_its_choice_in_view(open_user) -> None:
    channels = [f"#room{i:02d}" for i in range(24)]
    alice = await open_user()
    await alice.connect("alice", " ".join(channels))
    page = alice.page
    await expect(page.locator("#buffer-list .buffer")).to_have_count(25)
    await page.locator("#input").focus()
    await page.keyboard.press("Control+k")
    results = page.locator("#switch-results")
    await expect(results.get_by_role("option")).to_have_count(25)
    assert await results.evaluate("(list) => list.scrollHeight > list.clientHeight")  # more than it shows
    for key in ["ArrowUp", "ArrowDown", *["ArrowUp"] * 3]:  # round to the last, back to the first, up again
        await page.keyboard.press(key)
        assert await results.evaluate(CHOICE_SHOWN), key
    await page.keyboard.press("Escape")


# -- what a screen reader reads ------------------------------------------------------------------


async def test_a_message_is_read_nick_text_then_time(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :the build is red")
    carol.send("NOTICE #lobby :the bot restarts")
    page = alice.page
    await expect(alice.messages().locator(".row.notice")).to_have_count(1)
    read = [await spoken(page, f"#messages .row.{kind}") for kind in ("message", "notice")]
    assert re.fullmatch(f"carol: the build is red, {TIME}", read[0]), read
    assert re.fullmatch(f"carol: the bot restarts, {TIME}", read[1]), read
    await focus_last_row(page)  # named once focused as it is read: one colon, the time last
    name = (await ax_node(page, ".row[tabindex]"))["name"]
    assert re.fullmatch(f"carol: the bot restarts, {TIME}", name), name


async def test_the_message_with_the_focus_is_a_named_article(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :hello there")
    await expect(alice.messages()).to_contain_text("hello there")
    await focus_last_row(alice.page)
    node = await ax_node(alice.page, ".row[tabindex]")
    assert node["role"] == "article" and node["name"].startswith("carol: hello there, "), node


# Each row's left edge as drawn: its border's width and an inset shadow's beside it, the colour.
LEFT_EDGES = """(rows) => rows.map((r) => {
  const s = getComputedStyle(r);
  const inset = s.boxShadow.includes("inset") ? parseFloat(s.boxShadow.match(/\\) (-?[\\d.]+)px/)[1]) : 0;
  return { width: parseFloat(s.borderLeftWidth) + inset, colour: s.borderLeftColor };
})"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_a_mention_in_the_conversation_shown_is_told_by_more_than_colour(
    scheme: str, open_user, irc_user
) -> None:  # fmt: skip
    alice = await open_user(color_scheme=scheme)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    carol.send("PRIVMSG #lobby :alice: are you there?")
    carol.send("PRIVMSG #lobby :anyone else?")
    page = alice.page
    await expect(alice.messages().locator(".row.message")).to_have_count(2)
    assert "(mentions you)" in await spoken(page, "#messages .row.mention")
    assert "mentions you" not in await spoken(page, "#messages .row.message:not(.mention)")
    # Its edge: wider than any other row's, and standing out from the row and the page.
    edges = await alice.messages().locator(".row.message").evaluate_all(LEFT_EDGES)
    mention, other = edges
    assert mention["width"] >= 2 * other["width"], edges
    row, page_bg = await page.evaluate(
        f"() => ({DRAWN_COLOURS})([document.querySelector('.row.mention .text'), document.getElementById('messages')])"
    )  # fmt: skip
    for bg in (row["bg"], page_bg["bg"]):
        assert contrast(parse_colour(mention["colour"]), bg) >= AA_NON_TEXT, (mention, bg)
    await focus_last_row(page)
    await page.keyboard.press("ArrowUp")
    assert "(mentions you)" in (await ax_node(page, ".row[tabindex]"))["name"]


async def test_the_date_line_and_the_new_messages_line_are_read_with_their_words(open_user, irc_user) -> None:
    alice, carol = await reads_lobby(open_user, irc_user)
    await away_while(alice, carol, "PRIVMSG #lobby :said while away")
    page = alice.page
    await expect(alice.messages().locator(".new-line")).to_have_count(1)
    day = page.locator("#messages .day").first
    assert (await ax_node(page, "#messages .day"))["name"] == await day.text_content()
    node = await ax_node(page, "#messages .new-line")
    assert (node["role"], node["name"]) == ("separator", "New messages"), node


# -- how it looks ----------------------------------------------------------------------------------


# A row's height and what its content needs, and how much of it runs past its right edge.
DRAWN_WHOLE = "(r) => ({ height: r.clientHeight, needs: r.scrollHeight, wide: r.scrollWidth - r.clientWidth })"


async def test_a_topic_change_in_the_messages_is_drawn_whole(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#talk")  # alice made #talk: she may set its topic
    carol = await irc_user("carol", "#talk")
    for i in range(60):  # more than the list shows: its rows would be shrunk to fit
        carol.send(f"PRIVMSG #talk :line {i}")
    await sync(carol)
    await alice.say("/topic " + "a topic long enough to need a second line on this screen, " * 4)
    row = alice.messages().locator(".row.topic")
    await expect(row).to_have_count(1)
    drawn = await row.evaluate(DRAWN_WHOLE)
    assert drawn["height"] >= drawn["needs"] and drawn["height"] > 30 and drawn["wide"] <= 1, drawn


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_text_fields_have_an_edge_of_3_to_1(scheme: str, open_user) -> None:
    alice = await open_user(color_scheme=scheme)
    page = alice.page
    fields = ["#connect-nick"]
    await expect(page.locator("#connect-nick")).to_be_visible()
    measured = await edges(page, fields)
    await alice.connect("alice", "#lobby")
    fields = ["#input", "#search-input"] if await page.locator("#search-input").is_visible() else ["#input"]
    measured += await edges(page, fields)
    await page.locator("#input").focus()
    await page.keyboard.press("Control+k")
    measured += await edges(page, ["#switch-filter"])
    await page.keyboard.press("Escape")
    await page.click("#browse-button")
    measured += await edges(page, ["#list-filter"])
    weak = [m for m in measured if min(m["ratios"]) < AA_NON_TEXT]
    assert weak == [], weak


async def edges(page: Page, selectors: list[str]) -> list[dict]:
    """Each field's edge against its own background and the one around it (the field blurred:
    the edge that finds it, not the focus ring)."""
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    out = []
    for selector in selectors:
        field = page.locator(selector)
        colour = await field.evaluate("(f) => getComputedStyle(f).borderTopColor")
        inside, around = await page.evaluate(f"(f) => ({DRAWN_COLOURS})([f, f.parentElement])",
                                             await field.element_handle())  # fmt: skip
        ratios = [round(contrast(parse_colour(colour), bg), 2) for bg in (inside["bg"], around["bg"])]
        out.append({"field": selector, "edge": colour, "ratios": ratios})
    return out


async def test_the_text_follows_the_size_the_browser_is_set_to(open_user) -> None:
    alice = await open_user()
    page = alice.page
    body = "() => parseFloat(getComputedStyle(document.body).fontSize)"
    assert await page.evaluate(body) == 15  # at the default 16 px
    cdp = await page.context.new_cdp_session(page)
    try:
        await cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 24}})
    finally:
        await cdp.detach()
    assert await page.evaluate(body) == 22.5


# -- the page's outline ------------------------------------------------------------------------------


async def test_the_skip_link_is_in_the_chat_not_before_the_connect_screen(open_user) -> None:
    alice = await open_user()
    page = alice.page
    skip = page.get_by_role("link", name="Skip to the message box")
    await expect(page.locator("#connect-nick")).to_be_visible()
    await expect(skip).to_have_count(0)  # the message box it leads to is not there yet
    await alice.connect("alice", "#lobby")
    await expect(skip).to_have_count(1)  # (test_webclient_a11y_audit follows it)


async def test_the_conversation_shown_is_the_chats_first_level_heading(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    page = alice.page
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_count(1)
    await expect(heading).to_have_text("#lobby")
    await expect(heading).to_have_css("font-size", "16.32px")  # drawn as the h2 was: 1.02rem
