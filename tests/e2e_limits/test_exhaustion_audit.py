"""What one hostile or careless client can do to the server's memory and CPU, and to the
other clients: a black-box audit over real sockets.

Every piece of state a client can make the server keep for it has a configured bound
that is enforced with the standard reply (and the connection stays usable: a PING still
gets its PONG); a flood or an endless line costs the flooder, never its neighbours; and
nothing a client sends passes to others as if the server had said it. A strict xfail is
a bug: the test asserts what is right, and its reason says what goes wrong today.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from hubbub.irc.message import Message
from tests.helpers import LineClient, connect_plain, connected, sync

WAIT = 5.0  # bound of waits for what should come at once
SLOW_WAIT = 15.0  # bound of waits that include a flood delay or a password hashing


def params(messages: list[Message]) -> list[list[str]]:
    """Each message as [command, params after the client's nick...], for replies to one client."""
    return [[m.command, *m.params[1:]] for m in messages]


async def capped(runtime, nick: str, *caps: str, channels: tuple[str, ...] = ()) -> LineClient:  # type: ignore[no-untyped-def]
    client = await LineClient.connect(runtime)
    if caps:
        client.send("CAP REQ :" + " ".join(caps))
        ack = await client.expect("CAP")
        assert ack.params[1] == "ACK", ack
    client.send("CAP END")
    await client.register(nick)
    for channel in channels:
        await client.join(channel)
    return client


async def usable(client: LineClient) -> None:
    """The connection still answers: a PING gets its PONG."""
    await sync(client)


# -- per-client state with a configured bound ----------------------------------------------


async def test_chanlimit_is_405_per_channel_past_the_limit_and_join_0_frees_the_slots(make_server, clients) -> None:
    server = await make_server("limits.max_channels=3")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN #a,#b,#c,#d,#e")
    alice.send("JOIN #a,#f")  # one already in: no slot taken, no error for it
    replies = await sync(alice)
    assert [m.params[0] for m in replies if m.command == "JOIN"] == ["#a", "#b", "#c"]
    assert [m.params[1] for m in replies if m.command == "405"] == ["#d", "#e", "#f"]
    alice.send("PART #a,#b,#c")
    alice.send("JOIN #g,#h,#i,#j")  # parting gave the slots back, and only them
    replies = await sync(alice)
    assert [m.params[0] for m in replies if m.command == "JOIN"] == ["#g", "#h", "#i"]
    assert [m.params[1] for m in replies if m.command == "405"] == ["#j"]
    alice.send("JOIN 0")
    alice.send("JOIN #k")
    replies = await sync(alice)
    assert [m.params[0] for m in replies if m.command == "JOIN"] == ["#k"]
    assert "405" not in [m.command for m in replies]


async def test_monitor_list_is_bounded_and_a_nick_counts_once_whatever_its_case(make_server, clients) -> None:
    server = await make_server("limits.monitor=3")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MONITOR + n1,N1,n2,N2,n3,n4,n5")
    replies = await sync(alice)
    full = [m for m in replies if m.command == "734"]
    assert [m.params[1:] for m in full] == [["3", "n4,n5", "Monitor list is full."]]
    alice.send("MONITOR L")
    listed = await sync(alice)
    assert sorted(",".join(m.params[1] for m in listed if m.command == "732").split(",")) == ["n1", "n2", "n3"]
    for _ in range(3):  # asking again and again never grows it
        alice.send("MONITOR + x1,x2,x3")
    assert all(m.command in ("734",) for m in await sync(alice))
    alice.send("MONITOR C")
    alice.send("MONITOR + y1,y2,y3")
    assert "734" not in [m.command for m in await sync(alice)]


async def test_metadata_keys_set_before_registration_count_against_the_same_limit(make_server, clients) -> None:
    server = await make_server(
        "limits.metadata_max_keys=2", "limits.metadata_max_value_bytes=16", "limits.metadata_max_subs=2"
    )
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("CAP REQ :draft/metadata-2 batch")
    await early.expect("CAP")
    early.send("METADATA * SET k1 :one")
    early.send("METADATA * SET k2 :two")
    early.send("METADATA * SET k3 :three")
    early.send("METADATA * SET k1 :" + "x" * 17)
    early.send("METADATA * SUB s1 s2 s3")
    early.send("CAP END")
    await early.register("early")
    early.send("METADATA * SET k4 :four")  # registered now: the keys set before still count
    early.send("METADATA * SET k1")  # a removal makes room
    early.send("METADATA * SET k4 :four")
    await sync(early)
    replies = [m for m in early.received if m.command in ("761", "766", "770", "FAIL")]
    fails = [m.params[1:3] for m in replies if m.command == "FAIL"]
    assert fails == [["LIMIT_REACHED", "*"], ["VALUE_INVALID", "k1"], ["TOO_MANY_SUBS", "s3"],
                     ["LIMIT_REACHED", "early"]]  # fmt: skip
    assert [m.params[1] for m in replies if m.command == "770"] == ["s1", "s2"]
    early.send("METADATA * LIST")
    keys = sorted(m.params[2] for m in await sync(early) if m.command == "761")
    assert keys == ["k2", "k4"]


async def test_channel_metadata_and_exception_and_invite_lists_are_bounded(make_server, clients) -> None:
    server = await make_server("limits.metadata_max_keys=2", "limits.max_list_entries=2")
    alice = await capped(server, "alice", "draft/metadata-2", "batch", channels=("#c",))
    clients.append(alice)
    for key in ("a", "b", "c"):
        alice.send(f"METADATA #c SET {key} :v")
    alice.send("MODE #c +eee x!*@* y!*@* z!*@*")
    alice.send("MODE #c +III x!*@* y!*@* z!*@*")
    replies = await sync(alice)
    assert [m.params[1:3] for m in replies if m.command == "FAIL"] == [["LIMIT_REACHED", "#c"]]
    assert [m.params[1:3] for m in replies if m.command == "478"] == [["#c", "e"], ["#c", "I"]]
    for letter, end in (("e", "349"), ("I", "347")):
        alice.send(f"MODE #c {letter}")
        listed = await sync(alice)
        assert len([m for m in listed if m.command not in (end,)]) == 2, listed


async def test_lengths_from_one_client_are_cut_or_refused_as_advertised(make_server, clients) -> None:
    server = await make_server("limits.nicklen=9", "limits.topiclen=10", "limits.awaylen=10", "limits.namelen=10")
    alice = await LineClient.connect(server)
    clients.append(alice)
    alice.send("NICK " + "n" * 10)
    assert (await alice.expect("432")).params[1] == "n" * 10
    alice.send("NICK alice")
    alice.send("USER " + "u" * 100 + " 0 * :" + "é" * 150)
    await alice.expect("001")
    alice.nick = "alice"
    await alice.join("#c")
    alice.send("TOPIC #c :" + "é" * 200)
    alice.send("AWAY :" + "é" * 200)
    alice.send("WHOIS alice")
    replies = {m.command: m for m in await sync(alice)}
    user, realname = replies["311"].params[2], replies["311"].params[-1]
    assert len(user) < 100 and realname == "é" * 5  # 10 bytes, cut at a character
    assert replies["TOPIC"].params[-1] == "é" * 5
    assert replies["301"].params[-1] == "é" * 5


CHANSERV = "ChanServ!ChanServ@services"


async def test_chanserv_refuses_a_registration_past_max_channels(make_server, clients) -> None:
    server = await make_server("accounts.max_channels=1")
    alice = await connected(server, "alice", "#a", "#b")
    clients.append(alice)
    alice.send("NICKSERV REGISTER correct-horse-1")
    await alice.expect("900", timeout=SLOW_WAIT)
    alice.send("CHANSERV REGISTER #a")
    alice.send("CHANSERV REGISTER #b")
    notices = [m.params[1] for m in await sync(alice) if m.command == "NOTICE" and m.source == CHANSERV]
    assert notices == [
        "Channel #a successfully registered",
        "You have already registered the maximum number of channels; try dropping some with /CS DROP",
    ]


async def test_chanserv_set_founder_cannot_take_an_account_past_max_channels(make_server, clients) -> None:
    server = await make_server("accounts.max_channels=1")
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#b")
    clients.extend([alice, bob])
    for client, channel in ((alice, "#a"), (bob, "#b")):
        client.send(f"NICKSERV REGISTER {client.nick}-horse-battery")
        await client.expect("900", timeout=SLOW_WAIT)
        client.send(f"CHANSERV REGISTER {channel}")
        await client.expect(lambda m: m.command == "NOTICE" and "successfully registered" in m.params[-1])
    bob.send("CHANSERV SET #b FOUNDER alice")  # alice holds her one channel already
    bob.send("CHANSERV INFO #b")
    notices = [m.params[1] for m in await sync(bob) if m.command == "NOTICE"]
    assert "Founder: bob" in notices, notices
    # refused outright, before any confirmation code is offered
    assert "Could not transfer channel: alice has already registered the maximum number of channels" in notices
    assert not [text for text in notices if text.startswith("To confirm")], notices


async def test_history_queries_never_answer_more_than_chathistory_max(make_server, clients, tmp_path: Path) -> None:
    server = await make_server(f"store.db='{tmp_path / 'h.db'}'", "history.chathistory_max=3")
    alice = await connected(server, "alice", "#c", "#d", "#e", "#f")
    clients.append(alice)
    for i in range(5):
        for channel in ("#c", "#d", "#e", "#f"):
            alice.send(f"PRIVMSG {channel} :m{i}")
    await sync(alice)
    bob = await capped(server, "bob", "draft/chathistory", "soju.im/search", "batch", "draft/read-marker",
                       channels=("#c", "#d", "#e", "#f"))  # fmt: skip
    clients.append(bob)
    huge = "9" * 400
    bob.send(f"CHATHISTORY LATEST #c * {huge}")
    bob.send(f"SEARCH in=#c;limit={huge}")
    bob.send(f"CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z {huge}")
    replies = await sync(bob)
    assert [m.params[-1] for m in replies if m.command == "PRIVMSG"] == ["m2", "m3", "m4"] * 2
    assert len([m for m in replies if m.command == "CHATHISTORY"]) == 3
    # read markers are kept only for conversations that exist
    bob.send("NICKSERV REGISTER correct-horse-2")
    await bob.expect("900", timeout=SLOW_WAIT)
    bob.send("MARKREAD #nosuch timestamp=2020-01-01T00:00:00.000Z")
    bob.send("MARKREAD nosuchnick timestamp=2020-01-01T00:00:00.000Z")
    fails = [m.params[:3] for m in await sync(bob) if m.command == "FAIL"]
    assert fails == [["MARKREAD", "INVALID_PARAMS", "#nosuch"], ["MARKREAD", "INVALID_PARAMS", "nosuchnick"]]


async def test_multiline_batches_are_bounded_one_open_at_a_time_and_refused_ones_reach_nobody(
    make_server, clients
) -> None:
    server = await make_server("limits.multiline_max_lines=3", "limits.multiline_max_bytes=20")
    alice = await capped(server, "alice", "batch", "draft/multiline", channels=("#c",))
    bob = await capped(server, "bob", "batch", "draft/multiline", channels=("#c",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +a draft/multiline #c")
    for i in range(10):  # past max-lines: refused at the fourth, the rest swallowed
        alice.send(f"@batch=a PRIVMSG #c :l{i}")
    alice.send("BATCH -a")
    alice.send("BATCH +b draft/multiline #c")
    alice.send("@batch=b PRIVMSG #c :" + "x" * 21)  # past max-bytes
    alice.send("BATCH -b")
    alice.send("BATCH +c draft/multiline #c")
    alice.send("BATCH +d draft/multiline #c")  # a second one open: both go
    alice.send("@batch=d PRIVMSG #c :lost")
    alice.send("BATCH -d")
    alice.send("BATCH -c")
    replies = await sync(alice)
    assert [m.params[:2] for m in replies if m.command == "FAIL"] == [
        ["BATCH", "MULTILINE_MAX_LINES"], ["BATCH", "MULTILINE_MAX_BYTES"], ["BATCH", "MULTILINE_INVALID"],
        ["BATCH", "MULTILINE_INVALID"],
    ]  # fmt: skip
    assert not [m for m in await sync(bob) if m.command in ("PRIVMSG", "BATCH")]
    alice.send("BATCH +e draft/multiline #c")  # and the next good one goes through
    alice.send("@batch=e PRIVMSG #c :fine")
    alice.send("BATCH -e")
    got = await sync(bob)
    assert [m.params for m in got if m.command == "PRIVMSG"] == [["#c", "fine"]]


async def test_labels_past_64_bytes_are_not_repeated_and_the_connection_goes_on(make_server, clients) -> None:
    server = await make_server()
    alice = await capped(server, "alice", "batch", "labeled-response")
    clients.append(alice)
    alice.send("@label=" + "x" * 65 + " PING :long")
    alice.send("@label=" + "y" * 64 + " PING :ok")
    replies = await sync(alice)
    assert [(m.params[-1], m.tags.get("label")) for m in replies] == [("long", None), ("ok", "y" * 64)]


async def test_cap_req_of_a_long_list_of_unknown_capabilities_is_one_nak(make_server, clients) -> None:
    server = await make_server()
    alice = await LineClient.connect(server)
    clients.append(alice)
    alice.send("CAP REQ :" + " ".join(f"x{i}" for i in range(100)))
    alice.send("CAP REQ :message-tags " + " ".join(f"y{i}" for i in range(50)))
    alice.send("CAP LIST")
    replies = [await alice.expect("CAP") for _ in range(3)]
    assert [m.params[1] for m in replies] == ["NAK", "NAK", "LIST"]
    assert replies[2].params[-1] == ""  # nothing was turned on
    alice.send("CAP END")
    await alice.register("alice")


# -- what one client sends never reaches the others as the server's -------------------------

TAGGED = ("message-tags", "server-time", "account-tag", "batch")


async def test_server_only_tags_and_a_source_a_client_sends_are_never_relayed(make_server, clients) -> None:
    server = await make_server()
    alice = await capped(server, "alice", *TAGGED, channels=("#c",))
    bob = await capped(server, "bob", *TAGGED, channels=("#c",))
    clients.extend([alice, bob])
    await sync(alice)
    forged = "@time=1999-01-01T00:00:00.000Z;msgid=forged;account=admin;bot;draft/bot;batch=zz;label=l;+x=y"
    alice.send(f"{forged} :admin!root@hubbub.local PRIVMSG #c :hello")
    alice.send(f"{forged} TAGMSG #c")
    got = [m for m in await sync(bob) if m.command in ("PRIVMSG", "TAGMSG")]
    assert [m.command for m in got] == ["PRIVMSG", "TAGMSG"]
    for message in got:
        assert message.source.startswith("alice!")
        assert message.tags["msgid"] != "forged" and not message.tags["time"].startswith("1999")
        assert set(message.tags) == {"msgid", "time", "+x"}, message.tags
        assert message.tags["+x"] == "y"


async def test_escaped_tag_values_and_control_characters_cannot_inject_tags_or_lines(make_server, clients) -> None:
    server = await make_server()
    alice = await capped(server, "alice", *TAGGED, channels=("#c",))
    bob = await capped(server, "bob", *TAGGED, channels=("#c",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send(r"@+x=a\:msgid=evil\s\r\nQUIT PRIVMSG #c :tagged")
    alice.send(b"PRIVMSG #c :one\r:evil!e@e PRIVMSG #c :two\r\n")  # a bare CR inside the line
    alice.send(b"PRIVMSG #c :nul\x00byte\r\n")
    refused = [m for m in await sync(alice) if m.command == "FAIL"]
    assert len(refused) == 2
    got = await sync(bob)
    assert [(m.command, m.params[-1]) for m in got] == [("PRIVMSG", "tagged")]
    assert got[0].tags["+x"] == "a;msgid=evil \r\nQUIT" and got[0].tags["msgid"] != "evil"


async def test_client_tag_data_past_4094_bytes_is_417_and_not_relayed(make_server, clients) -> None:
    server = await make_server()
    alice = await capped(server, "alice", *TAGGED, channels=("#c",))
    bob = await capped(server, "bob", *TAGGED, channels=("#c",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("@+big=" + "v" * 4090 + " PRIVMSG #c :too much")  # 4095 bytes of tag data
    alice.send("@+big=" + "v" * 4089 + " PRIVMSG #c :just fits")  # 4094
    assert [m.command for m in await sync(alice)] == ["417"]
    got = [m for m in await sync(bob) if m.command == "PRIVMSG"]
    assert [m.params[-1] for m in got] == ["just fits"] and len(got[0].tags["+big"]) == 4089


# -- floods, connections, partial lines ----------------------------------------------------

FLOOD = ("limits.flood_control=true",)


async def test_a_paste_of_thousands_of_lines_drops_the_flooder_and_others_get_their_pong(make_server, clients) -> None:
    server = await make_server(*FLOOD)  # the documented defaults: burst 20, 4/s, recvq 8192
    flooder = await connected(server, "flooder", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([flooder, bob])
    await flooder.expect("JOIN", "#c")
    flooder.send("".join(f"PRIVMSG #c :pasted line {i}\r\n" for i in range(3000)))
    bob.send("PING :still-there")
    await bob.expect("PONG", timeout=SLOW_WAIT)  # whether before or after the flooder goes
    quits = [m for m in bob.received if m.command == "QUIT"]
    quit_msg = quits[0] if quits else await bob.expect("QUIT", timeout=SLOW_WAIT)
    assert quit_msg.source.startswith("flooder!") and "Excess Flood" in quit_msg.params[-1]
    pasted = [m for m in bob.received if m.command == "PRIVMSG"]
    assert len(pasted) <= 2 * 20  # about one burst passed, not the paste
    await usable(bob)


async def test_a_paste_within_the_recvq_is_delayed_in_order_not_dropped(make_server, clients) -> None:
    server = await make_server(*FLOOD, "limits.flood_burst=5", "limits.flood_rate=50")
    alice = await connected(server, "alice", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await alice.expect("JOIN", "#c")
    alice.send("".join(f"PRIVMSG #c :p{i}\r\n" for i in range(60)))  # ~700 bytes
    await bob.expect("PRIVMSG", "#c", "p59", timeout=SLOW_WAIT)
    assert [m.params[-1] for m in bob.received if m.command == "PRIVMSG"] == [f"p{i}" for i in range(60)]
    assert "ERROR" not in [m.command for m in await sync(alice)]


async def test_a_cap_ls_flood_before_registration_is_excess_flood(make_server, clients) -> None:
    server = await make_server(*FLOOD)
    flooder = await LineClient.connect(server)
    bob = await connected(server, "bob")
    clients.extend([flooder, bob])
    flooder.send("CAP LS 302\r\n" * 3000)
    try:
        lines = await flooder.closed(timeout=SLOW_WAIT)
    except ConnectionResetError:  # closed with input unread: the kernel may reset instead
        lines = flooder.raw
    assert len([line for line in lines if " CAP " in line]) < 100  # not 6000 replies
    await usable(bob)


async def test_connections_past_the_per_ip_limit_get_an_error_and_the_others_are_served(make_server, clients) -> None:
    server = await make_server("limits.max_clients_per_ip=2")
    one = await connected(server, "one")
    two = await LineClient.connect(server)  # not even registered: it counts
    clients.extend([one, two])
    extra = [await LineClient.connect(server) for _ in range(3)]
    clients.extend(extra)
    for client in extra:
        lines = await client.closed()
        assert lines == ["ERROR :Closing Link: 127.0.0.1 (Too many connections from your IP address)"]
    await two.register("two")
    await usable(one)
    await two.close()
    three = await connected(server, "three")  # a freed slot is a slot again
    clients.append(three)
    await usable(three)


def _no_delay(client: LineClient) -> None:
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _trickle(client: LineClient, data: bytes) -> None:
    for i in range(len(data)):
        client.writer.write(data[i : i + 1])
        await client.writer.drain()
        await asyncio.sleep(0)


async def test_lines_sent_byte_by_byte_are_whole_lines(make_server, clients) -> None:
    server = await make_server()
    bob = await connected(server, "bob", "#c")
    alice = await LineClient.connect(server)
    clients.extend([bob, alice])
    _no_delay(alice)
    await _trickle(alice, b"NICK alice\r\nUSER u 0 * :Alice\r\nJOIN #c\r\n")
    await alice.expect("366", timeout=SLOW_WAIT)
    await _trickle(alice, "PRIVMSG #c :slowly, é by é\r\n".encode())
    msg = await bob.expect("PRIVMSG", "#c", timeout=SLOW_WAIT)
    assert msg.params[-1] == "slowly, é by é" and msg.source.startswith("alice!")


async def test_a_long_line_sent_byte_by_byte_or_100kb_without_newline_is_one_417(make_server, clients) -> None:
    server = await make_server()
    alice = await connected(server, "alice", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await alice.expect("JOIN", "#c")
    _no_delay(alice)
    await _trickle(alice, b"PRIVMSG #c :" + b"a" * 600 + b"\r\n")  # past 512 bytes, one byte at a time
    assert [m.command for m in await sync(alice)] == ["417"]
    for _ in range(100):  # 100 KB and no line ending: not kept, one 417
        alice.writer.write(b"b" * 1024)
        await alice.writer.drain()
    alice.send("")  # the end of that line
    alice.send("PRIVMSG #c :after")
    assert [m.command for m in await sync(alice)] == ["417"]
    got = [m for m in await sync(bob) if m.command == "PRIVMSG"]
    assert [m.params[-1] for m in got] == ["after"]


async def test_a_plain_users_long_lines_pass_no_more_messages_at_once_than_the_flood_burst(
    make_server, clients
) -> None:
    burst = 6
    server = await make_server(*FLOOD, f"limits.flood_burst={burst}", "limits.flood_rate=0.1")
    bob = await connected(server, "bob", "#lobby")
    carol = await connected(server, "carol", "#lobby")
    plain = await connect_plain(server, "plainy")  # one line typed: its nickname
    clients.extend([bob, carol, plain])
    await bob.expect("JOIN", "#lobby", timeout=SLOW_WAIT)
    await bob.expect(lambda m: m.command == "JOIN" and m.source.startswith("plainy!"), timeout=SLOW_WAIT)
    plain.send(("word " * 300 + "\n") * 3)  # three lines of four messages each, typed at once
    await bob.expect(lambda m: m.command == "PRIVMSG" and m.source.startswith("plainy!"), timeout=SLOW_WAIT)
    carol.send("PRIVMSG #lobby :control")  # the next token of plainy's is ten seconds away
    await bob.expect("PRIVMSG", "#lobby", "control", timeout=SLOW_WAIT)
    at_once = [m for m in bob.received if m.command == "PRIVMSG" and m.source.startswith("plainy!")]
    assert len(at_once) <= burst, len(at_once)
