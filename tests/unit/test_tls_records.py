"""The TLS stream's record counter (transport/tlsstream.py): however TCP cuts the
stream of records, it counts each record once, when its last byte arrives, so that the
stream asks OpenSSL for plaintext as often as records completed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hubbub.transport.tlsstream import HEADER, RecordCounter


def record(size: int) -> bytes:
    return bytes([23, 3, 3]) + size.to_bytes(2, "big") + b"x" * size


@given(
    st.lists(st.integers(0, 17000), min_size=1, max_size=12),
    st.lists(st.integers(1, 40000), max_size=30),
)
def test_each_record_counts_once_when_it_completes(sizes: list[int], cuts: list[int]) -> None:
    stream = b"".join(record(size) for size in sizes)
    ends = []  # offsets where each record ends
    offset = 0
    for size in sizes:
        offset += HEADER + size
        ends.append(offset)
    points = sorted({c % len(stream) for c in cuts} - {0}) + [len(stream)]
    counter = RecordCounter()
    start = 0
    for point in points:
        completed = counter.feed(stream[start:point])
        assert completed == sum(1 for end in ends if start < end <= point)
        start = point


def test_a_header_cut_in_two_and_an_empty_record() -> None:
    counter = RecordCounter()
    data = record(10) + record(0)
    assert counter.feed(data[:3]) == 0
    assert counter.feed(data[3:9]) == 0
    assert counter.feed(data[9:]) == 2
