"""The wire grammar: parsing what clients send and serializing what we send.

Parsing must accept everything the Modern IRC grammar and IRCv3 message-tags allow,
and for any other input fail only with `ParseError` (the session turns that into a
reply; anything else would be a crash). Serializing must produce lines every parser
reads back the same, and refuse what cannot be written.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.irc.message import (
    Message,
    ParseError,
    escape_tag_value,
    parse,
    unescape_tag_value,
)

# -- tags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("a\\:b", "a;b"),
        ("a\\sb", "a b"),
        ("a\\\\b", "a\\b"),
        ("a\\rb", "a\rb"),
        ("a\\nb", "a\nb"),
    ],
)
def test_tag_value_escapes_are_decoded(raw: str, value: str) -> None:
    assert parse(f"@k={raw} CMD").tags == {"k": value}


def test_unknown_tag_escape_drops_the_backslash() -> None:
    assert parse("@k=a\\bc\\1 CMD").tags == {"k": "abc1"}


def test_trailing_backslash_in_tag_value_is_dropped() -> None:
    assert parse("@k=value\\ CMD").tags == {"k": "value"}


def test_escaped_backslash_before_n_is_not_a_newline() -> None:
    """Unescaping goes one character at a time: `\\\\n` is a backslash then 'n'."""
    assert parse("@k=value\\\\ntest CMD").tags == {"k": "value\\ntest"}


def test_valueless_and_empty_valued_tags_have_empty_value() -> None:
    assert parse("@a;b=;c=1 CMD").tags == {"a": "", "b": "", "c": "1"}


def test_client_only_and_vendor_tags_keep_their_full_key() -> None:
    tags = parse("@+draft/reply=abc;example.com/foo=bar;+typing=active CMD").tags
    assert tags == {"+draft/reply": "abc", "example.com/foo": "bar", "+typing": "active"}


def test_duplicate_tag_last_occurrence_wins() -> None:
    assert parse("@tag1=1;tag2=3;tag3=4;tag1=5 CMD").tags == {"tag1": "5", "tag2": "3", "tag3": "4"}


def test_vendor_tag_may_share_a_name_with_a_plain_tag() -> None:
    tags = parse("@tag1=1;tag2=3;tag3=4;tag1=5;vendor/tag2=8 CMD").tags
    assert tags == {"tag1": "5", "tag2": "3", "tag3": "4", "vendor/tag2": "8"}


@pytest.mark.parametrize(
    ("line", "tags"), [("@=x CMD", {}), ("@+ CMD", {}), ("@a;=b;+=c;d=1 CMD", {"a": "", "d": "1"})]
)
def test_tag_without_a_name_is_dropped_and_the_message_kept(line: str, tags: dict[str, str]) -> None:
    """message-tags: an invalid tag name must not get the message rejected."""
    msg = parse(line)
    assert (msg.command, msg.tags) == ("CMD", tags)


def test_odd_tag_names_are_kept_as_opaque_identifiers() -> None:
    assert parse("@a\\b=1;ünï=2;-=3 CMD").tags == {"a\\b": "1", "ünï": "2", "-": "3"}


def test_tag_value_escaping_inverts_unescaping() -> None:
    value = "a;b c\\d\re\nf"
    escaped = escape_tag_value(value)
    assert escaped == "a\\:b\\sc\\\\d\\re\\nf"
    assert unescape_tag_value(escaped) == value


# -- source, command, parameters ------------------------------------------------------


def test_source_is_everything_up_to_the_first_space() -> None:
    msg = parse(":nick!user@host.example PRIVMSG #chan :hi")
    assert msg.source == "nick!user@host.example"


def test_line_without_source_has_none() -> None:
    assert parse("PING x").source is None


@pytest.mark.parametrize(
    ("line", "command"), [("privmsg a b", "PRIVMSG"), ("PrIvMsG a b", "PRIVMSG"), ("001 a b", "001")]
)
def test_command_is_case_insensitive_and_upper_cased(line: str, command: str) -> None:
    assert parse(line).command == command


def test_multiple_spaces_between_parts_are_one_separator() -> None:
    msg = parse("@a=b   :src   CMD   one    two   :three  four ")
    assert (msg.tags, msg.source, msg.command) == ({"a": "b"}, "src", "CMD")
    assert msg.params == ["one", "two", "three  four "]


def test_trailing_parameter_keeps_spaces_and_colons() -> None:
    assert parse("foo bar baz :asdf quux").params == ["bar", "baz", "asdf quux"]
    assert parse(":coolguy PRIVMSG bar :lol :) ").params == ["bar", "lol :) "]


def test_empty_trailing_parameter_is_an_empty_string() -> None:
    assert parse("foo bar baz :").params == ["bar", "baz", ""]


def test_trailing_parameter_may_start_with_colon() -> None:
    assert parse("foo bar baz ::asdf").params == ["bar", "baz", ":asdf"]


def test_trailing_spaces_after_last_middle_parameter_add_nothing() -> None:
    assert parse(":src AWAY ").params == []
    assert parse(":services.esper.net MODE #foo-bar +o foobar  ").params == ["#foo-bar", "+o", "foobar"]


def test_message_param_helper_gives_default_past_the_end() -> None:
    msg = parse("CMD a")
    assert msg.param(0) == "a"
    assert msg.param(1) == ""
    assert msg.param(5, "x") == "x"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "@a=b",
        "@a=b ",
        ":src",
        ":src ",
        ": CMD",
        ":src :CMD x",  # a parameter where the command should be
        "PRIV\0MSG x",
        "PRIV\x01MSG x",
        "PRIV\tMSG x",
        "\x7f x",
        "PRIVMSG #a :hi\0there",
        "PRIVMSG #a :hi\rthere",
        "PRIVMSG #a :hi\nthere",
    ],
)
def test_line_that_is_not_a_message_raises_parse_error(line: str) -> None:
    with pytest.raises(ParseError):
        parse(line)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("foo_bar x", "FOO_BAR"),
        ("12", "12"),
        ("1234", "1234"),
        ("PRIV-MSG x", "PRIV-MSG"),
        ("PRIVMSG1 x", "PRIVMSG1"),
        ("\u0661\u0662\u0663 x", "\u0661\u0662\u0663"),  # Arabic-Indic digits
        ("ПРИВЕТ x", "ПРИВЕТ"),
        # upper-casing these would give PRIVMSG: a non-ASCII word is kept as it is
        ("prıvmsg x", "prıvmsg"),
        ("privmſg x", "privmſg"),
    ],
)
def test_any_printable_word_is_a_command_for_the_dispatcher_to_judge(line: str, command: str) -> None:
    assert parse(line).command == command


# -- parser test vectors (ircdocs/parser-tests msg-split, written out here) -------------

SPLIT_VECTORS: list[tuple[str, dict[str, str], str | None, str, list[str]]] = [
    ("foo bar baz asdf", {}, None, "FOO", ["bar", "baz", "asdf"]),
    (":coolguy foo bar baz asdf", {}, "coolguy", "FOO", ["bar", "baz", "asdf"]),
    ("foo bar baz :asdf quux", {}, None, "FOO", ["bar", "baz", "asdf quux"]),
    ("foo bar baz :", {}, None, "FOO", ["bar", "baz", ""]),
    ("foo bar baz ::asdf", {}, None, "FOO", ["bar", "baz", ":asdf"]),
    (":coolguy foo bar baz :asdf quux", {}, "coolguy", "FOO", ["bar", "baz", "asdf quux"]),
    (":coolguy foo bar baz :  asdf quux ", {}, "coolguy", "FOO", ["bar", "baz", "  asdf quux "]),
    (":coolguy PRIVMSG bar :lol :) ", {}, "coolguy", "PRIVMSG", ["bar", "lol :) "]),
    (":coolguy foo bar baz :", {}, "coolguy", "FOO", ["bar", "baz", ""]),
    (":coolguy foo bar baz :  ", {}, "coolguy", "FOO", ["bar", "baz", "  "]),
    ("@a=b;c=32;k;rt=ql7 foo", {"a": "b", "c": "32", "k": "", "rt": "ql7"}, None, "FOO", []),
    (
        "@a=b\\\\and\\nk;c=72\\s45;d=gh\\:764 foo",
        {"a": "b\\and\nk", "c": "72 45", "d": "gh;764"},
        None,
        "FOO",
        [],
    ),
    ("@c;h=;a=b :quux ab cd", {"c": "", "h": "", "a": "b"}, "quux", "AB", ["cd"]),
    (":src JOIN #chan", {}, "src", "JOIN", ["#chan"]),
    (":src JOIN :#chan", {}, "src", "JOIN", ["#chan"]),
    (":src AWAY", {}, "src", "AWAY", []),
    (":src AWAY ", {}, "src", "AWAY", []),
    (":cool\tguy foo bar baz", {}, "cool\tguy", "FOO", ["bar", "baz"]),
    (
        ":coolguy!ag@net\x035w\x03ork.admin PRIVMSG foo :bar baz",
        {},
        "coolguy!ag@net\x035w\x03ork.admin",
        "PRIVMSG",
        ["foo", "bar baz"],
    ),
    (
        ":coolguy!~ag@n\x02et\x0305w\x0fork.admin PRIVMSG foo :bar baz",
        {},
        "coolguy!~ag@n\x02et\x0305w\x0fork.admin",
        "PRIVMSG",
        ["foo", "bar baz"],
    ),
    (
        "@tag1=value1;tag2;vendor1/tag3=value2;vendor2/tag4= :irc.example.com COMMAND param1 param2 :param3 param3",
        {"tag1": "value1", "tag2": "", "vendor1/tag3": "value2", "vendor2/tag4": ""},
        "irc.example.com",
        "COMMAND",
        ["param1", "param2", "param3 param3"],
    ),
    (
        ":irc.example.com COMMAND param1 param2 :param3 param3",
        {},
        "irc.example.com",
        "COMMAND",
        ["param1", "param2", "param3 param3"],
    ),
    (
        "@tag1=value1;tag2;vendor1/tag3=value2;vendor2/tag4 COMMAND param1 param2 :param3 param3",
        {"tag1": "value1", "tag2": "", "vendor1/tag3": "value2", "vendor2/tag4": ""},
        None,
        "COMMAND",
        ["param1", "param2", "param3 param3"],
    ),
    ("COMMAND", {}, None, "COMMAND", []),
    (
        ":gravel.mozilla.org 432  #momo :Erroneous Nickname: Illegal characters",
        {},
        "gravel.mozilla.org",
        "432",
        ["#momo", "Erroneous Nickname: Illegal characters"],
    ),
    (":gravel.mozilla.org MODE #tckk +n ", {}, "gravel.mozilla.org", "MODE", ["#tckk", "+n"]),
    (":SomeOp MODE #channel :+i", {}, "SomeOp", "MODE", ["#channel", "+i"]),
    (
        ":SomeOp MODE #channel +oo SomeUser :AnotherUser",
        {},
        "SomeOp",
        "MODE",
        ["#channel", "+oo", "SomeUser", "AnotherUser"],
    ),
]


@pytest.mark.parametrize(("line", "tags", "source", "command", "params"), SPLIT_VECTORS)
def test_parser_test_vectors_split_as_specified(
    line: str, tags: dict[str, str], source: str | None, command: str, params: list[str]
) -> None:
    msg = parse(line)
    assert (msg.tags, msg.source, msg.command, msg.params) == (tags, source, command, params)


# -- serialization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (Message("foo", ["bar", "baz", "asdf"]), "foo bar baz asdf"),
        (Message("foo", ["bar", "baz", "asdf quux"]), "foo bar baz :asdf quux"),
        (Message("foo", ["bar", "baz", ""]), "foo bar baz :"),
        (Message("foo", ["bar", "baz", ":asdf"]), "foo bar baz ::asdf"),
        (Message("foo", ["bar", "baz", "asdf quux"], "coolguy"), ":coolguy foo bar baz :asdf quux"),
        (Message("JOIN", ["#chan"], "n!u@h"), ":n!u@h JOIN #chan"),
        (Message("MODE", ["#chan", "+o", "nick"]), "MODE #chan +o nick"),
        (Message("PING", []), "PING"),
    ],
)
def test_serialization_adds_a_colon_only_where_needed(message: Message, line: str) -> None:
    assert message.to_line() == line


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (Message("PRIVMSG", ["#chan", "hi"], "n!u@h"), ":n!u@h PRIVMSG #chan :hi"),
        (Message("NOTICE", ["*", "x"]), "NOTICE * :x"),
        (Message("TOPIC", ["#c", "t"]), "TOPIC #c :t"),
        (Message("KICK", ["#c", "bob", "out"]), "KICK #c bob :out"),
        (Message("PART", ["#c", "bye"]), "PART #c :bye"),
        (Message("CAP", ["*", "LS", "multi-prefix"]), "CAP * LS :multi-prefix"),
        (Message("FAIL", ["*", "INVALID_UTF8", "text"]), "FAIL * INVALID_UTF8 :text"),
        (Message("001", ["nick", "Welcome"]), "001 nick :Welcome"),
        (Message("366", ["nick", "#c", "End"]), "366 nick #c :End"),
        (Message("QUIT", ["Quit"]), "QUIT :Quit"),
        (Message("ERROR", ["Closing"]), "ERROR :Closing"),
        (Message("AWAY", ["lunch"]), "AWAY :lunch"),
    ],
)
def test_text_commands_and_numerics_always_get_a_trailing_colon(message: Message, line: str) -> None:
    """Naive clients split on ' :' to find the text; a one-word text must still have it."""
    assert message.to_line() == line


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (Message("PART", ["#chan"]), "PART #chan"),
        (Message("TOPIC", ["#chan"]), "TOPIC #chan"),
        (Message("001", ["nick"]), "001 nick"),
    ],
)
def test_lone_target_parameter_stays_a_middle_one(message: Message, line: str) -> None:
    assert message.to_line() == line


@pytest.mark.parametrize("bad", ["", "two words", ":colon"])
def test_middle_parameter_that_cannot_be_written_raises(bad: str) -> None:
    with pytest.raises(ValueError):
        Message("PRIVMSG", [bad, "text"]).to_line()


@pytest.mark.parametrize(
    "message",
    [
        Message("PRIVMSG", ["#c", "hi\r\nQUIT :pwned"]),
        Message("PRIVMSG", ["#c", "hi\rthere"]),
        Message("PRIVMSG", ["#c", "nul\0here"]),
        Message("PRIVMSG", ["#c\n", "x"]),
        Message("PRIVMSG", ["#c", "x"], "evil\r\n:src"),
        Message("PRIVMSG", ["#c", "x"], tags={"a": "nul\0"}),
    ],
)
def test_line_breaking_characters_anywhere_are_refused(message: Message) -> None:
    """A CR or LF would let text pose as a second message from us."""
    with pytest.raises(ValueError):
        message.to_line()


def test_tags_are_serialized_escaped_and_valueless_when_empty() -> None:
    msg = Message("TAGMSG", ["#c"], "n!u@h", {"+draft/react": "a b;c\\", "time": "2024", "k": ""})
    assert msg.to_line() == "@+draft/react=a\\sb\\:c\\\\;time=2024;k :n!u@h TAGMSG #c"


def test_encode_appends_crlf_and_uses_utf8() -> None:
    assert Message("PRIVMSG", ["#c", "héllo"]).encode() == "PRIVMSG #c :héllo\r\n".encode()


def test_encode_replaces_lone_surrogates_instead_of_failing() -> None:
    assert Message("PRIVMSG", ["#c", "a\udcffb"]).encode() == b"PRIVMSG #c :a?b\r\n"


def _body(data: bytes) -> bytes:
    """A line without its tag section."""
    return data.split(b" ", 1)[1] if data.startswith(b"@") else data


@pytest.mark.parametrize("char", ["a", "é", "€", "😀"])
@pytest.mark.parametrize("tags", [{}, {"time": "2024-01-01T00:00:00.000Z", "+x": "y" * 3000}])
def test_encode_cuts_the_last_parameter_at_a_character_boundary_to_512_bytes(char: str, tags: dict) -> None:
    source = "n" * 30 + "!~" + "u" * 9 + "@" + "h" * 39
    for length in range(400, 700):
        text = char * length
        data = Message("PRIVMSG", ["#" + "c" * 63, text], source, tags).encode()
        body = _body(data)
        assert len(body) <= 512 and body.endswith(b"\r\n")
        kept = parse(data[:-2].decode()).params[1]  # decodes: no character was split
        assert text.startswith(kept)
        if len(body) < 512 - 3:  # cut only when it had to, and no more than it had to
            assert kept == text


def test_encode_keeps_a_line_of_exactly_512_bytes_whole() -> None:
    head = "PRIVMSG #c :"
    text = "x" * (510 - len(head))
    assert Message("PRIVMSG", ["#c", text]).encode() == (head + text + "\r\n").encode()


def test_encode_cut_to_an_empty_text_still_gives_a_valid_line() -> None:
    data = Message("KICK", ["#" + "c" * 250, "v" * 250, "because"], "s").encode()
    assert len(data) <= 512
    assert parse(data[:-2].decode()).params[:2] == ["#" + "c" * 250, "v" * 250]


def test_encode_of_a_message_whose_middle_parameters_alone_are_too_long_is_still_one_line() -> None:
    data = Message("MODE", ["#c", "+bbb", "a" * 200, "b" * 200, "c" * 200], "s").encode()
    assert len(data) <= 512 and data.endswith(b"\r\n") and data.count(b"\n") == 1


# -- properties ------------------------------------------------------------------------

_key_char = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_tag_key = st.builds(
    lambda plus, vendor, name: plus + (vendor + "/" if vendor else "") + name,
    st.sampled_from(["", "+"]),
    st.sampled_from(["", "example.com", "draft"]),
    st.text(_key_char, min_size=1, max_size=10),
)
_no_breakers = st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",))
_word = st.text(
    st.characters(blacklist_characters=" \r\n\0", blacklist_categories=("Cs",)), min_size=1, max_size=12
)
_middle = _word.filter(lambda p: not p.startswith(":"))
_source = _word.filter(lambda s: not s.startswith((":", "@")))
_command = st.one_of(
    st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1, max_size=10),
    st.text(st.sampled_from("0123456789"), min_size=3, max_size=3),
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    params = draw(st.lists(_middle, max_size=6))
    if draw(st.booleans()):
        params.append(draw(st.text(_no_breakers, max_size=30)))
    tags = draw(st.dictionaries(_tag_key, st.text(_no_breakers, max_size=12), max_size=4))
    return Message(draw(_command), params, draw(st.none() | _source), tags)


@settings(max_examples=300, deadline=None)
@given(messages())
def test_serialized_message_parses_back_equal(message: Message) -> None:
    assert parse(message.to_line()) == message


@settings(max_examples=300, deadline=None)
@given(st.text(_no_breakers, max_size=40))
def test_tag_value_escaping_round_trips(value: str) -> None:
    assert unescape_tag_value(escape_tag_value(value)) == value
    assert not set(escape_tag_value(value)) & set("; \r\n")


def _parse_or_parse_error(line: str) -> None:
    try:
        msg = parse(line)
    except ParseError:
        return
    assert isinstance(msg, Message)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_of_any_text_returns_a_message_or_raises_parse_error(line: str) -> None:
    _parse_or_parse_error(line)


_irc_alphabet = st.sampled_from(list("@:;= \\/+#!.aAzZ019\x01\x00\r\n\t-é€"))


@settings(max_examples=500, deadline=None)
@given(st.text(_irc_alphabet, max_size=40))
def test_parse_of_irc_shaped_text_returns_a_message_or_raises_parse_error(line: str) -> None:
    """Random text rarely looks like IRC; text over IRC's own symbols reaches deeper."""
    _parse_or_parse_error(line)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(["surrogateescape", "replace"]))
def test_parse_of_any_decoded_bytes_returns_a_message_or_raises_parse_error(data: bytes, errors: str) -> None:
    _parse_or_parse_error(data.decode("utf-8", errors))


@settings(max_examples=300, deadline=None)
@given(st.text(_irc_alphabet, max_size=40))
def test_parsed_message_serializes_or_refuses_with_value_error_only(line: str) -> None:
    """What we parsed from a client may be relayed; serializing it must not crash oddly."""
    try:
        msg = parse(line)
    except ParseError:
        return
    try:
        again = parse(msg.to_line())
    except ValueError:
        return
    assert (again.command, again.params, again.source) == (msg.command, msg.params, msg.source)
