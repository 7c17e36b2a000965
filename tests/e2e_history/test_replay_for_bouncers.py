"""A JOIN's replay to a client with server-time but without `batch`, as ZNC 1.8 asks for
them (`account-notify away-notify extended-join multi-prefix server-time
userhost-in-names`), over real sockets, on SQLite then PostgreSQL: the lines as they were
said, their time tags saying when, and the server's NOTICEs around them timed as the
first and the last of them. Led by `[14:02] ` (server/replay.py `_stamped`), ZNC kept the
texts so in its buffers, and stamped them again for its own clients without
server-time; WeeChat showed the time twice."""

from __future__ import annotations

from hubbub.app import Runtime
from tests.helpers import STAMP, LineClient, connected, sync

ZNC_CAPS = "account-notify away-notify extended-join multi-prefix server-time userhost-in-names"


async def bouncer(server: Runtime, nick: str, caps: str) -> LineClient:
    client = await LineClient.connect(server)
    client.send("CAP LS")
    client.send(f"NICK {nick}")
    client.send("USER znc 0 * :ZNC")
    await client.expect("CAP")
    client.send(f"CAP REQ :{caps}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    client.send("CAP END")
    await client.expect("001")
    client.nick = nick
    return client


async def test_a_bouncer_with_server_time_gets_the_lines_as_said_between_timed_notices(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    alice.send("PRIVMSG #c :first words")
    alice.send("PRIVMSG #c :\x01ACTION waves\x01")
    await sync(alice)
    znc = await bouncer(server, "zncuser", ZNC_CAPS)
    clients.append(znc)
    znc.send("JOIN #c")
    await znc.expect("366")
    replay = [m for m in await sync(znc) if m.command in ("PRIVMSG", "NOTICE")]
    assert [m.params[1] for m in replay[1:-1]] == ["first words", "\x01ACTION waves\x01"], replay
    opening, closing = replay[0], replay[-1]
    assert opening.params[1].startswith("Earlier messages of #c") and closing.params[1].startswith("End of the")
    times = [m.tags["time"] for m in replay]
    assert times[0] == times[1] and times[-1] == times[-2] and times == sorted(times), times


async def test_a_client_with_neither_batch_nor_server_time_gets_each_line_led_by_its_time(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    alice.send("PRIVMSG #c :first words")
    await sync(alice)
    bot = await connected(server, "bot")  # no capability at all: a bot written by hand
    clients.append(bot)
    bot.send("JOIN #c")
    await bot.expect("366")
    replay = [m for m in await sync(bot) if m.command in ("PRIVMSG", "NOTICE")]
    text = replay[1].params[1]
    assert STAMP.match(text) and text.endswith("first words") and not replay[0].tags, replay
