"""WHOX (`WHO mask %fields,token`) and bot mode (+B, BOT=B, WHOIS 335, WHO flag, bot tag)."""

from __future__ import annotations

from tests.e2e_caps.support import capped, mask
from tests.helpers import commands, connected, sync

# -- WHOX ------------------------------------------------------------------------------


async def test_whox_gives_the_fields_asked_in_the_standard_order(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("WHO alice %rnaolfdsnhiuct,123")  # any order, repeats: the reply's order is fixed
    reply = await bob.expect("354")
    assert reply.params == [
        "bob", "123", "*", "~u", "255.255.255.255", "127.0.0.1", "hubbub.local", "alice",
        "H", "0", reply.params[10], "0", "n/a", "Real Name",
    ]
    assert reply.params[10].isdigit()  # seconds idle
    end = await bob.expect("315")
    assert end.params[:2] == ["bob", "alice"]


async def test_whox_token_and_a_few_fields(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("WHO #room %tnf,42")
    replies = await bob.collect_until("315")
    rows = sorted(m.params for m in replies if m.command == "354")
    assert rows == [["bob", "42", "alice", "H@"], ["bob", "42", "bob", "H"]]
    assert "352" not in commands(replies)


async def test_whox_account_is_zero_without_accounts(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHO alice %na")
    assert (await alice.expect("354")).params == ["alice", "alice", "0"]


async def test_whox_shows_ones_own_ip_and_channel(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("WHO #room %cin")
    assert (await alice.expect("354")).params == ["alice", "#room", "127.0.0.1", "alice"]


async def test_whox_bad_token_and_missing_token_read_as_zero(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for spec in ("%tn,12345", "%tn,1a", "%tn"):
        alice.send(f"WHO alice {spec}")
        assert [m.params for m in await sync(alice) if m.command == "354"] == [["alice", "0", "alice"]]
    alice.send("WHO nobody %tn,1")
    assert commands(await sync(alice)) == ["315"]


async def test_whox_without_a_field_is_the_classic_reply(server, clients) -> None:
    """`%` alone (or with letters that are no field) asks for nothing: a 354 without
    parameters would break the clients that read it, so the rows are plain WHO's."""
    alice = await connected(server, "alice", "#w")
    clients.append(alice)
    for spec in ("%", "%,12", "%zq"):
        alice.send(f"WHO #w {spec}")
        got = await sync(alice)
        assert commands(got) == ["352", "315"], (spec, got)
        assert got[0].params[5] == "alice"


async def test_who_without_percent_is_the_classic_reply(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHO alice x")  # a second parameter without '%': no WHOX (and no 'o' filter)
    assert (await alice.expect("352")).params[5] == "alice"


# -- bot mode ---------------------------------------------------------------------------


async def test_bot_mode_marks_the_bot_in_whois_who_and_its_messages(server, clients) -> None:
    bot = await connected(server, "robot", "#room")
    tagged = await capped(server, "alice", "message-tags", channels=("#room",))
    untagged = await connected(server, "bob", "#room")
    clients.extend([bot, tagged, untagged])
    bot.send("MODE robot +B")
    change = await bot.expect("MODE")
    assert change.source == mask("robot") and change.params == ["robot", "+B"]
    untagged.send("WHOIS robot")
    whois = await untagged.collect_until("318")
    (bot_line,) = [m for m in whois if m.command == "335"]
    assert bot_line.params[:2] == ["bob", "robot"]
    untagged.send("WHO #room")
    rows = {m.params[5]: m.params[6] for m in await untagged.collect_until("315") if m.command == "352"}
    assert rows == {"robot": "H@B", "alice": "H", "bob": "H"}
    untagged.send("WHO robot %nf")
    assert (await untagged.expect("354")).params == ["bob", "robot", "HB"]
    bot.send("PRIVMSG #room :beep boop")
    said = await tagged.expect("PRIVMSG")
    assert "bot" in said.tags and said.tags["bot"] == "" and "draft/bot" in said.tags
    assert (await untagged.expect("PRIVMSG")).tags == {}
    bot.send("PRIVMSG alice :private beep")
    assert "bot" in (await tagged.expect("PRIVMSG")).tags
    bot.send("PART #room")
    bot.send("JOIN #room")
    bot.send("NICK robot2")
    for command in ("PART", "JOIN", "NICK"):  # whatever the bot does carries the tag
        assert "bot" in (await tagged.expect(command)).tags


async def test_bot_mode_can_be_dropped(server, clients) -> None:
    bot = await connected(server, "robot")
    alice = await capped(server, "alice", "message-tags")
    clients.extend([bot, alice])
    bot.send("MODE robot +B")
    await bot.expect("MODE")
    bot.send("MODE robot -B")
    assert (await bot.expect("MODE")).params == ["robot", "-B"]
    bot.send("PRIVMSG alice :human again")
    assert "bot" not in (await alice.expect("PRIVMSG")).tags
    alice.send("WHOIS robot")
    assert "335" not in commands(await alice.collect_until("318"))


async def test_nobody_else_can_make_a_user_a_bot(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MODE bob +B")
    assert (await alice.expect("502")).params[0] == "alice"
    bob.send("WHOIS bob")
    assert "335" not in commands(await bob.collect_until("318"))
