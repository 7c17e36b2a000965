"""Helpers for the account transcripts: registering, logging in, SASL by hand."""

from __future__ import annotations

import base64

from hubbub.app import Runtime
from tests.helpers import LineClient, connected

NS = "NickServ!NickServ@services"


async def ns(client: LineClient, line: str) -> str:
    """Say `line` to NickServ; its first answer."""
    client.send(f"PRIVMSG NickServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1]


async def registered_account(
    runtime: Runtime, nick: str, password: str = "correct-horse", *channels: str
) -> LineClient:
    """A client that registered its nick as an account with NickServ (and is logged in)."""
    client = await connected(runtime, nick, *channels)
    client.send(f"PRIVMSG NickServ :REGISTER {password}")
    await client.expect("900")
    created = await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert created.params[-1] == "Account created"
    await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)  # "You're now logged in as ..."
    assert (await client.expect("MODE")).params == [nick, "+r"]  # after the answer, as the login's changes come
    return client


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


async def sasl_plain(runtime: Runtime, nick: str, account: str, password: str) -> tuple[LineClient, str]:
    """Connect, authenticate with SASL PLAIN during registration; (client, the numeric it got)."""
    client = await LineClient.connect(runtime)
    client.send("CAP REQ :sasl")
    await client.expect("CAP")
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    payload = "\0".join((account, account, password))
    client.send(f"AUTHENTICATE {b64(payload)}")
    result = await client.expect(lambda m: m.command in ("903", "904", "905", "906"))
    client.send("CAP END")
    await client.expect("001")
    client.nick = nick
    return client, result.command
