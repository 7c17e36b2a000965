"""Whatever parameters an IRC client sends with any command the server knows, the
server answers and goes on: no internal error, the connection kept and answering, and
every line anyone receives is one IRC message. A property test over the command table
(server/commands.py `COMMANDS`), in process, with an operator and a channel about."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.irc.message import Message, parse
from hubbub.server.commands import COMMANDS
from tests.unit.test_plain_channel_ops import Channel

PARAM = st.one_of(
    st.sampled_from(["#lobby", "#", "#x,#y", "carol", "alice", "bob", "*", "+", "-", "+o", "-b", "+j", "2:10", "+K",
                     "+f", "*3:10", "*!*@*", "@#lobby", "0", "-1", "99999999999", ",", "a:bob", "NickServ",
                     "ChanServ", "LATEST", "BEFORE", "timestamp=2021-01-01T00:00:00.000Z", "msgid=x", "LS", "REQ",
                     "END", "PLAIN", "+", "=", "in=#lobby;text=x", "ADD", "DEL", "LIST", "SET", "GET", "display-name",
                     "#lobby2", "1", "100"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0 "), min_size=1, max_size=30),
)  # fmt: skip
TRAILING = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"), max_size=60)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(sorted(COMMANDS)), params=st.lists(PARAM, max_size=6), last=st.none() | TRAILING)
def test_any_parameters_to_any_command_are_answered_and_the_connection_goes_on(
    command: str, params: list[str], last: str | None
) -> None:
    chan = Channel()
    alice = chan.alice
    words = [*params, last] if last is not None else params
    try:
        line = Message(command, words).to_line()
    except ValueError:
        return  # not a line a client could send
    if command in ("QUIT", "DIE", "RESTART"):
        return
    alice.send(line)
    # split at CRLF only (str.splitlines would cut at the control characters a line may carry)
    got = [raw.decode() for raw in alice.new_bytes().split(b"\r\n") if raw]
    assert not [text for text in got if "Internal error" in text], (line, got)
    for text in got:  # (bob and carol, plain users, read sentences: not IRC)
        parse(text)
    assert not [text for text in chan.bob.lines() + chan.carol.lines() if "Internal error" in text], line
    alice.send("PING :still-here")
    assert any("still-here" in text for text in alice.lines()), line
