"""No parameter a client sends can make a reply unserializable.

Replies echo client input in middle parameters, which cannot be empty, contain a space
or start with ':'. A client can send exactly such values as its last parameter. Every
registered command is tried with such a value in every position, each line from a
fresh client; the client must get its answer and keep its connection (an unserializable
reply would drop it with "Internal error", or leave it without an answer).
"""

from __future__ import annotations

import pytest

from hubbub.config import load
from hubbub.irc.message import parse
from hubbub.irc.validate import is_valid_nick
from hubbub.server.commands import COMMANDS
from hubbub.server.context import Services
from hubbub.server.core import local_core
from tests.unit.test_session import FakeClock, Peer, registered

JUNK = [":a b", "::x", ":", ":zz,a b"]
# Plausible leading parameters, so that the junk reaches the code after the first checks.
FILLERS = [["#c", "bob", "+b", "x"], ["+zz", "draft/multiline"], ["+"]]
SKIP = {"QUIT", "DIE"}  # they end the connection (or the server) by design
# Commands that answer nothing, by their specification: NOTICE (RFC 1459: no automatic
# reply, not even an error) and PONG (it is itself the answer to a PING).
SILENT = {"NOTICE", "PONG"}


def silent_by_design(line: str) -> bool:
    """MONITOR has no reply for a target that cannot be a nick: such targets are skipped."""
    message = parse(line)
    if message.command in SILENT:
        return True
    return message.command == "MONITOR" and message.params[:1] == ["+"] and not any(
        is_valid_nick(nick, 30) for nick in message.param(1).split(",")
    )


def _net() -> Services:
    return local_core(
        load(None, ["limits.monitor=1", "limits.max_targets=1", "accounts.login_failures=1000"]),
        FakeClock(),
    )


def _ready(net: Services, nick: str = "alice", in_channel: bool = True) -> Peer:
    """A client with the capabilities that change replies, its MONITOR list full, in #c
    (which bob made) unless `in_channel` is false."""
    if net.state.find_user("bob") is None:
        bob = registered(net, "bob")
        bob.send("JOIN #c")  # a channel the junk may name
    alice = registered(net, nick)
    alice.send("CAP REQ :message-tags batch draft/multiline labeled-response echo-message setname")
    if in_channel:
        alice.send("JOIN #c")
    alice.send("MONITOR + carol")  # the list is now full (limit 1)
    alice.take()
    return alice


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - SKIP))
def test_any_junk_parameter_gets_an_answer_and_keeps_the_connection(command: str) -> None:
    net = _net()
    lines = {
        " ".join([command, *filler[:position], junk])
        for filler in FILLERS
        for position in range(len(filler) + 1)
        for junk in JUNK
    }
    for number, line in enumerate(sorted(lines)):
        alice = _ready(net, f"alice{number}", in_channel=False)  # so that JOIN #c has an answer
        alice.send(line)
        assert alice.client.quit_reason is None, f"{line!r} cost the connection"
        replies = alice.take()
        if line.startswith("BATCH +zz"):  # an opened batch is answered when it closes
            alice.send("BATCH -zz")
            replies += alice.take()
        if not silent_by_design(line):
            assert replies, f"{line!r} got no answer"
        alice.send("PING alive")
        assert alice.codes() == ["PONG"], line
