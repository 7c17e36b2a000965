"""One local connection: what this node knows of a client that the network need not.

The user (user.py) is chat state, the same on every node. The connection is this
node's alone: the capabilities the client negotiated, its registration, the labeled
reply and the batch it has open, its keepalive timers, and its output form. Replies
go out through the output form (output.py), never straight to a socket; a labeled
command's replies are collected first (labels.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, NamedTuple, Protocol

from hubbub.irc.message import MAX_LINE_BODY, Message, pack, reply_params
from hubbub.server.delivery import (
    WANTS_ACCOUNT,
    WANTS_MULTILINE,
    WANTS_TAGS,
    WANTS_TIME,
    server_time,
    with_tags,
)
from hubbub.server.labels import LabeledResponse
from hubbub.server.output import Deliverable, Link, Output
from hubbub.server.registration import Registration
from hubbub.server.silence import SilenceList
from hubbub.server.user import EMPTY, NONE, User

# capability -> the tag bit it turns on
TAG_CAPS = {"server-time": WANTS_TIME, "message-tags": WANTS_TAGS, "account-tag": WANTS_ACCOUNT}

# A paced reply with a label is collected as any labeled reply until it has more rows
# than this: one row is sent with the label on it; from the second, the reply goes out
# as a labeled-response batch opened then (as finish_label would make it, but open).
_LABELED_ROWS = 1
READ_MARKER = "draft/read-marker"
# A client with it fetches what it missed itself (a login replays it nothing: departures.py)
CHATHISTORY = "draft/chathistory"



def marker_value(when: float | None) -> str:
    """A read marker as MARKREAD gives it: `timestamp=...`, or `*` for none."""
    return "timestamp=" + server_time(when) if when is not None else "*"


class LateMarker(NamedTuple):
    """In what is held for a connection (see hold_deliveries): the MARKREAD of channel
    `key`, shown as `name`, as the connection will know it once what it waits for (its
    markers being read, Services.recall_markers) is done; nothing if it does not then."""

    key: str
    name: str


# messages held for a connection while its JOIN's reply waits for the store, at most:
# past it, they go out as they come (a flood would otherwise grow without bound)
WAITING_LIMIT = 1000


def _in_batch(rows: Iterator[Message], ref: str, server: str) -> Iterator[Message]:
    inside = {"batch": ref}
    for message in rows:
        yield with_tags(inside, message)
    yield Message("BATCH", ["-" + ref], server)


class OpenBatch(Protocol):
    """A batch a client has opened (handlers/multiline.py): the lines tagged for it go here."""

    ref: str
    failed: bool  # refused: its remaining lines are swallowed

    def fail(self, ctx: Any, code: str, *params: str) -> None:
        """Refuse the batch (FAIL BATCH), then swallow the rest of it."""


class Connection:
    __slots__ = (
        "user", "link", "output", "raw", "fast", "server", "caps", "cap_version", "tag_mask", "labeled",
        "batch", "registration", "monitoring", "metadata_subs", "last_activity", "ping_sent", "quit_reason",
        "sasl", "login_failures", "enforce_at", "ordering", "deferred", "held", "applying", "waiting", "passing",
        "release_pending", "capturing", "markers", "silence", "__weakref__",
    )  # fmt: skip

    def __init__(self, user: User, link: Link, output: Output, server: str, now: float) -> None:
        self.user = user
        self.link = link
        self.server = server  # our name: the source of numerics
        self.output = output
        self.raw = output.raw  # where relayed IRC bytes may be written as they are (output.py)
        # `raw` while nothing else applies (no labeled reply open, not leaving): the one
        # attribute the delivery loop reads to write a shared message as it is.
        self.fast: Link | None = output.raw
        # Both are replaced, never changed in place: shared while empty (see User.modes).
        self.caps = NONE
        self.cap_version = 0
        self.tag_mask = 0  # which tags relayed messages carry for us (see delivery.py)
        self.labeled: LabeledResponse | None = None  # collects a labeled command's replies
        self.batch: OpenBatch | None = None  # a draft/multiline batch being received
        self.registration = Registration()
        # MONITOR list: casefolded nick -> nick as given (a dict of its own once used)
        self.monitoring = EMPTY
        self.metadata_subs = NONE  # the metadata keys subscribed to (METADATA SUB)
        # SILENCE list (silence.py): None while empty, the one test a private message pays
        self.silence: SilenceList | None = None
        self.sasl: object | None = None  # a SASL exchange in progress (handlers/sasl.py)
        # times of this connection's failed or refused logins (and OPERs), the oldest first;
        # those older than accounts.login_window are forgotten (logins.py). Made at the
        # first login attempt: an empty deque is some 600 bytes, a quarter of an idle client
        self.login_failures: deque[float] | None = None
        self.enforce_at: float | None = None  # when a registered nick used without logging in is taken back
        self.last_activity = now
        self.ping_sent = False
        self.quit_reason: str | None = None  # set once the client is leaving
        self.ordering = 0  # our events a clustered engine has yet to apply (see hold_input)
        self.deferred: LabeledResponse | None = None  # a labeled reply waiting for them
        # per such event: the replies sent after it (None when none waits: most of the time)
        self.held: deque[list[Message]] | None = None
        self.applying = False  # one of them is being applied: its replies go out now
        # messages shared with others, held while a JOIN's reply waits for the store (see
        # hold_deliveries); None nearly always
        self.waiting: list[Deliverable | Message | LateMarker] | None = None
        self.passing = False  # the waiting command's own continuation runs: its output goes out
        self.release_pending = False  # release what waits once the labeled reply is out
        self.capturing: list[Message] | None = None  # what `send` sends is kept here instead
        # draft/read-marker: the marker last told per channel one is in (see told_marker)
        self.markers: dict[str, float | None] | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.user.nick} {self.user.ip}>"

    @property
    def nick(self) -> str:
        return self.user.nick

    @property
    def registered(self) -> bool:
        return self.registration.registered

    @property
    def gone(self) -> bool:
        return self.quit_reason is not None

    def set_output(self, output: Output) -> None:
        """Change the output form (the plain text mode decides on the first line)."""
        self.output = output
        self.raw = output.raw
        self._refresh_fast()

    def _refresh_fast(self) -> None:
        self.fast = self.raw if self.labeled is None and self.quit_reason is None and self.waiting is None else None

    def leave(self, reason: str) -> None:
        """Mark the connection as leaving: from now on nothing more is sent to it."""
        self.quit_reason = reason
        self.fast = None

    # -- output --------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Send one message meant for this client alone."""
        if self.capturing is not None:
            self.capturing.append(message)
            return
        if self.quit_reason is not None:
            return
        if self.ordering and not self.applying:  # after an event of ours still being ordered
            assert self.held is not None
            self.held[-1].append(message)
            return
        if self.labeled is not None:
            self.labeled.items.append(message)
        else:
            self.output.send(message)

    def send_last(self, message: Message) -> None:
        """The last message before the connection closes (its ERROR): out now, not
        behind the replies still waiting for the network's order, which will never go."""
        self.send_now(message)

    def send_now(self, message: Message) -> None:
        """A message meant for this client alone, out now: not held behind the replies
        to its own events still waiting for the network's order (a cluster)."""
        applying, self.applying = self.applying, True
        try:
            self.send(message)
        finally:
            self.applying = applying

    def deliver(self, out: Deliverable) -> None:
        """Send a message shared with other recipients, in the form this client wants."""
        fast = self.fast
        if fast is not None:
            fast.write(out.irc_bytes(self.tag_mask))
            return
        if self.quit_reason is not None:
            return
        waiting = self.waiting
        if waiting is not None and not (self.passing or self.applying):
            if len(waiting) < WAITING_LIMIT:
                waiting.append(out)
                return
            self.release_deliveries()  # a flood meanwhile: its order is given up, not memory
        if self.labeled is not None:
            self.labeled.items.append(out)
        else:
            self.output.deliver(out, self.tag_mask)

    def deliver_unlabeled(self, out: Deliverable) -> None:
        """Deliver, never as part of a labeled reply: a message a client sent to itself
        arrives as a delivery (unlabeled) besides its echo (labeled-response)."""
        labeled = self.suspend_label()
        try:
            self.deliver(out)
        finally:
            self.resume_label(labeled)

    def numeric(self, code: str, *params: str) -> None:
        """A numeric reply: the server is the source and our nick the first parameter."""
        self.send(self.numeric_row(code, *params))

    def numeric_row(self, code: str, *params: str) -> Message:
        """The numeric reply `numeric` sends, to be sent later (a paced reply's row)."""
        return Message(code, reply_params((self.user.nick, *params)), self.server)

    def numeric_list(self, code: str, params: list[str], items: list[str]) -> None:
        """`code` with `params` and the space-separated `items` as its last parameter, in
        as many lines as keep each within 512 bytes (nothing when there are no items):
        NAMES and WHOIS channel lists grow with the chat."""
        for row in self.numeric_list_rows(code, params, items):
            self.send(row)

    def numeric_list_rows(self, code: str, params: list[str], items: list[str]) -> list[Message]:
        """The lines `numeric_list` sends, to be sent later (a paced reply's rows)."""
        head = f":{self.server} {code} {self.user.nick} {' '.join(params)} :"
        budget = MAX_LINE_BODY - len(head.encode())
        return [self.numeric_row(code, *params, " ".join(line)) for line in pack(items, budget)]

    def server_message(self, command: str, *params: str) -> None:
        self.send(Message(command, list(params), self.server))

    def fail(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply (`FAIL <command> <code> [context...] :text`)."""
        self.send(Message("FAIL", reply_params((command, code, *context_and_text)), self.server))

    def warn(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply: the command worked, with something worth knowing (`WARN`)."""
        self.send(Message("WARN", reply_params((command, code, *context_and_text)), self.server))

    def note(self, command: str, code: str, *context_and_text: str) -> None:
        """A standard reply that only informs (`NOTE`)."""
        self.send(Message("NOTE", reply_params((command, code, *context_and_text)), self.server))

    # -- draft/read-marker ------------------------------------------------------------------

    def told_marker(self, key: str, when: float | None) -> None:
        """Remember the read marker last sent for channel `key`: a RENAME shown as PART and
        JOIN must repeat it before its end of NAMES, without waiting for the store in the
        middle of others' lines. Every change of the account's marker is sent to each of
        its connections with the capability, so what was last told is the marker. Only
        for channels one is in; those left are forgotten once they outnumber the rest."""
        channels = self.user.channels
        if key not in channels:
            return
        markers = self.markers
        if markers is None:
            markers = self.markers = {}
        markers[key] = when
        if len(markers) > 2 * len(channels) + 8:
            for left in [name for name in markers if name not in channels]:
                del markers[left]

    def marker_told(self, key: str) -> tuple[bool, float | None]:
        """(whether a marker was told for channel `key`, the marker)."""
        markers = self.markers
        if markers is None or key not in markers:
            return False, None
        return True, markers[key]

    # -- replies longer than the sendq ---------------------------------------------------

    def paced(self, rows: Iterable[Message], patience: float, then: Callable[[], None] | None = None,
              pausing: Callable[[], None] | None = None) -> None:
        """Send a reply that may be longer than the client's sendq (a LIST of a big
        network, a WHO of a big channel) as the client reads it, as ircds that advertise
        SAFELIST do: rows are written while what is unsent for the client stays under
        half its sendq, and the rest once it has read most of that. Its later lines wait
        meanwhile, so replies keep their order; what others send it goes out between rows.
        `rows` is read lazily, the end numeric included: the reply's last word. Labeled,
        a reply of more than one row goes out as a `labeled-response` batch, opened at
        its second row and closed after its last.

        For part of a longer reply (a JOIN's NAMES of a big channel): `then` goes on with
        the reply once every row is written (what it sends comes after the batch,
        unlabeled), and `pausing` is called if the rows must wait for the client to read
        (to hold what others send meanwhile, which could contradict rows taken earlier)."""
        rows = iter(rows)
        labeled = self.labeled
        if labeled is not None:
            for message in rows:
                self.send(message)
                if len(labeled.items) > _LABELED_ROWS:
                    rows = self._open_label(labeled, rows)
                    break
        self._pace(rows, patience, False, then, pausing)

    def _pace(self, rows: Iterator[Message], patience: float, holding: bool,
              then: Callable[[], None] | None = None, pausing: Callable[[], None] | None = None) -> None:
        link = self.link
        for message in rows:
            if self.quit_reason is not None:
                if holding:
                    link.release_input()
                return
            self.send(message)
            if not link.has_room():
                if not holding:
                    link.hold_input()
                    if pausing is not None:
                        pausing()
                link.when_drained(partial(self._pace, rows, patience, True, then, pausing), patience)
                return
        if then is not None and self.quit_reason is None:
            # before the client's next lines: the rest of the reply is the command's (it may
            # hold again), and its output passes what is held from others (as Context.Later's)
            passing, self.passing = self.passing, True
            try:
                then()
            finally:
                self.passing = passing
        if holding:
            link.release_input()

    def _open_label(self, labeled: LabeledResponse, rows: Iterator[Message]) -> Iterator[Message]:
        """Send what the labeled reply holds as the start of its batch; the rows to come,
        in it, and its end. The label is done with: nothing else joins it."""
        self.suspend_label()
        ref, opening = labeled.opened(self.tag_mask, self.server)
        for message in opening:
            self.send(message)
        return _in_batch(rows, ref, self.server)

    # -- a reply waiting for the store ----------------------------------------------------

    def hold_deliveries(self) -> None:
        """Hold what others' events send us (channel traffic, a KICK, a QUIT) until
        `release_deliveries`: a JOIN whose reply waits for the store (the read marker, the
        lines replayed on joining) must reach the client before what is said in the
        channel after it, or the client sees talk in a channel it has not joined yet,
        or a KICK before its JOIN. The command's own continuation passes (`passing`, set
        by Context.Later), as do our own events being applied in a cluster."""
        if self.waiting is None:
            self.waiting = []
            self._refresh_fast()

    def release_deliveries(self) -> None:
        waiting, self.waiting = self.waiting, None
        self._refresh_fast()
        for item in waiting or ():
            if isinstance(item, Message):
                self.send(item)
            elif isinstance(item, LateMarker):
                known, when = self.marker_told(item.key)
                if known:
                    self.send(Message("MARKREAD", [item.name, marker_value(when)], self.server))
            else:
                self.deliver(item)

    def release_after_reply(self) -> None:
        """Release what waits once the labeled reply of the command is out: now, or when
        the last of its events still being ordered (a cluster) is applied."""
        self.release_pending = True
        if not self.ordering:
            self.finish_label()

    def follow(self, message: Message) -> None:
        """Send a message that follows others' event lines (the NAMES after a RENAME's
        JOIN): held with them while they are held."""
        waiting = self.waiting
        if waiting is not None and not (self.passing or self.applying) and self.quit_reason is None:
            waiting.append(message)
            return
        self.send_now(message)  # as the lines it follows went (deliver): not behind the client's own NICK, say

    def follow_marker(self, key: str, name: str) -> None:
        """The MARKREAD of channel `key` as it will be known once what is held goes out
        (LateMarker): after others' event lines, while they are held; nothing otherwise."""
        if self.waiting is not None and not (self.passing or self.applying) and self.quit_reason is None:
            self.waiting.append(LateMarker(key, name))

    @contextmanager
    def captured(self) -> Iterator[list[Message]]:
        """What is sent within the block, kept (in order) rather than sent: a reply taken
        as the state is now, to be sent later."""
        kept: list[Message] = []
        outer, self.capturing = self.capturing, kept
        try:
            yield kept
        finally:
            self.capturing = outer

    # -- labeled-response ----------------------------------------------------------------

    @contextmanager
    def labeled_reply(self, label: str | None) -> Iterator[None]:
        """What is sent to us within the block goes out as one reply labeled `label`
        (labels.py); no label, or one already being answered, changes nothing."""
        if label is None or self.labeled is not None:
            yield
            return
        self.labeled = LabeledResponse(label)
        self.fast = None
        try:
            yield
        finally:
            self.finish_label()

    def suspend_label(self) -> LabeledResponse | None:
        """Set the open labeled reply aside while its command waits (slow work, an event
        being ordered); what arrives meanwhile goes out unlabeled."""
        labeled, self.labeled = self.labeled, None
        self._refresh_fast()
        return labeled

    def resume_label(self, labeled: LabeledResponse | None) -> None:
        self.labeled = labeled
        self._refresh_fast()

    def finish_label(self) -> None:
        """Send what was collected as one labeled reply (once the events the command
        emitted are applied, when an engine orders them elsewhere: see hold_input); then
        what was held for after it (release_after_reply)."""
        labeled = self.suspend_label()
        if labeled is not None:
            if self.ordering and self.quit_reason is None:
                self.deferred = labeled
                return
            # a reply that goes on over several commands is sent by its owner after the last,
            # unless the client leaves first
            if not labeled.continued or self.quit_reason is not None:
                self.output.send_all(labeled.messages(self.tag_mask, self.server))  # even when leaving: its ERROR
        if self.release_pending and not self.ordering:
            self.release_pending = False
            self.release_deliveries()

    # -- events being ordered (a clustered engine: engine/replica.py) --------------------

    def hold_input(self) -> None:
        """An event of ours waits for the network's order: our later lines wait with it,
        and the replies sent after it wait for it too, so that everything keeps the order
        it has when events apply at once (one node alone)."""
        if self.ordering == 0:
            self.link.hold_input()
        self.ordering += 1
        if self.held is None:
            self.held = deque()
        self.held.append([])

    def resume_reply(self) -> None:
        """One of our events is applied now: what it causes goes out (within its
        command's label)."""
        self.applying = True
        if self.deferred is not None:
            labeled, self.deferred = self.deferred, None
            self.resume_label(labeled)

    def release_input(self) -> None:
        """That event is applied: the replies that followed it go out, then the next
        event's turn, or the client's next lines."""
        self.applying = True
        held = self.held
        if held:
            replies = held.popleft()
            if not held:
                self.held = None
            for message in replies:
                self.send(message)
        self.applying = False
        self.ordering -= 1
        if self.ordering:
            labeled = self.suspend_label()
            if labeled is not None:
                self.deferred = labeled
            return
        self.finish_label()
        self.link.release_input()

    def close_link(self) -> None:
        """Close the connection after what is due to it, a labeled reply included."""
        self.finish_label()
        self.link.close()

    # -- capabilities --------------------------------------------------------------------

    def set_cap(self, name: str, enabled: bool) -> None:
        """Enable or disable a capability, keeping the derived tag wishes in step."""
        if name == READ_MARKER:  # the markers told before, if any, may be stale now
            self.markers = None
        if enabled:
            self.caps = self.caps | {name}
        else:
            self.caps = self.caps - {name}
        mask = 0
        for cap, bit in TAG_CAPS.items():
            if cap in self.caps:
                mask |= bit
        if "draft/multiline" in self.caps and "batch" in self.caps:
            mask |= WANTS_MULTILINE
        self.tag_mask = mask
