"""Two browser users and a raw IRC user talking in one channel."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_two_browser_users_and_an_irc_user_talk(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    bob = await open_user()
    await bob.connect("bob", "#lobby")
    carol = await irc_user("carol", "#lobby")

    await alice.say("hello from alice")
    await expect(bob.messages()).to_contain_text("hello from alice")
    await carol.expect("PRIVMSG", "#lobby", "hello from alice")

    carol.send("PRIVMSG #lobby :hi, I am carol")
    await expect(alice.messages()).to_contain_text("hi, I am carol")
    await expect(bob.messages()).to_contain_text("hi, I am carol")
