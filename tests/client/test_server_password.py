"""A server password apart from the account's (`--server-password`), and a refused one.

A server closed to outsiders (`server.password`) has one password for everyone, and
each person's account has their own: one secret sent as both let in only those whose
two were the same, and a refused one was tried again and again, each try a guess
counted against the address until it was shut out. Against a real server.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.client import events as ev
from hubbub.client.cli import add_chat_parser, config_from_args
from hubbub.client.tui.app import ChatApp
from hubbub.client.tui.widgets import StatusBar
from tests.client.conftest import MakeClient, MakeServer
from tests.client.test_tui import SIZE, chat_app, joined, shown_text, static_text, submit, until

SERVER_PASSWORD = "letmein"
ACCOUNT_PASSWORD = "account-Secret1"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hubbub")
    add_chat_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["chat", *argv])


def server_lines(app: ChatApp) -> str:
    return "\n".join(line.text for line in app.state.server.lines)


def pass_guesses(runtime: Runtime) -> int:
    """Wrong server passwords the server counted (each one of the address's 20 a minute)."""
    recent = runtime.services.login_throttle.recent(1000)
    return sum(len(times) for key, times in recent.items() if key.startswith("pass:"))


# -- the command line ------------------------------------------------------------------------


def test_server_password_is_sent_as_pass_and_password_logs_in_to_the_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBBUB_SERVER_PASSWORD", SERVER_PASSWORD)
    monkeypatch.setenv("HUBBUB_PASSWORD", ACCOUNT_PASSWORD)
    both = config_from_args(parse("--nick", "zoe", "--password", "--server-password"))
    assert (both.password, both.sasl_password) == (SERVER_PASSWORD, ACCOUNT_PASSWORD)
    server_only = config_from_args(parse("--nick", "zoe", "--server-password"))
    assert (server_only.password, server_only.sasl_password) == (SERVER_PASSWORD, None)
    # the one secret for both, as before: nobody's start-up script breaks
    account_only = config_from_args(parse("--nick", "zoe", "--password"))
    assert (account_only.password, account_only.sasl_password) == (ACCOUNT_PASSWORD, ACCOUNT_PASSWORD)


def test_without_the_environment_each_password_is_asked_for_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two prompts in a row must say which secret each wants, or people type them swapped."""
    monkeypatch.delenv("HUBBUB_SERVER_PASSWORD", raising=False)
    monkeypatch.delenv("HUBBUB_PASSWORD", raising=False)
    prompts: list[str] = []
    answers = {"Server": SERVER_PASSWORD, "Account": ACCOUNT_PASSWORD}

    def typed(prompt: str) -> str:
        prompts.append(prompt)
        return answers[prompt.split()[0]]

    monkeypatch.setattr("getpass.getpass", typed)
    config = config_from_args(parse("example.org", "--nick", "zoe", "--server-password", "--password"))
    assert (config.password, config.sasl_password) == (SERVER_PASSWORD, ACCOUNT_PASSWORD)
    assert prompts[0].startswith("Server password for example.org") and "not your account" in prompts[0]
    assert prompts[1].startswith("Account password for zoe on example.org")


# -- against a server with a password ---------------------------------------------------------


async def test_an_account_whose_password_is_not_the_servers_logs_in(
    make_server: MakeServer, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's case, from the command line on: with the one secret for both, either
    the PASS or the SASL login was wrong."""
    runtime = await make_server(f"server.password='{SERVER_PASSWORD}'")
    registering, events = await make_client(runtime, "alice", password=SERVER_PASSWORD)
    registering.privmsg("NickServ", f"REGISTER {ACCOUNT_PASSWORD}")
    await events.wait_for(ev.MessageReceived, lambda e: e.source == "NickServ" and "created" in e.text)
    await registering.close()

    host, port = runtime.irc_address()
    monkeypatch.setenv("HUBBUB_SERVER_PASSWORD", SERVER_PASSWORD)
    monkeypatch.setenv("HUBBUB_PASSWORD", ACCOUNT_PASSWORD)
    app = ChatApp(config_from_args(parse(f"[{host}]:{port}", "--nick", "alice", "--server-password", "--password")))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        assert app.client.account == "alice" and app.state.status == "connected"
        assert "Logged in as alice." in server_lines(app)
        assert "refused" not in server_lines(app) and pass_guesses(runtime) == 0


async def test_a_refused_server_password_is_told_in_words_and_not_tried_again(
    make_server: MakeServer, tmp_path: Path
) -> None:
    """Each try would be refused the same, and counted against the address: one is made,
    the person is told which password and what to do, and can still leave."""
    runtime = await make_server(f"server.password='{SERVER_PASSWORD}'")
    app = chat_app(runtime, password=ACCOUNT_PASSWORD, sasl_password=ACCOUNT_PASSWORD)  # `--password` alone
    async with app.run_test(size=SIZE) as pilot:
        # the client's task ends: no attempt can follow, whatever the clock
        await until(pilot, lambda: app.state._attempt == 1 and not app.client.running, "the client to give up")
        assert app.client.password_refused == "Password incorrect"
        await until(pilot, lambda: app.state.status == "disconnected", "the disconnected status")
        text = server_lines(app)
        assert "The server refused its connection password (Password incorrect)" in text
        assert "--server-password" in text and "Not reconnecting" in text
        assert "Reconnecting" not in text and "Retrying" not in text
        status = app.query_one(StatusBar)
        assert static_text(status).startswith("Not connected: server password refused: check --server-password")
        assert status.has_class("-disconnected") and "retrying" not in static_text(status)
        assert app.state._attempt == 1 and pass_guesses(runtime) == 1  # one guess, not one a second

        await submit(pilot, "hello?")
        assert "not reconnecting" in shown_text(app)  # not "try again in a moment"
        await submit(pilot, "/quit")
        await until(pilot, lambda: app.return_code == 0, "the app to exit")
    assert pass_guesses(runtime) == 1


async def test_no_server_password_where_one_is_wanted_ends_the_connection_for_good(
    make_server: MakeServer, make_client: MakeClient
) -> None:
    """The library's side: the disconnection says why and that no attempt follows."""
    runtime = await make_server(f"server.password='{SERVER_PASSWORD}'")
    client, events = await make_client(runtime, "bob", connect=False)
    client.start()
    final = await events.wait_for(ev.Disconnected)
    assert final.reconnect_in is None and final.reason.startswith("server password refused: ")
    await client.wait_closed()
    assert not client.running and client.password_refused == "Password incorrect"
    assert sum(isinstance(e, ev.Connecting) for e in events.pending()) == 0  # none after the first
