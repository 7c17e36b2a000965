"""The compiled making of a chat message's Outgoing and of its bare form
(hubbub/_speedups.c's `outgoing` and the delivery loop's own `_bare`) give what
server/delivery.py's Outgoing and its `irc_bytes` give, which stay the reference; the
flusher asks the store's barrier only in a pass after writes became due; and the
compiled read of a plain connection's socket answers as os.read does."""

from __future__ import annotations

import errno
import inspect
import itertools
import os
import socket
import sys
from collections.abc import Iterator

import pytest

from hubbub.irc.message import Message, encode_fitting, parse_common
from hubbub.server import announce, delivery
from hubbub.server.channel import Channel
from hubbub.server.delivery import FORM_BITS, WANTS_ACCOUNT, WANTS_MULTILINE, WANTS_TAGS, WANTS_TIME, Outgoing
from hubbub.speedups import compiled
from hubbub.transport import flusher as flushing
from tests.unit.test_delivery_loops import member

needs_c = pytest.mark.skipif(compiled is None, reason="hubbub._speedups is not built")
FIELDS = ("message", "time", "msgid", "client_tags", "account", "bot", "_bare", "_forms")


def fields(out: Outgoing) -> tuple[object, ...]:
    return tuple(getattr(out, name) for name in FIELDS)


@needs_c
@pytest.mark.parametrize(
    "args",
    [
        (Message("PRIVMSG", ["#c", "hi"], "a!u@h"), 1.5, "m1"),
        (Message("NOTICE", ["bob", "hi"], "a!u@h"), 2.0, "m2", {"+draft/reply": "m1"}),
        (Message("PRIVMSG", ["bob", "hi"], "a!u@h"), 3.0, "m3", None, "alice"),
        (Message("PRIVMSG", ["bob", "hi"], "a!u@h"), 4.0, "m4", None, "alice", True),
    ],
)
def test_an_outgoing_made_in_c_is_the_one_its_class_makes(args: tuple[object, ...]) -> None:
    made = delivery.new_outgoing(*args)
    expected = Outgoing(*args)  # type: ignore[arg-type]
    assert type(made) is Outgoing and fields(made) == fields(expected)
    assert made.message is args[0]
    made._bare = b"x"  # an ordinary instance: its slots are its own
    assert made._bare == b"x"


@needs_c
def test_outgoing_is_still_what_the_c_maker_assumes() -> None:
    """The twin fills the eight slots and skips __init__: the same object only while
    __init__ takes these six and sets the two caches to None, and nothing else."""
    assert Outgoing.__slots__ == FIELDS
    assert list(inspect.signature(Outgoing.__init__).parameters) == ["self", *FIELDS[:6]]
    plain = Outgoing(Message("PING", ["x"]), 0.0, "m")
    assert (plain.client_tags, plain.account, plain.bot, plain._bare, plain._forms) == (None, None, False, None, None)
    assert delivery.new_outgoing is compiled.outgoing  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        delivery.new_outgoing(Message("PING", ["x"]), 0.0)


@needs_c
def test_a_class_not_made_of_slots_is_called_as_it_is() -> None:
    assert compiled is not None

    class Plain:
        def __init__(self, *args: object) -> None:
            self.args = args

    try:
        assert compiled.outgoing_class(Plain, encode_fitting, FORM_BITS) is False
        made = compiled.outgoing("m", 1.0, "id", None, "acc")
        assert isinstance(made, Plain) and made.args == ("m", 1.0, "id", None, "acc")
    finally:
        assert compiled.outgoing_class(Outgoing, encode_fitting, FORM_BITS) is True


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The masks irc_bytes was asked for, on Outgoing itself (the class the C loop knows)."""
    masks: list[int] = []
    original = Outgoing.irc_bytes

    def counted(self: Outgoing, mask: int = 0) -> bytes:
        masks.append(mask)
        return original(self, mask)

    monkeypatch.setattr(Outgoing, "irc_bytes", counted)
    yield masks


@needs_c
def test_the_delivery_loop_writes_the_bare_form_itself_and_asks_for_the_others(asked: list[int]) -> None:
    channel = Channel("#c", 0.0)
    sender, _ = member(channel, "a")
    _, plain = member(channel, "b")
    _, multiline = member(channel, "c", WANTS_MULTILINE)  # no bit of a form: the bare one too
    _, timed = member(channel, "d", WANTS_TIME)
    _, tagged = member(channel, "e", WANTS_TAGS | WANTS_ACCOUNT)
    message = Message("PRIVMSG", ["#c", "hi there"], "a!u@h")
    out = delivery.new_outgoing(message, 1_800_000_000.0, "m1", None, "alice")
    announce.to_members(channel, out, exclude=sender.user)
    reference = Outgoing(message, 1_800_000_000.0, "m1", None, "alice")
    assert plain.got == multiline.got == [reference.irc_bytes(0)] == [b":a!u@h PRIVMSG #c :hi there\r\n"]
    assert timed.got == [reference.irc_bytes(WANTS_TIME)]
    assert tagged.got == [reference.irc_bytes(WANTS_TAGS | WANTS_ACCOUNT)]
    assert out._bare == plain.got[0]  # kept, as irc_bytes keeps it
    assert sorted(asked[:2]) == [WANTS_TIME, WANTS_TAGS | WANTS_ACCOUNT]  # the bare one never asked for
    again = Channel("#d", 0.0)
    other_sender, _ = member(again, "f")
    _, later = member(again, "g")
    announce.to_members(again, out, exclude=other_sender.user)  # taken from the slot the second time
    assert later.got == plain.got


@needs_c
def test_a_line_the_compiled_encoder_refuses_takes_irc_bytes(asked: list[int]) -> None:
    channel = Channel("#c", 0.0)
    sender, _ = member(channel, "a")
    _, plain = member(channel, "b")
    message = Message("PRIVMSG", ["#c", "é" * 400], "a!u@h")  # past 512 bytes: cut, the Python way
    assert encode_fitting is not None and encode_fitting(message) is None
    out = delivery.new_outgoing(message, 1.0, "m1")
    announce.to_members(channel, out, exclude=sender.user)
    assert asked == [0]
    assert plain.got == [Outgoing(message, 1.0, "m1").irc_bytes(0)] and len(plain.got[0]) <= 512


class Loop:
    def __init__(self) -> None:
        self.calls = 0

    def call_soon(self, callback: object, *, context: object = None) -> None:
        self.calls += 1


def test_the_barrier_is_asked_only_in_a_pass_after_writes_became_due() -> None:
    loop = Loop()
    flusher = flushing.Flusher(loop)  # type: ignore[arg-type]
    calls: list[int] = []
    flusher.barrier = lambda: calls.append(1)  # type: ignore[assignment,return-value,func-returns-value]
    flusher.wake()
    flusher.flush()
    assert calls == [] and loop.calls == 1  # a pass with nothing for the store
    flusher.due()
    assert loop.calls == 2  # writes due: a pass comes even with no output
    flusher.due()
    assert loop.calls == 2  # once
    flusher.flush()
    assert calls == [1]
    flusher.flush()
    assert calls == [1]  # handed over: not asked again until the next writes


# -- reading a socket ---------------------------------------------------------------------


@needs_c
def test_the_compiled_read_is_os_read_for_a_socket_that_cannot_block() -> None:
    assert compiled is not None
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing yet: as os.read says it
            compiled.read(ours.fileno(), 4096)
        theirs.sendall(b"PRIVMSG bob :hi\r\n")
        assert compiled.read(ours.fileno(), 4096) == b"PRIVMSG bob :hi\r\n"
        theirs.sendall(b"x" * 200_000)
        got = b""
        while len(got) < 200_000:  # at most 65,536 a call, the rest at the next
            chunk = compiled.read(ours.fileno(), 1 << 20)
            assert 0 < len(chunk) <= 65_536
            got += chunk
        assert got == b"x" * 200_000
        theirs.sendall(b"abcdef")
        assert compiled.read(ours.fileno(), 4) == b"abcd" and compiled.read(ours.fileno(), 0) == b""
        assert compiled.read(ours.fileno(), 10) == b"ef"
        theirs.shutdown(socket.SHUT_WR)
        assert compiled.read(ours.fileno(), 4096) == b""  # the end, as os.read tells it
        with pytest.raises(ValueError):
            compiled.read(ours.fileno(), -1)
        with pytest.raises(TypeError):
            compiled.read(ours.fileno())  # type: ignore[call-arg]
    with pytest.raises(OSError) as closed:
        compiled.read(1_000_000, 10)  # no such descriptor
    assert closed.value.errno == errno.EBADF


def test_plain_connections_read_with_the_compiled_read_when_built() -> None:
    from hubbub.transport import sockets

    assert sockets.read is (compiled.read if compiled is not None else os.read)


# -- message ids and the common commands ---------------------------------------------------


@needs_c
@pytest.mark.parametrize("start", [1, 9, 10, 15, 16, 255, 4096, 2**32 + 7, 2**63 + 5])
def test_compiled_message_ids_are_the_python_ones(start: int) -> None:
    assert compiled is not None
    ids = compiled.MsgIds("1f2e3d4c", start)
    python = map(("1f2e3d4c" + "%x").__mod__, itertools.count(start)).__next__
    assert [ids() for _ in range(20)] == [python() for _ in range(20)]


@needs_c
def test_message_ids_are_made_in_c_and_refuse_what_they_cannot_write() -> None:
    assert compiled is not None
    assert isinstance(delivery.new_msgid, compiled.MsgIds)
    first, second = delivery.new_msgid(), delivery.new_msgid()
    assert first != second and first[:8] == second[:8] == delivery._MSGID_PREFIX
    with pytest.raises(ValueError):
        compiled.MsgIds("préfixe")
    with pytest.raises(TypeError):
        compiled.MsgIds("ab")(1)  # type: ignore[call-arg]


@needs_c
def test_the_common_commands_are_read_as_the_interned_names() -> None:
    """PRIVMSG and NOTICE come as the very strings the code compares with and COMMANDS
    is keyed by (no new string, no hash to compute); any other command equal, but new."""
    for line, command in ((b"PRIVMSG bob :hi", "PRIVMSG"), (b"NOTICE #c :hi", "NOTICE")):
        message = parse_common(line, Message)
        assert message is not None and message.command is sys.intern(command)
    other = parse_common(b"PRIVMSGX bob :hi", Message)
    assert other is not None and other.command == "PRIVMSGX"


@needs_c
def test_a_tuple_made_in_c_is_the_one_tuple_new_makes() -> None:
    """new_tuple(cls, fields) is tuple.__new__(cls, fields): the same class, fields,
    equality and hash, tracked by the collector as every tuple subclass's instance (a
    field may refer back to it), the first time a class comes (made by tuple.__new__
    itself) and every time after (made in C); an exact tuple comes back as it is."""
    import gc

    from hubbub.server.events import Said, new_said

    fields = ("u1", "PRIVMSG", "#c", True, "hi", {"+x": "y"}, 1.5, "m1", "@")
    reference = tuple.__new__(Said, fields)
    for _ in range(3):
        made = compiled.new_tuple(Said, fields)
        assert type(made) is Said and made == reference and made.tags is fields[5] and made.status == "@"
        assert gc.is_tracked(made)
    assert hash(compiled.new_tuple(Said, ("u1", "PRIVMSG", "#c", True, "hi", None, 1.5, "m1", ""))) == hash(
        Said("u1", "PRIVMSG", "#c", True, "hi", None, 1.5, "m1")
    )
    assert new_said(fields) == reference and type(new_said(fields)) is Said
    assert compiled.new_tuple(tuple, fields) is fields
    for _ in range(2):
        assert compiled.new_tuple(Said, ()) == () and type(compiled.new_tuple(Said, ())) is Said


@needs_c
def test_new_tuple_refuses_what_tuple_new_refuses_every_time() -> None:
    """A tuple subclass made in C with fields of its own (time.struct_time, os.stat_result:
    tuple.__new__ says it is not safe) is refused the second time as the first, not made
    with its hidden fields empty; so is anything that is no tuple class, or fields that
    are not a tuple."""
    import time

    from hubbub.server.events import Said

    compiled.new_tuple(Said, ("u1",) * 9)  # the class remembered last: another comes next
    for cls in (time.struct_time, os.stat_result):
        for _ in range(2):
            with pytest.raises(TypeError, match="not safe"):
                compiled.new_tuple(cls, tuple(range(11)))
    for bad in ((str, ("a",)), (object, ("a",)), (1, ("a",)), (Said, ["u1"]), (Said,)):
        with pytest.raises(TypeError):
            compiled.new_tuple(*bad)


@needs_c
def test_a_class_changed_since_is_made_by_tuple_new_again() -> None:
    """The class tuple.__new__ accepted is remembered with its version: once the class
    changed (an attribute set on it), tuple.__new__ makes its instances again."""

    class Pair(tuple):  # type: ignore[type-arg]
        pass

    assert type(compiled.new_tuple(Pair, (1, 2))) is Pair
    assert type(compiled.new_tuple(Pair, (1, 2))) is Pair
    Pair.extra = 1  # type: ignore[attr-defined]  # the class changes (its version tag)
    assert compiled.new_tuple(Pair, (3, 4)) == (3, 4) and type(compiled.new_tuple(Pair, (3, 4))) is Pair


def test_the_flush_is_scheduled_by_a_partial_without_keywords() -> None:
    """A partial with a keyword is called the slow way (its keywords copied into a new
    dict at each call): the one every message calls has none."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        flusher = flushing.Flusher(loop)
        assert not flusher._schedule.keywords  # type: ignore[attr-defined]
        assert flusher._schedule.args == (flusher.flush,)  # type: ignore[attr-defined]
    finally:
        loop.close()


@needs_c
def test_tag_masks_are_found_by_their_address_on_this_interpreter() -> None:
    """The shared ints 0 to 15 lie in a row on CPython: the delivery loop finds a
    member's tag mask by its address (else it converts each one, correct but dearer)."""
    if sys.implementation.name == "cpython":
        assert compiled.MASKS_BY_ADDRESS == 1
