"""KNOCK in the browser against a real hubbub: /knock asks a closed channel's operators
for an invitation; an operator sees the knock in that channel, in words."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_knock_from_the_browser_is_delivered_and_a_second_refused(open_user, irc_user) -> None:
    bob = await irc_user("bob", "#webclub")  # bob founds #webclub: its operator
    bob.send("MODE #webclub +i")
    await bob.expect("MODE")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/knock #webclub it's alice")
    await expect(alice.messages()).to_contain_text("Your knock on #webclub was delivered")
    knock = await bob.expect("710")
    assert knock.params[:2] == ["#webclub", "#webclub"] and knock.params[-1] == "has asked for an invite: it's alice"
    await alice.say("/knock #webclub")
    refusal = alice.messages().locator(".row", has_text="Too many KNOCKs")
    await expect(refusal).to_have_count(1)
    await expect(refusal).to_have_class(re.compile(r"\berror\b"))


async def test_an_operator_in_the_browser_sees_the_knock_in_the_channel(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#webmine")  # alice founds #webmine
    await alice.say("/mode +i")
    await expect(alice.messages()).to_contain_text("+i")
    dave = await irc_user("dave")
    dave.send("KNOCK #webmine :please")
    await dave.expect("711")
    said = "dave (~u@127.0.0.1) asks to be invited to #webmine: please (/invite dave)"
    await expect(alice.messages()).to_contain_text(said)


async def test_a_knock_on_a_channel_not_shown_counts_as_a_mention_there(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#webdoor #weblobby")  # alice founds both
    await alice.switch_to("#webdoor")
    await alice.say("/mode +i")
    await expect(alice.messages()).to_contain_text("+i")
    await alice.switch_to("#weblobby")
    dave = await irc_user("dave")
    dave.send("KNOCK #webdoor :hello?")
    await dave.expect("711")
    name = alice.page.locator(".name", has_text=re.compile(r"^#webdoor$"))
    door = alice.page.locator("#buffer-list li").filter(has=name)
    await expect(door.get_by_role("button", name=re.compile(r"#webdoor, 1 unread"))).to_have_count(1)
    await expect(door.locator(".badge.mention")).to_have_count(1)
