"""CTCP queries to a person connected with netcat or telnet: their terminal cannot answer
VERSION, PING, TIME or CLIENTINFO, so the server answers for them, as an IRC client
would, and shows them nothing of it. At most one answer each few seconds: the queries
cost their sender nothing here. Transcripts over real sockets."""

from __future__ import annotations

from hubbub import __version__
from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.helpers import LineClient, connect_plain, connected


def answers(client: LineClient) -> list[Message]:
    return [m for m in client.received if m.command == "NOTICE" and m.params[-1].startswith("\x01")]


async def until_said(person: LineClient, alice: LineClient, words: str) -> None:
    """The person types `words` to alice, and alice has them: what the person's server
    had to send alice before (the answers, handled before the person's typing) is in."""
    person.send(f"/msg alice {words}")
    await alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == words)


async def test_a_persons_server_answers_ctcp_queries_for_them(server: Runtime, clients) -> None:
    bob = await connect_plain(server, "bob")
    alice = await connected(server, "alice")
    clients += [bob, alice]
    alice.send("PRIVMSG bob :\x01VERSION\x01")
    version = await alice.expect("NOTICE")
    assert version.source.startswith("bob!") and version.params == [
        "alice", f"\x01VERSION hubbub {__version__} (plain text: netcat or telnet)\x01"]  # fmt: skip
    alice.send("PRIVMSG bob :hello")
    await bob.expect_text(r"^\[private\] alice: hello$")
    assert not [line for line in bob.raw if "VERSION" in line]  # the person sees none of it


async def test_one_answer_each_few_seconds_however_many_queries(server: Runtime, clients) -> None:
    bob = await connect_plain(server, "bob")
    alice = await connected(server, "alice")
    clients += [bob, alice]
    for _ in range(5):
        alice.send("PRIVMSG bob :\x01PING 1700000000\x01")
    alice.send("PRIVMSG bob :\x01TIME\x01")
    alice.send("PRIVMSG bob :hello")
    await bob.expect_text(r"^\[private\] alice: hello$")  # every query delivered by now
    await until_said(bob, alice, "hi")
    assert [m.params[-1] for m in answers(alice)] == ["\x01PING 1700000000\x01"]


async def test_actions_and_unknown_queries_are_not_answered(server: Runtime, clients) -> None:
    bob = await connect_plain(server, "bob")
    alice = await connected(server, "alice", "#lobby")
    clients += [bob, alice]
    alice.send("PRIVMSG bob :\x01ACTION waves\x01")
    alice.send("PRIVMSG bob :\x01FINGER\x01")
    alice.send("PRIVMSG #lobby :\x01VERSION\x01")  # to a channel: not a question to the person
    await bob.expect_text(r"^\[private\] \* alice waves$")
    alice.send("PRIVMSG bob :hello")
    await bob.expect_text(r"^\[private\] alice: hello$")
    await until_said(bob, alice, "hi")
    assert answers(alice) == []
    alice.send("PRIVMSG bob :\x01CLIENTINFO\x01")  # the first query answered here
    assert (await alice.expect("NOTICE")).params[-1] == "\x01CLIENTINFO ACTION CLIENTINFO PING TIME VERSION\x01"
