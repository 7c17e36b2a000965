"""Fixtures for the client tests: clients of our library connected to a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from hubbub.app import Runtime
from hubbub.client import Client, ClientConfig, Subscription
from tests.client.ircv3_peer import IRCv3Peer
from tests.helpers import LOBBY_CREATOR_OP

try:
    from textual._styles_cache import StylesCache
except ImportError:  # a private module of Textual's: gone, there is nothing to empty
    StylesCache = None  # type: ignore[assignment,misc]
# None where a Textual no longer caches it that way.
_empty_styles_cache = getattr(getattr(StylesCache, "get_inner_outer", None), "cache_clear", None)


@pytest.fixture(autouse=True)
def _textual_styles_cache_emptied() -> Iterator[None]:
    """Textual (8.2) caches `StylesCache.get_inner_outer` with `lru_cache` on the method,
    so its 1,024 entries keep as many widgets' style caches alive, with every line they
    drew: after a few dozen apps, some 400,000 objects that each of the worker's full
    garbage collections walked again (0.8 s apiece), and pytest's five at its exit
    outlasted what xdist waits for a worker to end. Emptied after each test."""
    yield
    if _empty_styles_cache is not None:
        _empty_styles_cache()


# Quick to give up and quick to come back, so tests of failure stay fast.
FAST = {"reconnect_delay": 0.05, "reconnect_max_delay": 0.2, "connect_timeout": 5.0,
        "registration_timeout": 5.0}


def config_for(runtime: Runtime, nick: str, **overrides: object) -> ClientConfig:
    host, port = runtime.irc_address()
    settings: dict[str, object] = {"host": host, "port": port, "nick": nick, **FAST}
    settings.update(overrides)
    return ClientConfig(**settings)  # type: ignore[arg-type]


MakeClient = Callable[..., Awaitable[tuple[Client, Subscription]]]
MakeServer = Callable[..., Awaitable[Runtime]]


@pytest.fixture
def make_server(make_server: MakeServer) -> MakeServer:
    """Servers (the `server` fixture's too) whose #lobby, the channel the terminal client
    joins first, makes its creator op as any other channel: these tests show a channel's
    statuses as the client draws them. (The server's default gives it none:
    tests/e2e_channels/test_default_channel.py.)"""

    async def make(*overrides: str) -> Runtime:
        return await make_server(LOBBY_CREATOR_OP, *overrides)

    return make


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """`client, events = await make_client(runtime, "alice", channels=("#a",))`.

    The client is connected and registered (unless `connect=False`); `events` holds
    everything it reported from before connecting. All are closed at the end.
    """
    made: list[Client] = []

    async def make(runtime: Runtime, nick: str, *, connect: bool = True,
                   **overrides: object) -> tuple[Client, Subscription]:
        client = Client(config_for(runtime, nick, **overrides))
        made.append(client)
        events = client.subscribe()
        if connect:
            await client.connect(timeout=10)
        return client, events

    yield make
    for client in made:
        await client.close()


@pytest.fixture
async def ircv3_peer() -> AsyncIterator[IRCv3Peer]:
    """A scripted IRCv3 server (SASL, chathistory): account alice/wonderland, history in #past."""
    peer = IRCv3Peer({"alice": "wonderland"}, {"#past": [("bob", "first!"), ("carol", "second")]})
    yield peer
    await peer.stop()
