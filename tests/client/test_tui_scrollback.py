"""Scroll-back through a channel whose history is mostly comings and goings, or what
ignored people said, driven with Textual's pilot against a real hubbub server (pages of
5 or 10 lines, `CHATHISTORY=`): a page of joins and parts alone, or one that shows
nothing since everyone in it is ignored, is no end of the history; PageUp goes on past
such pages by itself to what was said, and only so far for one key."""

from __future__ import annotations

from collections.abc import Callable

from hubbub.client import events as ev
from hubbub.client.state import Buffer
from hubbub.client.tui.app import OLDER_PAGES_FETCHED_ON
from tests.client.conftest import MakeServer
from tests.client.test_tui import SIZE, chat_app, joined, submit, until
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


async def spam(client: LineClient, channel: str, times: int) -> None:
    """`times` messages to `channel`, `spam 0` first."""
    for i in range(times):
        client.send(f"PRIVMSG {channel} :spam {i}")
    await sync(client)


def history_pages(events: list[ev.Event], target: str) -> list[list[str]]:
    """The texts of the messages of each history page that came for `target`."""
    return [[m.text for m in e.messages] for e in events if isinstance(e, ev.History) and e.target == target]


async def test_page_up_goes_on_past_pages_of_ignored_peoples_talk_to_what_was_said(make_server: MakeServer) -> None:
    runtime = await make_server("history.chathistory_max=10")
    bob = await connected(runtime, "bob", "#busy")
    bob.send("PRIVMSG #busy :before the spam")
    await sync(bob)
    mallory = await connected(runtime, "mallory", "#busy")
    await spam(mallory, "#busy", 30)  # three pages of what mallory said after bob
    app = chat_app(runtime, channels=())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.client.ready, "alice connected")
        await submit(pilot, "/ignore mallory")
        await submit(pilot, "/join #busy")
        await until(pilot, joined(app, "#busy", 3), "alice in #busy")
        busy = app.state.current
        bob.send("PRIVMSG #busy :now")
        await until(pilot, lambda: any(line.text == "now" for line in busy.lines), "bob's line after it")
        # the latest page was mallory's alone: nothing shown, and no end of the history either
        assert not history_texts(busy) and not busy.history_done

        await page_up_until(pilot, asked(busy))  # once: the pages after it come by themselves
        await until(pilot, lambda: "before the spam" in history_texts(busy), "what bob said, 4 pages back")
        assert not any("spam " in line.text for line in busy.lines)
        assert history_texts(busy)[-2:] == ["before the spam", "mallory joined #busy"]
        assert not busy.history_done
        await page_up_until(pilot, lambda: busy.history_done)  # the real end: an empty page
        assert history_texts(busy)[0] == "bob joined #busy"
    await bob.close()
    await mallory.close()


async def test_one_page_up_past_an_ignored_persons_talk_fetches_a_few_pages_each_before_the_last(
        make_server: MakeServer) -> None:
    runtime = await make_server("history.chathistory_max=5")
    mallory = await connected(runtime, "mallory", "#doors")
    await spam(mallory, "#doors", 60)
    app = chat_app(runtime, channels=())
    events = app.client.subscribe()
    seen: list[ev.Event] = []

    def pages() -> list[list[str]]:
        seen.extend(events.pending())
        return history_pages(seen, "#doors")

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.client.ready, "alice connected")
        await submit(pilot, "/ignore mallory")
        await submit(pilot, "/join #doors")
        await until(pilot, lambda: len(pages()) == 1, "the latest page, on joining")
        doors = app.state.current
        # four of mallory's and alice's join: not shown, but no end of the history either
        assert pages() == [[f"spam {i}" for i in range(56, 60)]] and not doors.history_done

        await page_up_until(pilot, lambda: len(pages()) > 1)
        # the page asked for and the pages fetched on by themselves, each the one before, then it stops
        await until(pilot, lambda: not doors.history_pending and len(pages()) == 2 + OLDER_PAGES_FETCHED_ON,
                    "the pages fetched on")
        assert pages()[1:] == [[f"spam {i}" for i in range(start, start + 5)]
                               for start in range(55, 55 - 5 * (1 + OLDER_PAGES_FETCHED_ON), -5)]
        assert not history_texts(doors) and not doors.history_done
        await page_up_until(pilot, lambda: len(pages()) > 2 + OLDER_PAGES_FETCHED_ON)  # the next PageUp goes on
        await until(pilot, lambda: not doors.history_pending, "the next pages")
        assert pages()[2 + OLDER_PAGES_FETCHED_ON][-1] == f"spam {59 - 5 * (1 + OLDER_PAGES_FETCHED_ON)}"
    await mallory.close()
