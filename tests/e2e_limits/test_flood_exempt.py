"""Bots and operators that flood control leaves alone (`limits.flood_exempt_accounts`,
`limits.flood_exempt_opers`), over real sockets against a real server.

The paste is a bot's: a build log or a feed digest, 100 lines of 300 bytes in one write,
well past the burst (20), the pace (4 a second) and the recvq (8192 bytes) of the
defaults. Paced, it would take 20 seconds to pass, and it cannot: the lines that wait
pass the recvq and the connection is closed for Excess Flood. Exempt, every line reaches
the channel at once, in order, and the bot is not cut.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.e2e_accounts.support import ns, registered_account, sasl_plain
from tests.e2e_opers.conftest import OPER_NAME, OPER_PASSWORD, ConfiguredServer, oper_toml
from tests.helpers import CHEAP_HASH, LineClient, cheap_hash, connect_plain, connected, sync

WAIT = 5.0  # a paced paste needs 20 s (80 lines past the burst at 4 a second): this is "at once"
FLOOD = "limits.flood_control=true"  # the suite's servers run without it; the defaults otherwise
EXEMPT_BOT = "limits.flood_exempt_accounts=['buildbot']"
PASSWORD = "correct-horse"
LINES = 100


def paste(tag: str) -> tuple[bytes, list[str]]:
    """100 PRIVMSGs to #c of 300 bytes each (with their CRLF), in one write; their texts."""
    texts = []
    for i in range(LINES):
        head = f"PRIVMSG #c :{tag} line {i:03} "
        texts.append(head[len("PRIVMSG #c :") :] + "x" * (298 - len(head)))
    data = "".join(f"PRIVMSG #c :{text}\r\n" for text in texts).encode()
    assert all(len(f"PRIVMSG #c :{text}\r\n") == 300 for text in texts)
    return data, texts


async def heard(reader: LineClient, count: int, timeout: float = WAIT) -> list[str]:
    """The next `count` texts said in #c, as `reader` hears them."""
    texts = []
    while len(texts) < count:
        message = await reader.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == "#c", timeout=timeout)
        texts.append(message.params[1])
    return texts


def flood_delays(server: Runtime) -> int:
    """Times a client's next line had to wait for flood control (the metrics' counter)."""
    return server.counters("tcp").flood_delays


async def pastes_whole(server: Runtime, bot: LineClient, reader: LineClient, tag: str) -> None:
    """The bot's paste reaches the reader at once, every line in order, none of them
    having waited for flood control, and the bot is still connected and answering."""
    data, texts = paste(tag)
    delays = flood_delays(server)
    bot.send(data)
    assert await heard(reader, LINES) == texts
    assert not [m for m in await sync(bot) if m.command == "ERROR"]
    assert flood_delays(server) == delays


async def is_cut(bot: LineClient, reader: LineClient, tag: str) -> None:
    """The bot's paste ends its connection (Excess Flood) before all of it is said."""
    data, _ = paste(tag)
    bot.send(data)
    lines = await bot.closed(timeout=WAIT)
    assert lines and lines[-1].startswith("ERROR :Closing Link: ") and lines[-1].endswith("(Excess Flood)"), lines
    quit_message = await reader.expect("QUIT", timeout=WAIT)
    assert quit_message.source.startswith(f"{bot.nick}!") and "Excess Flood" in quit_message.params[0]
    said = [m.params[1] for m in reader.received if m.command == "PRIVMSG" and m.params[1].startswith(tag)]
    assert 0 < len(said) < LINES


async def account(server: Runtime, name: str = "buildbot") -> None:
    """Register the account `name` (password PASSWORD) and leave."""
    client = await registered_account(server, name, PASSWORD)
    await client.close()


async def sasl_bot(server: Runtime, clients: list[LineClient], name: str = "buildbot") -> LineClient:
    """The bot, logged in with SASL PLAIN as it registers, in #c."""
    bot, result = await sasl_plain(server, name, name, PASSWORD)
    clients.append(bot)
    assert result == "903"
    await bot.join("#c")
    return bot


async def reader_in_c(server: Runtime, clients: list[LineClient]) -> LineClient:
    reader = await connected(server, "reader", "#c")
    clients.append(reader)
    return reader


async def test_a_listed_bot_logged_in_with_sasl_pastes_100_lines_and_all_arrive_in_order(make_server, clients) -> None:
    server = await make_server(FLOOD, EXEMPT_BOT)
    await account(server)
    reader = await reader_in_c(server, clients)
    bot = await sasl_bot(server, clients)
    await pastes_whole(server, bot, reader, "log")
    await pastes_whole(server, bot, reader, "again")  # and as often as it likes: nothing was saved up or owed


async def test_the_same_paste_from_an_account_not_listed_is_still_cut(make_server, clients) -> None:
    server = await make_server(FLOOD, "limits.flood_exempt_accounts=['otherbot']")
    await account(server)
    reader = await reader_in_c(server, clients)
    bot = await sasl_bot(server, clients)
    await is_cut(bot, reader, "log")


async def test_the_listed_names_are_matched_as_nicks_are_whatever_their_case(make_server, clients) -> None:
    server = await make_server(FLOOD, "limits.flood_exempt_accounts=['BuildBot']")
    await account(server)
    reader = await reader_in_c(server, clients)
    await pastes_whole(server, await sasl_bot(server, clients), reader, "log")


async def test_identify_exempts_and_logout_paces_again(make_server, clients) -> None:
    """Logged in later (NickServ IDENTIFY) the bot is exempt; after LOGOUT it is a client
    like any other again: the same paste is cut."""
    server = await make_server(FLOOD, EXEMPT_BOT)
    await account(server)
    reader = await reader_in_c(server, clients)
    bot = await connected(server, "buildbot", "#c")
    clients.append(bot)
    await is_not_exempt_yet(server, bot, reader)
    assert await ns(bot, f"IDENTIFY buildbot {PASSWORD}") == "You're now logged in as buildbot"
    await pastes_whole(server, bot, reader, "identified")
    assert await ns(bot, "LOGOUT") == "You're now logged out"
    await is_cut(bot, reader, "logged-out")


async def test_a_bot_logged_in_by_pass_is_exempt_too(make_server, clients) -> None:
    """A bot without SASL that logs in with PASS (accounts.login_via_pass)."""
    server = await make_server(FLOOD, EXEMPT_BOT)
    await account(server)
    reader = await reader_in_c(server, clients)
    bot = await LineClient.connect(server)
    clients.append(bot)
    bot.send(f"PASS buildbot:{PASSWORD}")
    await bot.register("buildbot")
    await bot.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "You're now logged in as buildbot")
    await bot.join("#c")
    await pastes_whole(server, bot, reader, "by-pass")


async def is_not_exempt_yet(server: Runtime, bot: LineClient, reader: LineClient) -> None:
    """Before logging in, the bot's lines wait for flood control as everyone's do: its
    burst goes at once, the rest at the pace (25 short lines: the last ones wait)."""
    delays = flood_delays(server)
    bot.send("".join(f"PRIVMSG #c :before {i}\r\n" for i in range(25)))
    assert await heard(reader, 25, timeout=10.0) == [f"before {i}" for i in range(25)]
    assert flood_delays(server) > delays


async def test_a_logout_and_a_paste_sent_in_one_write_are_paced_from_the_logout_on(make_server, clients) -> None:
    """The exemption ends with the LOGOUT itself, not with the next read: the lines that
    follow it in the same write are paced (and this paste, cut)."""
    server = await make_server(FLOOD, EXEMPT_BOT)
    await account(server)
    reader = await reader_in_c(server, clients)
    bot = await sasl_bot(server, clients)
    data, _ = paste("after-logout")
    bot.send(b"PRIVMSG NickServ :LOGOUT\r\n" + data)
    lines = await bot.closed(timeout=WAIT)
    assert lines and lines[-1].endswith("(Excess Flood)"), lines
    said = [m for m in await heard_until_quit(reader) if m.startswith("after-logout")]
    assert len(said) < LINES


async def heard_until_quit(reader: LineClient) -> list[str]:
    await reader.expect("QUIT", timeout=WAIT)
    return [m.params[1] for m in reader.received if m.command == "PRIVMSG" and m.params[0] == "#c"]


# -- operators ----------------------------------------------------------------------------------


@pytest.fixture
async def configured(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[ConfiguredServer]]]:
    """Servers read from a TOML file (operator blocks cannot be given with --set), flood
    control on; the file can be rewritten and REHASHed."""
    started: list[ConfiguredServer] = []

    async def make(toml: str, *overrides: str) -> ConfiguredServer:
        served = ConfiguredServer(tmp_path / f"hubbub{len(started)}.toml", [
            "listen.irc=['127.0.0.1:0']", "listen.web=''", "store.db=':memory:'", *CHEAP_HASH, FLOOD, *overrides,
        ])  # fmt: skip
        served.write(toml)
        started.append(served)
        await served.start()
        return served

    yield make
    for served in started:
        if served.runtime is not None:
            await served.runtime.stop()


@pytest.fixture(scope="module")
def oper_block() -> str:
    return oper_toml(cheap_hash(OPER_PASSWORD))


async def opered(server: Runtime, nick: str, clients: list[LineClient]) -> LineClient:
    oper = await connected(server, nick, "#c")
    clients.append(oper)
    oper.send(f"OPER {OPER_NAME} {OPER_PASSWORD}")
    await oper.expect("381")
    await oper.expect("MODE", nick, "+o")
    return oper


async def test_an_operator_is_exempt_while_opered(configured, oper_block, clients) -> None:
    """After OPER, an operator's paste passes whole; after `MODE nick -o` it is paced again."""
    server = (await configured(oper_block)).runtime
    assert server is not None
    reader = await reader_in_c(server, clients)
    oper = await opered(server, "ircop", clients)
    await pastes_whole(server, oper, reader, "oper")
    oper.send("MODE ircop -o")
    await oper.expect("MODE", "ircop", "-o")
    await is_cut(oper, reader, "deopered")


async def test_operators_are_paced_with_flood_exempt_opers_off(configured, oper_block, clients) -> None:
    server = (await configured(oper_block, "limits.flood_exempt_opers=false")).runtime
    assert server is not None
    reader = await reader_in_c(server, clients)
    oper = await opered(server, "ircop", clients)
    await is_cut(oper, reader, "oper")


async def test_a_rehash_exempts_a_bot_logged_in_already_and_a_second_one_ends_it(
    configured, oper_block, clients
) -> None:
    """The setting reaches connections logged in before the reload, both ways."""
    served = await configured(oper_block)
    server = served.runtime
    assert server is not None
    await account(server)
    reader = await reader_in_c(server, clients)
    oper = await opered(server, "ircop", clients)
    bot = await sasl_bot(server, clients)

    served.write(oper_block + '[limits]\nflood_exempt_accounts = ["buildbot"]\n')
    await rehashed(oper)
    await pastes_whole(server, bot, reader, "reloaded")

    served.write(oper_block)
    await rehashed(oper)
    await is_cut(bot, reader, "unlisted")


async def rehashed(oper: LineClient) -> None:
    oper.send("REHASH")
    await oper.expect(lambda m: m.command == "NOTICE" and m.params[-1].endswith("Configuration reloaded"))
    await sync(oper)


# -- the settings ----------------------------------------------------------------------------------


def test_print_config_lists_the_exemptions_with_their_meaning(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])  # this checkout's hubbub, whatever is installed
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "hubbub", "serve", "--print-config"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for key, value in (("flood_exempt_accounts", "[]"), ("flood_exempt_opers", "true")):
        at = lines.index(f"# {key} = {value}")
        assert "flood control" in lines[at - 1], lines[at - 1]


async def test_a_person_in_plain_mode_on_an_exempt_account_has_a_long_line_said_at_once(make_server, clients) -> None:
    """Plain mode cuts a long typed line into IRC lines and paces them as flood control
    paces a client's lines: at one every ten seconds past a burst of three, these dozen
    parts would take more than a minute. Logged in to an exempt account, they go at once."""
    server = await make_server(FLOOD, EXEMPT_BOT, "limits.flood_burst=3", "limits.flood_rate=0.1")
    reader = await reader_in_c(server, clients)  # NICK, USER, JOIN: the burst
    person = await connect_plain(server, "buildbot")  # a line of the burst
    clients.append(person)
    person.send(f"/msg NickServ REGISTER {PASSWORD}")  # another: exempt from then on
    await person.expect_text(r"NickServ.*Account created")
    person.send("/join #c")
    await person.expect_text(r"^\* You joined #c$")
    text = " ".join(f"word{i:04d}" for i in range(400))  # 4,000 bytes
    person.send(text)
    said: list[str] = []
    while " ".join(said).split() != text.split():
        said += await heard(reader, 1)
    assert len(said) > 3  # more parts than the burst
