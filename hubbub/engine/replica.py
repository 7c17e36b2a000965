"""The clustered engine's logic, without I/O: one node's replica fed by the shared log.

Every node appends the events its handlers emit to one log (a Redis Stream; redis.py
does the I/O) and applies the log's entries, everyone's, in the log's order: the
log's order is the network's order, so every replica applies the same events in the
same order and stays equal to the others. An event emitted here waits in the outbox
until it is published, then comes back through the log like anyone's; only then is
it applied, and its `then` called: a nick claim or a channel's creation is settled by
the log, never by two nodes each believing they won. Its origin's later lines wait
meanwhile (`Origin.hold_input`), so that a client's replies keep their order and a
labeled command's reply still holds what its events caused.

Each entry names the entry before it (`prev`): a replica that finds the log does not
continue where it stopped (entries trimmed away while it was behind, a Redis that lost
its data) raises `Gap` instead of diverging, and the driver starts it again from a
snapshot. Each node numbers its entries (`seq`), so that one published twice (a publish
retried after a lost reply, or an entry a log made again after Redis lost its data holds
again) is applied once. Entries from a node the network has declared lost are ignored,
by every replica alike, and so is its arrival (`NodeUp`) should a log made again hold it
once more: a replica remembers the incarnations it saw leave (`departed`), since their
numbers are no longer kept to tell an entry it applied from one it did not.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from hubbub.engine import snapshot
from hubbub.server.apply import APPLIERS, Outcome, ordered, rejected
from hubbub.server.engine import Subscriber, Then
from hubbub.server.events import (
    AddressSet,
    AwaySet,
    ChannelModesSet,
    ChannelRenamed,
    DigestAsked,
    Event,
    HostSet,
    Invited,
    Joined,
    Kicked,
    KlineAdded,
    KlineRemoved,
    Knocked,
    MarkerSet,
    MetadataCleared,
    MetadataSet,
    NickSet,
    NodeLost,
    NodeUp,
    Parted,
    RealnameSet,
    Redacted,
    Said,
    SaidMultiline,
    SaidToAccount,
    Synced,
    TopicSet,
    UserModesSet,
    UserQuit,
    Wallops,
)
from hubbub.server.state import ChatState
from hubbub.server.user import node_of

log = logging.getLogger("hubbub.cluster")

START = "0-0"  # the position before a log's first entry
LOST_TEXT = "This server lost contact with the network"
BEHIND_TEXT = "This server fell behind the network"
RECENT = 20000  # entries kept after applying them, to publish again if Redis loses the log
# Departures remembered (the latest). An entry a log made again holds once more is among
# the last RECENT entries applied by the node that made it, or by one that read past it:
# within 2 * RECENT entries of where this replica stands, and fewer departures than
# that fit there (each is an entry), so none that could come back is forgotten.
DEPARTURES_KEPT = 2 * RECENT

# The command a client sent, by the event it made: named when its event is refused.
# Left out (FAIL *): the events more than one command makes: registration's (NICK, USER
# or CAP END ends it), the accounts', ChanServ's and HostServ's (the services are
# reached by PRIVMSG as by NS, CS, HS, REGISTER or AUTHENTICATE).
COMMANDS: dict[type[Any], str] = {
    NickSet: "NICK", Joined: "JOIN", Parted: "PART", Kicked: "KICK", TopicSet: "TOPIC",
    ChannelModesSet: "MODE", UserModesSet: "MODE", Invited: "INVITE", Knocked: "KNOCK", AwaySet: "AWAY",
    RealnameSet: "SETNAME", Wallops: "WALLOPS", UserQuit: "QUIT",
    MarkerSet: "MARKREAD", Redacted: "REDACT", ChannelRenamed: "RENAME", MetadataSet: "METADATA",
    MetadataCleared: "METADATA", KlineAdded: "KLINE", KlineRemoved: "UNKLINE", DigestAsked: "DIGEST",
    AddressSet: "WEBIRC", HostSet: "CHGHOST", SaidToAccount: "PRIVMSG",
}  # fmt: skip


class Origin(Protocol):
    """The local connection an event comes from (server.connection.Connection)."""

    def hold_input(self) -> None: ...

    def resume_reply(self) -> None: ...

    def release_input(self) -> None: ...

    def fail(self, command: str, code: str, *context_and_text: str) -> None: ...


class Entry(NamedTuple):
    id: str  # its position in the log
    prev: str  # the position of the entry before it
    node: str  # the incarnation that published it
    seq: int  # that node's number for it
    event: Event | None  # None: not an event this node can read (skipped by every replica alike)


class Gap(Exception):
    """The log does not continue where this replica stopped."""


class Waiting(NamedTuple):
    origin: Origin | None
    then: Then | None


def command_of(event: Event) -> str:
    if type(event) is Said or type(event) is SaidMultiline:  # PRIVMSG, NOTICE, TAGMSG
        return event.command
    return COMMANDS.get(type(event), "*")


def node_quits(state: ChatState, lost: NodeLost) -> list[UserQuit]:
    """The quits a lost node's users get, in uid order (the same on every replica)."""
    uids = sorted(uid for uid in state.users if node_of(uid) == lost.node)
    unseen = set(lost.unseen)
    return [UserQuit(uid, lost.reason, lost.time, f"{lost.msgid}q{i:x}", seen=0.0 if uid in unseen else lost.seen)
            for i, uid in enumerate(uids)]  # fmt: skip


class Replica:
    """The Engine of a node in a cluster (see server/engine.py for the interface)."""

    def __init__(self, state: ChatState, node: str) -> None:
        self.state = state
        self.node = node  # our incarnation: the prefix of our users' uids
        self.own = False  # the entry being applied is ours (the store records only those)
        self.source = ""  # the node that published the entry being applied (settled.py's markers)
        # What subscribers keep beside the state and learn from the log alike on every node
        # (the accounts' departures): name -> (dump, load), carried by snapshots so that a
        # node starting from one knows what the log taught the others before it came
        self.extras: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {}
        self.ceiling_us = 0  # the latest time (µs) the entry being applied may show
        self.last_id = START  # the position of the last entry applied
        self.seqs: dict[str, int] = {}  # node -> the highest seq applied from it
        # Incarnations the log declared lost or that left, oldest first: none of them
        # speaks again, and what a log made again holds of them is not applied again
        # (their arrival would bring them back, their users with it, for a second loss)
        self.departed: dict[str, None] = {}
        self.seq = 0  # the last seq we gave
        self.outbox: list[tuple[int, Event]] = []  # emitted and not applied yet, in order
        self.sent = 0  # the last seq published (what follows in the outbox is not)
        self.waiting: dict[int, Waiting] = {}  # seq -> who waits for that event to be applied
        self.refusing: str | None = None  # set while the log cannot be reached: why events are refused
        self.wake: Callable[[], None] = lambda: None  # tells the publisher the outbox has something
        self.lost: Callable[[], None] = lambda: None  # called when the network declared this node lost
        # called just before that node's users quit here: its clients are told why and let
        # go first (not shown each neighbour leaving, one by one, before their own end)
        self.losing: Callable[[], None] = lambda: None
        self.applied = 0  # entries applied since this replica started
        # The last restore jumped over entries this replica never applied: its local
        # clients were never shown them, so reconcile.py disconnects them all.
        self.skipped = False
        # The last entries applied, as the log had them: should Redis lose the log, every
        # node publishes these again into the new one (each is applied once anyway), so
        # that what one node applied reaches those that had not read it yet.
        self.recent: deque[Entry] = deque(maxlen=RECENT)
        self._subscribers: list[Subscriber] = []
        self._own_subscribers: list[Subscriber] = []

    # -- Engine --------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def subscribe_own(self, subscriber: Subscriber) -> None:
        """A subscriber that hears only the events this node published (the store's
        recorder: every node shares one store, and each event is written once)."""
        self._own_subscribers.append(subscriber)

    def reroute(self) -> None:
        """Nothing kept: every subscriber hears of every event here."""

    def emit(self, origin: Origin | None, event: Event, then: Then | None = None) -> None:
        if self.refusing is not None and (origin is not None or then is not None):
            if origin is not None:
                origin.hold_input()
            self._refuse(Waiting(origin, then), event, self.refusing)
            return
        self.seq += 1
        self.outbox.append((self.seq, event))
        if origin is not None or then is not None:
            self.waiting[self.seq] = Waiting(origin, then)
            if origin is not None:
                origin.hold_input()
        self.wake()

    # -- the publisher's side ------------------------------------------------------------

    def _first_unsent(self) -> int:
        outbox, sent = self.outbox, self.sent
        i = 0
        while i < len(outbox) and outbox[i][0] <= sent:
            i += 1
        return i

    def unsent(self, limit: int) -> list[tuple[int, Event]]:
        """The next events to publish, oldest first."""
        first = self._first_unsent()
        return self.outbox[first : first + limit]

    def unpublished(self) -> int:
        """How many events wait to be published (for the metrics)."""
        return len(self.outbox) - self._first_unsent()

    def published(self, seq: int) -> None:
        """The events up to `seq` are in the log now (they stay in the outbox until they
        come back: a log that loses them gets them again)."""
        self.sent = max(self.sent, seq)

    def joining(self) -> set[str]:
        """The users of this node with a JOIN emitted and not applied yet: at a clean
        stop, the others apply it after the cut (`NodeLost.seen`), so those users were
        never shown that channel until then (server/departures.py)."""
        return {event.uid for _, event in self.outbox if type(event) is Joined}

    def refuse_waiting(self, why: str) -> None:
        """The log is out of reach for too long: what clients wait for and has not gone
        out is refused, each sender told (housekeeping, such as a quit, stays queued)."""
        first = self._first_unsent()
        kept = self.outbox[:first]
        for seq, event in self.outbox[first:]:
            waiting = self.waiting.pop(seq, None)
            if waiting is None:
                kept.append((seq, event))
            else:
                self._refuse(waiting, event, why)
        self.outbox = kept

    def _refuse(self, waiting: Waiting, event: Event, why: str) -> None:
        origin, then = waiting
        if origin is not None:
            origin.resume_reply()
            if type(event) is Synced and then is not None:
                then(rejected("unavailable"))  # a read waiting to catch up answers in its own words
            else:
                origin.fail(command_of(event), "TEMPORARILY_UNAVAILABLE", why)
                if type(event) is Joined and then is not None:
                    then(rejected("unavailable"))  # a JOIN of several channels goes on to the next
            origin.release_input()
        elif then is not None:
            then(rejected("unavailable"))

    # -- the reader's side ---------------------------------------------------------------

    def receive(self, entries: Iterable[Entry]) -> None:
        """Apply entries read from the log, in its order; raises Gap when the log does not
        continue where this replica stopped (nothing of that entry is applied)."""
        for entry in entries:
            if entry.prev != self.last_id:
                raise Gap(f"entry {entry.id} follows {entry.prev}; this node stopped at {self.last_id}")
            self.last_id = entry.id
            self.applied += 1
            event = entry.event
            if event is None or entry.seq <= self.seqs.get(entry.node, 0):
                continue  # unreadable, or a publish retried after its reply was lost
            if entry.node not in self.state.nodes and (type(event) is not NodeUp or entry.node in self.departed):
                continue  # a late entry of a node declared lost, or one a log made again holds again
            self.seqs[entry.node] = entry.seq
            self.recent.append(entry)
            self.source = entry.node
            mine = entry.node == self.node
            waiting = None
            if mine:
                waiting = self.waiting.pop(entry.seq, None)
                self._done_up_to(entry.seq)
            # the end of the entry's millisecond by Redis's clock (ids are `ms-seq`): no
            # event of it is stamped later (apply.in_time_order)
            self.ceiling_us = int(entry.id.partition("-")[0]) * 1000 + 999
            self._apply(event, mine, waiting)

    def _apply(self, event: Event, mine: bool, waiting: Waiting | None) -> None:
        origin = waiting.origin if waiting is not None else None
        self.own = mine
        try:
            if origin is not None:
                origin.resume_reply()
            if type(event) is NodeLost:
                if event.node == self.node:
                    self.losing()
                quits = node_quits(self.state, event)
                name = self.state.nodes.get(event.node)
                if event.node != self.node and name is not None:  # every node's log says it, a clean stop too
                    log.info("node %s (%s) left the network (%s): %d of its users quit", name, event.node,
                             event.reason, len(quits))  # fmt: skip
                for quit in quits:
                    self._deliver(quit, mine)
                self._departs(event.node)
            outcome = self._deliver(event, mine)
            if waiting is not None and waiting.then is not None:
                waiting.then(outcome)
        except Exception:  # a bug of ours: this event's effects stop here, on every node alike
            log.exception("internal error applying %s", type(event).__name__)
        finally:
            self.own = False
            if origin is not None:
                origin.release_input()
        if type(event) is NodeLost and event.node == self.node:
            self.lost()

    def _deliver(self, event: Event, mine: bool) -> Outcome:
        event = ordered(self.state, event, self.ceiling_us)
        outcome = APPLIERS[type(event)](self.state, event)
        for subscriber in self._subscribers:
            subscriber(event, outcome)
        if mine:
            for subscriber in self._own_subscribers:
                subscriber(event, outcome)
        return outcome

    def _departs(self, node: str) -> None:
        """Forget a node's numbering and remember that it left, for DEPARTURES_KEPT departures."""
        self.seqs.pop(node, None)
        self.departed[node] = None
        while len(self.departed) > DEPARTURES_KEPT:
            del self.departed[next(iter(self.departed))]

    def _done_up_to(self, seq: int) -> None:
        outbox = self.outbox
        done = 0
        while done < len(outbox) and outbox[done][0] <= seq:
            done += 1
        if done:
            del outbox[:done]

    # -- starting over -------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Where this replica stands, for another node to start from."""
        extras = {name: dump() for name, (dump, _) in self.extras.items()}
        return {"id": self.last_id, "seqs": dict(self.seqs), "departed": list(self.departed),
                "state": snapshot.dump(self.state), "extras": extras}  # fmt: skip

    def restore(self, data: dict[str, Any], skipped: bool = False) -> None:
        """Start again from another node's snapshot. Events of ours that it holds are
        done; those it lacks go out again.

        `skipped`: the snapshot stands past entries this replica never applied (it fell
        behind a trimmed log, or the snapshot is of a new log it did not read). Its local
        clients missed those entries and are to be disconnected (reconcile.py), so nobody
        waits for their events any more: each origin gets the replies that were waiting
        and its input back (its ERROR must not wait behind an event), and its events
        still to apply go out as they are. An event the snapshot holds was applied
        without this node seeing its outcome: a `then` of no connection (a connection's
        arrival, say) is told it is unavailable rather than left waiting for ever."""
        snapshot.load_into(self.state, data["state"])
        extras = data.get("extras")  # a snapshot of an older node has none
        for name, (_, load) in self.extras.items():
            if isinstance(extras, dict) and name in extras:
                load(extras[name])
        self.recent.clear()
        self.last_id = data["id"]
        self.seqs = {node: int(seq) for node, seq in data["seqs"].items()}
        # absent: written by a node of a version before it, which forgot who left
        self.departed = dict.fromkeys(data.get("departed", ()))
        self.skipped = skipped
        done = self.seqs.get(self.node, 0)
        self._done_up_to(done)
        self.sent = done
        for seq in sorted(self.waiting):
            if seq > done and (not skipped or self.waiting[seq].origin is None):
                continue  # applied when it comes back through the log, its `then` with it
            origin, then = self.waiting.pop(seq)
            if origin is not None:
                origin.resume_reply()
                origin.release_input()
            elif then is not None:
                then(rejected("unavailable"))

    def new_log(self) -> list[Entry]:
        """The log was lost and a new one begins: this replica reads it from its start,
        what it emitted and did not see applied goes out again; the entries it applied
        lately are returned (to publish again for the others) and forgotten here."""
        tail = list(self.recent)
        self.recent.clear()
        self.last_id = START
        self.sent = self.seqs.get(self.node, 0)
        return tail

    def rejoin(self, node: str) -> None:
        """Take a new incarnation (the old one was declared lost): what the old one had
        emitted and not published is refused, its senders told."""
        for seq, event in self.outbox:
            waiting = self.waiting.pop(seq, None)
            if waiting is not None:
                self._refuse(waiting, event, LOST_TEXT)
        for waiting in self.waiting.values():
            if waiting.origin is not None:
                waiting.origin.release_input()
        self.outbox = []
        self.sent = 0
        self.waiting = {}
        self.node = node
        self.seq = 0
