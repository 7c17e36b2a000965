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

import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.web.test_webclient_a11y import TIME, spoken  # noqa: E402

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
