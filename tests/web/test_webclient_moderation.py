"""A first-time moderator's QA pass, in the browser against a real hubbub: one-step
moderation commands, the ban list in words, invite links, `from:` in searches, and
creating an account after a failed login."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_one_step_moderation_commands(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#garden")  # alice founds #garden: its operator
    sam = await irc_user("sam", "#garden")
    spammy = await irc_user("spammy", "#garden")
    await expect(alice.page.locator("#member-list")).to_contain_text("spammy")
    await alice.say("/op sam")
    assert (await sam.expect(lambda m: m.command == "MODE" and m.params[1] == "+o")).params == ["#garden", "+o", "sam"]
    await alice.say("/voice sam spammy")
    assert (await sam.expect(lambda m: m.command == "MODE" and m.params[1] == "+vv")).params[2:] == ["sam", "spammy"]
    await alice.say("/mute spammy")
    assert (await sam.expect(lambda m: m.command == "MODE" and m.params[1] == "+b")).params[2] == "m:spammy!*@*"
    await alice.say("/kickban spammy bye now")
    assert (await sam.expect(lambda m: m.command == "MODE" and m.params[1] == "+b")).params[2] == "spammy!*@*"
    kick = await spammy.expect("KICK")
    assert kick.params == ["#garden", "spammy", "bye now"]
    await alice.say("/unmute spammy")
    assert (await sam.expect(lambda m: m.command == "MODE" and m.params[1] == "-b")).params[2] == "m:spammy!*@*"
    await alice.say("/deop sam")
    await sam.expect(lambda m: m.command == "MODE" and m.params[1] == "-o")
    await expect(alice.messages()).not_to_contain_text("Unknown command")


async def test_the_ban_list_shows_in_the_channel_in_words(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#garden")
    await alice.say("/ban spammy")
    await expect(alice.messages()).to_contain_text("+b spammy!*@*")
    for command in ("/bans", "/mode b", "/mode +b"):
        await alice.say(command)
    entries = alice.messages().locator(".row", has_text="spammy!*@* — set by alice, just now")
    await expect(entries).to_have_count(3)
    await expect(alice.messages().locator(".row", has_text="End of the ban list of #garden (1 ban)")).to_have_count(3)
    await expect(alice.messages()).not_to_contain_text("No such nick")
    await alice.say("/mode")
    await expect(alice.messages()).to_contain_text("Channel modes: +nt")
    await alice.switch_to("hubbub")
    await expect(alice.messages()).not_to_contain_text("spammy!*@*")


async def test_help_lists_moderation_under_its_own_heading(open_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#garden")
    await alice.say("/help")
    dialog = alice.page.locator("#help-dialog")
    await expect(dialog.get_by_role("heading", name="Moderation")).to_be_visible()
    moderation = dialog.locator("#help-moderation")
    for usage in ("/op nick", "/ban nick|mask", "/mute nick|mask", "/kickban nick [reason]", "/bans"):
        await expect(moderation).to_contain_text(usage)
    await expect(dialog).to_contain_text("nick!*@*")
    await expect(dialog.locator("#help-commands")).to_contain_text("/register password [email]")


@pytest.mark.parametrize("path", ["/#garden", "/?join=%23garden", "/#garden,%23roses"])
async def test_an_invite_link_fills_in_the_channels(open_page, web_server, path) -> None:
    alice = await open_page(web_server.url.rstrip("/") + path)
    field = alice.page.locator("#connect-channels")
    await expect(field).to_have_value("#garden #roses" if "roses" in path else "#garden")
    await alice.connect("alice", await field.input_value())
    assert await alice.page.evaluate("location.hash + location.search") == ""  # asked for once


async def test_an_invite_link_joins_the_channel_of_a_remembered_session(open_user, web_server) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.page.goto("about:blank")  # the link opened anew: the session resumes with it
    await alice.page.goto(web_server.url.rstrip("/") + "/#garden")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#garden")
    await expect(alice.page.locator("#buffer-list")).to_contain_text("#lobby")
    await expect(alice.page.locator("#member-list")).to_contain_text("alice")
    # opened in the tab where the session runs: joined at once
    await alice.page.goto(web_server.url.rstrip("/") + "/?join=%23roses#ignored")
    await expect(alice.page.locator("#buffer-title")).to_have_text("#roses")


async def test_an_invite_link_followed_in_a_running_session_joins(open_user, web_server) -> None:
    alice = await open_user()
    await alice.connect("alice", "#lobby")
    await alice.page.goto(web_server.url.rstrip("/") + "/#garden,%23roses")  # a hash change: no reload
    await expect(alice.page.locator("#buffer-title")).to_have_text("#garden")
    await expect(alice.page.locator("#buffer-list")).to_contain_text("#roses")
    assert await alice.page.evaluate("location.hash") == ""


async def test_search_from_a_sender(open_user, irc_user) -> None:
    carol = await irc_user("carol", "#seeds")
    dave = await irc_user("dave", "#seeds")
    carol.send("PRIVMSG #seeds :carol sells seeds")
    dave.send("PRIVMSG #seeds :dave buys seeds")
    dave.send("PRIVMSG #seeds :dave says hello")
    dave.send("PING done")
    await dave.expect("PONG")
    alice = await open_user()
    await alice.connect("alice", "#seeds")
    results = alice.page.locator("#search-results")
    await alice.page.fill("#search-input", "from:dave seeds")
    await alice.page.press("#search-input", "Enter")
    await expect(results.locator("li")).to_have_count(1)
    await expect(results).to_contain_text("dave buys seeds")
    await alice.page.keyboard.press("Escape")
    await alice.page.fill("#search-input", "from:dave")
    await alice.page.press("#search-input", "Enter")
    await expect(results.locator("li")).to_have_count(2)
    await expect(results).not_to_contain_text("carol")
    # today's results show the time alone; another day's its date too
    shown = await alice.page.evaluate(
        "import('/js/dom.js').then((m) => [m.whenElement(Date.now()).textContent,"
        " m.whenElement(Date.now() - 3 * 86400000).textContent])"
    )  # fmt: skip
    assert re.fullmatch(r"\d\d:\d\d.*", shown[0]) and re.search(r"[A-Za-z]", shown[1]), shown


async def test_a_failed_login_says_how_to_create_the_account(open_user, irc_user) -> None:
    alice = await open_user()
    await alice.connect("alice", "#garden", password="hunter2-words")
    hint = "No account by that name? Type /register <password> to create one with this nick"
    await expect(alice.messages().locator(".row.error", has_text=hint)).to_have_count(1)
    await alice.say("/register hunter2-words")
    await expect(alice.messages()).to_contain_text("Account successfully registered")
    bob = await irc_user("bob")
    bob.send("WHOIS alice")
    assert (await bob.expect("330")).params[1:3] == ["alice", "alice"]  # logged in as alice
    settings = await alice.page.evaluate("JSON.parse(localStorage.getItem('hubbub.settings'))")
    assert settings["usesPassword"] is True
