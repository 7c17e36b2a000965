"""Whatever a person types after any of the plain mode's slash commands, the server
answers it and goes on: no internal error, the connection kept, and every line the
command sends to IRC users is one IRC message. Property tests over the commands'
table (plain/translate.py `_SLASH`), without a socket."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hubbub.irc.message import parse
from hubbub.plain.sentences import SENTENCES, sentence
from hubbub.plain.translate import _SLASH
from tests.unit.test_plain_channel_ops import Channel

# what a person might type after a command: words, channel and nick shapes, punctuation
# IRC gives meaning to, and any text (no line endings: the framing splits those)
WORD = st.one_of(
    st.sampled_from(["#lobby", "#", "#x,#y", "carol", "alice", "bob", ":", "+", "-", "+o", "-b", "*!*@*", "@#lobby",
                     "0", "-1", "99999999999", "::", ",", "\\", "%#lobby", "a:bob", "", " "]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"), max_size=40),
)  # fmt: skip
ARGS = st.lists(WORD, max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(sorted(_SLASH)), args=ARGS, case=st.booleans())
@example(command="msg", args=": #lobby", case=False)  # found so: the target read as a middle parameter
def test_any_arguments_to_any_command_are_answered_and_the_connection_goes_on(
    command: str, args: str, case: bool
) -> None:
    chan = Channel()
    typed = f"/{command.upper() if case else command} {args}".rstrip()
    seen = chan.typed(typed)
    assert not [line for line in seen if "Internal error" in line or line.startswith("ERROR")], (typed, seen)
    for line in chan.alice.lines():  # what IRC users received: each one message
        parse(line)
    if command not in ("exit", "quit"):
        assert chan.typed("/who"), typed  # still here, still answered


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=st.lists(st.one_of(WORD, st.sampled_from(["/", "//", "/ ", "nick", "/nick", "/exit"])), max_size=8).map(
    "".join))
def test_any_line_typed_is_answered_and_the_connection_goes_on(line: str) -> None:
    chan = Channel()
    seen = chan.typed(line)
    assert not [text for text in seen if "Internal error" in text], (line, seen)
    for sent in chan.alice.lines():
        parse(sent)


@settings(max_examples=500, deadline=None)
@given(code=st.sampled_from(sorted(SENTENCES)), params=st.lists(WORD, max_size=6))
def test_every_numeric_reads_as_a_sentence_whatever_its_parameters(code: str, params: list[str]) -> None:
    """A server (ours, in a cluster of mixed versions, or a bug) may send a numeric with
    fewer or other parameters than expected: it still reads as a line, never an error."""
    said = sentence(code, ["bob", *params])
    assert isinstance(said, str) and said.startswith("*")
