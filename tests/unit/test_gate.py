"""The line gate: what may be handled when, and what is written (a socket pair only
where an output queue writes to its socket itself)."""

from __future__ import annotations

import socket

import pytest

from hubbub.speedups import compiled
from hubbub.transport.gate import NOTHING, GateSettings, LineGate, OutputQueue


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drain(gate: LineGate, exempt=None) -> list[bytes | None]:
    out = []
    while (line := gate.next_line(exempt)) is not NOTHING:
        out.append(line)
    return out


def test_lines_pass_at_once_in_order_when_nothing_holds_them() -> None:
    gate = LineGate(GateSettings(flood_control=False), 512)
    assert gate.receive(b"A\r\nB\nC") == [b"A", b"B"]
    assert gate.receive(b"\r\n") == [b"C"]
    assert drain(gate) == [] and gate.wait() is None


def test_a_too_long_line_comes_out_as_none_once() -> None:
    gate = LineGate(GateSettings(flood_control=False), 10)
    assert gate.receive(b"x" * 30 + b"\nok\n") == [None, b"ok"]


def test_lines_not_handled_when_input_became_held_wait_first() -> None:
    gate = LineGate(GateSettings(flood_control=False), 512)
    lines = gate.receive(b"A\nB\nC\n")
    gate.hold()  # handling A started slow work
    gate.defer(lines[1:])
    assert gate.receive(b"D\n") == []  # behind them
    gate.release()
    assert drain(gate) == [b"B", b"C", b"D"]


def test_with_flood_control_lines_go_through_the_queue() -> None:
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=5), 512, Clock())
    assert gate.receive(b"A\nB\n") == []
    assert drain(gate) == [b"A", b"B"]


def test_the_bucket_lets_a_burst_through_then_one_line_per_token() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_rate=2.0, flood_burst=3), 512, clock)
    gate.receive(b"1\n2\n3\n4\n5\n")
    assert drain(gate) == [b"1", b"2", b"3"]
    assert gate.wait() == 0.5
    clock.now += 0.5
    assert drain(gate) == [b"4"]
    clock.now += 0.25
    assert drain(gate) == []
    assert gate.wait() == 0.25


def test_exempt_lines_cost_no_token() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=1), 512, clock)
    gate.receive(b"open\nfree1\nfree2\nnext\n")
    assert drain(gate, lambda raw: raw.startswith(b"free")) == [b"open", b"free1", b"free2"]
    assert len(gate.queue) == 1


def test_a_charge_puts_the_bucket_in_debt_and_later_lines_wait_it_out() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_rate=2.0, flood_burst=3), 512, clock)
    gate.receive(b"open\n")
    assert drain(gate) == [b"open"]
    gate.charge(10)  # a batch of ten lines closed: 2 tokens left, 10 spent
    gate.receive(b"next\n")
    assert drain(gate) == []
    assert gate.wait() == 4.5  # 8 tokens of debt and one for the line, at 2 per second
    clock.now += 4.5
    assert drain(gate) == [b"next"]


def test_a_charge_without_flood_control_changes_nothing() -> None:
    gate = LineGate(GateSettings(flood_control=False), 512)
    gate.charge(100)
    assert gate.receive(b"A\n") == [b"A"]


def test_held_input_waits_in_order_until_released() -> None:
    gate = LineGate(GateSettings(flood_control=False), 512)
    gate.hold()
    assert gate.receive(b"A\nB\n") == []
    assert drain(gate) == [] and gate.wait() is None and len(gate.queue) == 2
    gate.hold()
    assert not gate.release()  # still held once
    assert gate.release()
    assert drain(gate) == [b"A", b"B"]


def test_a_follow_up_runs_once_released_ahead_of_the_lines_that_wait() -> None:
    """The rest of a command run as several (a multiline batch to a service): kept only
    while input is held, then given before every waiting line, deferred ones included,
    and without a flood token."""
    clock = Clock()
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=1), 512, clock)
    ran: list[str] = []
    assert not gate.follow_up(lambda: ran.append("now"))  # input flows: the caller goes on itself
    assert gate.next_step() is None
    gate.receive(b"close\nlater\n")
    assert drain(gate) == [b"close"]  # the only token
    gate.hold()  # a command of the batch waits for slow work
    assert gate.follow_up(lambda: ran.append("next command"))
    gate.defer([b"after"])
    gate.receive_eof(speaks_irc=True)
    assert gate.next_step() is None and not gate.finished  # held
    gate.release()
    step = gate.next_step()
    assert step is not None and gate.next_step() is None
    step()
    assert ran == ["next command"] and drain(gate) == [] and not gate.finished  # the lines wait for tokens
    clock.now += 1
    assert drain(gate) == [b"after"]
    clock.now += 1
    assert drain(gate) == [b"later"] and gate.finished


def test_waiting_input_past_the_recvq_is_a_flood() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=1, recvq=20), 512, clock)
    gate.receive(b"first\n" + b"0123456789\n" * 2)
    drain(gate)
    assert not gate.flooded  # 20 bytes wait: at the limit
    gate.receive(b"x\n")
    assert gate.flooded


def test_eof_is_finished_once_every_line_is_handled() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=1), 512, clock)
    gate.receive(b"a\nb\n")
    gate.receive_eof(speaks_irc=True)
    assert drain(gate) == [b"a"] and not gate.finished
    clock.now += 1
    assert drain(gate) == [b"b"] and gate.finished


def test_a_typed_message_without_a_line_ending() -> None:
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=5), 512, Clock())
    gate.receive(b"hello")
    assert gate.unterminated(b"hello", speaks_irc=False)
    assert not gate.unterminated(b"hello", speaks_irc=True)
    assert gate.unterminated(b"h", speaks_irc=False)  # a one-letter message, as the seed client sends it
    assert not gate.unterminated(b"h", speaks_irc=False, keystrokes=True)  # a keystroke of a character-mode telnet
    assert gate.unterminated(b"hello", speaks_irc=False, keystrokes=True)
    gate.end_partial_line()
    assert drain(gate) == [b"hello"]
    gate.receive(b"again")
    assert gate.unterminated(b"again", speaks_irc=False)  # ending it for the peer changes nothing
    gate.receive(b"\nmore")
    assert not gate.unterminated(b"more", speaks_irc=False)  # the peer ends its lines itself


def test_eof_ends_a_typed_line_only_for_people() -> None:
    gate = LineGate(GateSettings(flood_rate=1.0, flood_burst=5), 512, Clock())
    gate.receive(b"bye")
    gate.receive_eof(speaks_irc=False)
    assert drain(gate) == [b"bye"]
    irc = LineGate(GateSettings(flood_rate=1.0, flood_burst=5), 512, Clock())
    irc.receive(b"QUIT")
    irc.receive_eof(speaks_irc=True)
    assert drain(irc) == []


# Every output queue test runs on OutputQueue (Python, the reference) and on its compiled
# twin (hubbub/_speedups.c) when it was built.
QUEUES = [OutputQueue] + ([compiled.OutputQueue] if compiled is not None else [])
QUEUE_IDS = ["python", "compiled"][: len(QUEUES)]


class Sink:
    """The flusher's side of output queues, and the transport below them."""

    def __init__(self, kind: type[OutputQueue] = OutputQueue) -> None:
        self.kind = kind
        self.sent: list[bytes] = []
        self.marked: list[OutputQueue] = []
        self.overflows = 0
        self.aborted = 0
        self.below = 0  # bytes the transport below still holds
        self._scheduled = False  # as the Flusher's: the compiled queue reads it, and calls _schedule
        self.passes = 0  # flushes scheduled

    def queue(self, sendq: int) -> OutputQueue:
        return self.kind("ip", sendq, self, self, self)

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def get_write_buffer_size(self) -> int:
        return self.below

    def abort(self) -> None:
        self.aborted += 1

    def sendq_exceeded(self) -> None:
        self.overflows += 1

    def _schedule(self) -> None:
        self.passes += 1

    def mark(self, queue: OutputQueue) -> None:
        self.marked.append(queue)
        if not self._scheduled:
            self._scheduled = True
            self._schedule()

    def flush(self) -> None:
        self._scheduled = False
        marked = self.marked[:]
        self.marked.clear()
        for queue in marked:
            queue.flush()


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_output_is_joined_once_per_flush_and_marked_once(kind: type[OutputQueue]) -> None:
    sink = Sink(kind)
    out = sink.queue(100)
    out.write(b"12345")
    out.write(b"678")
    out.write(b"")  # nothing: not even a mark
    assert sink.marked == [out] and out.size == 8
    assert sink.passes == 1  # one pass of the flusher scheduled for the iteration
    sink.flush()
    assert sink.sent == [b"12345678"] and out.size == 0 and out.sent == 8
    out.flush()
    assert sink.sent == [b"12345678"]
    out.write(b"9")
    assert sink.marked == [out]
    other = sink.queue(100)
    other.write(b"x")
    assert sink.marked == [out, other]
    assert sink.passes == 2  # one more for the next iteration's two queues
    sink.flush()
    assert sink.sent == [b"12345678", b"9", b"x"]
    out.write(bytearray(b"ab"))  # any bytes-like object
    out.write(b"c")
    sink.flush()
    assert sink.sent[-1] == b"abc"


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_calling_a_queue_is_writing_to_it(kind: type[OutputQueue]) -> None:
    """A connection keeps its queue itself as its `write` (no bound method per client)."""
    sink = Sink(kind)
    out = sink.queue(100)
    out(b"12")
    out.write(b"3")
    out(bytearray(b"4"))
    assert sink.marked == [out] and out.size == 4
    sink.flush()
    assert sink.sent == [b"1234"]
    with pytest.raises(TypeError):
        out()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        out(b"1", b"2")  # type: ignore[call-arg]


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_output_past_the_sendq_is_an_overflow_and_stops_collecting(kind: type[OutputQueue]) -> None:
    sink = Sink(kind)
    out = sink.queue(10)
    out.write(b"123456")
    sink.below = 5  # with what the transport still holds, past 10
    out.flush()
    assert sink.overflows == 1 and sink.sent == []
    sink.below = 0
    out.write(b"x" * 11)
    out.write(b"more")  # already past: collecting more is waste
    assert out.size == 11
    out.closing = True
    assert out.closing
    out.flush()
    assert sink.sent == [b"x" * 11]  # a closing client gets its ERROR whatever the sendq
    out.stop()
    assert out.sendq == -1
    out.write(b"late")
    assert out.size == 0
    out.abort()
    assert sink.aborted == 1 and out.ip == "ip"


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_output_taken_waits_for_the_commit_and_counts_against_the_sendq(kind: type[OutputQueue]) -> None:
    """What the flusher holds back for the store's commit (take, then send) still
    counts against the sendq meanwhile."""
    sink = Sink(kind)
    out = sink.queue(10)
    assert out.take() == b""
    out.write(b"1234")
    out.write(b"56")
    held = out.take()
    assert held == b"123456" and out.size == 0 and sink.sent == []
    out.write(b"78901")  # with the 6 held, past 10
    assert out.take() == b"" and sink.overflows == 1
    out.send(held)
    assert sink.sent == [b"123456"]
    out.write(b"78901")
    assert out.take() == b"78901"  # nothing held any more
    out.stop()
    out.send(b"78901")  # stopped meanwhile: not written
    assert sink.sent == [b"123456"]
    out.clear()
    assert out.size == 0


def _received(sock: socket.socket) -> bytes:
    got = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return got
        got += chunk


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_output_goes_to_the_socket_itself_while_the_transport_holds_nothing(kind: type[OutputQueue]) -> None:
    """With the socket's descriptor, what the kernel takes goes there and the rest to
    the transport, which is written to until it is found empty again: in order, the same
    bytes as through the transport alone."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    try:
        sink = Sink(kind)
        out = kind("ip", 1 << 24, sink, sink, sink, ours.fileno())
        general = Sink(kind)
        reference = general.queue(1 << 24)
        lines = [b"PRIVMSG #c :hello\r\n", bytearray(b"x" * 10), b"y" * 300_000, b"after\r\n", b"last"]
        for data in lines[:2]:
            out.write(data)
        sink.flush()
        assert _received(peer) == b"PRIVMSG #c :hello\r\n" + b"x" * 10 and sink.sent == []  # written by us
        out.write(lines[2])  # more than the kernel takes: the rest to the transport
        sink.flush()
        assert len(sink.sent) == 1 and 0 < len(sink.sent[0]) < 300_000
        sink.below = len(sink.sent[0])  # still held by the transport
        out.write(lines[3])
        sink.flush()
        assert sink.sent[1:] == [b"after\r\n"]  # behind what the transport holds
        sink.below = 0
        socket_bytes = _received(peer)
        out.write(lines[4])
        held = out.take()  # the store's path: taken, then sent
        out.send(held)
        assert _received(peer) == b"last" and len(sink.sent) == 2
        for data in lines:
            reference.write(data)
            general.flush()
        direct = b"PRIVMSG #c :hello\r\n" + b"x" * 10 + socket_bytes
        assert direct + b"".join(sink.sent) + b"last" == b"".join(general.sent)
        assert out.sent == sum(len(data) for data in lines) == reference.sent
        out.abort()  # the descriptor is forgotten: the transport closes it
        out.write(b"late")
        sink.flush()
        assert sink.sent[-1] == b"late" and _received(peer) == b""
        other = kind("ip", 100, sink, sink, sink, ours.fileno())
        other.stop()
        other.sendq = 100
        other.write(b"stopped")
        sink.flush()
        assert sink.sent[-1] == b"stopped" and _received(peer) == b""
    finally:
        ours.close()
        peer.close()


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_a_socket_that_fails_leaves_the_bytes_to_the_transport(kind: type[OutputQueue]) -> None:
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.close()  # writing fails (EPIPE): the transport meets the error itself
    try:
        sink = Sink(kind)
        out = kind("ip", 100, sink, sink, sink, ours.fileno())
        out.write(b"hello")
        sink.flush()
        assert sink.sent == [b"hello"] and out.sent == 5
    finally:
        ours.close()


def test_new_settings_reach_an_existing_gate() -> None:
    clock = Clock()
    gate = LineGate(GateSettings(flood_control=False), 512, clock)
    gate.configure(GateSettings(flood_rate=1.0, flood_burst=1))
    gate.receive(b"a\nb\n")
    assert drain(gate) == [b"a"]
    gate.configure(GateSettings(flood_control=False))
    assert drain(gate) == [b"b"]


class Holding(Sink):
    """A transport that keeps whatever it is given (its peer never reads)."""

    def write(self, data: bytes) -> None:
        super().write(data)
        self.below += len(data)


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_what_the_kernel_takes_at_once_is_not_unsent(kind: type[OutputQueue]) -> None:
    """One pass may write up to sendq + room to a client whose socket is empty: the
    sendq is checked against what the kernel leaves, not against the whole reply."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.setblocking(False)
    try:
        sink = Holding(kind)
        out = kind("ip", 100, sink, sink, sink, ours.fileno(), 100)
        assert out.room == 100
        out.write(b"a" * 150)  # more than the sendq, within sendq + room
        sink.flush()
        assert sink.overflows == 0 and _received(peer) == b"a" * 150 and out.sent == 150
        out.write(b"b" * 150)
        out.write(b"c" * 100)  # 250: more than one pass may send
        out.write(b"d")  # not even collected
        assert out.size == 250
        sink.flush()
        assert sink.overflows == 1 and _received(peer) == b""  # cut short: nothing of it goes
        # the store's path (take, then send) is allowed the same
        out.write(b"e" * 180)
        held = out.take()
        assert held == b"e" * 180 and sink.overflows == 1
        out.send(held)
        assert _received(peer) == b"e" * 180 and sink.overflows == 1
    finally:
        ours.close()
        peer.close()


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_what_the_kernel_leaves_past_the_sendq_is_an_overflow(kind: type[OutputQueue]) -> None:
    """A peer that does not read: the kernel takes its buffer's worth, the rest stays
    with the transport; past the sendq, the client is dropped, by flush and by send."""
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    try:
        sink = Holding(kind)
        out = kind("ip", 1000, sink, sink, sink, ours.fileno(), 1 << 20)
        out.write(b"x" * 300_000)
        sink.flush()
        assert sink.overflows == 1 and sink.below > 1000
        other_sink = Holding(kind)
        other = kind("ip", 1000, other_sink, other_sink, other_sink, ours.fileno(), 1 << 20)
        other.write(b"y" * 300_000)
        held = other.take()
        assert other_sink.overflows == 0
        other.send(held)
        assert other_sink.overflows == 1
    finally:
        ours.close()
        peer.close()


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_the_room_is_only_for_an_empty_socket(kind: type[OutputQueue]) -> None:
    """While the transport still holds bytes the kernel takes nothing more at once: the
    new output counts whole, as before there was a room."""
    sink = Sink(kind)
    out = kind("ip", 100, sink, sink, sink, -1, 100)
    sink.below = 10
    out.write(b"a" * 95)
    sink.flush()
    assert sink.overflows == 1 and sink.sent == []
    out.write(b"b" * 95)
    assert out.take() == b"" and sink.overflows == 2
    sink.below = 0  # a transport with nothing left (no descriptor: it writes itself)
    out.write(b"c" * 150)
    sink.flush()
    assert sink.overflows == 2 and sink.sent == [b"c" * 150]
    out.sendq, out.room = 50, 0  # a reload
    out.write(b"d" * 60)
    sink.flush()
    assert sink.overflows == 3
    out.stop()
    assert out.room == 0


@pytest.mark.parametrize("kind", QUEUES, ids=QUEUE_IDS)
def test_a_huge_sendq_is_no_limit_not_an_overflow(kind: type[OutputQueue]) -> None:
    """A sendq as large as a Py_ssize_t (someone's "unlimited"): sendq + room must not
    overflow in the compiled queue (it then collected nothing, and sent nothing)."""
    sink = Sink(kind)
    out = kind("ip", 2**63 - 1, sink, sink, sink, -1, 65536)
    out.write(b"hello")
    held = out.take()
    out.send(held)
    out.write(b"world")
    sink.flush()
    assert sink.sent == [b"hello", b"world"] and sink.overflows == 0
