"""Framing a byte stream into lines: both line endings, any split, bounded memory."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.irc.framing import TOO_LONG, LineBuffer


def test_crlf_and_bare_lf_both_end_a_line() -> None:
    assert LineBuffer(100).feed(b"one\r\ntwo\nthree\r\n") == [b"one", b"two", b"three"]


def test_cr_is_stripped_only_at_the_end_of_a_line() -> None:
    assert LineBuffer(100).feed(b"a\rb\r\nc\r\r\n") == [b"a\rb", b"c\r"]


def test_empty_lines_come_out_empty() -> None:
    assert LineBuffer(100).feed(b"\r\n\n") == [b"", b""]


def test_incomplete_line_waits_for_its_end() -> None:
    buf = LineBuffer(100)
    assert buf.feed(b"PRIVMSG #a :hel") == []
    assert buf.pending == len(b"PRIVMSG #a :hel")
    assert buf.feed(b"lo\r") == []
    assert buf.feed(b"\nNEXT") == [b"PRIVMSG #a :hello"]
    assert buf.pending == 4


def test_many_lines_in_one_feed_come_out_in_order() -> None:
    data = b"".join(b"LINE %d\r\n" % i for i in range(50))
    assert LineBuffer(100).feed(data) == [b"LINE %d" % i for i in range(50)]


def test_line_of_exactly_the_limit_is_delivered_with_either_ending() -> None:
    for ending in (b"\n", b"\r\n"):
        line = b"x" * 20
        assert LineBuffer(20).feed(line + ending) == [line]


def test_full_length_line_split_between_cr_and_lf_is_delivered() -> None:
    buf = LineBuffer(20)
    assert buf.feed(b"x" * 20 + b"\r") == []
    assert buf.feed(b"\n") == [b"x" * 20]


def test_over_long_line_yields_too_long_once_and_next_line_is_intact() -> None:
    buf = LineBuffer(20)
    assert buf.feed(b"x" * 21 + b"\r\nok\r\n") == [TOO_LONG, b"ok"]


def test_stream_without_lf_past_limit_yields_too_long_once_and_skips_to_next_lf() -> None:
    buf = LineBuffer(20)
    assert buf.feed(b"y" * 25) == [TOO_LONG]
    assert buf.feed(b"y" * 100) == []
    assert buf.feed(b"y" * 100 + b"\r\n") == []
    assert buf.feed(b"after\r\n") == [b"after"]


def test_over_long_line_arriving_in_small_pieces_is_reported_once() -> None:
    buf = LineBuffer(20)
    out: list[bytes | None] = []
    for _ in range(30):
        out += buf.feed(b"z")
    out += buf.feed(b"\nnext\n")
    assert out == [TOO_LONG, b"next"]


def test_lines_before_an_over_long_tail_are_delivered() -> None:
    buf = LineBuffer(20)
    assert buf.feed(b"a\r\nb\r\n" + b"c" * 30) == [b"a", b"b", TOO_LONG]
    assert buf.feed(b"\r\nd\r\n") == [b"d"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=30))
def test_buffer_never_holds_more_than_a_line_and_its_cr(chunks: list[bytes]) -> None:
    limit = 20
    buf = LineBuffer(limit)
    for chunk in chunks:
        for line in buf.feed(chunk):
            assert line is TOO_LONG or len(line) <= limit
        assert buf.pending <= limit + 1  # a full-length line may wait with its CR for the LF


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=12),
    st.lists(st.integers(min_value=0, max_value=400), max_size=10),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_any_split_of_a_stream_gives_the_same_lines(
    lines: list[bytes], cuts: list[int], ending: bytes
) -> None:
    """How TCP happens to cut the stream must not change what is read."""
    limit = 20
    stream = b"".join(line + ending for line in lines)
    expected: list[bytes | None] = []
    for line in lines:
        # with a bare LF, a CR the line itself ends with is taken for part of the ending
        content = line.removesuffix(b"\r") if ending == b"\n" else line
        expected.append(TOO_LONG if len(content) > limit else content)
    buf = LineBuffer(limit)
    got: list[bytes | None] = []
    start = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        got += buf.feed(stream[start:cut])
        start = max(start, cut)
    assert got == expected
    assert buf.pending == 0
