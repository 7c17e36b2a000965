"""IRC written in lower case, over real sockets: a bot from a shell script, an old bot's
`NICK name 0`, an empty `PASS :`, told from a person typing a nickname in plain mode
(plain/detect.py, plain/intake.py); and plain mode keeping a command to NickServ, typed
as a line of chat, out of the channel."""

from __future__ import annotations

import asyncio

import pytest

from hubbub.app import Runtime
from hubbub.plain.intake import SECOND_LINE_WAIT
from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient, connect_plain, connected, sync

SHELL_BOT = [
    "nick shbot",
    "user shbot 0 * :shell bot",
    "PRIVMSG NickServ :IDENTIFY hunter2secret",
    "join #mychan",
]


async def test_a_shell_bot_writing_lower_case_is_served_as_irc(server: Runtime, clients: list[LineClient]) -> None:
    owner = await registered_account(server, "shbot", "hunter2secret")
    owner.send("QUIT :the bot logs in itself")
    await owner.closed()
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    bot = await LineClient.connect(server)
    clients.append(bot)
    for line in SHELL_BOT:
        bot.send(line)
    assert (await bot.expect("001")).params[0] == "shbot"
    assert (await bot.expect("900")).params[2] == "shbot"  # logged in with NickServ
    await bot.expect("366", "shbot", "#mychan")
    await sync(alice)  # everything said to #lobby before has reached alice
    assert not any("shbot" in line or "hunter2secret" in line for line in alice.raw), alice.raw
    assert not any("Type a nickname" in line or line.startswith("*") for line in bot.raw), bot.raw


@pytest.mark.parametrize("nick_line", ["NICK hopbot 0", "nick hopbot 0"])
async def test_nick_with_a_hop_count_registers(server: Runtime, clients: list[LineClient], nick_line: str) -> None:
    bot = await LineClient.connect(server)
    clients.append(bot)
    bot.send(nick_line)
    bot.send("USER hopbot 0 * :old bot")
    assert (await bot.expect("001")).params[0] == "hopbot"


async def test_an_empty_pass_is_461_and_registration_goes_on(server: Runtime, clients: list[LineClient]) -> None:
    bot = await LineClient.connect(server)
    clients.append(bot)
    bot.send("PASS :")
    bot.send("NICK passbot")
    bot.send("USER passbot 0 * :bot")
    assert (await bot.expect("461")).params[1] == "PASS"
    assert (await bot.expect("001")).params[0] == "passbot"


async def test_a_person_typing_nick_and_a_name_gets_plain_mode_within_the_wait(
    server: Runtime, clients: list[LineClient]
) -> None:
    person = await LineClient.connect(server)
    clients.append(person)
    loop = asyncio.get_running_loop()
    started = loop.time()
    person.send("nick erin2")
    await person.expect_text(r"^\*\*\* Welcome, erin2! ")
    await person.expect_text(r"^\* You joined #lobby$")
    assert loop.time() - started < SECOND_LINE_WAIT + 1.5
    person.send("hello")  # a person's line after it: chat, as before
    person.send("/who")
    await person.expect_text(r"erin2")


async def test_a_person_typing_a_nickname_gets_plain_mode_at_once(server: Runtime, clients: list[LineClient]) -> None:
    person = await LineClient.connect(server)
    clients.append(person)
    loop = asyncio.get_running_loop()
    started = loop.time()
    person.send("erin3")
    await person.expect_text(r"^\* You joined #lobby$")
    assert loop.time() - started < SECOND_LINE_WAIT / 2


@pytest.mark.parametrize(
    "typed",
    [
        "PRIVMSG NickServ :IDENTIFY hunter2secret", "msg nickserv identify hunter2secret", "ns identify hunter2secret",
        "identify hunter2secret", "identify bob hunter2secret",
    ],
)  # fmt: skip
async def test_plain_mode_does_not_say_a_command_to_nickserv_in_the_channel(
    server: Runtime, clients: list[LineClient], typed: str
) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    bob.send(typed)
    await bob.expect_text(r"^\* That line was not said in #lobby: .* /msg NickServ IDENTIFY ")
    bob.send("hello")
    said = await alice.expect("PRIVMSG", "#lobby")
    assert said.params[1] == "hello"  # the line before it went nowhere
    bob.send("/msg NickServ IDENTIFY hunter2secret")  # the way the sentence gives: to NickServ only
    await bob.expect_text(r"NickServ.*(Invalid account credentials|not registered)")
    assert not any("hunter2secret" in line for line in alice.raw)
    bob.send("identify yourself")  # read as a login too, and not said
    await bob.expect_text(r"^\* That line was not said in #lobby: .* type it again after //\.$")
    bob.send("//identify yourself")  # the way the sentence gives to say it all the same
    said = await alice.expect("PRIVMSG", "#lobby")
    assert said.params[1] == "identify yourself"
    await sync(alice)
    assert not any("hunter2secret" in line for line in alice.raw)
