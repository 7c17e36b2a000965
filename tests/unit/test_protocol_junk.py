"""Junk in the new commands' own parameters (METADATA subcommands and keys, STATUSMSG
targets, RENAME names) gets an answer and keeps the connection, as any command must."""

from __future__ import annotations

import pytest

from tests.unit.test_replies_survive_any_parameter import JUNK, _net, _ready

SHAPES = [
    "METADATA * {sub} {junk}",
    "METADATA * {sub} valid {junk}",
    "METADATA {junk} {sub} key",
    "METADATA #c {sub} {junk}",
    "PRIVMSG @{junk} :hi",
    "PRIVMSG +#c,@{junk} :hi",
    "TAGMSG %{junk}",
    "RENAME #c {junk}",
    "RENAME {junk} #d",
    "NAMES {junk},#c",
    "LINKS {junk}",
    "LINKS {junk} {junk}",
]
SUBCOMMANDS = ["GET", "LIST", "SET", "CLEAR", "SUB", "UNSUB", "SUBS", "SYNC", "sync", "NOPE"]


@pytest.mark.parametrize("shape", SHAPES)
def test_junk_in_new_commands_gets_an_answer_and_keeps_the_connection(shape: str) -> None:
    net = _net()
    alice = _ready(net)
    alice.send("CAP REQ draft/metadata-2")
    alice.take()
    for sub in SUBCOMMANDS if "{sub}" in shape else [""]:
        for junk in JUNK:
            line = shape.format(sub=sub, junk=junk)
            alice.send(line)
            assert alice.client.quit_reason is None, f"{line!r} cost the connection"
            assert alice.take(), f"{line!r} got no answer"
    alice.send("PING alive")
    assert "PONG" in alice.codes()
