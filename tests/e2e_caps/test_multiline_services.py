"""draft/multiline batches to NickServ and ChanServ: a batch is what its lines would be,
sent one by one. A PRIVMSG batch's lines (with the pieces draft/multiline-concat glues
to them) are service commands, run in order, each once the one before is done (a
REGISTER's password is hashed off the loop), before anything the client sent after the
batch; its echo is the batch. A NOTICE batch is echoed and otherwise ignored, as a
NOTICE to a service is. Neither is relayed, kept or logged with what it says, and a
batch to a service costs the flood budget what any batch costs."""

from __future__ import annotations

import logging

import pytest

from hubbub.irc.message import Message
from tests.e2e_caps.support import batches, capped, mask
from tests.e2e_caps.test_multiline import alice_gate
from tests.helpers import LineClient, connected, sync

ML = ("batch", "draft/multiline")
BASE = ("message-tags", "server-time", "echo-message", "batch", "labeled-response", "draft/multiline")
CONCAT = "draft/multiline-concat"
NS = "NickServ!NickServ@services"
CS = "ChanServ!ChanServ@services"
PASSWORD = "tr0ub4dor-and-3"


def send_lines(client: LineClient, command: str, target: str, *texts: str, ref: str = "s", tags: str = "") -> None:
    """A draft/multiline batch of `command` lines to `target`, in one write (a text
    starting with `;` goes with draft/multiline-concat); `tags` ('@...' and a space) on BATCH +."""
    lines = [f"{tags}BATCH +{ref} draft/multiline {target}"]
    for text in texts:
        concat = ";" + CONCAT if text.startswith(";") else ""
        lines.append(f"@batch={ref}{concat} {command} {target} :{text.removeprefix(';')}")
    lines.append(f"BATCH -{ref}")
    client.send("".join(line + "\r\n" for line in lines))


def said(messages: list[Message], source: str = NS) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "NOTICE" and m.source == source]


async def test_a_privmsg_batch_to_nickserv_runs_its_lines_as_commands_in_order(server, clients, caplog) -> None:
    """REGISTER hashes the password off the loop: INFO, on the next line, answers only once
    the account exists, and a line sent after the batch (INFO again, then a PING) only after
    the batch's last command, an IDENTIFY whose own password check waits too. The IDENTIFY
    is written as two pieces joined by draft/multiline-concat: one command."""
    caplog.set_level(logging.DEBUG)
    alice = await capped(server, "alice", *BASE)
    clients.append(alice)
    send_lines(alice, "PRIVMSG", "NickServ",
               f"REGISTER {PASSWORD}", "INFO", "LOGOUT", "IDENTIFY tr0ub", ";4dor-and-3", "")  # fmt: skip
    alice.send("PRIVMSG NickServ :INFO")
    got = await sync(alice)
    (echo,) = batches(got).values()
    assert got[: len(echo)] == echo  # the echo first: the batch as sent, from alice, to NickServ
    assert echo[0].params[1:] == ["draft/multiline", "NickServ"] and echo[0].source == mask("alice")
    assert [(m.command, m.params, CONCAT in m.tags) for m in echo[1:-1]] == [
        ("PRIVMSG", ["NickServ", f"REGISTER {PASSWORD}"], False), ("PRIVMSG", ["NickServ", "INFO"], False),
        ("PRIVMSG", ["NickServ", "LOGOUT"], False), ("PRIVMSG", ["NickServ", "IDENTIFY tr0ub"], False),
        ("PRIVMSG", ["NickServ", "4dor-and-3"], True), ("PRIVMSG", ["NickServ", ""], False),
    ]  # fmt: skip
    answers = said(got)
    when = answers[answers.index("Account: alice") + 1]
    assert when.startswith("Registered at: ")
    assert answers == [
        "Account created", "You're now logged in as alice",  # REGISTER
        "Account: alice", when, "Certificate fingerprints: 0", "Logged in now as: alice",  # INFO
        "You're now logged out", answers[7],  # LOGOUT, and the warning that the nick is registered
        "You're now logged in as alice",  # IDENTIFY, its two pieces one line
        "Account: alice", when, "Certificate fingerprints: 0", "Logged in now as: alice",  # the line after the batch
    ]
    assert answers[7].startswith("This nickname is registered.")
    assert [m.command for m in got if m.command in ("900", "901")] == ["900", "901", "900"]
    assert all("label" not in m.tags for m in got)
    assert PASSWORD not in caplog.text and "tr0ub" not in caplog.text  # nothing logs what it says


async def test_the_label_of_a_batch_to_nickserv_answers_all_of_it(server, clients) -> None:
    """One labeled reply: the echo and every command's answer, the REGISTER's included
    (it completes after its hashing), then the lines sent after it, unlabeled."""
    alice = await capped(server, "alice", *BASE)
    clients.append(alice)
    send_lines(alice, "PRIVMSG", "NickServ", f"REGISTER {PASSWORD}", "INFO nobody", tags="@label=L1 ")
    alice.send("PRIVMSG NickServ :INFO bob")
    got = await sync(alice)
    assert got[0].command == "BATCH" and got[0].params[1:] == ["labeled-response"] and got[0].tags["label"] == "L1"
    ref = got[0].params[0][1:]
    end = next(i for i, m in enumerate(got) if m.command == "BATCH" and m.params == ["-" + ref])
    inside, after = got[1:end], got[end + 1 :]
    assert said(inside) == ["Account created", "You're now logged in as alice", "Account does not exist"]
    assert [m.command for m in inside if m.command == "BATCH"] == ["BATCH", "BATCH"]  # the echo, nested
    assert said(after) == ["Account does not exist"] and all("label" not in m.tags for m in after)


async def test_a_privmsg_batch_to_nickserv_answers_as_its_lines_alone_would(server, clients) -> None:
    """Without echo-message nothing is echoed; a CTCP line is answered as a CTCP, and a
    line of spaces as an unknown command, as when sent alone."""
    bob = await capped(server, "bob", *ML)
    clients.append(bob)
    send_lines(bob, "PRIVMSG", "nickserv", "\x01PING 42\x01", "HELP IDENTIFY", "   ")
    got = await sync(bob)
    assert not batches(got)
    assert said(got)[0] == "\x01PING 42\x01" and said(got)[1].startswith("Syntax: IDENTIFY")
    assert said(got)[-1] == "Unknown command. To see available commands, run: /msg NickServ HELP"


async def test_a_chanserv_command_in_a_batch(server, clients) -> None:
    alice = await capped(server, "alice", *BASE)
    clients.append(alice)
    await alice.join("#den")
    alice.send(f"PRIVMSG NickServ :REGISTER {PASSWORD}")
    await alice.expect("900")
    await sync(alice)
    send_lines(alice, "PRIVMSG", "ChanServ", "REGISTER #den", "INFO #den")
    got = await sync(alice)
    (echo,) = batches(got).values()
    assert [m.params for m in echo[1:-1]] == [["ChanServ", "REGISTER #den"], ["ChanServ", "INFO #den"]]
    answers = said(got, CS)
    assert answers[:3] == ["Channel #den successfully registered", "Channel #den is registered", "Founder: alice"]
    assert [m.params[1:] for m in got if m.command == "MODE"] == [["+q", "alice"]]


async def test_a_notice_batch_to_a_service_is_echoed_and_otherwise_ignored(server, clients) -> None:
    """As a NOTICE to a service is (services.py): echoed with echo-message, never
    answered, never taken for a command."""
    alice = await capped(server, "alice", *BASE)
    bob = await capped(server, "bob", *ML)
    clients.extend([alice, bob])
    send_lines(alice, "NOTICE", "NickServ", f"REGISTER {PASSWORD}", "INFO", tags="@label=n1 ")
    got = await sync(alice)
    (echo,) = batches(got).values()
    assert echo == got and echo[0].tags["label"] == "n1"  # the echo alone is the labeled reply
    assert [(m.command, m.params) for m in echo[1:-1]] == [
        ("NOTICE", ["NickServ", f"REGISTER {PASSWORD}"]), ("NOTICE", ["NickServ", "INFO"]),
    ]  # fmt: skip
    alice.send("NOTICE NickServ :INFO")  # the single line is handled alike
    assert [(m.command, m.params) for m in await sync(alice)] == [("NOTICE", ["NickServ", "INFO"])]
    send_lines(bob, "NOTICE", "ChanServ", "INFO #den", "REGISTER #den")
    assert await sync(bob) == []  # nothing to echo to a client without echo-message, and no answer
    alice.send("PRIVMSG NickServ :INFO alice")
    assert said(await sync(alice)) == ["Account does not exist"]  # the REGISTER was no command


async def test_a_batch_to_a_service_costs_a_flood_token_per_line(make_server, clients) -> None:
    """Like any batch: its lines pass at once, each costs a token when it closes, so the
    line sent after it waits (here for some 1,600 s). Without the charge it would be
    answered at once (4 tokens are left after registering and the batch's two lines)."""
    server = await make_server("limits.flood_control=true", "limits.flood_burst=12", "limits.flood_rate=0.01")
    alice = await capped(server, "alice", *ML)  # 6 lines: 6 tokens
    clients.append(alice)
    send_lines(alice, "PRIVMSG", "NickServ", *[f"\x01PING {i}\x01" for i in range(20)])
    alice.send("PING after")
    for i in range(20):
        answer = await alice.expect(lambda m: m.command == "NOTICE" and m.source == NS)
        assert answer.params[-1] == f"\x01PING {i}\x01"
    assert list(alice_gate(server).queue) == [b"PING after"]


@pytest.mark.parametrize("command", ["PRIVMSG", "NOTICE"])
async def test_a_batch_to_a_service_reaches_no_one_else(server, clients, command) -> None:
    """A user who would see a message to a nick (nobody, here: not even an operator
    watching) hears nothing; bob, in a channel with alice, gets nothing either."""
    alice = await capped(server, "alice", *BASE, channels=("#room",))
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(bob)
    send_lines(alice, command, "NickServ", f"REGISTER {PASSWORD}")
    await sync(alice)
    assert [m for m in await sync(bob) if PASSWORD in " ".join(m.params)] == []
