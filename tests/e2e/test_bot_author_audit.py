"""A bot author's audit: what someone used to running bots on Libera, InspIRCd or ergo
expects of the server, over real sockets with raw lines.

Flood control is on with its documented defaults (burst 20, then 4 lines a second,
recvq 8192: README "Limits") wherever it matters, since that is what a bot meets on a
real server; the other limits are the defaults too. What these tests add to the topic
files (tests/e2e_caps/test_whox_and_bots.py, tests/e2e_limits/test_limits.py...) is the
bot's view of each thing: its burst of JOINs right after registering, its answers to
a burst of commands, its login, its reconnections, its CTCP replies and its long replies.
"""

from __future__ import annotations

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import b64, registered_account
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, commands, connected, isupport_tokens, sync

FLOOD = ("limits.flood_control=true",)  # the documented defaults: burst 20, 4/s, recvq 8192
SLOW_WAIT = 15.0  # a wait that includes flood delays (or a password check, off the loop)
BOT_CAPS = ("message-tags", "echo-message", "labeled-response", "batch", "account-tag", "extended-join",
            "invite-notify", "server-time")  # fmt: skip


async def bot_client(
    server: Runtime, nick: str, *caps: str, account: str | None = None, password: str = "", realname: str = "Hub Bot"
) -> tuple[LineClient, list[Message]]:
    """A bot as bot libraries connect: CAP LS 302, NICK, USER at once, CAP REQ, SASL PLAIN
    (empty authzid, as most libraries send it) when given an account, CAP END.
    Returns the client and its registration burst (001 to the end of the MOTD)."""
    bot = await LineClient.connect(server)
    bot.send(f"CAP LS 302\r\nNICK {nick}\r\nUSER {nick} 0 * :{realname}")
    ls = await bot.expect("CAP")
    while ls.params[2] == "*":
        ls = await bot.expect("CAP")
    wanted = [*caps, "sasl"] if account else list(caps)
    if wanted:
        bot.send("CAP REQ :" + " ".join(wanted))
        ack = await bot.expect("CAP")
        assert ack.params[1] == "ACK", ack
    if account:
        bot.send("AUTHENTICATE PLAIN")
        await bot.expect("AUTHENTICATE", "+")
        bot.send("AUTHENTICATE " + b64(f"\0{account}\0{password}"))
        result = await bot.expect(lambda m: m.command in ("903", "904"), timeout=SLOW_WAIT)
        assert result.command == "903", bot.raw[-5:]
    bot.send("CAP END")
    start = len(bot.received)
    await bot.expect(lambda m: m.command in ("376", "422"))
    bot.nick = nick
    return bot, bot.received[start:]


def own_mask(burst: list[Message]) -> str:
    """The bot's nick!user@host as the welcome (001) gives it: what bots use to size lines."""
    (welcome,) = [m for m in burst if m.command == "001"]
    return welcome.params[-1].split()[-1]


async def make_account(server: Runtime, name: str, password: str) -> None:
    """An account registered with NickServ, its registering connection gone."""
    owner = await registered_account(server, name, password)
    owner.send("QUIT")
    await owner.closed()


def privmsgs(client: LineClient, target: str) -> list[str]:
    return [m.params[1] for m in client.received if m.command == "PRIVMSG" and m.params[0] == target]


# -- flood control: slowed, never dropped -------------------------------------------------


async def test_a_bot_joining_30_channels_right_after_registering_is_slowed_not_disconnected(
    make_server, clients
) -> None:
    """The autojoin of a bot in many channels: NICK, USER, then 30 JOIN lines in one write
    the moment the MOTD ends. Past the burst they wait their turn; every JOIN completes,
    in the order sent, and the bot is still there at the end."""
    server = await make_server(*FLOOD)
    watcher = await connected(server, "watcher", "#autojoin29")
    bot = await connected(server, "hubbot")
    clients.extend([watcher, bot])
    channels = [f"#autojoin{i}" for i in range(30)]
    bot.send("".join(f"JOIN {channel}\r\n" for channel in channels))
    start = len(bot.received)
    await bot.expect("366", "hubbot", channels[-1], timeout=SLOW_WAIT)
    replies = bot.received[start:]
    assert [m.params[0] for m in replies if m.command == "JOIN"] == channels
    assert [m.params[1] for m in replies if m.command == "366"] == channels
    assert not [m for m in replies if m.command == "ERROR" or m.command[0] in "45"], replies
    joined = await watcher.expect("JOIN", "#autojoin29")
    assert joined.source.startswith("hubbot!")
    assert "ERROR" not in commands(await sync(bot))  # slowed, not dropped
    bot.send("WHOIS hubbot")
    whois = await bot.collect_until("318")
    (listing,) = [m for m in whois if m.command == "319"]
    assert sorted(listing.params[-1].replace("@", "").split()) == sorted(channels)


async def test_a_bot_may_also_join_its_30_channels_in_one_comma_separated_join(make_server, clients) -> None:
    """TARGMAX says JOIN takes any number of channels (`JOIN:`), CHANLIMIT that 50 fit:
    one line joins them all, in order, for one flood token."""
    server = await make_server(*FLOOD)
    bot = await LineClient.connect(server)
    clients.append(bot)
    bot.send("NICK hubbot\r\nUSER hubbot 0 * :Hub Bot")
    burst = await bot.collect_until("376")
    bot.nick = "hubbot"
    tokens = isupport_tokens(burst)
    assert "JOIN:" in (tokens["TARGMAX"] or "").split(",") and tokens["CHANLIMIT"] == "#:50"
    channels = [f"#list{i}" for i in range(30)]
    bot.send("JOIN " + ",".join(channels))
    start = len(bot.received)
    await bot.expect("366", "hubbot", channels[-1])
    replies = bot.received[start:]
    assert [m.params[0] for m in replies if m.command == "JOIN"] == channels
    assert not [m for m in replies if m.command[0] in "45"], replies


async def test_the_documented_flood_rule_twenty_lines_pass_at_once_and_the_rest_wait_in_order(
    make_server, clients
) -> None:
    """README: 'flood_burst (20) at once, then flood_rate per second; extra lines wait,
    they are not dropped'. A bot that writes its registration, its JOIN and 20 answers in
    one go: NICK, USER, JOIN and the first 17 answers are the burst of 20 and pass at once;
    the last 3 wait, so a line another member says once the 17th has arrived comes before
    them; none is lost, and the bot stays connected. (The burst is the default; the
    refill is slowed to 2 a second so that the ordering has a wide margin.)"""
    server = await make_server(*FLOOD, "limits.flood_rate=2")
    alice = await connected(server, "alice", "#c")
    carol = await connected(server, "carol", "#c")
    bot = await LineClient.connect(server)
    clients.extend([alice, carol, bot])
    answers = [f"answer {i}" for i in range(20)]
    bot.send(
        "NICK hubbot\r\nUSER hubbot 0 * :Hub Bot\r\nJOIN #c\r\n" + "".join(f"PRIVMSG #c :{a}\r\n" for a in answers)
    )
    await alice.expect("PRIVMSG", "#c", "answer 16")
    carol.send("PRIVMSG #c :said meanwhile")
    await alice.expect("PRIVMSG", "#c", "answer 19", timeout=SLOW_WAIT)
    assert privmsgs(alice, "#c") == answers[:17] + ["said meanwhile"] + answers[17:]
    bot.nick = "hubbot"
    assert "ERROR" not in commands(await sync(bot))


async def test_a_bot_answering_a_burst_of_20_commands_with_full_length_replies_is_paced_not_killed(
    make_server, clients
) -> None:
    """Someone fires 20 commands at once in a channel; the bot answers each as it reads
    it, with a reply as long as a relayed line may be (510 bytes before CRLF). Every answer
    arrives whole and in order, and neither the bot nor the user is disconnected."""
    server = await make_server(*FLOOD)
    alice = await connected(server, "alice", "#c")
    bot, burst = await bot_client(server, "hubbot")
    clients.extend([alice, bot])
    await bot.join("#c")
    await alice.expect("JOIN", "#c")
    prefix = f":{own_mask(burst)} PRIVMSG #c :"
    room = 510 - len(prefix.encode())

    def answer(n: int) -> str:
        head = f"answer to !quote {n}: "
        return head + "x" * (room - len(head))

    alice.send("".join(f"PRIVMSG #c :!quote {i}\r\n" for i in range(20)))
    for _ in range(20):
        command = await bot.expect("PRIVMSG", "#c", timeout=SLOW_WAIT)
        bot.send(f"PRIVMSG #c :{answer(int(command.params[1].split()[1]))}")
    got = [await alice.expect("PRIVMSG", "#c", timeout=SLOW_WAIT) for _ in range(20)]
    assert [m.params[1] for m in got] == [answer(i) for i in range(20)]
    relayed = [line for line in alice.raw if " PRIVMSG #c :answer to" in line]
    assert [len(line.encode()) for line in relayed] == [510] * 20
    assert "ERROR" not in commands(await sync(bot))
    assert "ERROR" not in commands(await sync(alice))


async def test_labels_and_echoes_survive_the_flood_delay(make_server, clients) -> None:
    """A bot matching its replies by label (labeled-response with echo-message) sends 24
    labeled messages in one write: the ones past the burst wait, and every echo comes back
    with its own label, in order, with the msgid the channel saw."""
    server = await make_server(*FLOOD)
    alice = await capped(server, "alice", "message-tags", channels=("#c",))
    bot, _ = await bot_client(server, "hubbot", *BOT_CAPS)
    clients.extend([alice, bot])
    await bot.join("#c")
    bot.send("".join(f"@label=q{i} PRIVMSG #c :reply {i}\r\n" for i in range(24)))
    echoes = [await bot.expect("PRIVMSG", "#c", timeout=SLOW_WAIT) for _ in range(24)]
    assert [(m.tags.get("label"), m.params[1]) for m in echoes] == [(f"q{i}", f"reply {i}") for i in range(24)]
    delivered = [await alice.expect("PRIVMSG", "#c", timeout=SLOW_WAIT) for _ in range(24)]
    assert [m.tags["msgid"] for m in delivered] == [m.tags["msgid"] for m in echoes]
    assert "ERROR" not in commands(await sync(bot))


# -- bot mode ----------------------------------------------------------------------------------


async def test_bot_mode_as_a_bot_library_finds_and_uses_it(make_server, clients) -> None:
    """ISUPPORT `BOT=B` names the mode, 004 lists it; `MODE me +B` right after the MOTD;
    then 221, WHOIS 335 (with the NETWORK name), WHO flag `B` (after `G` once away), and
    the value-less `bot` tag on the bot's messages, NOTICE, TAGMSG, AWAY and QUIT
    included, for clients with message-tags, the bot's own echo too; none for the others."""
    server = await make_server(*FLOOD)
    tagged = await capped(server, "tagged", "message-tags", "away-notify", channels=("#c",))
    plain = await connected(server, "plain", "#c")
    bot, burst = await bot_client(server, "hubbot", "message-tags", "echo-message")
    clients.extend([tagged, plain, bot])
    tokens = isupport_tokens(burst)
    assert tokens["BOT"] == "B"
    (myinfo,) = [m for m in burst if m.command == "004"]
    assert "B" in myinfo.params[3]  # the user modes
    bot.send("MODE hubbot +B")
    assert (await bot.expect("MODE")).params == ["hubbot", "+B"]
    bot.send("MODE hubbot")
    assert "B" in (await bot.expect("221")).params[1]
    await bot.join("#c")

    plain.send("WHOIS hubbot")
    whois = await plain.collect_until("318")
    (is_bot,) = [m for m in whois if m.command == "335"]
    assert is_bot.params == ["plain", "hubbot", f"is a bot on {tokens['NETWORK']}"]

    bot.send("PRIVMSG #c :beep")
    bot.send("NOTICE #c :boop")
    bot.send("@+typing=active TAGMSG #c")
    bot.send("AWAY :computing")
    for command in ("PRIVMSG", "NOTICE", "TAGMSG", "AWAY"):
        seen = await tagged.expect(command)
        assert seen.tags.get("bot") == "", (command, seen.tags)
    echoes = [m for m in await sync(bot) if m.command in ("PRIVMSG", "NOTICE", "TAGMSG")]
    assert [m.command for m in echoes] == ["PRIVMSG", "NOTICE", "TAGMSG"]
    assert all(m.tags.get("bot") == "" for m in echoes), echoes
    assert [m.tags for m in await sync(plain) if m.command in ("PRIVMSG", "NOTICE")] == [{}, {}]

    plain.send("WHO #c")
    rows = {m.params[5]: m.params[6] for m in await plain.collect_until("315") if m.command == "352"}
    assert rows["hubbot"] == "GB"
    plain.send("WHO hubbot %nf")
    assert (await plain.expect("354")).params == ["plain", "hubbot", "GB"]

    bot.send("QUIT :shutting down")
    quit_line = await tagged.expect("QUIT")
    assert quit_line.tags.get("bot") == "" and quit_line.source.startswith("hubbot!")
    assert (await plain.expect("QUIT")).tags == {}


# -- SASL at connect, the account everywhere ---------------------------------------------------


async def test_a_bot_logged_in_with_sasl_plain_at_connect_has_its_account_on_everything(make_server, clients) -> None:
    """The bot logs in during registration (empty authzid, 900 then 903 before 001, +r
    after the welcome); extended-join shows its account to others and to itself, and
    account-tag puts `account=hubbot` on whatever it says or does, in a channel and in
    private; a client without account-tag sees no tag."""
    server = await make_server(*FLOOD)
    await make_account(server, "hubbot", "bot-secret-1")
    watcher = await capped(server, "watcher", "account-tag", "extended-join", channels=("#c",))
    plain = await connected(server, "plain", "#c")
    clients.extend([watcher, plain])

    bot = await LineClient.connect(server)
    clients.append(bot)
    bot.send("CAP LS 302\r\nNICK hubbot\r\nUSER hubbot 0 * :Hub Bot v1")
    offered = [await bot.expect("CAP")]
    while offered[-1].params[2] == "*":
        offered.append(await bot.expect("CAP"))
    tokens = dict(t.partition("=")[::2] for line in offered for t in line.params[-1].split())
    assert "PLAIN" in tokens["sasl"].split(",")
    bot.send("CAP REQ :sasl account-tag extended-join message-tags echo-message")
    await bot.expect("CAP", "hubbot", "ACK")
    bot.send("AUTHENTICATE PLAIN")
    await bot.expect("AUTHENTICATE", "+")
    bot.send("AUTHENTICATE " + b64("\0hubbot\0bot-secret-1"))
    logged_in = await bot.expect("900", timeout=SLOW_WAIT)
    assert logged_in.params[1:3] == ["hubbot!*@*", "hubbot"]
    await bot.expect("903")
    bot.send("CAP END")
    welcome = await bot.collect_until("376")
    assert "001" in commands(welcome) and "904" not in commands(welcome)
    plus_r = await bot.expect("MODE")
    assert plus_r.params == ["hubbot", "+r"]
    bot.nick = "hubbot"

    bot.send("JOIN #c")
    own_join = await bot.expect("JOIN", "#c")
    assert own_join.params == ["#c", "hubbot", "Hub Bot v1"] and own_join.tags.get("account") == "hubbot"
    joined = await watcher.expect(lambda m: m.command == "JOIN" and m.source.startswith("hubbot!"))
    assert joined.params == ["#c", "hubbot", "Hub Bot v1"] and joined.tags.get("account") == "hubbot"
    assert (await plain.expect(lambda m: m.command == "JOIN" and m.source.startswith("hubbot!"))).params == ["#c"]

    bot.send("PRIVMSG #c :in the channel")
    bot.send("NOTICE #c :a notice")
    bot.send("PRIVMSG #c :\x01ACTION beeps\x01")
    bot.send("PRIVMSG watcher :in private")
    bot.send("NOTICE watcher :\x01VERSION hubbot 1.0\x01")
    bot.send("NICK hubbot_")
    bot.send("PART #c :bye")
    wanted = ["PRIVMSG", "NOTICE", "PRIVMSG", "PRIVMSG", "NOTICE", "NICK", "PART"]
    seen = [await watcher.expect(lambda m, c=command: m.command == c) for command in wanted]
    assert [m.tags.get("account") for m in seen] == ["hubbot"] * len(wanted), [m.tags for m in seen]
    echoes = [m for m in await sync(bot) if m.command in ("PRIVMSG", "NOTICE")]
    assert len(echoes) == 5 and all(m.tags.get("account") == "hubbot" for m in echoes), echoes
    assert all("account" not in m.tags for m in await sync(plain)), plain.raw[-8:]

    watcher.send("WHOIS hubbot_")
    (account_line,) = [m for m in await watcher.collect_until("318") if m.command == "330"]
    assert account_line.params[1:3] == ["hubbot_", "hubbot"]


# -- reconnecting ------------------------------------------------------------------------------


async def test_a_bot_reconnecting_quickly_ten_times_is_let_in_each_time(make_server, clients) -> None:
    """No documented throttle limits connections per second: only `max_clients_per_ip`
    (16 at once) and failed logins. A bot that restarts 10 times in a row, logging in
    with SASL each time, leaving with QUIT or by dropping the socket, gets in every time
    with its nick and account; a watcher sees it come and go each time (MONITOR); and
    afterwards the address still has its 16 slots, the 17th refused with a clear ERROR."""
    server = await make_server(*FLOOD)
    await make_account(server, "hubbot", "bot-secret-1")
    watcher = await capped(server, "watcher", "extended-join", channels=("#c",))
    clients.append(watcher)
    watcher.send("MONITOR + hubbot")
    await watcher.expect("731")
    for attempt in range(10):
        bot, burst = await bot_client(server, "hubbot", account="hubbot", password="bot-secret-1")
        assert own_mask(burst).startswith("hubbot!"), attempt
        assert (await watcher.expect("730")).params[1].startswith("hubbot!")
        bot.send("JOIN #c")
        joined = await watcher.expect("JOIN", "#c")
        assert joined.params[1] == "hubbot", (attempt, joined)
        if attempt % 2:
            bot.send("QUIT :restarting")
            assert (await bot.closed())[-1].startswith("ERROR :Closing Link:")
        else:
            await bot.close()  # a crash: no QUIT
        assert (await watcher.expect("731")).params[1] == "hubbot"

    others = []  # with the watcher, the 16 connections one address may hold at once
    for i in range(15):
        other = await connected(server, f"slot{i}")
        others.append(other)
    clients.extend(others)
    refused = await LineClient.connect(server)
    clients.append(refused)
    lines = await refused.closed()
    assert lines == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"], lines


# -- CTCP ----------------------------------------------------------------------------------------


async def test_ctcp_requests_reach_the_bot_intact_and_its_notice_replies_reach_the_asker(make_server, clients) -> None:
    """VERSION, PING (with a payload of several words) and TIME to the bot are PRIVMSGs
    with their \\x01 intact, in private and in a channel; the server answers none of them
    itself; the bot's replies, NOTICEs with \\x01, reach the asker as sent."""
    server = await make_server(*FLOOD)
    asker = await capped(server, "asker", "message-tags", channels=("#c",))
    bot, _ = await bot_client(server, "hubbot")
    clients.extend([asker, bot])
    bot.send("MODE hubbot +B")
    await bot.join("#c")
    requests = ["\x01VERSION\x01", "\x01PING 1733230000 123456\x01", "\x01TIME\x01"]
    for request in requests:
        asker.send(f"PRIVMSG hubbot :{request}")
    asker.send("PRIVMSG #c :\x01VERSION\x01")
    got = [await bot.expect("PRIVMSG") for _ in range(4)]
    assert [(m.params, m.source.split("!")[0]) for m in got] == [
        (["hubbot", requests[0]], "asker"),
        (["hubbot", requests[1]], "asker"),
        (["hubbot", requests[2]], "asker"),
        (["#c", "\x01VERSION\x01"], "asker"),
    ]
    answered = [m for m in await sync(asker) if m.command == "NOTICE" or m.command.isdigit()]
    assert answered == []  # nobody answers for the bot

    replies = ["\x01VERSION hubbot 1.0 (python)\x01", "\x01PING 1733230000 123456\x01",
               "\x01TIME Tue Dec 03 12:00:00 2024\x01"]  # fmt: skip
    for reply in replies:
        bot.send(f"NOTICE asker :{reply}")
    answered = [await asker.expect("NOTICE") for _ in replies]
    assert [m.params for m in answered] == [["asker", reply] for reply in replies]
    assert all(m.source.startswith("hubbot!") and m.tags.get("bot") == "" for m in answered)
    assert [m for m in await sync(bot) if m.command != "PONG"] == []


# -- long replies, PING ------------------------------------------------------------------------


def split_for_relay(text: str, room: int) -> list[str]:
    """Cut `text` into pieces of at most `room` bytes of UTF-8, between characters: what a
    bot does with a long reply once it knows how much of 512 its prefix leaves it."""
    pieces, piece, size = [], [], 0
    for char in text:
        width = len(char.encode())
        if size + width > room:
            pieces.append("".join(piece))
            piece, size = [], 0
        piece.append(char)
        size += width
    pieces.append("".join(piece))
    return pieces


async def test_a_long_reply_split_by_the_bot_to_fit_512_bytes_arrives_intact(make_server, clients) -> None:
    """The bot sizes its lines from its mask in 001 (what the others see as its source):
    each relayed `:mask PRIVMSG #c :piece` is at most 510 bytes before CRLF, the first
    exactly 510; pieces cut between multi-byte characters. Every piece arrives as sent,
    to a client with tags and to one without, and to the bot's own echo, and the pieces
    put together are the reply."""
    server = await make_server(*FLOOD)
    plain = await connected(server, "plain", "#c")
    tagged = await capped(server, "tagged", "message-tags", "server-time", "account-tag", channels=("#c",))
    bot, burst = await bot_client(server, "hubbot", "echo-message", "message-tags")
    clients.extend([plain, tagged, bot])
    mask = own_mask(burst)
    await bot.join("#c")
    joined = await plain.expect(lambda m: m.command == "JOIN" and m.source.startswith("hubbot!"))
    assert joined.source == mask
    room = 510 - len(f":{mask} PRIVMSG #c :".encode())
    text = "a" * room + "".join(f"é{i} 日本語 🤖 " for i in range(120))
    pieces = split_for_relay(text, room)
    assert len(pieces) >= 4 and len(pieces[0].encode()) == room
    for piece in pieces:
        bot.send(f"@+draft/reply=abc PRIVMSG #c :{piece}")
    for client in (plain, tagged, bot):
        got = [await client.expect("PRIVMSG", "#c", timeout=SLOW_WAIT) for _ in pieces]
        assert [m.params[1] for m in got] == pieces, client.nick
        assert "".join(m.params[1] for m in got) == text
    lines = [line for line in plain.raw if " PRIVMSG #c :" in line]
    assert len(lines[0].encode()) == 510 and all(len(line.encode()) <= 510 for line in lines)


async def test_ping_tokens_with_spaces_and_colons_come_back_whole(make_server, clients) -> None:
    """Bots measure lag with PING tokens of their own; one with spaces and a colon comes
    back whole in the PONG's last parameter (labeled when labeled), and an unsolicited
    PONG of the same shape is answered with nothing."""
    server = await make_server(*FLOOD)
    bot, _ = await bot_client(server, "hubbot", "labeled-response", "batch")
    clients.append(bot)
    token = "lag 1733230000.123 :check"
    bot.send(f"PING :{token}")
    pong = await bot.expect("PONG")
    assert pong.params == [pong.source, token] and pong.source == "hubbub.local"
    bot.send(f"@label=lag1 PING :{token}")
    labeled = await bot.expect("PONG")
    assert labeled.tags.get("label") == "lag1" and labeled.params[-1] == token
    bot.send(f"PONG :{token}")
    assert await sync(bot) == []


# -- echo-message with labeled-response ---------------------------------------------------------


async def test_the_bots_own_messages_are_echoed_with_its_label(make_server, clients) -> None:
    """A labeled PRIVMSG, NOTICE, CTCP reply and ACTION come back as the echo with the
    label (the msgid the others see), a message to two targets as a labeled batch of
    two echoes, and a message to itself twice: the delivery, then the labeled echo."""
    server = await make_server(*FLOOD)
    alice = await capped(server, "alice", "message-tags", channels=("#c",))
    bot, _ = await bot_client(server, "hubbot", *BOT_CAPS)
    clients.extend([alice, bot])
    await bot.join("#c")
    sent = [("m1", "PRIVMSG #c :hello"), ("m2", "NOTICE alice :a notice"),
            ("m3", "NOTICE alice :\x01VERSION hubbot 1.0\x01"), ("m4", "PRIVMSG #c :\x01ACTION beeps\x01")]  # fmt: skip
    for label, line in sent:
        bot.send(f"@label={label} {line}")
        echo = await bot.expect(lambda m: m.command in ("PRIVMSG", "NOTICE", "ACK") or m.command[0] in "45")
        command, target, text = line.split(" ", 2)
        assert (echo.command, echo.params, echo.tags.get("label")) == (command, [target, text[1:]], label)
        delivered = await alice.expect(command)
        assert delivered.tags["msgid"] == echo.tags["msgid"] and delivered.params == [target, text[1:]]

    bot.send("@label=m5 PRIVMSG #c,alice :to both")
    reply = await bot.collect_until(lambda m: m.command == "BATCH" and m.params[0].startswith("-"))
    assert reply[0].command == "BATCH" and reply[0].tags.get("label") == "m5"
    assert [m.params for m in reply[1:-1]] == [["#c", "to both"], ["alice", "to both"]]

    bot.send("@label=m6 PRIVMSG hubbot :note to self")
    twice = [m for m in await sync(bot) if m.command == "PRIVMSG"]
    assert [(m.params[1], m.tags.get("label")) for m in twice] == [("note to self", None), ("note to self", "m6")]


# -- NOTICE is never answered ----------------------------------------------------------------------


async def test_a_notice_from_the_bot_never_causes_an_error_or_an_automatic_reply(make_server, clients) -> None:
    """RFC 1459/Modern IRC: no automatic reply to a NOTICE, so that two bots never loop.
    Whatever stops it (no such nick or channel, +n, +m, a ban, +T, +C with a CTCP, +M,
    a secret channel, too many targets, a server mask, services), the bot is told nothing
    (a labeled NOTICE gets its bare ACK); an away user receives it with no 301 back.
    (Flood control off: some fifty lines, none of them about flooding.)"""
    server = await make_server()
    op = await connected(
        server, "op", "#moderated", "#banned", "#nonotice", "#noctcp", "#regonly", "#outside", "#secret"
    )
    bot, _ = await bot_client(server, "hubbot", "echo-message", "labeled-response", "batch")
    clients.extend([op, bot])
    for channel in ("#moderated", "#banned", "#nonotice", "#noctcp", "#regonly"):
        await bot.join(channel)
    for line in ("MODE #moderated +m", "MODE #banned +b hubbot!*@*", "MODE #nonotice +T", "MODE #noctcp +C",
                 "MODE #regonly +M", "MODE #secret +s", "AWAY :out to lunch"):  # fmt: skip
        op.send(line)
    await sync(op)
    await sync(bot)
    targets = [("nobody", "x"), ("#nowhere", "x"), ("#outside", "x"), ("#moderated", "x"), ("#banned", "x"),
               ("#nonotice", "x"), ("#noctcp", "\x01VERSION hubbot\x01"), ("#regonly", "x"), ("#secret", "x"),
               ("a,b,c,d,e", "x"), ("$*", "x")]  # fmt: skip
    for target, text in targets:
        bot.send(f"NOTICE {target} :{text}")
        assert await sync(bot) == [], target
        bot.send(f"@label=n NOTICE {target} :{text}")
        assert [(m.command, m.tags.get("label")) for m in await sync(bot)] == [("ACK", "n")], target
    for service in ("NickServ", "ChanServ"):  # echoed as delivered (docs/accounts.md), never answered
        bot.send(f"NOTICE {service} :help")
        assert [(m.command, m.params) for m in await sync(bot)] == [("NOTICE", [service, "help"])]
    bot.send("NOTICE op :while you were away")
    assert [(m.command, m.params) for m in await sync(bot)] == [("NOTICE", ["op", "while you were away"])]
    assert [m.params for m in await sync(op) if m.command == "NOTICE"] == [["op", "while you were away"]]


# -- INVITE -------------------------------------------------------------------------------------------


async def test_an_invite_reaches_the_bot_unasked_and_lets_it_in_and_ops_with_invite_notify_hear_of_it(
    make_server, clients
) -> None:
    """INVITE needs no capability: the bot gets `:op!u@h INVITE hubbot #priv` (once, with
    invite-notify too) and joins the invite-only channel; another op with invite-notify
    hears of the INVITE, a plain member with it does not; the inviter gets 341."""
    server = await make_server(*FLOOD)
    op = await connected(server, "op", "#priv")
    op2 = await capped(server, "op2", "invite-notify", channels=("#priv",))
    member = await capped(server, "member", "invite-notify", channels=("#priv",))
    plain_bot = await connected(server, "plainbot")
    bot, _ = await bot_client(server, "hubbot", *BOT_CAPS)
    clients.extend([op, op2, member, plain_bot, bot])
    op.send("MODE #priv +o op2")
    op.send("MODE #priv +i")
    await sync(op)

    op.send("INVITE hubbot #priv")
    assert (await op.expect("341")).params == ["op", "hubbot", "#priv"]
    invites = [m for m in await sync(bot) if m.command == "INVITE"]
    assert [(m.source.split("!")[0], m.params) for m in invites] == [("op", ["hubbot", "#priv"])]
    heard = await op2.expect("INVITE")
    assert heard.source.startswith("op!") and heard.params == ["hubbot", "#priv"]
    bot.send("JOIN #priv")
    assert (await bot.expect(lambda m: m.command == "JOIN" or m.command[0] in "45")).params[0] == "#priv"

    op.send("INVITE plainbot #priv")
    assert (await plain_bot.expect("INVITE")).params == ["plainbot", "#priv"]
    await plain_bot.join("#priv")
    assert "INVITE" not in commands(await sync(member))
