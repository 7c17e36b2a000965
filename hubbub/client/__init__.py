"""hubbub's IRC client: an asyncio library, and the terminal chat program built on it.

    from hubbub.client import Client, ClientConfig, events

    client = Client(ClientConfig(host="localhost", port=6667, nick="alice", channels=("#lobby",)))
    incoming = client.subscribe()
    await client.connect()
    client.privmsg("#lobby", "hello")
    async for event in incoming:
        if isinstance(event, events.MessageReceived):
            print(event.source, event.text)

The protocol logic lives in `protocol.ClientProtocol` (no I/O); `connection.Client`
moves lines between it and a socket. The terminal UI (`hubbub.client.tui`) is
imported only when used, so the library does not pull in Textual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubbub.client import events
    from hubbub.client.connection import Client, ClientConfig, NotConnectedError, Subscription
    from hubbub.client.protocol import DEFAULT_CAPS, ClientProtocol

# Loaded on first use (PEP 562): `hubbub serve` builds the `chat` subcommand's parser from
# hubbub.client.cli, and the client's event classes alone cost some 25 ms of imports
# every server start would otherwise pay.
_HOMES = {
    "Client": "hubbub.client.connection",
    "ClientConfig": "hubbub.client.connection",
    "NotConnectedError": "hubbub.client.connection",
    "Subscription": "hubbub.client.connection",
    "DEFAULT_CAPS": "hubbub.client.protocol",
    "ClientProtocol": "hubbub.client.protocol",
}


def __getattr__(name: str) -> Any:
    if name == "events":
        return importlib.import_module("hubbub.client.events")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_CAPS",
    "Client",
    "ClientConfig",
    "ClientProtocol",
    "NotConnectedError",
    "Subscription",
    "events",
]
