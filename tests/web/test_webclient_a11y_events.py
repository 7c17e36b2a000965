"""The web client's accessibility, third pass, in Debian's Chromium against a real hubbub:
what test_webclient_a11y left.

What was wrong: a run of joins and parts was read time first ("10:56 AM alice joined"),
where a message is read time last; a burst of lines into the conversation shown was
read out line by line (the log is a live region: a netsplit read every quit); and the
mIRC colours were drawn as mIRC draws them on its own white, which left yellow, cyan,
green, light grey and white unreadable in the light theme and red and grey short of
4.5:1 in the dark one.
"""

from __future__ import annotations

import asyncio
import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import sync  # noqa: E402
from tests.web.test_webclient_a11y import TIME, spoken  # noqa: E402
from tests.web.test_webclient_a11y_audit import DRAWN_COLOURS, contrast  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_joins_and_parts_are_read_like_messages_time_last(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await irc_user("carol", "#lobby")
    dave = await irc_user("dave", "#lobby")
    dave.send("PART #lobby :lunch")
    page = alice.page
    run = alice.messages().locator(".row.presence:has(.part)")  # (alice's own join is a row before)
    await expect(run.locator(".chip")).to_have_count(3)
    read = await spoken(page, "#messages .row.presence:has(.part)")
    # The chips are separate boxes; a screen reader reads them one after the other.
    assert re.fullmatch(f"carol joined ?dave joined ?dave left \\(lunch\\), {TIME}", read), read
    # the time is still drawn first, where the messages' times are
    assert await run.evaluate("(r) => r.firstElementChild.matches('time.ts[aria-hidden=true]')")


# Each row's text, and whether the log reads it out as it comes: Chromium takes a node's
# live-region politeness from its nearest aria-live (the log's own, a polite "log",
# has none written). Chromium's DevTools protocol gives neither that nor the announcements.
READ_OUT = """(rows) => rows.map((r) => [r.querySelector('.text').textContent,
  (r.closest('[aria-live]') || r.closest('[role=log]')).getAttribute('aria-live') !== 'off'])"""

# The page's drawing held back while lines come in (its frames queued, then let go), so
# that they are drawn in one frame, as a burst that comes faster than frames would be.
HOLD_FRAMES = """() => { const raf = window.requestAnimationFrame; const held = [];
  window.requestAnimationFrame = (f) => { held.push(f); return 0; };
  window.letFramesGo = () => { window.requestAnimationFrame = raf; held.forEach((f) => raf(f)); }; }"""


async def test_a_burst_into_the_conversation_shown_reads_five_lines_then_says_how_many_more(
    open_user, irc_user
) -> None:  # fmt: skip
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    page = alice.page
    rows = alice.messages().locator(".row.message")
    await expect(alice.messages()).to_contain_text("carol joined")  # drawn: not one of the burst
    await page.evaluate(HOLD_FRAMES)
    for i in range(20):
        carol.send(f"PRIVMSG #lobby :line {i}")
    await sync(carol)
    await asyncio.sleep(0.5)  # from the server to the page
    await page.evaluate("() => window.letFramesGo()")
    await expect(rows).to_have_count(20)
    read = await rows.evaluate_all(READ_OUT)
    assert read == [[f"line {i}", i < 5] for i in range(20)], read
    announcer = page.locator("#announcer")
    await expect(announcer).to_contain_text("15 more messages in #lobby")
    assert await page.locator("#messages").get_attribute("aria-busy") is None
    # a few lines later: each read out, nothing counted
    for i in range(3):
        carol.send(f"PRIVMSG #lobby :after {i}")
    await expect(rows).to_have_count(23)
    assert [r for r in await rows.evaluate_all(READ_OUT) if r[0].startswith("after")] == [
        [f"after {i}", True] for i in range(3)
    ]
    told = await announcer.evaluate("(a) => [...a.children].map((p) => p.textContent)")
    assert [t for t in told if "#lobby" in t and "more" in t] == ["15 more messages in #lobby"], told


AA_TEXT = 4.5


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_mirc_colours_are_readable_in_both_themes(scheme: str, open_user, irc_user) -> None:
    alice = await open_user(color_scheme=scheme)
    await alice.connect("alice", "#lobby")
    carol = await irc_user("carol", "#lobby")
    colours = " ".join(f"\x03{n:02}c{n}\x03" for n in range(16))
    carol.send(f"PRIVMSG #lobby :{colours}")
    carol.send(f"PRIVMSG #lobby :alice: {colours}")  # on a mention's highlight
    carol.send("PRIVMSG #lobby :" + " ".join(f"\x0399,{n:02}b{n}\x03" for n in range(16)))  # backgrounds alone
    carol.send("PRIVMSG #lobby :\x0308,01yellow on black\x03 \x0300,02white on navy")  # the sender's pairs
    page = alice.page
    spans = alice.messages().locator(".text span[class*='g-']")
    await expect(spans).to_have_count(16 * 3 + 2)
    drawn = await spans.evaluate_all(f"(all) => ({DRAWN_COLOURS})(all).map((c, i) => [all[i].textContent, c])")
    low = [f"{text}: {contrast(c['fg'], c['bg']):.2f}" for text, c in drawn if contrast(c["fg"], c["bg"]) < AA_TEXT]
    assert low == [], f"{scheme}: {low}"
    # a pair keeps the sender's colours: yellow on black is mIRC's yellow, not the light theme's shade
    pair = await page.locator(".fg-8.bg-1").evaluate("(s) => getComputedStyle(s).color")
    assert pair == "rgb(255, 255, 0)", pair
