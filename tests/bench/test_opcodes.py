"""bench/instructions.py's `opcodes` scenario: Python bytecodes per message, by function.

The everyday-load work reads where the interpreter's time goes from these counts, so
they must count the server's own code on the message path, per message, and nothing of
the driver's.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.bench import scripts


@pytest.fixture(scope="module")
def instructions() -> ModuleType:
    return scripts.load("instructions")


def test_a_round_trip_counts_the_message_path_per_message(instructions: ModuleType) -> None:
    total, ranked = instructions.opcodes(2, 40)
    names = [where for _, where in ranked]
    # the path of a PRIVMSG: received, relayed, applied (its parsing and serializing are
    # compiled, hubbub/_speedups.c, and run no Python of irc/message.py when built)
    for needed in ("hubbub/server/session.py", "hubbub/server/handlers/messaging.py", "hubbub/server/engine.py"):
        assert any(where.startswith(needed) for where in names), needed
    assert not any("instructions.py" in where for where in names)  # the driver is left out
    assert sum(per for per, _ in ranked) == pytest.approx(total)
    assert ranked == sorted(ranked, reverse=True)
    # per message, not per run: twice the messages, about the same count
    again, _ = instructions.opcodes(2, 80)
    assert again == pytest.approx(total, rel=0.05)


def test_a_channel_message_costs_more_python_than_a_private_one(instructions: ModuleType) -> None:
    private, _ = instructions.opcodes(2, 40)
    channel, ranked = instructions.opcodes(100, 40)
    assert channel > private  # membership and mode checks; the 99 writes themselves are in C
    assert any(":channel_refuses_speech" in where for _, where in ranked)
