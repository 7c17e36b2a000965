"""Join flood protection (+j) and no-knock (+K) in the browser, against a real hubbub:
what a person using the web client sees when a channel closes to new joins (the
server's NOTICE), when `/join` is refused with 437, when `/knock` is refused with 480,
and when an operator sets `+j` (the mode line, the channel's modes, and the members'
prefixes, read with CHANMODES `beI,k,fjl,CiKMmnRsTt`).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

CLOSED = r"Cannot join channel \(\+j\): too many joins at once, try again in \d+ seconds"


def error_rows(user):
    return user.messages().locator(".row.error")


def buffer_names(user):
    return user.page.locator("#buffer-list .buffer .name")


async def closed_channel(irc_user, founder: str, joiner: str, channel: str, modes: str = "+j"):
    """`channel`, founded by `founder`, `+j 1:60` (with `modes`), closed by `joiner`'s join."""
    op = await irc_user(founder, channel)
    op.send(f"MODE {channel} {modes} 1:60")
    await op.expect("MODE", channel)
    await irc_user(joiner, channel)
    await op.expect("NOTICE", channel)
    return op


async def answered(user, nick: str) -> None:
    """/whois `nick` and wait for its answer where the person is: every reply to what was
    typed before it has been handled by then."""
    await user.say(f"/whois {nick}")
    await expect(user.messages()).to_contain_text(f"{nick} is connected to")


async def test_a_join_to_a_closed_channel_shows_the_437_where_the_person_is(open_user, irc_user) -> None:
    await closed_channel(irc_user, "bob", "carol", "#jfclosed")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/join #jfclosed")
    refusal = error_rows(alice).filter(has_text="#jfclosed")
    await expect(refusal).to_have_count(1)
    await expect(refusal.locator(".text")).to_have_text(re.compile(rf"^#jfclosed: {CLOSED}$"))
    # Nothing half open: still in #lobby, no buffer for the channel, still connected.
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(buffer_names(alice).filter(has_text="#jfclosed")).to_have_count(0)
    await expect(alice.page.locator("#connection-dot")).to_have_attribute("data-status", "registered")


async def test_connecting_with_a_closed_channel_first_says_why_and_joins_the_others(open_user, irc_user) -> None:
    await closed_channel(irc_user, "bob", "carol", "#jfconn")
    alice = await open_user()
    await alice.page.fill("#connect-nick", "alice")
    await alice.page.fill("#connect-channels", "#jfconn #lobby")
    await alice.page.click("#connect-submit")
    await expect(buffer_names(alice)).to_have_text(["hubbub", "#lobby"])
    await expect(error_rows(alice).locator(".text")).to_have_text([re.compile(rf"^#jfconn: {CLOSED}$")])
    await alice.switch_to("#lobby")
    await expect(alice.page.locator("#member-list")).to_contain_text("alice")


async def test_an_op_in_the_browser_sets_j_and_sees_the_channel_close(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#jfmine")  # alice founds #jfmine
    dave = await irc_user("dave", "#jfmine")
    await alice.say("/mode +j 2:60")
    assert (await dave.expect("MODE", "#jfmine")).params[1:] == ["+j", "2:60"]
    closes = "alice closed #jfmine for a while to newcomers after 2 joins in 60 seconds (+j 2:60)"
    await expect(alice.messages().locator(".row.mode", has_text=closes)).to_have_count(1)
    await irc_user("erin", "#jfmine")
    await irc_user("frank", "#jfmine")  # the second join since the rule: closed
    said = "This channel is closed to new joins for 60 seconds: 2 joins in 60 seconds (+j)"
    notice = alice.messages().locator(".row.notice", has_text=said)
    await expect(notice).to_have_count(1)
    await expect(notice.locator(".nick")).to_have_text("hubbub.local")
    # The channel's modes, asked for: the rule with its value.
    await alice.say("/mode #jfmine")
    await expect(alice.messages()).to_contain_text(re.compile(r"Channel modes: \+[a-zA-Z]*j[a-zA-Z]* 2:60"))
    await expect(alice.page.locator("#member-list li")).to_have_text(["@alice", "dave", "erin", "frank"])


async def test_the_browser_user_whose_join_closes_the_channel_is_in_and_told(open_user, irc_user) -> None:
    bob = await irc_user("bob", "#jflast")
    bob.send("MODE #jflast +j 1:60")
    await bob.expect("MODE", "#jflast")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/join #jflast")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#jflast")
    said = "This channel is closed to new joins for 60 seconds: 1 join in 60 seconds (+j)"
    await expect(alice.messages().locator(".row.notice", has_text=said)).to_have_count(1)
    await expect(alice.page.locator("#member-list li")).to_have_text(["@bob", "alice"])
    await expect(error_rows(alice)).to_have_count(0)
    assert (await bob.expect("NOTICE", "#jflast")).params[1] == said


async def test_a_j_with_its_value_then_a_voice_in_one_mode_voices_the_right_member(open_user, irc_user) -> None:
    bob = await irc_user("bob", "#jfvoice")
    alice = await open_user()
    await alice.connect("alice", "#jfvoice")
    bob.send("MODE #jfvoice +jv 3:60 alice")
    await bob.expect("MODE", "#jfvoice")
    both = "bob closed #jfvoice for a while to newcomers after 3 joins in 60 seconds and gave alice a voice"
    await expect(alice.messages().locator(".row.mode", has_text=f"{both} (+jv 3:60 alice)")).to_have_count(1)
    await expect(alice.page.locator("#member-list li")).to_have_text(["@bob", "+alice"])
    bob.send("MODE #jfvoice -jv alice")  # -j takes no value: the voice is alice's again
    await bob.expect("MODE", "#jfvoice", "-jv")
    lifted = "bob lifted the join rule of #jfvoice and took the voice from alice (-jv alice)"
    await expect(alice.messages().locator(".row.mode", has_text=lifted)).to_have_count(1)
    await expect(alice.page.locator("#member-list li")).to_have_text(["@bob", "alice"])


async def test_a_knock_on_a_no_knock_channel_shows_the_480(open_user, irc_user) -> None:
    bob = await irc_user("bob", "#jfnoknock")
    bob.send("MODE #jfnoknock +iK")
    await bob.expect("MODE", "#jfnoknock")
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.say("/knock #jfnoknock let me in")
    refusal = error_rows(alice).filter(has_text="#jfnoknock")
    await expect(refusal.locator(".text")).to_have_text(["#jfnoknock: Cannot KNOCK on channel (+K)"])
    await expect(alice.page.locator("#buffer-title")).to_have_text("#lobby")
    await expect(buffer_names(alice).filter(has_text="#jfnoknock")).to_have_count(0)


async def left_channel(open_user, irc_user, channel: str):
    """alice (in the browser) was in `channel` and left it; she is in #lobby, the channel's
    buffer still listed as left. Then bob makes it +jK and carol's join closes it."""
    bob = await irc_user("bob", channel)
    alice = await open_user()
    await alice.connect("alice", f"#lobby {channel}")
    await alice.switch_to(channel)
    await alice.say("/part")
    await expect(alice.page.locator("#buffer-list li.parted")).to_have_count(1)
    await alice.switch_to("#lobby")
    bob.send(f"MODE {channel} +jK 1:60")
    await bob.expect("MODE", channel)
    await irc_user("carol", channel)
    await bob.expect("NOTICE", channel)
    return alice


async def test_a_join_refused_for_a_channel_left_earlier_shows_where_it_was_typed(open_user, irc_user) -> None:
    alice = await left_channel(open_user, irc_user, "#jfleft")
    await alice.say("/join #jfleft")
    await answered(alice, "bob")
    assert await error_rows(alice).filter(has_text=re.compile(rf"#jfleft: {CLOSED}")).count() == 1


async def test_a_knock_refused_for_a_channel_left_earlier_shows_where_it_was_typed(open_user, irc_user) -> None:
    alice = await left_channel(open_user, irc_user, "#jfleftk")
    await alice.say("/knock #jfleftk please")
    await answered(alice, "bob")
    assert await error_rows(alice).filter(has_text="#jfleftk: Cannot KNOCK on channel (+K)").count() == 1


async def test_the_servers_name_on_its_closing_notice_is_not_a_nick_to_address(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#jfclick")
    await alice.say("/mode +j 1:60")
    await expect(alice.messages().locator(".row.mode", has_text="(+j 1:60)")).to_have_count(1)
    await irc_user("erin", "#jfclick")
    notice = alice.messages().locator(".row.notice", has_text="This channel is closed to new joins")
    await expect(notice).to_have_count(1)
    await notice.get_by_text("hubbub.local", exact=True).click()
    assert await alice.page.locator("#input").input_value() == ""
