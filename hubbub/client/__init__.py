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

from hubbub.client import events
from hubbub.client.connection import (
    Client,
    ClientConfig,
    NotConnectedError,
    Subscription,
)
from hubbub.client.protocol import DEFAULT_CAPS, ClientProtocol

__all__ = [
    "DEFAULT_CAPS",
    "Client",
    "ClientConfig",
    "ClientProtocol",
    "NotConnectedError",
    "Subscription",
    "events",
]
