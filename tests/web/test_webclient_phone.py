"""The web client on a phone: what a person holding one sees and can touch.

In Debian's Chromium emulating a phone's browser (a touch screen, the page's viewport
obeyed: `open_user(touch=True)`) at 360x740 and 412x915, against a real hubbub with raw
IRC users talking. Everything here is geometry read from the page: boxes that must not
overlap, nothing wider than the screen, targets a finger can hit (40 px at least, and
not under something else), and the nick colours as the browser draws them.
"""

from __future__ import annotations

import itertools
import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

from tests.web.fixtures import PHONE, PHONE_LARGE  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

PHONES = pytest.mark.parametrize("viewport", [PHONE, PHONE_LARGE], ids=["360x740", "412x915"])
FINGER = 40  # px: the least a target may measure either way (WCAG 2.5.5 asks 44; 40 is what we hold to)
KEYBOARD_UP = {"width": 360, "height": 400}  # a 360x740 phone with its on-screen keyboard shown
AA_TEXT = 4.5
DISTINCT = 0.1  # OKLab distance between two nick colours (tests/web/js/palette.test.mjs says why)


def overlap(a: dict, b: dict) -> bool:
    """Do two bounding boxes share any area (touching edges do not count)?"""
    return (a["x"] + a["width"] > b["x"] + 0.5 and b["x"] + b["width"] > a["x"] + 0.5
            and a["y"] + a["height"] > b["y"] + 0.5 and b["y"] + b["height"] > a["y"] + 0.5)  # fmt: skip


def inside(inner: dict, outer: dict) -> bool:
    def within(axis: str, size: str) -> bool:
        return outer[axis] - 0.5 <= inner[axis] and inner[axis] + inner[size] <= outer[axis] + outer[size] + 0.5

    return within("x", "width") and within("y", "height")


async def box(page: Page, selector: str) -> dict:
    found = await page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not drawn"
    return found


async def no_sideways_scroll(page: Page) -> None:
    sizes = await page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
    assert sizes[0] <= sizes[1], f"the page scrolls sideways: {sizes}"


# Every control a finger may touch in `root` (shown, not in an inert panel): its size, and
# what the page has at its centre when that centre is on screen and not scrolled out of
# a list. A box inside a label is the label's: the label is what takes the tap.
TARGETS = """(root) => {
  const scrolledOut = (e, x, y) => {
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflow === "visible") continue;
      const r = a.getBoundingClientRect();
      if (x < r.left || x > r.right || y < r.top || y > r.bottom) return true;
    }
    return false;
  };
  const name = (e) => e.id || e.getAttribute("aria-label") || e.textContent.trim().slice(0, 30) || e.className;
  return [...document.querySelector(root).querySelectorAll("button, input, textarea, select, [role=option], label")]
    .filter((e) => e.checkVisibility({ visibilityProperty: true }) && !e.closest("[inert]")
      && !(e.matches("input") && e.closest("label")) && !(e.matches("label") && e.htmlFor)
      && !e.classList.contains("visually-hidden"))
    .map((e) => {
      const r = e.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      const seen = x >= 0 && x < innerWidth && y >= 0 && y < innerHeight && !scrolledOut(e, x, y);
      const hit = seen ? document.elementFromPoint(x, y) : null;
      const mine = hit && (hit === e || e.contains(hit));
      return { name: name(e), width: r.width, height: r.height, covered: seen && !mine,
               by: hit && !mine ? name(hit) : null };
    });
}"""


async def assert_fingers_fit(page: Page, root: str) -> None:
    targets = await page.evaluate(TARGETS, root)
    assert targets, f"no control found in {root}"
    small = [f"{t['name']}: {t['width']:.0f}x{t['height']:.0f}" for t in targets
             if min(t["width"], t["height"]) < FINGER]  # fmt: skip
    covered = [f"{t['name']} under {t['by']}" for t in targets if t["covered"]]
    assert (small, covered) == ([], []), f"{root}: too small for a finger {small}; hidden behind another {covered}"


# -- the ☰ button and its count -------------------------------------------------------------------


@PHONES
async def test_the_menu_count_sits_beside_the_bars_not_over_them_nor_the_title(open_user, irc_user, viewport) -> None:
    alice = await open_user(viewport=viewport, touch=True)
    await alice.connect("alice", "#lobby #other")
    carol = await irc_user("carol", "#other")
    for i in range(120):  # three digits: the widest count the button shows ("99+")
        carol.send(f"PRIVMSG #other :news {i}")
    page = alice.page
    await expect(page.locator("#toggle-buffers-badge")).to_have_text("99+")
    parts = ("#toggle-buffers", "#toggle-buffers svg", "#toggle-buffers-badge", "#buffer-title")
    menu, bars, badge, title = [await box(page, s) for s in parts]
    assert not overlap(badge, bars), (badge, bars)
    assert inside(badge, menu) and inside(bars, menu), (badge, bars, menu)
    assert not overlap(menu, title), (menu, title)
    assert min(menu["width"], menu["height"]) >= FINGER, menu
    await no_sideways_scroll(page)


# -- the search box --------------------------------------------------------------------------------


@PHONES
async def test_the_search_box_leaves_the_title_its_width_and_opens_wide_when_touched(
    open_user, irc_user, viewport
) -> None:  # fmt: skip
    carol = await irc_user("carol", "#lobby")
    carol.send("TOPIC #lobby :" + "where the regulars meet and talk about everything " * 3)
    carol.send("PRIVMSG #lobby :the word is xylophone")
    await carol.expect("TOPIC")
    alice = await open_user(viewport=viewport, touch=True)
    await alice.connect("alice", "#lobby #other")
    page = alice.page
    search = page.locator("#search-input")
    await expect(search).to_be_visible()
    # Closed: a button the size of its neighbours, beside the title and the topic.
    members = await box(page, "#toggle-members")
    closed = await box(page, "#search-input")
    assert FINGER <= closed["width"] <= members["width"] + 0.5 and closed["height"] >= FINGER, (closed, members)
    bar = ["#toggle-buffers", ".titles", "#search-input", "#toggle-members"]
    boxes = {s: await box(page, s) for s in bar}
    for a, b in itertools.combinations(bar, 2):
        assert not overlap(boxes[a], boxes[b]), (a, boxes[a], b, boxes[b])
    # Touched: as wide as the bar, on top of it, then the search runs as anywhere.
    await search.tap()
    await expect(search).to_be_focused()
    opened = await box(page, "#search-input")
    assert opened["width"] >= 0.8 * viewport["width"] and opened["x"] >= 0, opened
    assert opened["x"] + opened["width"] <= viewport["width"], opened
    on_top = "(b) => document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2)?.id"
    assert await page.evaluate(on_top, opened) == "search-input"
    await page.keyboard.type("xylophone")
    await page.keyboard.press("Enter")
    dialog = page.locator("#search-dialog")
    await expect(dialog.locator("#search-results li")).to_contain_text("the word is xylophone")
    await no_sideways_scroll(page)
    await dialog.locator("#search-results button").first.tap()
    await expect(dialog).to_be_hidden()
    # Back in the conversation, the bar as it was (and no keyboard popping up: the focus
    # goes to the message box on a desktop, nowhere on a phone).
    await expect(search).not_to_be_focused()
    again = await box(page, "#search-input")
    assert again["width"] <= members["width"] + 0.5, again
    title = await box(page, "#buffer-title")
    hit = await page.evaluate("(b) => document.elementFromPoint(b.x + 5, b.y + b.height / 2)?.id", title)
    assert hit == "buffer-title", hit


async def test_a_search_result_on_a_phone_gives_what_was_said_the_whole_width(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#a-channel-with-a-long-name")
    carol.send("PRIVMSG #a-channel-with-a-long-name :the word is xylophone, said at some length so that it wraps")
    alice = await open_user(viewport=PHONE, touch=True)
    await alice.connect("alice", "#a-channel-with-a-long-name")
    await alice.say("/search xylophone")
    result = alice.page.locator("#search-results .result").first
    await expect(result).to_contain_text("the word is xylophone")
    row = await result.bounding_box()
    text = await result.locator(".text").bounding_box()
    assert row is not None and text is not None
    assert text["width"] >= 0.8 * row["width"], (text, row)
    for part in (".where", ".ts", ".nick", ".text"):
        assert inside(await result.locator(part).bounding_box(), row), part
    await no_sideways_scroll(alice.page)


SIDEWAYS = {"width": 740, "height": 360}  # a phone on its side: the lists stand beside the messages
TABLET = {"width": 800, "height": 1280}


@pytest.mark.parametrize("viewport", [SIDEWAYS, TABLET], ids=["phone-on-its-side", "tablet"])
async def test_a_narrow_conversation_between_the_lists_gives_the_text_its_width(open_user, irc_user, viewport) -> None:
    """Wider than 720 px the lists stand beside the conversation, which keeps less than
    that: there too the nick and time head the text (beside a 30-character nick the text
    had a letter's width, one letter a line), and the search box is a magnifier."""
    long_nick = "MAXIMILIAN_WOLFGANG_AMADEUS_MM"  # 30 characters, the server's NICKLEN
    speaker = await irc_user(long_nick, "#lobby")
    alice = await open_user(viewport=viewport, touch=True)
    await alice.connect("alice", "#lobby")
    speaker.send("PRIVMSG #lobby :hello from a long name, with a sentence long enough to wrap")
    row = alice.messages().locator(".row.message", has_text="hello from a long name")
    await expect(row).to_have_count(1)
    await expect(alice.page.locator("#sidebar")).to_be_in_viewport()  # the lists are beside it
    row_box, text_box = await row.bounding_box(), await row.locator(".text").bounding_box()
    assert row_box is not None and text_box is not None
    assert text_box["width"] >= 0.8 * row_box["width"], (text_box, row_box)
    assert inside(await row.locator(".nick").bounding_box(), row_box)
    search, members = await box(alice.page, "#search-input"), await box(alice.page, "#toggle-members")
    assert FINGER <= search["width"] <= members["width"] + 0.5, (search, members)
    await no_sideways_scroll(alice.page)


# -- sizes for fingers, nothing hidden -------------------------------------------------------------


async def test_every_control_on_a_phone_is_big_enough_for_a_finger_and_not_hidden(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#lobby")
    carol.send("TOPIC #lobby :" + "a topic too long for one line on a phone " * 3)
    await carol.expect("TOPIC")
    carol.send("PRIVMSG #lobby :hello there")
    alice = await open_user(viewport=PHONE, touch=True)
    page = alice.page
    await assert_fingers_fit(page, "#connect")
    await alice.connect("alice", "#lobby #other")
    carol.send("PRIVMSG alice :psst")
    await expect(page.locator("#toggle-buffers-badge")).to_have_text("1")
    await expect(page.locator("#topic-more")).to_be_visible()
    await assert_fingers_fit(page, ".chat")

    await page.locator("#toggle-buffers").tap()
    await page.wait_for_function("() => document.getElementById('sidebar').getBoundingClientRect().x >= 0")
    await assert_fingers_fit(page, "#sidebar")
    await page.locator("#browse-button").tap()
    dialog = page.locator("#list-dialog")
    await expect(dialog.locator("#list-results li")).to_have_count(2)
    await assert_fingers_fit(page, "#list-dialog")
    await dialog.get_by_role("button", name="Close").tap()
    await expect(dialog).to_be_hidden()
    await page.locator("#help-button").tap()  # the list of conversations is still open
    await expect(page.locator("#help-dialog")).to_be_visible()
    await assert_fingers_fit(page, "#help-dialog")
    await page.locator("#help-dialog").get_by_role("button", name="Close").tap()
    await page.keyboard.press("Escape")
    await expect(page.locator("#scrim")).to_be_hidden()

    await page.locator("#toggle-members").tap()
    await page.wait_for_function(
        "() => document.getElementById('members').getBoundingClientRect().right <= innerWidth + 0.5"
    )  # fmt: skip
    await assert_fingers_fit(page, "#members")
    await page.keyboard.press("Escape")

    await alice.say("/search hello")
    await expect(page.locator("#search-results li")).to_have_count(1)
    await assert_fingers_fit(page, "#search-dialog")


async def test_the_channel_list_fits_a_phone(open_user, irc_user) -> None:
    long_name = "#a-channel-whose-name-goes-on-and-on-and-on"
    carol = await irc_user("carol", "#lobby", long_name)
    carol.send(f"TOPIC {long_name} :" + "a topic that goes on " * 10)
    await carol.expect("TOPIC")
    alice = await open_user(viewport=PHONE, touch=True)
    await alice.connect("alice", "#lobby")
    await alice.say("/list")
    dialog = alice.page.locator("#list-dialog")
    await expect(dialog.locator("#list-results li")).to_have_count(2)
    frame = await dialog.bounding_box()
    assert frame is not None
    assert inside(frame, {"x": 0, "y": 0, **PHONE}), frame
    for selector in ("#list-filter", "#list-refresh", "#list-results li"):
        for element in await dialog.locator(selector).all():
            found = await element.bounding_box()
            assert found is not None, selector
            assert frame["x"] <= found["x"] and found["x"] + found["width"] <= frame["x"] + frame["width"], (
                selector, found, frame)  # fmt: skip
    assert await dialog.evaluate("d => d.scrollWidth <= d.clientWidth"), "the dialog scrolls sideways"
    await no_sideways_scroll(alice.page)


async def test_the_help_on_a_phone_cuts_nothing_off(open_user) -> None:
    alice = await open_user(viewport=PHONE, touch=True)
    await alice.connect("alice", "#lobby")
    await alice.say("/help")
    dialog = alice.page.locator("#help-dialog")
    await expect(dialog).to_be_visible()
    cut = await dialog.evaluate(
        """(d) => { const edge = d.getBoundingClientRect().right;
          return [...d.querySelectorAll("dt, dd, p, h3")].filter((e) => e.getBoundingClientRect().right > edge + 0.5
            || e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent.trim().slice(0, 40)); }"""
    )  # fmt: skip
    assert cut == [], f"past the dialog's edge: {cut}"
    assert await dialog.evaluate("d => d.scrollWidth <= d.clientWidth"), "the help scrolls sideways"


# -- the on-screen keyboard ------------------------------------------------------------------------


async def test_a_long_topic_opened_with_the_keyboard_up_leaves_the_messages_and_the_box_in_view(
    open_user, irc_user
) -> None:  # fmt: skip
    carol = await irc_user("carol", "#lobby")
    carol.send("TOPIC #lobby :" + "a topic as long as the server allows, " * 10)
    await carol.expect("TOPIC")
    carol.send("PRIVMSG #lobby :the newest message")
    alice = await open_user(viewport=KEYBOARD_UP, touch=True)
    await alice.connect("alice", "#lobby")
    page = alice.page
    await page.locator("#input").focus()
    await page.locator("#topic-more").tap()
    await expect(page.locator("#topic")).to_have_class(re.compile(r"\bexpanded\b"))
    screen = {"x": 0, "y": 0, **KEYBOARD_UP}
    for selector in ("#input", "#send", "#topic-more"):
        assert inside(await box(page, selector), screen), selector
    messages = await box(page, "#messages")
    assert messages["height"] >= KEYBOARD_UP["height"] / 4, messages
    assert not overlap(await box(page, ".topbar"), messages)
    await expect(alice.messages().locator(".row", has_text="the newest message")).to_be_in_viewport()
    await no_sideways_scroll(page)


# -- nick colours ----------------------------------------------------------------------------------


def _linear(rgb: tuple[float, ...]) -> list[float]:
    return [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]


def _oklab(rgb: tuple[float, ...]) -> tuple[float, float, float]:
    r, g, b = _linear(rgb)
    lms = [
        (0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b) ** (1 / 3),
        (0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b) ** (1 / 3),
        (0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b) ** (1 / 3),
    ]
    l, m, s = lms  # noqa: E741
    return (0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
            1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
            0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s)  # fmt: skip


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    def luminance(rgb: tuple[float, ...]) -> float:
        r, g, b_ = _linear(rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# The 16 nick colours as drawn in the member list, and the backgrounds they are drawn on.
DRAWN_NICKS = """() => {
  const list = document.getElementById("member-list");
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const colours = [];
  for (let i = 0; i < 16; i++) {
    const s = document.createElement("span"); s.className = `nick nc-${i}`; s.textContent = "nick";
    list.append(s); colours.push(rgb(getComputedStyle(s).color)); s.remove();
  }
  const background = (e) => rgb(getComputedStyle(e).backgroundColor);
  return { colours, page: background(document.body), panel: background(document.getElementById("members")) };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_nick_colours_are_told_apart_and_readable_on_a_phone(open_user, irc_user, scheme) -> None:
    alice = await open_user(viewport=PHONE, color_scheme=scheme, touch=True)
    await alice.connect("alice", "#lobby")
    drawn = await alice.page.evaluate(DRAWN_NICKS)
    colours = [tuple(c) for c in drawn["colours"]]
    close = []
    for (i, a), (j, b) in itertools.combinations(enumerate(colours), 2):
        d = sum((x - y) ** 2 for x, y in zip(_oklab(a), _oklab(b), strict=True)) ** 0.5
        if d < DISTINCT:
            close.append(f"nc-{i} {a} and nc-{j} {b}: {d:.3f}")
    assert close == [], f"{scheme}: {len(close)} pairs of nick colours look alike: {close}"
    for where in ("page", "panel"):
        low = [f"nc-{i}: {_contrast(c, tuple(drawn[where])):.2f}" for i, c in enumerate(colours)
               if _contrast(c, tuple(drawn[where])) < AA_TEXT]  # fmt: skip
        assert low == [], f"{scheme}, on the {where}: {low}"
