"""The per-delivery loops, in Python and compiled (hubbub/_speedups.c), do the same:
each local member gets the wire form its tags ask for, computed once per form; the
sender is skipped; a member that is not a plain IRC link right now gets `deliver`; the
flusher's loop goes on past a connection whose write fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hubbub.irc.message import Message
from hubbub.server import announce
from hubbub.server.apply import Outcome
from hubbub.server.channel import Channel
from hubbub.server.connection import Connection
from hubbub.server.delivery import ALL_MASKS, WANTS_TAGS, WANTS_TIME, Outgoing
from hubbub.server.events import Said
from hubbub.server.output import IrcOutput
from hubbub.server.user import User
from hubbub.speedups import compiled
from hubbub.transport import flusher as flushing
from hubbub.transport.gate import OutputQueue

IMPLEMENTATIONS = ["python"] + (["compiled"] if compiled is not None else [])


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on the Python loops, then on the compiled ones."""
    if request.param == "python":
        monkeypatch.setattr(announce, "compiled", None)
        monkeypatch.setattr(flushing, "compiled", None)
    return str(request.param)


class Link:
    def __init__(self) -> None:
        self.got: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.got.append(data)

    def hold_input(self) -> None: ...

    def release_input(self) -> None: ...

    def close(self) -> None: ...

    def charge(self, lines: int) -> None: ...

    def input_waiting(self) -> bool:
        return False


def member(channel: Channel, uid: str, mask: int = 0) -> tuple[Connection, Link]:
    user = User(uid, "127.0.0.1", "127.0.0.1", False, 0.0)
    user.nick = uid
    link = Link()
    conn = Connection(user, link, IrcOutput(link), "hubbub.local", 0.0)
    conn.tag_mask = mask
    user.conn = conn
    channel.members[user] = ""
    channel.local[conn] = None
    return conn, link


class Counted(Outgoing):
    """An Outgoing that counts how often each wire form is asked for."""

    __slots__ = ("asked",)

    def __init__(self) -> None:
        super().__init__(Message("PRIVMSG", ["#c", "hi"], "a!u@h"), 1_800_000_000.0, "m1")
        self.asked: list[int] = []

    def irc_bytes(self, mask: int = 0) -> bytes:
        self.asked.append(mask)
        return super().irc_bytes(mask)


class Other:
    """A member connection of another kind (no slots, not a plain IRC link now)."""

    fast = None
    tag_mask = 0

    def __init__(self) -> None:
        self.delivered: list[Any] = []

    def deliver(self, out: Any) -> None:
        self.delivered.append(out)


def test_each_member_gets_its_form_once_computed_and_the_sender_none(implementation: str) -> None:
    channel = Channel("#c", 0.0)
    sender, sender_link = member(channel, "a")
    _, plain1 = member(channel, "b")
    _, timed = member(channel, "c", WANTS_TIME)
    _, plain2 = member(channel, "d")
    _, tagged = member(channel, "e", WANTS_TIME | WANTS_TAGS)
    other = Other()
    channel.local[other] = None  # type: ignore[index]
    out = Counted()
    announce.to_members(channel, out, exclude=sender.user)
    assert sender_link.got == []
    assert plain1.got == plain2.got == [b":a!u@h PRIVMSG #c :hi\r\n"]
    assert timed.got == [b"@time=2027-01-15T08:00:00.000Z :a!u@h PRIVMSG #c :hi\r\n"]
    assert tagged.got == [b"@msgid=m1;time=2027-01-15T08:00:00.000Z :a!u@h PRIVMSG #c :hi\r\n"]
    assert sorted(out.asked) == [0, WANTS_TIME, WANTS_TIME | WANTS_TAGS]
    assert other.delivered == [out]


def test_a_member_labeled_or_leaving_is_not_written_to_directly(implementation: str) -> None:
    channel = Channel("#c", 0.0)
    labeled, labeled_link = member(channel, "a")
    leaving, leaving_link = member(channel, "b")
    leaving.leave("bye")
    out = Counted()
    with labeled.labeled_reply("L1"):
        announce.to_members(channel, out)
        assert labeled_link.got == []  # collected for its labeled reply
        assert labeled.labeled is not None and labeled.labeled.items == [out]
    assert leaving_link.got == []


def test_delivery_to_a_changed_connection_class_still_reads_it_right(implementation: str) -> None:
    """The compiled loop reads `fast` and `tag_mask` straight from their slots once it
    knows the class: a changed class is read anew."""
    channel = Channel("#c", 0.0)
    conn, link = member(channel, "a")
    announce.to_members(channel, Counted())
    assert len(link.got) == 1
    Connection.probe = 1  # type: ignore[attr-defined]  # the class changes (its version tag)
    try:
        conn.tag_mask = WANTS_TIME
        announce.to_members(channel, Counted())
        assert link.got[-1].startswith(b"@time=")
    finally:
        del Connection.probe  # type: ignore[attr-defined]


def said_to(channel: Channel, sender: User) -> None:
    """The announcement of a PRIVMSG from `sender` to `channel`, applied."""
    outcome = Outcome()
    outcome.rejected, outcome.user, outcome.channel, outcome.target, outcome.delivered = None, sender, channel, None, -1
    event = Said(sender.uid, "PRIVMSG", channel.key, True, "hi", None, 1_800_000_000.0, "m1")
    announce._said(None, event, outcome)  # type: ignore[arg-type]  # the announcer is not read for it


def test_a_channel_message_reaches_every_member_but_its_sender(implementation: str) -> None:
    """announce._said gives the compiled loop the sender's connection to skip (as
    to_members does); the sender's own copy only with echo-message; a sender with no
    connection here (on another node) skips no one."""
    channel = Channel("#c", 0.0)
    sender, sender_link = member(channel, "a")
    _, other_link = member(channel, "b")
    said_to(channel, sender.user)
    assert sender_link.got == [] and len(other_link.got) == 1 and other_link.got[0].endswith(b" PRIVMSG #c :hi\r\n")
    sender.caps = frozenset({"echo-message"})
    said_to(channel, sender.user)
    assert sender_link.got == other_link.got[1:] and len(other_link.got) == 2
    remote = User("r", "192.0.2.9", "192.0.2.9", False, 0.0)
    remote.nick = "r"
    channel.members[remote] = ""
    said_to(channel, remote)
    assert len(sender_link.got) == 2 and len(other_link.got) == 3


class MaskInt(int):
    """A tag mask equal to a small int, but not the one CPython shares for its value."""


def test_every_tag_mask_is_read_right_whatever_int_holds_it(implementation: str) -> None:
    """The compiled loop finds a tag mask by its address among the ints CPython shares
    for 0 to 15; one held by any other int object is converted, to the same form."""
    channel = Channel("#c", 0.0)
    links = []
    for mask in range(ALL_MASKS):
        _, shared = member(channel, f"a{mask}", mask)
        _, own = member(channel, f"b{mask}", MaskInt(mask))
        links.append((mask, shared, own))
    _, false = member(channel, "f", False)  # a bool is an int too, and no shared one of 0 or 1
    _, true = member(channel, "t", True)
    out = Counted()
    announce.to_members(channel, out)
    reference = Outgoing(Message("PRIVMSG", ["#c", "hi"], "a!u@h"), 1_800_000_000.0, "m1")
    for mask, shared, own in links:
        assert shared.got == own.got == [reference.irc_bytes(mask)], mask
    assert false.got == [reference.irc_bytes(0)] and true.got == [reference.irc_bytes(1)]


@pytest.mark.skipif(compiled is None, reason="hubbub._speedups is not built")
@pytest.mark.parametrize("mask", [ALL_MASKS, -1, MaskInt(ALL_MASKS), 2**70])
def test_a_tag_mask_out_of_range_is_refused_by_the_compiled_loop(mask: int) -> None:
    channel = Channel("#c", 0.0)
    _, link = member(channel, "a", mask)
    with pytest.raises((ValueError, OverflowError)):
        announce.to_members(channel, Counted())
    assert link.got == []


class Failing:
    ip = "192.0.2.1"

    def __init__(self) -> None:
        self.aborted = False

    def flush(self) -> None:
        raise OSError("broken pipe")

    def abort(self) -> None:
        self.aborted = True


class Flushed:
    ip = "192.0.2.2"

    def __init__(self) -> None:
        self.flushed = 0

    def flush(self) -> None:
        self.flushed += 1


class Loop:
    def call_soon(self, callback: Any, *, context: Any = None) -> None: ...


def test_a_failing_connection_does_not_hold_back_the_others(
    implementation: str, caplog: pytest.LogCaptureFixture
) -> None:
    flusher = flushing.Flusher(Loop())  # type: ignore[arg-type]
    before, broken, after = Flushed(), Failing(), Flushed()
    for queue in (before, broken, after):
        flusher.mark(queue)  # type: ignore[arg-type]
    flusher.flush()
    assert before.flushed == after.flushed == 1
    assert broken.aborted
    assert "flushing output to 192.0.2.1 failed" in caplog.text and "broken pipe" in caplog.text


class Transport:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[bytes] = []
        self.fail = fail
        self.aborted = False

    def write(self, data: bytes) -> None:
        if self.fail:
            raise OSError("connection reset")
        self.sent.append(data)

    def get_write_buffer_size(self) -> int:
        return 0

    def abort(self) -> None:
        self.aborted = True


class Owner:
    def sendq_exceeded(self) -> None: ...


async def test_output_waits_for_the_commit_of_its_iteration_in_order(
    implementation: str, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    kind = compiled.OutputQueue if implementation == "compiled" and compiled is not None else OutputQueue
    flusher = flushing.Flusher(loop)
    commits: list[asyncio.Future[None]] = []

    def barrier() -> asyncio.Future[None] | None:
        """The store: the first two flushes have something to commit, committed later."""
        if len(commits) == 2:
            return None
        commits.append(loop.create_future())
        return commits[-1]

    flusher.barrier = barrier
    good, broken = Transport(), Transport(fail=True)
    first = kind("192.0.2.1", 1000, flusher, good, Owner())
    second = kind("192.0.2.2", 1000, flusher, broken, Owner())
    first.write(b"a1 ")
    second.write(b"b1")
    first.write(b"a2")
    flusher.due()  # as the recorder says when it has writes
    flusher.flush()
    first.write(b"a3")
    flusher.due()
    flusher.flush()
    await asyncio.sleep(0)
    assert good.sent == [] and len(commits) == 2  # nothing before its commit
    commits[1].set_result(None)  # the later commit first: still waits for the earlier one
    await asyncio.sleep(0)
    assert good.sent == []
    commits[0].set_result(None)
    await asyncio.sleep(0)
    assert good.sent == [b"a1 a2", b"a3"]  # each iteration's output, in order
    assert first.sent == len(b"a1 a2a3")
    assert broken.aborted and "flushing output to 192.0.2.2 failed" in caplog.text


class Holding:
    """A transport whose peer reads nothing: what it is given, it keeps."""

    def __init__(self, name: str, log: list[tuple[str, bytes]]) -> None:
        self.name, self.log, self.kept = name, log, 0

    def write(self, data: bytes) -> None:
        self.log.append((self.name, bytes(data)))
        self.kept += len(data)

    def get_write_buffer_size(self) -> int:
        return self.kept

    def abort(self) -> None: ...


class Closing:
    """A connection dropped past its sendq closes as TcpConnection does: its ERROR,
    after whatever is held before it (`Flusher.finish`)."""

    def __init__(self, flusher: flushing.Flusher) -> None:
        self.flusher = flusher
        self.queue: Any = None

    def sendq_exceeded(self) -> None:
        queue = self.queue
        queue.clear()
        queue.write(b"ERROR\r\n")
        queue.closing = True
        self.flusher.finish(queue, queue.stop)


async def test_a_client_dropped_while_held_output_goes_out_does_not_reorder_the_others(implementation: str) -> None:
    """Writing one held generation can drop a client (past its sendq once the kernel took
    what it would); its closing must not write the next generation before the rest of
    this one."""
    loop = asyncio.get_running_loop()
    kind = compiled.OutputQueue if implementation == "compiled" and compiled is not None else OutputQueue
    flusher = flushing.Flusher(loop)
    reading = Transport()
    queues = []
    for sink in (Holding("slow", []), reading):
        owner = Closing(flusher)
        queue = kind("192.0.2.1", 1000, flusher, sink, owner, -1, 5000)
        owner.queue = queue
        queues.append(queue)
    slow, reader = queues
    commit = loop.create_future()
    flusher.barrier = lambda: commit
    slow.write(b"x" * 3000)  # past the sendq, within its room: checked when sent, and dropped
    reader.write(b"G1")
    flusher.due()
    flusher.flush()
    flusher.barrier = lambda: None
    reader.write(b"G2")  # nothing to commit, but behind G1
    flusher.due()
    flusher.flush()
    commit.set_result(None)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert reading.sent == [b"G1", b"G2"]


class QueueLink(Link):
    """A plain TCP connection's link: its `write` is its output queue itself."""

    def __init__(self, queue: OutputQueue) -> None:
        super().__init__()
        self.write = queue  # type: ignore[method-assign]


def test_members_whose_write_is_their_queue_get_it_queued(implementation: str) -> None:
    kind = compiled.OutputQueue if implementation == "compiled" and compiled is not None else OutputQueue
    sender_link = Link()
    channel = Channel("#c", 0.0)
    sender = User("s", "127.0.0.1", "127.0.0.1", False, 0.0)
    sender.nick = "s"
    sender.conn = Connection(sender, sender_link, IrcOutput(sender_link), "hubbub.local", 0.0)
    channel.members[sender] = ""
    channel.local[sender.conn] = None
    transports, queues = [], []
    flusher = flushing.Flusher(asyncio.new_event_loop())
    for i in range(3):
        transport = Transport()
        queue = kind("192.0.2.1", 1000, flusher, transport, Owner())
        user = User(f"u{i}", "127.0.0.1", "127.0.0.1", False, 0.0)
        user.nick = f"u{i}"
        link = QueueLink(queue)
        user.conn = Connection(user, link, IrcOutput(link), "hubbub.local", 0.0)
        channel.members[user] = ""
        channel.local[user.conn] = None
        transports.append(transport)
        queues.append(queue)
    out = Outgoing(Message("PRIVMSG", ["#c", "hi"], source="s!u@h"), 0.0, "id1", {}, None, False)
    announce.to_members(channel, out, exclude=sender)
    assert [q.size for q in queues] == [len(b":s!u@h PRIVMSG #c :hi\r\n")] * 3
    flusher.flush()
    assert [t.sent for t in transports] == [[b":s!u@h PRIVMSG #c :hi\r\n"]] * 3
    assert sender_link.got == []


@pytest.mark.skipif(compiled is None, reason="hubbub._speedups is not built")
def test_one_connection_gets_from_deliver_one_what_deliver_gives_it() -> None:
    """A private message's copy (announce._said) goes through `deliver_one`: a plain IRC
    link gets its form written, a labeled or leaving connection and one of another kind
    get `deliver`, as `Connection.deliver` itself does."""
    assert compiled is not None
    results = []
    for way in ("python", "compiled"):
        channel = Channel("#c", 0.0)
        plain, plain_link = member(channel, "a")
        timed, timed_link = member(channel, "b", WANTS_TIME)
        labeled, labeled_link = member(channel, "c")
        other = Other()
        out = Counted()
        give = (lambda conn, o: conn.deliver(o)) if way == "python" else compiled.deliver_one
        give(plain, out)
        give(timed, out)
        with labeled.labeled_reply("L1"):
            give(labeled, out)
            assert labeled_link.got == [] and labeled.labeled is not None and labeled.labeled.items == [out]
        give(other, out)
        assert other.delivered == [out]
        results.append((plain_link.got, timed_link.got, out.asked))
    assert results[0] == results[1]
    assert results[1][0] == [b":a!u@h PRIVMSG #c :hi\r\n"]
    assert results[1][1] == [b"@time=2027-01-15T08:00:00.000Z :a!u@h PRIVMSG #c :hi\r\n"]


def test_a_bare_form_too_long_is_cut_as_message_encode_cuts_it(implementation: str) -> None:
    """The bare form is encoded by Message.encode's C twin called as it is; a line it
    leaves to the Python way (too long: cut at a character boundary) is cut the same."""
    message = Message("PRIVMSG", ["#c", "é" * 400], "a!u@h")
    out = Outgoing(message, 1_800_000_000.0, "m1")
    data = out.irc_bytes(0)
    assert data == message.encode() and len(data) <= 512 and data.endswith(b"\r\n")
    assert out.irc_bytes(0) is data  # made once
