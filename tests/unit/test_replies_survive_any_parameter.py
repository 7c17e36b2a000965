"""No parameter a client sends can make a reply unserializable.

Replies echo client input in middle parameters, which cannot be empty, contain a space
or start with ':'. A client can send exactly such values as its last parameter. Every
registered command is tried with such a value in every position; the client must get
its answer and keep its connection (an unserializable reply would drop it with
"Internal error").
"""

from __future__ import annotations

import pytest

from hubbub.config import load
from hubbub.server.commands import COMMANDS
from hubbub.server.context import Services
from hubbub.server.core import local_core
from tests.unit.test_session import FakeClock, Peer, registered

JUNK = [":a b", "::x", ":", ":zz,a b"]
# Plausible leading parameters, so that the junk reaches the code after the first checks.
FILLERS = [["#c", "bob", "+b", "x"], ["+zz", "draft/multiline"], ["+"]]
SKIP = {"QUIT", "DIE"}  # they end the connection (or the server) by design


def _net() -> Services:
    return local_core(load(None, ["limits.monitor=1", "limits.max_targets=1"]), FakeClock())


def _ready(net: Services) -> Peer:
    bob = registered(net, "bob")
    bob.send("JOIN #c")
    alice = registered(net, "alice")
    alice.send("CAP REQ :message-tags batch draft/multiline labeled-response echo-message")
    alice.send("JOIN #c")
    alice.send("MONITOR + carol")  # the list is now full (limit 1)
    alice.take()
    return alice


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - SKIP))
def test_any_junk_parameter_gets_an_answer_and_keeps_the_connection(command: str) -> None:
    net = _net()
    alice = _ready(net)
    lines = {
        " ".join([command, *filler[:position], junk])
        for filler in FILLERS
        for position in range(len(filler) + 1)
        for junk in JUNK
    }
    for line in sorted(lines):
        alice.send(line)
        assert alice.client.quit_reason is None, f"{line!r} cost the connection"
        alice.send("BATCH -zz")  # close a batch the line may have opened
        alice.take()
    alice.send("PING alive")
    assert "PONG" in alice.codes()
