"""Transcripts of the questions a client asks: WHO, WHOIS, ISON, USERHOST, and server info."""

from __future__ import annotations

import re

from hubbub.server.isupport import VERSION
from tests.helpers import LineClient, commands, connected, isupport_tokens, sync

SERVER = "hubbub.local"
HOST = "127.0.0.1"


# -- WHO ------------------------------------------------------------------------------------


async def test_who_channel_lists_members_with_flags_then_315(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    alice.send("MODE #room +v bob")
    await carol.expect("MODE", "#room", "+v", "bob")
    carol.send("AWAY :brb")
    await carol.expect("306")
    await sync(alice)  # past the JOINs and the MODE
    alice.send("WHO #room")
    reply = await alice.collect_until("315")
    assert commands(reply) == ["352", "352", "352", "315"]
    assert [m.params for m in reply[:3]] == [
        ["alice", "#room", "~u", HOST, SERVER, "alice", "H@", "0 Real Name"],
        ["alice", "#room", "~u", HOST, SERVER, "bob", "H+", "0 Real Name"],
        ["alice", "#room", "~u", HOST, SERVER, "carol", "G", "0 Real Name"],
    ]
    assert reply[3].params == ["alice", "#room", "End of WHO list"]


async def test_who_channel_with_multi_prefix_shows_every_prefix(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("MODE #room +v alice")
    await alice.expect("MODE")
    alice.send("CAP REQ multi-prefix")
    await alice.expect("CAP", "alice", "ACK")
    alice.send("WHO #room")
    assert (await alice.expect("352")).params[6] == "H@+"


async def test_who_nick_shows_one_user_without_channel(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await LineClient.connect(server)
    clients.extend([alice, bob])
    await bob.register("bob", user="bobby", realname="Bob the Builder")
    alice.send("WHO BOB")
    reply = await alice.collect_until("315")
    assert [m.params for m in reply] == [
        ["alice", "*", "~bobby", HOST, SERVER, "bob", "H", "0 Bob the Builder"],
        ["alice", "BOB", "End of WHO list"],
    ]


async def test_who_mask_matches_nicks_and_hides_invisible_strangers(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    bert = await connected(server, "bert")
    clients.extend([alice, bob, bert])
    bert.send("MODE bert +i")
    await bert.expect("MODE", "bert")
    alice.send("WHO b*")
    reply = await alice.collect_until("315")
    assert [m.params[5] for m in reply if m.command == "352"] == ["bob"]
    assert reply[-1].params == ["alice", "b*", "End of WHO list"]
    bob.send("WHO b*")  # one's own invisibility does not hide oneself
    reply = await bob.collect_until("315")
    assert [m.params[5] for m in reply if m.command == "352"] == ["bob"]


async def test_who_mask_sees_invisible_users_sharing_a_channel(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bert = await connected(server, "bert", "#room")
    clients.extend([alice, bert])
    bert.send("MODE bert +i")
    await bert.expect("MODE", "bert")
    alice.send("WHO b*")
    reply = await alice.collect_until("315")
    assert [m.params[5] for m in reply if m.command == "352"] == ["bert"]


async def test_who_of_unknown_target_is_only_315(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHO #nowhere")
    assert [m.params for m in await alice.collect_until("315")] == [["alice", "#nowhere", "End of WHO list"]]
    alice.send("WHO nobody")
    assert [m.params for m in await alice.collect_until("315")] == [["alice", "nobody", "End of WHO list"]]


# -- WHOIS ----------------------------------------------------------------------------------


async def test_whois_reports_user_channels_server_away_idle(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room", "#own")
    clients.extend([alice, bob])
    bob.send("AWAY :gone fishing")
    await bob.expect("306")
    await sync(alice)  # past bob's JOIN
    alice.send("WHOIS bob")
    reply = await alice.collect_until("318")
    assert commands(reply) == ["311", "319", "312", "301", "317", "318"]
    whoisuser, channels, whoisserver, away, idle, end = reply
    assert whoisuser.params == ["alice", "bob", "~u", HOST, "*", "Real Name"]
    assert channels.params == ["alice", "bob", "#room @#own"]
    assert whoisserver.params == ["alice", "bob", SERVER, "hubbub chat server"]
    assert away.params == ["alice", "bob", "gone fishing"]
    assert idle.params[:2] == ["alice", "bob"]
    assert idle.params[2].isdigit() and idle.params[3].isdigit()
    assert idle.params[4] == "seconds idle, signon time"
    assert end.params == ["alice", "bob", "End of /WHOIS list"]


async def test_whois_channel_list_is_split_into_lines_under_512_bytes(server, clients) -> None:
    channels = [f"#{i:02d}" + "c" * 60 for i in range(12)]  # 63 characters each
    bob = await connected(server, "bob", *channels)
    alice = await connected(server, "alice")
    clients.extend([alice, bob])
    start = len(alice.raw)
    alice.send("WHOIS bob")
    reply = await alice.collect_until("318")
    lines = [m for m in reply if m.command == "319"]
    assert len(lines) >= 2
    assert all(m.params[:2] == ["alice", "bob"] for m in lines)
    assert all(len(text.encode()) + 2 <= 512 for text in alice.raw[start:])
    listed = [entry for m in lines for entry in m.params[2].split()]
    assert listed == ["@" + name for name in channels]


async def test_whois_channels_with_multi_prefix(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("MODE #room +v alice")
    await alice.expect("MODE")
    alice.send("CAP REQ multi-prefix")
    await alice.expect("CAP", "alice", "ACK")
    alice.send("WHOIS alice")
    assert (await alice.expect("319")).params == ["alice", "alice", "@+#room"]


async def test_whois_self_shows_the_connecting_address(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHOIS alice")
    reply = await alice.collect_until("318")
    assert commands(reply) == ["311", "378", "312", "317", "318"]
    assert reply[1].params == ["alice", "alice", f"is connecting from *@{HOST} {HOST}"]


async def test_whois_unknown_nick_is_401_then_318(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHOIS Nobody")
    reply = await alice.collect_until("318")
    assert [(m.command, m.params) for m in reply] == [
        ("401", ["alice", "Nobody", "No such nick/channel"]),
        ("318", ["alice", "Nobody", "End of /WHOIS list"]),
    ]


async def test_whois_with_a_server_or_nick_first_parameter(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    for line in (f"WHOIS {SERVER} bob", "WHOIS bob bob"):
        alice.send(line)
        reply = await alice.collect_until("318")
        assert commands(reply) == ["311", "312", "317", "318"]
        assert reply[0].params[1] == "bob"


async def test_whois_hides_channels_of_invisible_users_from_strangers(server, clients) -> None:
    alice = await connected(server, "alice", "#shared")
    bob = await connected(server, "bob", "#shared", "#secretish")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    bob.send("MODE bob +i")
    await bob.expect("MODE", "bob")
    carol.send("WHOIS bob")
    assert "319" not in commands(await carol.collect_until("318"))
    alice.send("WHOIS bob")
    assert (await alice.expect("319")).params == ["alice", "bob", "#shared"]


# -- ISON, USERHOST ---------------------------------------------------------------------------


async def test_ison_answers_with_the_online_nicks(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("ISON BOB nobody alice")
    assert (await alice.expect("303")).params == ["alice", "bob alice"]
    alice.send("ISON :nobody noone")
    assert (await alice.expect("303")).params == ["alice", ""]
    alice.send("ISON")
    assert (await alice.expect("461")).params == ["alice", "ISON", "Not enough parameters"]


async def test_userhost_shows_mask_and_away_state(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("AWAY :later")
    await bob.expect("306")
    alice.send("USERHOST alice nobody Bob")
    reply = await alice.expect("302")
    assert reply.params == ["alice", f"alice=+~u@{HOST} bob=-~u@{HOST}"]


# -- server information --------------------------------------------------------------------


async def test_version_is_351_followed_by_isupport(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("VERSION")
    first = await alice.read_message()
    assert first is not None
    assert first.command == "351"
    assert first.params == ["alice", VERSION, SERVER, "hubbub IRC server"]
    following = await sync(alice)
    assert following and set(commands(following)) == {"005"}
    assert isupport_tokens(following)["CASEMAPPING"] == "ascii"


async def test_version_time_motd_of_another_server_is_402(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for command in ("VERSION", "TIME", "MOTD"):
        alice.send(f"{command} irc.elsewhere.example")
        reply = await alice.read_message()
        assert reply is not None and reply.command == "402"
        assert reply.params == ["alice", "irc.elsewhere.example", "No such server"]


async def test_server_queries_accept_this_server_by_mask_or_by_a_users_nick(server, clients) -> None:
    """MOTD, VERSION and TIME take the same server argument as INFO, ADMIN and STATS."""
    alice = await connected(server, "alice")
    clients.append(alice)
    for line, answer in (("MOTD hubbub.*", "375"), ("VERSION alice", "351"), ("TIME *.local", "391")):
        alice.send(line)
        reply = await alice.expect(lambda m, answer=answer: m.command in (answer, "402"))
        assert reply.command == answer, line


async def test_time_is_391(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("TIME")
    reply = await alice.expect("391")
    assert reply.params[:2] == ["alice", SERVER]
    assert re.fullmatch(r"\w+ \w+ \d\d \d{4} -- \d\d:\d\d:\d\d \+00:00", reply.params[2])
    alice.send(f"TIME {SERVER}")  # naming this server is fine
    await alice.expect("391")


async def test_motd_on_request(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MOTD")
    reply = await alice.collect_until("376")
    assert [(m.command, m.params) for m in reply] == [
        ("375", ["alice", f"- {SERVER} Message of the day - "]),
        ("372", ["alice", "- Welcome to hubbub. Be kind."]),
        ("376", ["alice", "End of /MOTD command."]),
    ]


async def test_multiline_motd_is_one_372_per_line(make_server, clients) -> None:
    server = await make_server('server.motd="first line\\nsecond line"')
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MOTD")
    reply = await alice.collect_until("376")
    assert [m.params[1] for m in reply if m.command == "372"] == ["- first line", "- second line"]


async def test_lusers_counts_users_invisible_unknown_and_channels(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#b")
    clients.extend([alice, bob])
    bob.send("MODE bob +i")
    await bob.expect("MODE", "bob")
    pending = await LineClient.connect(server)  # connected, not registered
    clients.append(pending)
    pending.send("NICK pending")
    await sync(pending)
    alice.send("LUSERS")
    reply = await alice.collect_until("266")
    assert [(m.command, m.params) for m in reply] == [
        ("251", ["alice", "There are 1 users and 1 invisible on 1 servers"]),
        ("253", ["alice", "1", "unknown connection(s)"]),
        ("254", ["alice", "2", "channels formed"]),
        ("255", ["alice", "I have 2 clients and 0 servers"]),
        ("265", ["alice", "2", "2", "Current local users 2, max 2"]),
        ("266", ["alice", "2", "2", "Current global users 2, max 2"]),
    ]


async def test_unrepeatable_query_parameters_are_shown_as_star(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    no_such_nick = [("401", ["alice", "*", "No such nick/channel"]), ("318", ["alice", "*", "End of /WHOIS list"])]
    cases = [
        ("WHO :a b", [("315", ["alice", "*", "End of WHO list"])]),
        ("WHOIS :a b", no_such_nick),
        ("WHOIS hubbub.local ::y", no_such_nick),
        ("MOTD :a b", [("402", ["alice", "*", "No such server"])]),
        ("TIME ::x", [("402", ["alice", "*", "No such server"])]),
    ]
    for line, expected in cases:
        alice.send(line)
        got = [(m.command, m.params) for m in await sync(alice)]
        assert got == expected, line
