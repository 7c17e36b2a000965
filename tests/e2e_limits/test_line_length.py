"""No line the server sends passes 512 bytes without its tags, whatever clients send.

Every limit we advertise (TOPICLEN, AWAYLEN, NAMELEN, KICKLEN, CHANNELLEN, KEYLEN)
counts UTF-8 bytes, and the serializer cuts the last parameter of any line that would
still be too long. The transcript below makes every name as long as it may be (a long
server name, 30-character nicks, 64-byte channel names) and sends every command with
parameters of multibyte characters, from several clients with and without capabilities
and an operator watching server notices; then every line each of them received is checked.
"""

from __future__ import annotations

from argon2 import PasswordHasher

from hubbub.config import OperBlock
from hubbub.irc.message import parse
from tests.helpers import LineClient, sync

SERVER_NAME = "irc." + "s" * 50 + ".example.org"
ALL_CAPS = (
    "message-tags server-time echo-message batch draft/multiline labeled-response extended-join "
    "away-notify setname chghost account-tag multi-prefix userhost-in-names invite-notify cap-notify"
)


def text(size: int, char: str = "€") -> str:
    """About `size` bytes of multibyte text."""
    return char * (size // len(char.encode()))


CHANNEL = "#" + text(63)  # 64 bytes, CHANNELLEN
OTHER = "#" + text(63, "é")


def fill(head: str, char: str = "€") -> str:
    """`head` followed by as much multibyte text as a line a client may send holds."""
    return head + text(510 - len(head.encode()), char)


def line_body(line: str) -> bytes:
    data = line.encode()
    return data.split(b" ", 1)[1] if data.startswith(b"@") else data


async def register(server, nick: str, caps: bool) -> LineClient:
    client = await LineClient.connect(server)
    if caps:
        client.send("CAP LS 302")
        client.send(f"CAP REQ :{ALL_CAPS}")
    client.send(f"NICK {nick}")
    client.send(f"USER {'u' * 20} 0 * :{text(470, '😀')}")  # NAMELEN counts bytes: cut to 200
    if caps:
        await client.expect("CAP", "*", "ACK")
        client.send("CAP END")
    await client.expect("376")
    client.nick = nick
    return client


async def test_no_line_sent_passes_512_bytes_without_tags(make_server) -> None:
    server = await make_server(f"server.name={SERVER_NAME}", f"server.motd={text(600)}")
    server.config.opers = [OperBlock("op", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw"))]
    nicks = [letter * 29 + "1" for letter in "abcd"]
    alice = await register(server, nicks[0], caps=True)
    bob = await register(server, nicks[1], caps=True)
    carol = await register(server, nicks[2], caps=False)
    dave = await register(server, nicks[3], caps=False)
    everyone = [alice, bob, carol, dave]
    a, b, c, d = nicks

    alice.send("OPER op pw")
    await alice.expect("381")
    alice.send(f"MODE {a} +sw")
    for client in everyone:
        client.send(f"JOIN {CHANNEL},{OTHER}")
    for client in everyone:
        await sync(client)

    script = {
        alice: [
            fill(f"TOPIC {CHANNEL} :"),
            f"MODE {CHANNEL} +ov {b} {c}",
            f"MODE {CHANNEL} +k {text(32)}",
            f"MODE {CHANNEL} +bbb {d}!*@{text(130)} *!{text(130)}@* *!*@{text(130)}",
            f"MODE {CHANNEL} +e *!*@{text(400)}",
            fill(f"PRIVMSG {CHANNEL} :"),
            fill(f"PRIVMSG @{CHANNEL} :"),  # STATUSMSG
            fill(f"NOTICE {b} :", "😀"),
            f"@+example.org/reply={text(300)} TAGMSG {CHANNEL}",
            fill(f"KICK {CHANNEL} {d} :"),
            f"INVITE {d} {CHANNEL}",
            fill("WALLOPS :"),
            fill(f"KLINE 60 *@198.51.100.{text(100)} :"),
            fill(f"KILL {d} :"),
        ],
        bob: [
            fill("AWAY :"),
            f"SETNAME :{text(200, '😀')}",
            fill("SETNAME :"),
            fill(f"PART {OTHER} :"),
            f"JOIN {OTHER}",
            f"BATCH +m draft/multiline {CHANNEL}",
            *(f"@batch=m PRIVMSG {CHANNEL} :{text(400)}" for _ in range(3)),
            "BATCH -m",
            f"CAP REQ :{' '.join('x' * 40 + str(i) for i in range(11))}",
            f"CAP REQ :-{ALL_CAPS.replace(' ', ' -')}",
            "CAP REQ :" + ALL_CAPS,
            f"MONITOR + {','.join(nicks)},{','.join(n[:-1] + '2' for n in nicks)}",
        ],
        carol: [
            f"PRIVMSG {b} :are you there?",
            f"WHOIS {b}",
            f"WHOIS {a}",
            f"WHO {CHANNEL}",
            f"WHO {CHANNEL} %tcuihsnfdlaor,123",
            "WHO *",
            "LIST",
            f"NAMES {CHANNEL}",
            f"TOPIC {CHANNEL}",
            f"MODE {CHANNEL}",
            f"MODE {CHANNEL} b",
            f"MODE {CHANNEL} e",
            f"ISON {' '.join(nicks * 4)}",
            f"USERHOST {' '.join(nicks)}",
            f"PING :{text(490)}",
            "X" * 480,
            f"NICK {text(480)}",
            f"JOIN #{text(480)}",
            f"PRIVMSG #{text(400)} :hello",
            f"PRIVMSG {'n' * 400} :hello",
            f"PART #{text(450)}",
            f"KICK {CHANNEL} {'n' * 400}",
            f"WHOIS {'n' * 480}",
            f"WHOWAS {d}",
            "MOTD",
            "VERSION",
            "ADMIN",
            "INFO",
            "HELP",
            "STATS u",
            "LUSERS",
        ],
    }
    for client, lines in script.items():
        for line in lines:
            client.send(line)
            await sync(client)
    alice.send(fill(f"RENAME {OTHER} #{text(63, 'ü')} :"))  # draft/channel-rename, a long reason
    await sync(alice)
    await dave.closed()
    bob.send(fill("QUIT :"))
    await bob.closed()
    alice.send(fill(f"PART {CHANNEL} :"))
    await sync(alice)
    await sync(carol)

    checked = 0
    for client in everyone:
        for line in client.raw:
            assert "\ufffd" not in line, line  # a cut never splits a character
            assert len(line_body(line)) <= 510, (len(line_body(line)), line)
            parse(line)
            checked += 1
    commands_seen = {parse(line).command for client in everyone for line in client.raw}
    # the lines that used to pass 512 bytes were all among those checked
    assert {"TOPIC", "AWAY", "301", "SETNAME", "PART", "QUIT", "JOIN", "352", "354", "311", "314", "CAP",
            "NOTICE", "KICK", "KILL", "ERROR", "332", "322", "421", "432", "403", "PONG", "BATCH"} <= commands_seen
    assert checked > 300
    assert "417" not in commands_seen  # every line of the script was taken in
    for client in (alice, carol):
        await client.close()


async def test_every_advertised_length_counts_bytes(make_server) -> None:
    lengths = ("limits.topiclen=10", "limits.awaylen=10", "limits.namelen=10", "limits.kicklen=10",
               "limits.keylen=10", "limits.channellen=11")
    server = await make_server(*lengths)
    alice = await register(server, "alice", caps=True)
    bob = await register(server, "bob", caps=False)
    ten = "é" * 5  # ten bytes
    alice.send("JOIN #" + ten)
    bob.send("JOIN #" + ten)
    await bob.expect("366")
    alice.send("JOIN #" + ten + "é")  # 13 bytes: past CHANNELLEN though only 7 characters
    await alice.expect("476")
    alice.send(f"TOPIC #{ten} :{ten}é")
    assert (await bob.expect("TOPIC")).params[1] == ten
    alice.send(f"AWAY :{ten}é")
    await alice.expect("306")
    bob.send("WHOIS alice")
    assert (await bob.expect("311")).params[5] == text(10, "😀")  # the USER realname, cut to 10 bytes
    assert (await bob.expect("301")).params[2] == ten
    alice.send(f"SETNAME :{ten}é")
    assert (await alice.expect("FAIL")).params[:2] == ["SETNAME", "INVALID_REALNAME"]
    alice.send(f"SETNAME :{ten}")
    assert (await alice.expect("SETNAME")).params == [ten]
    alice.send(f"MODE #{ten} +k {ten}é")
    assert (await alice.expect("696")).params[2] == "k"
    alice.send(f"MODE #{ten} +k {ten}")
    assert (await alice.expect("MODE")).params[1:] == ["+k", ten]
    alice.send(f"KICK #{ten} bob :{ten}é")
    assert (await bob.expect("KICK")).params[2] == ten
    for client in (alice, bob):
        await client.close()
