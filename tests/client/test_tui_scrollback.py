"""Scroll-back through a channel whose history is mostly comings and goings, driven with
Textual's pilot against a real hubbub server (pages of 5 or 10 lines, `CHATHISTORY=`):
a page of joins and parts alone is no end of the history, PageUp goes on past such
pages by itself to what was said, and only so far for one key."""

from __future__ import annotations

from collections.abc import Callable

from hubbub.client import events as ev
from hubbub.client.state import Buffer
from hubbub.client.tui.app import OLDER_PAGES_FETCHED_ON
from tests.client.conftest import MakeServer
from tests.client.test_tui import SIZE, chat_app, joined, until
from tests.client.test_tui_daily import page_up_until
from tests.helpers import LineClient, connected, sync


async def comings_and_goings(client: LineClient, channel: str, times: int) -> None:
    """`times` joins and parts of `channel` (each kept by the server as history)."""
    for _ in range(times):
        client.send(f"JOIN {channel}")
        client.send(f"PART {channel}")
    await sync(client)


def history_texts(buffer: Buffer) -> list[str]:
    return [line.text for line in buffer.lines if line.history]


def asked(buffer: Buffer) -> Callable[[], bool]:
    """PageUp has asked for older lines: asking, or what it asked for came."""
    return lambda: buffer.history_pending or bool(history_texts(buffer))


async def test_page_up_goes_on_past_pages_of_joins_and_parts_to_what_was_said(make_server: MakeServer) -> None:
    runtime = await make_server("history.chathistory_max=10")
    bob = await connected(runtime, "bob", "#busy")
    bob.send("PRIVMSG #busy :before the crowd came")
    await sync(bob)
    carol = await connected(runtime, "carol")
    await comings_and_goings(carol, "#busy", 15)  # 30 lines of history after what bob said
    app = chat_app(runtime, channels=("#busy",))
    events = app.client.subscribe()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#busy", 2), "alice in #busy")
        busy = app.state.current
        await events.wait_for(ev.History, lambda e: e.target == "#busy")  # joins and parts alone
        bob.send("PRIVMSG #busy :now")
        await until(pilot, lambda: any(line.text == "now" for line in busy.lines), "bob's line after it")
        # not shown on joining, but no end of the history either: it was a whole page
        assert not any("carol" in line.text for line in busy.lines)
        assert not busy.history_done

        await page_up_until(pilot, asked(busy))  # once: the pages after it come by themselves
        await until(pilot, lambda: "before the crowd came" in history_texts(busy), "what bob said, 3 pages back")
        said = history_texts(busy)
        crowd = said[said.index("before the crowd came") + 1:]
        assert crowd == ["carol joined #busy", "carol left"] * 15
        assert not busy.history_done
        await page_up_until(pilot, lambda: busy.history_done)  # the real end: an empty page
        assert history_texts(busy)[0] == "bob joined #busy"
    await bob.close()
    await carol.close()


async def test_one_page_up_in_a_channel_of_only_joins_fetches_a_few_pages_not_all(make_server: MakeServer) -> None:
    runtime = await make_server("history.chathistory_max=5")
    bob = await connected(runtime, "bob", "#doors")  # the channel lives on between carol's visits
    carol = await connected(runtime, "carol")
    await comings_and_goings(carol, "#doors", 40)
    app = chat_app(runtime, channels=("#doors",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#doors", 2), "alice in #doors")
        doors = app.state.current
        await page_up_until(pilot, asked(doors))
        # the page asked for and the pages fetched on by themselves, then it stops
        await until(pilot, lambda: not doors.history_pending, "the pages fetched on")
        pages = 1 + OLDER_PAGES_FETCHED_ON
        assert len(history_texts(doors)) == 5 * pages
        assert not doors.history_done
        await page_up_until(pilot, lambda: len(history_texts(doors)) > 5 * pages)  # the next PageUp goes on
    await bob.close()
    await carol.close()
