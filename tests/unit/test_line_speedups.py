"""The compiled twins of the line's reading and writing (hubbub/_speedups.c's
`parse_common` and `encode`) give what the Python code gives, or None and leave the
line to it: generated lines and messages, the odd bytes a fuzzer would send included,
compared with irc/message.py's `parse` and `Message.encode`, which stay the reference.
Without the compiled module (no C compiler, HUBBUB_PURE=1) there is nothing to compare."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hubbub.irc import casemap
from hubbub.irc import message as wire
from hubbub.irc.framing import FRAMER, LineBuffer
from hubbub.irc.message import Message, ParseError, parse
from hubbub.server import apply
from hubbub.server.events import Synced, new_said
from hubbub.speedups import compiled

pytestmark = pytest.mark.skipif(compiled is None, reason="hubbub._speedups is not built")

# Bytes that decide a line's shape, with text around them: ASCII letters of both cases,
# spaces and colons, tags and sources, control characters, UTF-8 whole and broken.
PIECES = [b"PRIVMSG", b"NOTICE", b"privmsg", b"TAGMSG", b"PING", b"001", b"A", b"#c", b"bob", b"\xc3\xa9",
          b"\xf0\x9f\x98\x80", b"\xff", b"\xc3", b"\xed\xa0\x80", b" ", b"  ", b":", b" :", b"@", b"@a=b ", b":n!u@h ",
          b"\r", b"\n", b"\x00", b"\t", b",", b";", b"=", b"x", b"\x7f"]  # fmt: skip
LINES = st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join) | st.binary(max_size=40)


def python_parse(raw: bytes) -> Message | None:
    """What session.line_received's Python way makes of `raw`: a Message, or None where it
    answers otherwise (not UTF-8, blank, unparsable)."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    if not text.strip(" "):
        return None
    try:
        return parse(text)
    except ParseError:
        return None


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=LINES)
@example(raw=b"PRIVMSG bob :hi")
@example(raw=b"PRIVMSG :bob :hi")
@example(raw=b"PRIVMSG bob  :hi")
@example(raw=b"PRIVMSG bob x :hi")
@example(raw=b"PRIVMSG bob :")
@example(raw=b"PRIVMSG bob :\xff")
@example(raw=b"PRIVMSG b\xc3 :hi")
@example(raw=b"PRIVMSG bob :a\x00b")
def test_the_compiled_reading_of_a_line_is_the_python_one_or_none(raw: bytes) -> None:
    assert compiled is not None
    fast = compiled.parse_common(raw, Message)
    if fast is not None:
        assert fast == python_parse(raw), raw
        assert type(fast.params) is list and type(fast.tags) is dict


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"PRIVMSG bob :hello there", Message("PRIVMSG", ["bob", "hello there"])),
        (b"NOTICE #c :", Message("NOTICE", ["#c", ""])),
        (b"PRIVMSG #caf\xc3\xa9 :\xf0\x9f\x98\x80 :-) x :y", Message("PRIVMSG", ["#caf\u00e9", "\U0001f600 :-) x :y"])),
        (b"TAGMSG bob :", Message("TAGMSG", ["bob", ""])),
    ],
)
def test_the_common_line_is_read_in_c(raw: bytes, expected: Message) -> None:
    """The line nearly every client sends takes the compiled way (None would pass the
    property above, and buy nothing)."""
    assert compiled is not None
    assert compiled.parse_common(raw, Message) == expected


@pytest.mark.parametrize(
    "raw",
    [b"@label=1 PRIVMSG bob :hi", b":bob PRIVMSG bob :hi", b"privmsg bob :hi", b"PRIVMSG bob hi", b"PING",
     b"PRIVMSG :hi", b"PRIVMSG bob  :hi", b"PRIVMSG a b :hi", b"PRIVMSG bob :\xff", b"PRIVMSG bob :a\rb",
     b"PRIVMSG bob :a\x00", b" PRIVMSG bob :hi", b"PRIV-MSG bob :hi", b""],
)  # fmt: skip
def test_every_other_line_is_left_to_python(raw: bytes) -> None:
    assert compiled is not None
    assert compiled.parse_common(raw, Message) is None


def test_a_factory_that_fails_is_an_error_not_a_crash() -> None:
    assert compiled is not None

    def refuse(*args: object) -> Message:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        compiled.parse_common(b"PRIVMSG bob :hi", refuse)
    with pytest.raises(TypeError):
        compiled.parse_common("PRIVMSG bob :hi", Message)  # type: ignore[arg-type]


# -- folding a name -----------------------------------------------------------------------


@settings(max_examples=2000, deadline=None)
@given(name=st.text(st.sampled_from(list("AZaz[]{}|^~\\@#-_09 \u00c9\u00e9\u0130\u0131\u212a\u017f\U0001f600\ud800")))
       | st.text())  # fmt: skip
@example(name="")
@example(name="Bob[]")
@example(name="\u0130I\u212aK")  # non-ASCII letters that str.lower() would fold onto ASCII ones
def test_the_compiled_casefold_is_the_python_one(name: str) -> None:
    assert compiled is not None
    folded = compiled.casefold(name)
    assert folded == casemap._casefold(name) and type(folded) is str


def test_casefold_is_the_compiled_one_and_refuses_what_is_no_str() -> None:
    assert compiled is not None
    assert casemap.casefold is compiled.casefold

    class Name(str):
        pass

    assert type(compiled.casefold(Name("abc"))) is str
    with pytest.raises(TypeError):
        compiled.casefold(b"ABC")  # type: ignore[arg-type]


# -- making a Message ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    command=st.text(max_size=8),
    params=st.lists(st.text(max_size=8), max_size=4),
    source=st.none() | st.text(max_size=8),
    tags=st.none() | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3),
)
def test_a_message_made_in_c_is_the_one_its_class_makes(
    command: str, params: list[str], source: str | None, tags: dict[str, str] | None
) -> None:
    made = wire.new_message(command, params, source, tags)
    expected = Message(command, params, source, {} if tags is None else tags)
    assert type(made) is Message and made == expected and repr(made) == repr(expected)
    assert made.params is params and (tags is None or made.tags is tags)
    made.params.append("x")  # an ordinary instance: its fields are its own to change
    made.command = "PING"
    assert made.params[-1] == "x" and made.command == "PING"
    if tags is None:
        assert made.tags == {} and made.tags is not wire.new_message(command, [], source).tags


def test_message_is_still_what_the_c_maker_assumes() -> None:
    """The twin fills the four slots and skips __init__: that is only the same object
    while __init__ does nothing else (no __post_init__, no other field)."""
    import dataclasses

    assert [f.name for f in dataclasses.fields(Message)] == ["command", "params", "source", "tags"]
    assert not hasattr(Message, "__post_init__")
    assert Message.__slots__ == ("command", "params", "source", "tags")


def test_any_other_class_is_called_as_it_is() -> None:
    assert compiled is not None

    class Plain:
        def __init__(self, *args: object) -> None:
            self.args = args

    made = compiled.message(Plain, "PRIVMSG", ["bob", "hi"], None, {"a": "b"})
    assert isinstance(made, Plain) and made.args == ("PRIVMSG", ["bob", "hi"], None, {"a": "b"})

    class Loud(Message):  # a subclass keeps its own __init__
        def __init__(self, *args: object) -> None:
            super().__init__("LOUD", [], None, {})

    assert compiled.message(Loud, "PRIVMSG", ["bob", "hi"]).command == "LOUD"
    assert compiled.message(Message, "PRIVMSG", ["bob"]) == Message("PRIVMSG", ["bob"])  # and back
    with pytest.raises(TypeError):
        compiled.message(Message, "PRIVMSG")


# -- writing ------------------------------------------------------------------------------

TEXT = st.text(st.sampled_from(list("ab #:;=\\\r\n\0\u00e9\U0001f600\ud800")), max_size=12) | st.text(max_size=8)
COMMANDS = st.sampled_from(["PRIVMSG", "NOTICE", "TAGMSG", "NICK", "QUIT", "PART", "KICK", "MODE", "001", "433",
                            "\uff11\uff12", "privmsg", "JOIN", "CAP", "BATCH"])  # fmt: skip
MESSAGES = st.builds(
    Message,
    COMMANDS,
    st.lists(TEXT | st.sampled_from(["#c", "bob", ":x", "", "a b", "x" * 600]), max_size=5),
    st.none() | st.sampled_from(["", "alice!a@127.0.0.1", "hubbub.local", "n!u@h\r"]) | TEXT,
    st.dictionaries(st.sampled_from(["time", "msgid", "+typing", "account", "bot", "a\nb", "batch"]), TEXT, max_size=4),
)


def python_encode(message: Message, monkeypatch: pytest.MonkeyPatch) -> bytes | type[Exception]:
    with monkeypatch.context() as patch:
        patch.setattr(wire, "encode_fitting", None)
        try:
            return message.encode()
        except Exception as error:  # the reference refuses it: so must the compiled way
            return type(error)


SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=3000, deadline=None, suppress_health_check=SLOW_OK)
@given(message=MESSAGES)
@example(message=Message("PRIVMSG", ["#c", "hi"], "a!b@c", {"time": "2026-01-01T00:00:00.000Z", "+x": ""}))
@example(message=Message("NICK", ["new"], "old!u@h"))
@example(message=Message("NICK", ["new"]))
@example(message=Message("001", ["alice", "Welcome"], "hubbub.local"))
@example(message=Message("PRIVMSG", ["#c", "x" * 600], "a!b@c"))
@example(message=Message("PRIVMSG", ["#c", "hi"], "a!b@c", {"k": "a;b c\\d\re\nf"}))
def test_the_compiled_writing_of_a_message_is_the_python_one_or_none(
    message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert compiled is not None
    reference = python_encode(message, monkeypatch)
    fast = compiled.encode(wire._TEXT_ONLY, wire._TEXT_LAST, message)
    if fast is not None:
        assert fast == reference, message
    if isinstance(reference, bytes):
        assert message.encode() == reference
    else:
        with pytest.raises(reference):
            message.encode()


@pytest.mark.parametrize(
    "message, line",
    [
        (Message("PRIVMSG", ["#c", "hi there"], "a!b@c"), b":a!b@c PRIVMSG #c :hi there\r\n"),
        (Message("PRIVMSG", ["#c", "hi"], "a!b@c", {"time": "t", "msgid": "m;1"}),
         b"@time=t;msgid=m\\:1 :a!b@c PRIVMSG #c :hi\r\n"),
        (Message("NICK", ["new"], "old!u@h"), b":old!u@h NICK :new\r\n"),
        (Message("PART", ["#c"], "a!b@c"), b":a!b@c PART #c\r\n"),
        (Message("MODE", ["#c", "+o", "bob"], "a!b@c"), b":a!b@c MODE #c +o bob\r\n"),
    ],
)  # fmt: skip
def test_messages_that_fit_are_written_in_c(message: Message, line: bytes) -> None:
    assert compiled is not None
    assert compiled.encode(wire._TEXT_ONLY, wire._TEXT_LAST, message) == line


# -- framing ------------------------------------------------------------------------------

STREAM = st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b"PRIVMSG bob :hi", b"x", b"x" * 8, b"", b"\x00", b"\xff"]),
                  max_size=30).map(b"".join)  # fmt: skip


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=STREAM, cuts=st.lists(st.integers(0, 200), max_size=8), limit=st.integers(0, 20))
@example(stream=b"x" * 10 + b"\r\n", cuts=[10], limit=10)
@example(stream=b"x" * 11 + b"\r\nok\n", cuts=[3, 11], limit=10)
@example(stream=b"hello\r\n", cuts=[], limit=10)
def test_the_compiled_framer_cuts_any_stream_as_the_python_one(stream: bytes, cuts: list[int], limit: int) -> None:
    """Whatever the bytes and however the reads split them: the same lines, the same
    over-long markers, the same bytes left waiting."""
    assert compiled is not None
    python, fast = LineBuffer(limit), compiled.LineBuffer(limit)
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        chunk = stream[start:cut]
        start = max(start, cut)
        assert fast.feed(chunk) == python.feed(chunk), (stream, cuts, limit)
        assert fast.pending == python.pending


def test_the_server_frames_with_the_compiled_twin() -> None:
    assert compiled is not None
    assert FRAMER is compiled.LineBuffer
    framer = FRAMER(10)
    assert framer.feed(b"PING a\r\n") == [b"PING a"]
    assert framer.feed(b"x" * 12) == [None]  # once, then skipped to the line's end
    assert framer.feed(b"yyy\nok\r\n") == [b"ok"]
    with pytest.raises(TypeError):
        framer.feed("PING\r\n")  # type: ignore[arg-type]


# -- the time an event is applied at ------------------------------------------------------


class Clock:
    """What in_time_order reads and sets of the state."""

    def __init__(self, clock_us: int) -> None:
        self.clock_us = clock_us


TIMES = st.floats(allow_nan=True, allow_infinity=True) | st.floats(1.7e9, 1.8e9) | st.integers(-10, 2 * 10**9)
CLOCKS = st.integers(-(2**60), 2**60) | st.integers(1_700_000_000_000_000, 1_800_000_000_000_000)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(time=TIMES, clock=CLOCKS, ceiling=st.none() | CLOCKS, nudge=st.integers(-3_000_000, 3_000_000))
@example(time=1_750_000_000.0, clock=1_750_000_000_000_000, ceiling=None, nudge=0)  # the same µs: one later
@example(time=1_750_000_000.0000005, clock=0, ceiling=None, nudge=0)  # a half: to even, as round() does
@example(time=1_750_000_000.0, clock=1_750_000_000_500_000, ceiling=None, nudge=0)  # a step back within a second
@example(time=1_750_000_001.0, clock=1_750_000_000_000_000, ceiling=1_750_000_000_000_999, nudge=0)  # past the ceiling
@example(time=1_750_000_000.0, clock=1_750_000_001_000_000, ceiling=None, nudge=0)  # a step back of a second exactly
def test_the_compiled_time_order_is_the_python_one(
    time: float | int, clock: int, ceiling: int | None, nudge: int
) -> None:
    """The same event (moved or not, a float time or not), the same clock after, the
    same error where the reference raises one (round() of NaN or an infinity)."""
    assert compiled is not None
    if nudge and isinstance(time, float) and abs(time) < 1e12:
        clock = round(time * 1_000_000) + nudge  # near the event's own time, where the rules bite
    twin = compiled.TimeOrder(frozenset(apply.TIMED), dict(apply._TIME_AT), apply.STEP_BACK_US, apply.in_time_order)
    event = new_said(("u1", "PRIVMSG", "#c", True, "hi", None, time, "m1", ""))
    results = []
    for order in (apply.in_time_order, twin):
        state = Clock(clock)
        try:
            got: object = order(state, event, ceiling)  # type: ignore[arg-type]
        except Exception as error:
            got = type(error)
        results.append((got, type(got), state.clock_us))
    assert results[0] == results[1]


def test_events_without_a_time_pass_unchanged_and_the_engines_call_the_twin() -> None:
    assert compiled is not None
    assert isinstance(apply.ordered, compiled.TimeOrder)
    state = Clock(5)
    event = Synced("x", 1.0)  # stamped, but shown with no msgid: not ordered by time
    assert apply.ordered(state, event, None) is event  # type: ignore[arg-type]
    assert state.clock_us == 5


def test_what_the_twins_refuse_to_guess() -> None:
    """A str subclass may format itself otherwise (the Python way writes it); a negative
    line limit and a step back past 2**62 µs are refused when made, never read past."""
    assert compiled is not None

    class Shouting(str):
        def __format__(self, spec: str) -> str:
            return self.upper()

    message = Message("PRIVMSG", ["#c", Shouting("hello")], "a!b@c")
    assert compiled.encode(wire._TEXT_ONLY, wire._TEXT_LAST, message) is None
    assert message.encode() == b":a!b@c PRIVMSG #c :HELLO\r\n"
    with pytest.raises(ValueError):
        compiled.LineBuffer(-1)
    with pytest.raises(ValueError):
        compiled.TimeOrder(frozenset(), {}, 2**63 - 1, apply.in_time_order)
