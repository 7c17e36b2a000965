"""An independent IRCv3 client library, pydle (PyPI), negotiates capabilities with our
server and talks with a raw client: CAP LS 302 / REQ / ACK the way pydle does it, then
extended-join, echo-message, away-notify, WHOX and MONITOR as pydle reads them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

pydle = pytest.importorskip("pydle")

from tests.helpers import TIMEOUT, connected  # noqa: E402

# What pydle asks for that we offer; sasl is not offered (there are no accounts).
EXPECTED_CAPS = {
    "account-notify", "account-tag", "away-notify", "cap-notify", "chghost", "echo-message",
    "extended-join", "message-tags", "multi-prefix", "userhost-in-names",
}


class Recorder(pydle.Client):
    """A pydle client that queues what happens, so the test can wait for it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: asyncio.Queue[tuple[str, ...]] = asyncio.Queue()
        self.seen: list[tuple[str, ...]] = []
        self.ls_continued: list[str] = []

    async def on_raw_cap_ls(self, params: list[str]) -> None:
        # pydle 1.2 asks for CAP 302 but takes each CAP LS line for the whole list, and
        # our offer passes one line (CAP 302 continues it with `*`, as ergo's does): the
        # lines are gathered here first, so the rest of pydle is what gets tested.
        if len(params) > 1 and params[0] == "*":
            self.ls_continued.append(params[1])
            return
        await super().on_raw_cap_ls([" ".join([*self.ls_continued, *params[:1]])])

    async def on_connect(self) -> None:
        await super().on_connect()
        self.events.put_nowait(("connect",))

    async def on_join(self, channel: str, user: str) -> None:
        await super().on_join(channel, user)
        self.events.put_nowait(("join", channel, user))

    async def on_channel_message(self, target: str, by: str, message: str) -> None:
        await super().on_channel_message(target, by, message)
        self.events.put_nowait(("channel", target, by, message))

    async def on_private_message(self, target: str, by: str, message: str) -> None:
        await super().on_private_message(target, by, message)
        self.events.put_nowait(("private", target, by, message))

    async def on_raw_away(self, message: Any) -> None:
        await super().on_raw_away(message)
        self.events.put_nowait(("away", message.source.split("!")[0], *message.params))

    async def on_raw_354(self, message: Any) -> None:
        await super().on_raw_354(message)
        self.events.put_nowait(("whox", message.params[4]))

    async def on_nick_change(self, old: str, new: str) -> None:
        await super().on_nick_change(old, new)
        self.events.put_nowait(("nick", old, new))

    async def on_user_online(self, nickname: str) -> None:
        self.events.put_nowait(("online", nickname))

    async def on_user_offline(self, nickname: str) -> None:
        self.events.put_nowait(("offline", nickname))

    async def next(self, *expected: str) -> tuple[str, ...]:
        """Wait for the event that starts with `expected`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            try:
                event = await asyncio.wait_for(self.events.get(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise AssertionError(f"no {expected}; saw {self.seen[-10:]}") from None
            self.seen.append(event)
            if event[: len(expected)] == expected:
                return event


@pytest.fixture
async def pydle_client(server) -> AsyncIterator[Recorder]:
    client = Recorder("pyd", username="lib", realname="Pydle Library")
    host, port = server.irc_address()
    await client.connect(host, port, tls=False)
    await client.next("connect")
    yield client
    if client.connected:
        await client.disconnect(expected=True)


async def test_pydle_negotiates_our_capabilities(pydle_client: Recorder) -> None:
    enabled = {name for name, on in pydle_client._capabilities.items() if on}
    assert EXPECTED_CAPS <= enabled
    assert not pydle_client._capabilities.get("sasl")
    assert "WHOX" in pydle_client._isupport
    assert pydle_client._isupport["MONITOR"] == "100"


async def test_pydle_and_a_raw_client_talk_in_a_channel(server, clients, pydle_client: Recorder) -> None:
    await pydle_client.join("#room")
    await pydle_client.next("join", "#room", "pyd")
    await pydle_client.next("whox", "pyd")  # pydle asks WHO #room %tnurha,542 on joining
    raw = await connected(server, "raw", "#room")
    clients.append(raw)
    await pydle_client.next("join", "#room", "raw")
    # extended-join told pydle the newcomer's realname and that it has no account
    assert pydle_client.users["raw"]["realname"] == "Real Name"
    assert pydle_client.users["raw"]["account"] is None
    raw.send("PRIVMSG #room :hello pydle")
    assert await pydle_client.next("channel") == ("channel", "#room", "raw", "hello pydle")
    await pydle_client.message("#room", "hello raw")
    said = await raw.expect("PRIVMSG")
    assert said.source == "pyd!~lib@127.0.0.1" and said.params == ["#room", "hello raw"]
    # with echo-message, pydle learns of its own message from the server
    assert await pydle_client.next("channel") == ("channel", "#room", "pyd", "hello raw")
    await pydle_client.message("raw", "psst")
    assert (await raw.expect("PRIVMSG")).params == ["raw", "psst"]
    raw.send("PRIVMSG pyd :back at you")
    assert await pydle_client.next("private", "pyd") == ("private", "pyd", "raw", "back at you")


async def test_pydle_follows_away_notify(server, clients, pydle_client: Recorder) -> None:
    await pydle_client.join("#room")
    await pydle_client.next("join", "#room", "pyd")
    raw = await connected(server, "raw", "#room")
    clients.append(raw)
    await pydle_client.next("join", "#room", "raw")
    raw.send("AWAY :lunch")
    assert await pydle_client.next("away") == ("away", "raw", "lunch")
    assert pydle_client.users["raw"]["away_message"] == "lunch"
    raw.send("AWAY")
    assert await pydle_client.next("away") == ("away", "raw")
    assert pydle_client.users["raw"]["away"] is False


async def test_pydle_monitors_a_nick(server, clients, pydle_client: Recorder) -> None:
    assert await pydle_client.monitor("later")
    assert await pydle_client.next("offline") == ("offline", "later")
    later = await connected(server, "later")
    clients.append(later)
    assert await pydle_client.next("online") == ("online", "later")
    later.send("QUIT :bye")
    assert await pydle_client.next("offline") == ("offline", "later")


async def test_pydle_follows_nick_changes_sent_as_a_trailing_parameter(server, clients, pydle_client: Recorder) -> None:
    """`:old NICK :new`: pydle tracks the user under the new nick, and its own change too."""
    await pydle_client.join("#room")
    await pydle_client.next("join", "#room", "pyd")
    raw = await connected(server, "raw", "#room")
    clients.append(raw)
    await pydle_client.next("join", "#room", "raw")
    raw.send("NICK renamed")
    assert await pydle_client.next("nick") == ("nick", "raw", "renamed")
    assert "renamed" in pydle_client.channels["#room"]["users"] and "raw" not in pydle_client.users
    await pydle_client.set_nickname("pyd2")
    assert await pydle_client.next("nick") == ("nick", "pyd", "pyd2")
    assert pydle_client.nickname == "pyd2"
