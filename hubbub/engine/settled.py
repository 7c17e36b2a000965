"""History reads in a cluster that see what other nodes relayed before them.

Each node stores what its own clients say (the recorder hears only its own events) and
commits it a moment after the log has carried it to every node: a member on node 1
sees a line from node 2 live while node 2's commit may still be on its way. A history
read on node 1 just then (the replay on JOIN, CHATHISTORY, SEARCH) would miss that line
although it came first: the joining user would get it neither live nor replayed.

So every node notes, for each other node, the last message of theirs it applied that
the store keeps (its history key and msgid), and a history read first waits until the
store holds each of those. A node commits its batches in order, so once its last
message is found all its earlier ones are in. The wait is bounded (`WAIT`): a node
whose commit failed, or that stopped before committing, must not hold reads up for
long; its missing lines stay missing, as docs/cluster.md says. Everything else about
the store is the store's own (writes, the node's own pending writes, which its reads
already wait for).

Read markers the same way: the node where MARKREAD was sent stores it, so a marker read
elsewhere (the recall at a login, the comparison of the next MARKREAD) first waits, as
long, until the store holds the latest marker this node had applied for that account and
conversation: an older one read then would be repeated to the account's other
connections as if it were the latest. A marker this node stores itself is not noted (its
reads wait for its own writes), and one of a node declared lost is no longer waited for:
what that node had not written never will be.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hubbub.config import HistorySection
from hubbub.irc.casemap import casefold
from hubbub.server.apply import Outcome
from hubbub.server.events import (
    AccountDropped,
    ChannelDropped,
    ChannelRenamed,
    Event,
    Kicked,
    MarkerSet,
    NodeLost,
    Parted,
    Redacted,
    Said,
    SaidMultiline,
    SaidToAccount,
    UserQuit,
)
from hubbub.server.state import ChatState
from hubbub.server.storage import Backlog, HistoryQuery, SearchQuery, Snapshot, Store, StoredMessage, Write, dm_key
from hubbub.server.user import node_of
from hubbub.store.recorder import kept_as
from hubbub.store.rows import to_ms

log = logging.getLogger("hubbub.cluster")

WAIT = 3.0  # seconds a read waits at most for other nodes' commits
POLL = (0.005, 0.01, 0.02, 0.05)  # seconds between looks, then the last one again
ENDINGS = (Parted, Kicked, UserQuit, ChannelRenamed, ChannelDropped)  # events after which a channel may be gone
DM_PREFIX = dm_key("", "")[:3]  # "dm:": a private conversation's key, never a channel's


class Elsewhere:
    """The subscriber that notes other nodes' last kept messages, and the wait for them."""

    def __init__(
        self, state: ChatState, node: Callable[[], str], history: Callable[[], HistorySection],
        source: Callable[[], str],
    ) -> None:  # fmt: skip
        self.state = state
        self.node = node  # this node's incarnation (it changes when the node rejoins)
        self.history = history  # this node's [history] (a reload may change it)
        self.source = source  # the node that published the event being applied (the one storing a marker)
        self.awaited: dict[str, tuple[str, str]] = {}  # node -> (history key, msgid) of its last kept message
        # (account key, history key) -> (time, node storing it) of the latest read marker
        # another node applied, until the store is seen holding it
        self.markers: dict[tuple[str, str], tuple[float, str]] = {}

    def __call__(self, event: Event, outcome: Outcome) -> None:
        if isinstance(event, (Said, SaidMultiline)):
            origin = node_of(event.uid)
            if outcome.rejected is None and origin != self.node():
                kept = kept_as(self.history(), event, outcome)
                if kept is not None:
                    self.awaited[origin] = (kept[0], event.msgid)
        elif outcome.rejected is not None:
            return  # nothing changed: nothing to wait for, nothing gone
        elif isinstance(event, SaidToAccount):
            origin, user = node_of(event.uid), outcome.user
            if origin != self.node() and self.history().enabled and user is not None and user.account is not None:
                self.awaited[origin] = (dm_key(user.account, event.account), event.msgid)
        elif isinstance(event, MarkerSet):
            pair = (event.account, event.target)
            origin, noted = self.source(), self.markers.get(pair)
            if noted is not None and event.time <= noted[0]:
                return  # not past the one awaited (markers only move on: the store keeps the latest)
            if origin == self.node():
                self.markers.pop(pair, None)  # the latest is ours now: our reads wait for our writes
            else:
                self.markers[pair] = (event.time, origin)
        elif isinstance(event, AccountDropped) and self.markers:
            for pair in [pair for pair in self.markers if pair[0] == event.key]:
                del self.markers[pair]  # its markers went with it
        elif isinstance(event, NodeLost):
            self.awaited.pop(event.node, None)  # what it did not commit never will be
            for pair in [pair for pair, (_, origin) in self.markers.items() if origin == event.node]:
                del self.markers[pair]
        elif isinstance(event, Redacted):
            for origin, ref in list(self.awaited.items()):
                if ref[1] == event.redacted:  # deleted: it will never be found
                    del self.awaited[origin]
        elif isinstance(event, ENDINGS) and (self.awaited or self.markers):
            # a channel that ended may take its history with it (a closed one, or one where
            # nothing was said: recorder.py `_ended`), its last line then never found: not waited for
            channels = self.state.channels
            for origin, (key, _) in list(self.awaited.items()):
                if not key.startswith(DM_PREFIX) and key not in channels:
                    del self.awaited[origin]
            if isinstance(event, ChannelRenamed):
                # the store copies the markers to the new name (CopyMarkers): awaited there
                new_key = casefold(event.new_name)
                for account, old_key in [k for k in self.markers if k[1] == casefold(event.channel)]:
                    moved = self.markers.pop((account, old_key))
                    there = self.markers.get((account, new_key))
                    if new_key in channels and (there is None or moved[0] > there[0]):
                        self.markers[(account, new_key)] = moved
            for marked in [k for k in self.markers if not k[1].startswith(DM_PREFIX) and k[1] not in channels]:
                del self.markers[marked]

    async def settle(self, store: Store) -> None:
        """Return once `store` holds the last kept message of every other node that this
        node had applied when the read was asked, or after `WAIT` seconds."""
        asked = dict(self.awaited)
        if not asked:
            return
        wanted = dict(asked)

        async def all_found() -> bool:
            for origin, (key, msgid) in list(wanted.items()):
                # a node lost meanwhile will never commit what it had not
                if origin not in self.state.nodes or await store.find(key, msgid) is not None:
                    del wanted[origin]
            return not wanted

        if not await _waited(all_found):
            log.warning("history read went ahead without %d message(s) other nodes had not stored "
                        "within %g s", len(wanted), WAIT)  # fmt: skip
        for origin, ref in asked.items():
            if self.awaited.get(origin) == ref:
                del self.awaited[origin]  # found (or given up on) once: later reads need not look again

    async def settle_marker(self, store: Store, account: str, target: str) -> None:
        """Return once `store` holds the latest marker this node applied for `account` in
        `target` (or a later one), or after `WAIT` seconds."""
        key = (account, target)
        wanted = self.markers.get(key)
        if wanted is None:
            return

        async def found() -> bool:
            if self.markers.get(key, wanted)[1] not in self.state.nodes:
                return True  # its node was lost meanwhile: what it did not write never will be
            held = await store.marker(account, target)
            return held is not None and to_ms(held) >= to_ms(wanted[0])

        if not await _waited(found):
            log.warning("read marker read went ahead without the one another node had not stored within %g s",
                        WAIT)  # fmt: skip
        if self.markers.get(key) == wanted:
            del self.markers[key]  # seen (or given up on) once: later reads need not look again


async def _waited(done: Callable[[], Awaitable[bool]]) -> bool:
    """Look whether `done()` until it is, POLL apart, for `WAIT` seconds at most; whether it was."""
    deadline = asyncio.get_running_loop().time() + WAIT
    looks = 0
    while not await done():
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(POLL[min(looks, len(POLL) - 1)])
        looks += 1
    return True


class SettledReads:
    """A store whose history reads first wait for other nodes' commits (see above)."""

    def __init__(self, store: Store, elsewhere: Elsewhere) -> None:
        self.store = store
        self.elsewhere = elsewhere

    async def open(self) -> Snapshot:
        return await self.store.open()

    def write(self, batch: Sequence[Write]) -> Any:
        return self.store.write(batch)

    async def history(self, query: HistoryQuery) -> list[StoredMessage]:
        await self.elsewhere.settle(self.store)
        return await self.store.history(query)

    async def find(self, target: str, msgid: str) -> StoredMessage | None:
        await self.elsewhere.settle(self.store)
        return await self.store.find(target, msgid)

    async def targets(
        self, keys: Sequence[str], dm_account: str | None, after: float, before: float, limit: int,
        from_after: bool = False,
    ) -> list[tuple[str, float]]:  # fmt: skip
        await self.elsewhere.settle(self.store)
        return await self.store.targets(keys, dm_account, after, before, limit, from_after)

    async def search(self, query: SearchQuery) -> list[StoredMessage]:
        await self.elsewhere.settle(self.store)
        return await self.store.search(query)

    async def marker(self, account: str, target: str) -> float | None:
        await self.elsewhere.settle_marker(self.store, account, target)
        return await self.store.marker(account, target)

    async def prune(self, older_than: float | None, per_target: int) -> int:
        return await self.store.prune(older_than, per_target)

    async def ping(self) -> None:
        await self.store.ping()

    def backlog(self) -> Backlog:
        return self.store.backlog()

    async def close(self) -> None:
        await self.store.close()
