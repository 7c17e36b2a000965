"""bench/sendtimes.py: a message is a read followed by its copies' writes, and the times
it reports are measured from that read."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.bench import scripts


@pytest.fixture(scope="module")
def sendtimes() -> ModuleType:
    return scripts.load("sendtimes")


def script(*events: tuple[float, str]) -> str:
    """Lines as `perf script -F time,event` prints them."""
    return "".join(f" {at:.6f}: syscalls:sys_enter_{call}: \n" for at, call in events)


def test_a_read_followed_by_enough_writes_is_a_message(sendtimes: ModuleType) -> None:
    text = script(
        (1.000000, "read"), (1.000100, "sendto"), (1.000104, "sendto"), (1.000108, "sendto"),
        (1.001000, "recvfrom"), (1.001050, "writev"),  # one copy only: not a fan-out
        (1.002000, "read"), (1.002070, "write"), (1.002073, "write"), (1.002076, "write"),
    )  # fmt: skip
    found = sendtimes.bursts(text, 3)
    assert [read for read, _ in found] == [1.0, 1.002]
    assert found[0][1] == [1.0001, 1.000104, 1.000108]
    assert sendtimes.bursts(text, 4) == []


def test_the_summary_measures_from_the_read(sendtimes: ModuleType) -> None:
    text = script((2.0, "read"), *((2.0001 + i * 0.000004, "sendto") for i in range(20)))
    summary = sendtimes.summary(sendtimes.bursts(text, 20))
    assert summary.startswith("1 messages fanned out")
    assert "the first write 100.0 us" in summary
    assert "to the tenth 136.0 us" in summary
    assert "to the last 176.0 us" in summary
    assert "4.00 us between two writes" in summary
