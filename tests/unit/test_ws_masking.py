"""The MASK bit check in front of aiohttp's WebSocket reader (transport/masking.py):
however TCP cuts a client's stream, the reader gets exactly the bytes before the first
unmasked frame, the connection fails in the read that brings that frame's MASK bit, and
no payload or extended length is ever taken for a header."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hubbub.transport.masking import UNMASKED_CLOSE, MaskedOnly


def frame(payload: bytes, masked: bool = True, opcode: int = 0x1) -> bytes:
    mask_bit = 0x80 if masked else 0
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, mask_bit | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, mask_bit | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, mask_bit | 127)) + size.to_bytes(8, "big")
    return header + (b"\x81\x00\x81\x00" if masked else b"") + payload


def stream(frames: list[tuple[bytes, bool]]) -> tuple[bytes, int]:
    """The frames' bytes, and where the first unmasked one begins (-1: none)."""
    data, first = b"", -1
    for payload, masked in frames:
        if not masked and first < 0:
            first = len(data)
        data += frame(payload, masked)
    return data, first


class Reader:
    """Keeps what it is fed; `fails`: says the connection is over, as aiohttp's reader
    does for a framing error of its own."""

    def __init__(self, fails: bool = False) -> None:
        self.fed: list[bytes] = []
        self.fails = fails
        self.eof = False

    @property
    def got(self) -> bytes:
        return b"".join(self.fed)

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.fed.append(data)
        return self.fails, b""

    def feed_eof(self) -> None:
        self.eof = True


def fed(data: bytes, points: list[int]) -> tuple[bytes, tuple[int, int] | None]:
    """Feed `data` cut at `points`, as long as the connection lasts: what the reader got,
    and where the read that failed the connection starts and ends (None: none did)."""
    reader, failed = Reader(), []
    check = MaskedOnly(reader, lambda: failed.append(True))
    start = 0
    for point in [*points, len(data)]:
        over, _ = check.feed_data(data[start:point])
        if over:
            assert failed == [True]
            return reader.got, (start, point)
        start = point
    assert not failed
    return reader.got, None


# Payloads whose bytes read as unmasked headers if taken for one; lengths around each
# of the three length encodings' bounds.
SIZES = st.sampled_from([0, 1, 2, 5, 124, 125, 126, 127, 300, 65535, 65536, 70000])
PAYLOADS = st.one_of(st.binary(max_size=200), SIZES.map(lambda n: b"\x01" * n))
FRAMES = st.lists(st.tuples(PAYLOADS, st.booleans()), min_size=1, max_size=8)


@given(FRAMES, st.lists(st.integers(1, 200_000), max_size=20))
def test_the_reader_gets_everything_before_the_first_unmasked_frame_however_the_stream_is_cut(
    frames: list[tuple[bytes, bool]], cuts: list[int]
) -> None:
    data, first = stream(frames)
    points = sorted({c % len(data) for c in cuts} - {0})
    got, failing_read = fed(data, points)
    if first < 0:
        assert got == data and failing_read is None
    else:
        assert failing_read is not None and failing_read[0] <= first + 1 < failing_read[1]  # it has the MASK bit
        assert got == data[: max(first, failing_read[0])]  # at most the frame's first byte, alone meaningless


def test_a_cut_at_every_byte_and_a_byte_at_a_time() -> None:
    data, first = stream([(b"x" * 300, True), (b"\x00" * 70000, True), (b"", True), (b"y" * 125, True),
                          (b"z" * 126, True), (b"PING :a", False)])  # fmt: skip
    big = data.index(b"\x00" * 70000)  # a cut deep in its payload is like any other there
    for point in [p for p in range(1, len(data)) if not big + 20 < p < big + 70000 - 20]:
        got, failing_read = fed(data, [point])
        assert got == data[: first + 1 if point == first + 1 else first]
        assert failing_read == ((point, len(data)) if point < first + 2 else (0, point))
    assert fed(data, list(range(1, len(data)))) == (data[: first + 1], (first + 1, first + 2))


def test_masked_frames_pass_whole_and_the_check_ends_on_a_boundary() -> None:
    reader = Reader()
    check = MaskedOnly(reader, lambda: None)
    data = frame(b"a" * 200) + frame(b"") + frame(b"b" * 66000) + frame(b"c", opcode=0x9) + frame(b"NICK a")
    for i in range(0, len(data), 1000):
        assert check.feed_data(data[i : i + 1000]) == (False, b"")
    assert reader.got == data
    assert (check.head, check.left) == (b"", 0)
    check.feed_eof()
    assert reader.eof


def test_the_frames_before_an_unmasked_one_in_the_same_read_are_read() -> None:
    before = frame(b"NICK a") + frame(b"USER a 0 * :a")
    data = before + frame(b"PING :x", masked=False) + frame(b"PING :y")
    assert fed(data, []) == (before, (0, len(data)))


def test_a_read_of_an_unmasked_header_alone_whatever_its_length() -> None:
    """Reads of 4 and 5 bytes whose second byte, read as a masked short frame's, would
    say the read is one whole frame (126 and 127 less 0x7A)."""
    for payload in (b"x" * 300, b"x" * 70000, b"x" * 120):
        head = frame(payload, masked=False)
        for size in range(2, 11):
            assert fed(head[:size], []) == (b"", (0, size))


def test_a_reader_that_failed_on_the_frames_before_keeps_its_own_close() -> None:
    reader, failed = Reader(fails=True), []
    check = MaskedOnly(reader, lambda: failed.append(True))
    assert check.feed_data(frame(b"x") + frame(b"y", masked=False)) == (True, b"")
    assert reader.got == frame(b"x") and not failed


def test_an_empty_read_changes_nothing() -> None:
    reader = Reader()
    check = MaskedOnly(reader, lambda: None)
    assert check.unmasked_at(b"") == -1
    assert check.unmasked_at(frame(b"x")[:1]) == -1
    assert check.unmasked_at(b"") == -1
    assert check.unmasked_at(frame(b"x")[1:] + frame(b"y", masked=False)[:2]) == len(frame(b"x")) - 1


def test_the_close_frame_is_an_unmasked_1002_with_its_reason() -> None:
    assert UNMASKED_CLOSE[0] == 0x88 and UNMASKED_CLOSE[1] == len(UNMASKED_CLOSE) - 2 < 126
    assert int.from_bytes(UNMASKED_CLOSE[2:4], "big") == 1002
    assert UNMASKED_CLOSE[4:].decode("utf-8") == "client frames must be masked"
