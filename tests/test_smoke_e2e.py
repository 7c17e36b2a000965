"""A first transcript: two IRC users and a plain-mode user share #lobby."""

from __future__ import annotations

from tests.helpers import LineClient, connected


async def test_irc_and_plain_users_chat_in_lobby(server) -> None:
    alice = await connected(server, "alice", "#lobby")
    bob = await LineClient.connect(server)
    await bob.expect_text(r"Type a nickname")
    bob.send("bob")
    await bob.expect_text(r"^\* You joined #lobby")
    await alice.expect("JOIN", "#lobby")
    bob.send("hello there")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "hello there"
    assert msg.source.startswith("bob!")
    alice.send("PRIVMSG #lobby :hi bob")
    await bob.expect_text(r"^alice: hi bob$")
    bob.send("/exit")
    await bob.closed()
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source.startswith("bob!")
    await alice.close()
