"""The line at the top of a conversation ("Loading earlier messages…", "Beginning of the
conversation"), in Debian's Chromium against hubbub.

It sits above every row, so a change of its height moves every row under it: when the
page of history it announced came in, the rows the reader was looking at went up by its
height (the list keeps the reader's place for the rows it adds, not for that line). The
"New messages" line that Shift+Page Up had put at the top went out of view so, once in
CI, when a page was still on its way as the key was pressed.
"""

from __future__ import annotations

import asyncio
import re

import pytest

pytest.importorskip("playwright")

from playwright.async_api import expect  # noqa: E402

from tests.helpers import sync  # noqa: E402
from tests.web.held import HeldWebSocket  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOADING = "Loading earlier messages…"


class HeldScrollBack(HeldWebSocket):
    """From the page's first `CHATHISTORY BEFORE` on, what the server sends waits."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()

    def from_page(self, line: str) -> None:
        if line.startswith("CHATHISTORY BEFORE ") and not self.asked.is_set():
            self.hold()
            self.asked.set()


TOP_OF = """(text) => {
  const row = [...document.querySelectorAll('#messages .row.message')]
    .find((r) => r.querySelector('.text').textContent === text);
  return row.getBoundingClientRect().top - document.querySelector('#messages').getBoundingClientRect().top;
}"""


async def test_rows_in_view_stay_put_when_the_page_the_top_line_announced_comes_in(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#older")
    for i in range(300):
        carol.send(f"PRIVMSG #older :line {i:03d}")
    await sync(carol)
    alice = await open_user()
    page = alice.page
    held = HeldScrollBack()
    await held.install(page)
    await alice.connect("alice", "#older")
    rows = alice.messages().locator(".row.message .text")
    await expect(rows.last).to_have_text("line 299")
    first = await rows.first.text_content()  # the oldest the join's history brought
    assert first is not None and first != "line 000", first

    # at the top of what is loaded: the page asks for more, and says it is loading
    await page.evaluate("() => { document.querySelector('#messages').scrollTop = 0; }")
    await asyncio.wait_for(held.asked.wait(), 10)
    status = alice.messages().locator(".history-status")
    await expect(status).to_have_text(LOADING)
    before = await page.evaluate(TOP_OF, first)

    held.release()
    await expect(status).to_have_text("")
    older = f"line {int(first.split()[1]) - 1:03d}"
    await expect(rows.filter(has_text=re.compile(f"^{older}$"))).to_have_count(1)  # the page came in above
    # what the reader looked at is where it was on screen, not a line's height higher
    after = await page.evaluate(TOP_OF, first)
    assert abs(after - before) < 1, (before, after)
