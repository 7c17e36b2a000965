"""Helpers for the IRCv3 capability transcripts: clients that negotiate caps first."""

from __future__ import annotations

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.helpers import LineClient


def mask(nick: str, user: str = "u") -> str:
    return f"{nick}!~{user}@127.0.0.1"


async def capped(
    runtime: Runtime, nick: str, *caps: str, channels: tuple[str, ...] = (), realname: str = "Real Name"
) -> LineClient:
    """A client that negotiated `caps` (CAP LS 302, REQ, END), registered as `nick`, in `channels`."""
    client = await LineClient.connect(runtime)
    client.send("CAP LS 302")
    while True:
        ls = await client.expect("CAP")
        if ls.params[2] != "*":
            break
    if caps:
        client.send("CAP REQ :" + " ".join(caps))
        ack = await client.expect("CAP")
        assert ack.params[1] == "ACK", ack
    client.send(f"NICK {nick}")
    client.send(f"USER u 0 * :{realname}")
    client.send("CAP END")
    await client.expect("001")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick
    for channel in channels:
        await client.join(channel)
    return client


def batches(messages: list[Message]) -> dict[str, list[Message]]:
    """The messages of each batch among `messages`, by reference tag (opening and closing lines included)."""
    found: dict[str, list[Message]] = {}
    for message in messages:
        if message.command == "BATCH" and message.params[0].startswith("+"):
            found[message.params[0][1:]] = [message]
        elif message.command == "BATCH" and message.params[0].startswith("-"):
            found[message.params[0][1:]].append(message)
        elif "batch" in message.tags:
            found[message.tags["batch"]].append(message)
    return found
