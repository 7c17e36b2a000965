"""What the chat core needs from a store: the records it keeps, the writes it takes,
the questions it answers. The store package implements this interface; the core never
imports it.

Every method is a coroutine, so that a backend may be a thread-backed library (SQLite)
or an async driver (PostgreSQL) behind the same calls. Writes come in batches, one
transaction each, in the order given; a batch is what one event-loop iteration produced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import NamedTuple, Protocol


def dm_key(first: str, second: str) -> str:
    """The history key of the private conversation between two accounts (either order)."""
    a, b = sorted((first, second))
    return f"dm:{a} {b}"


class StoreError(Exception):
    """The store cannot be used (cannot be opened, is corrupt, is locked); the message
    says which file or server and why, in one line for the operator."""


class StoreBehind(StoreError):
    """A write is not committed yet and output no longer waits for it: the store is out
    of reach, or slow to answer. The store keeps the write and commits it, in order, when
    it answers again (and says at its close what it could not)."""


# -- records ------------------------------------------------------------------------------


class StoredMessage(NamedTuple):
    """One line of history, as it was relayed.

    `target` is the conversation's key: a channel's casefolded name, or for a private
    conversation between two accounts `dm:` and both account keys, sorted. `params` are
    the relayed line's parameters (`[#chan, text]`, `[reason]` for a QUIT...).
    """

    target: str
    msgid: str
    time: float
    command: str
    source: str  # nick!user@host
    account: str | None
    params: tuple[str, ...]
    tags: dict[str, str] | None  # client-only tags
    text: str  # what search looks in ("" for joins, parts...)


class AccountRecord(NamedTuple):
    key: str  # casefolded name
    name: str
    password_hash: str  # argon2id; "" for certificate-only accounts
    scram: str  # SCRAM-SHA-256 credentials, "salt:stored_key:server_key:iterations" in base64; "" if none
    email: str
    registered_at: float
    certfps: tuple[str, ...]
    vhost: str = ""  # HostServ's; "": none


class ChannelRecord(NamedTuple):
    """A registered channel: who owns it, and the settings that survive restarts."""

    key: str
    name: str
    founder: str  # account key
    registered_at: float
    topic: str
    topic_by: str
    topic_time: float
    modes: str  # flag letters
    join_key: str | None
    limit: int | None
    lists: tuple[tuple[str, str, str, int], ...]  # (letter, mask, set by, set at)
    access: tuple[tuple[str, str], ...]  # (account key, status letters it is given on join)
    flood: str | None = None  # +f's rule as MODE shows it (`*5:10`)
    join_flood: str | None = None  # +j's rule (`5:10`)


class KlineRecord(NamedTuple):
    mask: str
    reason: str
    set_by: str
    set_at: float
    expires: float | None


class Departure(NamedTuple):
    """When an account last left a channel (or was in it when the server stopped): what
    a rejoin's replay may skip (server/departures.py)."""

    account: str  # the account's key
    channel: str  # the channel's key
    time: float


class PutDepartures(NamedTuple):
    """Departures remembered at a stop; a later one of a pair wins."""

    departures: tuple[Departure, ...]


class Snapshot(NamedTuple):
    """What the chat state starts with."""

    accounts: list[AccountRecord]
    channels: list[ChannelRecord]
    klines: list[KlineRecord]
    closed: tuple[str, ...] = ()  # channels marked closed when the last run ended (ClosedChannel)
    latest_ms: int = 0  # the time of the latest message kept (ms): no new one is stamped before it
    decoy_secret: str = ""  # what SCRAM's made-up keys for unknown names derive from (sasl.py)
    # when accounts last left channels, as remembered at the last clean stop (departures.py)
    departures: tuple[Departure, ...] = ()
    others: int = 0  # other servers running on the same database (PostgreSQL), at the open
    live: tuple[str, ...] = ()  # unregistered channels that had not ended when the last run ended (LiveChannel)


# -- writes -------------------------------------------------------------------------------


class AddMessage(NamedTuple):
    message: StoredMessage


class DeleteMessage(NamedTuple):
    target: str
    msgid: str


class ForgetConversation(NamedTuple):
    """Everything kept under a conversation's key: its messages and the read markers on it."""

    target: str


class ClosedChannel(NamedTuple):
    """Whether a channel's history ends with it (secret, invite-only, keyed):
    kept so that a start after a crash can forget what a clean stop would have."""

    key: str
    closed: bool


class ForgetSilentChannel(NamedTuple):
    """A channel ended (its name is free again) at `time`: unless something was said in
    it (a PRIVMSG, NOTICE or TAGMSG kept under its name at or before `time`), what is
    kept of it up to then (joins, parts, mode changes...) goes, so that a client trying
    name after name (`JOIN #r1`, `PART #r1`, `JOIN #r2`...) leaves nothing behind. Only
    up to `time`: the next channel of the name may begin at once, its first join written
    before this is applied (by another node of a cluster, whose store commits apart)."""

    key: str
    time: float


class LiveChannel(NamedTuple):
    """An unregistered channel exists under this name: kept until it ends (ForgetSilentChannel,
    ForgetConversation), so that a start after a crash can end it as a clean stop would have."""

    key: str


class PutAccount(NamedTuple):
    account: AccountRecord


class PutVhost(NamedTuple):
    """An account's virtual host set ("": taken away), for the registration made at
    `registered_at` only. Written by itself, never as part of the account's row: a node
    that has not heard of the vhost (one started from the snapshot of a node of the
    version before, during a rolling upgrade) writes the row back without wiping it."""

    key: str
    registered_at: float
    vhost: str


class DeleteAccount(NamedTuple):
    """An account dropped, with what its name held. `registered_at` names the registration
    dropped (None: whichever is stored, as `hubbub account del` alone on the store means):
    in a shared store the row may already be another registration's of the name (written
    by another node before this write came), and then nothing is deleted
    (store/accounts.py)."""

    key: str
    registered_at: float | None = None


class PutChannel(NamedTuple):
    channel: ChannelRecord


class DeleteChannel(NamedTuple):
    key: str


class PutKline(NamedTuple):
    kline: KlineRecord


class DeleteKline(NamedTuple):
    mask: str


class ForgetExpiredKlines(NamedTuple):
    """The K-lines whose time ran out by `until`: written at each start, so that the
    table holds only those that can still match (a temporary K-line is not kept for
    ever; in a cluster another node's K-line set again on the same mask, expiring later,
    stays)."""

    until: float


class PutMarker(NamedTuple):
    account: str
    target: str
    time: float


class CopyMarkers(NamedTuple):
    """A channel renamed: each account's read marker for the old name holds for the new
    one too (the later one kept where both exist), as its members were told; the old
    name's history, and its markers, stay where they are."""

    source: str
    target: str


Write = (
    AddMessage | DeleteMessage | ForgetConversation | ForgetSilentChannel | ClosedChannel | LiveChannel | PutAccount
    | PutVhost | DeleteAccount | PutChannel | DeleteChannel | PutKline | DeleteKline | ForgetExpiredKlines | PutMarker
    | CopyMarkers | PutDepartures
)


# -- questions ----------------------------------------------------------------------------


class Ref(NamedTuple):
    """A point in a conversation: a message by its msgid, or a time (`kind` "msgid"/"time";
    a time stands for its whole millisecond, as clients give it). "instant": an applied
    event's own time, exact to the microsecond the store keeps (autoreplay's bounds)."""

    kind: str
    value: str | float


class HistoryQuery(NamedTuple):
    """CHATHISTORY: `mode` is before/after/latest/around/between. Bounds are exclusive;
    results come oldest first."""

    target: str
    mode: str
    first: Ref | None
    second: Ref | None
    limit: int
    events: bool  # joins, parts... too (draft/event-playback)


class SearchQuery(NamedTuple):
    targets: tuple[str, ...]  # the conversations searched (those the asker may read)
    text: str
    sender: str  # a nick, or ""
    after: float | None
    before: float | None
    limit: int


class Backlog(NamedTuple):
    """The writes a store has been handed and not committed yet."""

    waiting: int  # writes, most of them kept through an outage (StoreBehind)
    behind: bool  # output goes without waiting for commits (the store is out of reach or slow)
    let_go: int  # messages of history given up while too many writes were kept, since the start


class Store(Protocol):
    async def open(self) -> Snapshot:
        """Create or migrate the schema, then read what the chat state starts with."""

    def write(self, batch: Sequence[Write]) -> Awaitable[None]:
        """Apply `batch` in one transaction; when what this returns is done, it is
        durable. (A plain awaitable rather than a coroutine, so that a backend may hand
        back its own future: the server waits for one per event-loop iteration.)"""

    async def history(self, query: HistoryQuery) -> list[StoredMessage]: ...

    async def find(self, target: str, msgid: str) -> StoredMessage | None: ...

    async def targets(
        self, keys: Sequence[str], dm_account: str | None, after: float, before: float, limit: int,
        from_after: bool = False,
    ) -> list[tuple[str, float]]:
        """Of the conversations `keys` and the private ones of `dm_account`, those with
        messages in (after, before): each with the time of its latest one there, most
        recent first. `limit` of them counted from `before` down (the most recent), or
        with `from_after` from `after` up (chathistory: counted from the first bound)."""

    async def search(self, query: SearchQuery) -> list[StoredMessage]: ...

    async def marker(self, account: str, target: str) -> float | None: ...

    async def prune(self, older_than: float | None, per_target: int) -> int:
        """Retention: forget messages older than `older_than`, and beyond the newest
        `per_target` of each conversation; how many were forgotten."""

    async def ping(self) -> None:
        """Raise StoreError if the store cannot answer (readiness)."""

    def backlog(self) -> Backlog:
        """What waits to be committed (metrics)."""

    async def close(self) -> None: ...
