"""The input line's helpers, without a terminal: completion, history, command line."""

from __future__ import annotations

import argparse

import pytest

from hubbub.client.cli import add_chat_parser, config_from_args, parse_server
from hubbub.client.tui.completion import Completer
from hubbub.client.tui.history import InputHistory

COMMANDS = ["join", "me", "msg", "quit"]


def test_a_nick_at_the_start_of_a_line_gets_a_colon() -> None:
    assert Completer().complete("bo", 2, COMMANDS, [], ["bob"]) == ("bob: ", 5)


def test_a_nick_inside_a_line_gets_a_space_and_keeps_the_rest() -> None:
    assert Completer().complete("hi bo there", 5, COMMANDS, [], ["bob"]) == ("hi bob there", 7)


def test_repeated_tab_cycles_and_an_edit_starts_over() -> None:
    completer = Completer()
    first = completer.complete("b", 1, COMMANDS, [], ["bob", "bonnie", "alice"])
    assert first == ("bob: ", 5)
    assert completer.complete(*first, COMMANDS, [], ["bob", "bonnie", "alice"]) == ("bonnie: ", 8)
    assert completer.complete("a", 1, COMMANDS, [], ["bob", "bonnie", "alice"]) == ("alice: ", 7)


def test_commands_and_channels_complete() -> None:
    completer = Completer()
    assert completer.complete("/q", 2, COMMANDS, [], []) == ("/quit ", 6)
    assert completer.complete("/join #lo", 9, COMMANDS, ["#lobby"], ["lou"]) == ("/join #lobby ", 13)


def test_nothing_to_complete_changes_nothing() -> None:
    assert Completer().complete("zz", 2, COMMANDS, [], ["bob"]) is None
    assert Completer().complete("", 0, COMMANDS, [], ["bob"]) is None


def test_history_walks_back_and_returns_to_the_draft() -> None:
    history = InputHistory()
    for line in ("one", "two", "two", "  "):
        history.add(line)
    assert history.entries == ["one", "two"]
    assert history.previous("draft") == "two"
    assert history.previous("two") == "one"
    assert history.previous("one") is None
    assert history.next() == "two"
    assert history.next() == "draft"
    assert history.next() is None


@pytest.mark.parametrize(("text", "tls", "expected"), [
    ("localhost", False, ("localhost", 6667, False)),
    ("irc.example.org:7000", False, ("irc.example.org", 7000, False)),
    ("irc.example.org", True, ("irc.example.org", 6697, True)),
    ("ircs://irc.example.org", False, ("irc.example.org", 6697, True)),
    ("irc://[::1]:6668/", False, ("::1", 6668, False)),
    ("::1", False, ("::1", 6667, False)),
])
def test_server_addresses(text: str, tls: bool, expected: tuple[str, int, bool]) -> None:
    assert parse_server(text, tls) == expected


def test_the_chat_subcommand_has_sensible_defaults() -> None:
    parser = argparse.ArgumentParser(prog="hubbub")
    add_chat_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["chat", "example.org:7000", "--nick", "zoe", "--join", "a,#b"])
    config = config_from_args(args)
    assert (config.host, config.port, config.nick, config.channels) == ("example.org", 7000, "zoe", ("#a", "#b"))
    assert config.password is None and config.tls_verify
    defaults = config_from_args(parser.parse_args(["chat", "--nick", "zoe"]))
    assert (defaults.host, defaults.port, defaults.channels) == ("localhost", 6667, ("#lobby",))
    spaced = config_from_args(parser.parse_args(["chat", "--nick", "zoe", "--join", "#rust, #python ,go,"]))
    assert spaced.channels == ("#rust", "#python", "#go")  # as people type a list


def test_password_comes_from_the_environment_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBBUB_PASSWORD", "sesame")
    parser = argparse.ArgumentParser(prog="hubbub")
    add_chat_parser(parser.add_subparsers(dest="command"))
    config = config_from_args(parser.parse_args(["chat", "--nick", "zoe", "--password"]))
    assert config.password == config.sasl_password == "sesame"
