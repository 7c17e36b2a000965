"""The query commands against the Modern IRC document (modern.ircdocs.horse) and the
IRCv3 extensions they meet (WHOX, MONITOR, bot-mode, multi-prefix): the corners that
tests/e2e/test_queries.py, test_modern_more.py and tests/e2e_opers/test_server_queries.py
leave out. Black-box, over real sockets.

Five corners found wrong by this audit are fixed: the WHO flags' order, 318 as sent
(and naming the whole list), WHOIS through an unknown server, LIST's count.
"""

from __future__ import annotations

from tests.e2e_opers.conftest import make_oper_server, oper_hash  # noqa: F401  (fixtures)
from tests.e2e_opers.support import an_oper
from tests.helpers import LineClient, commands, connected, sync

SERVER = "hubbub.local"
HOST = "127.0.0.1"


async def invisible(client: LineClient) -> None:
    client.send(f"MODE {client.nick} +i")
    await client.expect("MODE", client.nick)


async def set_mode(op: LineClient, line: str) -> None:
    op.send(line)
    await op.expect("MODE")


def lusers(reply) -> dict[str, list[str]]:
    return {m.command: m.params[1:] for m in reply}


# -- WHO --------------------------------------------------------------------------------------


async def test_who_of_an_exact_nick_answers_for_an_invisible_stranger(server, clients) -> None:
    """Modern: "An exact nickname, in which case a single user is returned" (a mask
    pattern lists visible users only)."""
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    await invisible(bob)
    alice.send("WHO bob")
    reply = await alice.collect_until("315")
    assert [(m.command, m.params[5] if m.command == "352" else m.params[1]) for m in reply] == [
        ("352", "bob"),
        ("315", "bob"),
    ]
    alice.send("WHO bo?")  # a pattern: the invisible stranger is not listed
    assert commands(await alice.collect_until("315")) == ["315"]


async def test_who_of_a_channel_from_outside_lists_its_visible_members_only(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await invisible(bob)
    carol.send("WHO #ROOM")
    reply = await carol.collect_until("315")
    # the channel as it is named in the 352s, the mask as typed in the 315
    assert [m.params for m in reply] == [
        ["carol", "#room", "~u", HOST, SERVER, "alice", "H@", "0 Real Name"],
        ["carol", "#ROOM", "End of WHO list"],
    ]
    carol.send("WHO #room %tnf,9")
    assert [m.params for m in await carol.collect_until("315")] == [
        ["carol", "9", "alice", "H@"],
        ["carol", "#room", "End of WHO list"],
    ]
    alice.send("WHO #room")  # a member sees everyone
    assert sorted(m.params[5] for m in await alice.collect_until("315") if m.command == "352") == ["alice", "bob"]


async def test_who_flags_keep_the_channel_prefix_before_the_bot_flag(server, clients) -> None:
    """Modern RPL_WHOREPLY: `<flags>` holds, in this order, H or G, optionally `*`, optionally
    the highest channel prefix, then optionally user mode characters and other flags. A
    client reading the prefix right after H/G (and `*`) reads `B` instead of `@`."""
    robot = await connected(server, "robot", "#room")
    alice = await connected(server, "alice", "#room")
    clients.extend([robot, alice])
    robot.send("MODE robot +B")
    await robot.expect("MODE", "robot")
    alice.send("WHO #room")
    flags = {m.params[5]: m.params[6] for m in await alice.collect_until("315") if m.command == "352"}
    assert flags["robot"] == "H@B"


async def test_whox_with_the_o_flag_and_a_token_lists_operators_only(make_oper_server, clients) -> None:  # noqa: F811
    server = await make_oper_server()
    ircop = await an_oper(server, "ircop", "#ops")
    bob = await connected(server, "bob", "#ops")
    clients.extend([ircop, bob])
    await sync(ircop)
    bob.send("WHO #ops o%tnf,7")
    assert [m.params for m in await bob.collect_until("315")] == [
        ["bob", "7", "ircop", "H*@"],
        ["bob", "#ops", "End of WHO list"],
    ]
    bob.send("WHO * o")  # a mask, operators only
    reply = await bob.collect_until("315")
    assert [m.params[5] for m in reply if m.command == "352"] == ["ircop"]
    assert reply[-1].params == ["bob", "*", "End of WHO list"]
    ircop.send("WHO bob %ni")  # an operator is shown the IP of others
    assert (await ircop.expect("354")).params == ["ircop", HOST, "bob"]  # i before n, whatever the order asked
    bob.send("WHO ircop %ni")  # others are not
    assert (await bob.expect("354")).params == ["bob", "255.255.255.255", "ircop"]
    ircop.send("AWAY :out")
    await ircop.expect("306")
    bob.send("USERHOST ircop")  # `*` operator, `-` away
    assert (await bob.expect("302")).params == ["bob", f"ircop*=-~u@{HOST}"]
    bob.send("WHO #ops")
    assert {m.params[5]: m.params[6] for m in await bob.collect_until("315") if m.command == "352"}["ircop"] == "G*@"


# -- WHOIS ------------------------------------------------------------------------------------


async def test_end_of_whois_names_the_nick_exactly_as_sent(server, clients) -> None:
    """Modern RPL_ENDOFWHOIS: "`<nick>` MUST be exactly the `<nick>` parameter sent by the
    client in its WHOIS message. This means the case MUST be preserved"."""
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("WHOIS BoB")
    reply = await alice.collect_until("318")
    assert reply[0].params[:2] == ["alice", "bob"]  # the user as it is named
    assert reply[-1].params == ["alice", "BoB", "End of /WHOIS list"]


async def test_end_of_whois_of_several_nicks_names_the_whole_list(server, clients) -> None:
    """Modern RPL_ENDOFWHOIS: "if the client sent multiple nicks, this MUST be the
    comma-separated list of nicks, even if some of them were dropped" (TARGMAX WHOIS:1)."""
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("WHOIS bob,alice")
    reply = await sync(alice)
    assert [m.params[1] for m in reply if m.command == "318"] == ["bob,alice"]
    alice.send("WHOIS nobody,bob")
    reply = await sync(alice)
    assert [m.params[1] for m in reply if m.command == "318"] == ["nobody,bob"]


async def test_whois_through_an_unknown_server_is_402(server, clients) -> None:
    """Modern WHOIS: the `<target>` "SHOULD be a server name or the nick of a user", and
    ERR_NOSUCHSERVER is among its replies; hubbub answers MOTD, TIME, VERSION, ADMIN,
    INFO and STATS naming an unknown server with 402 (docs/operators.md)."""
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("WHOIS irc.elsewhere.example bob")
    reply = await sync(alice)
    assert commands(reply)[:1] == ["402"]
    assert reply[0].params == ["alice", "irc.elsewhere.example", "No such server"]
    assert "311" not in commands(reply)


async def test_whois_through_this_server_by_a_wildcard_is_answered(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("WHOIS hubbub.* bob")
    assert commands(await alice.collect_until("318")) == ["311", "312", "317", "318"]


async def test_whois_channels_hide_a_secret_channel_from_those_outside_it(server, clients) -> None:
    """Modern +s: secret channels are not in RPL_WHOISCHANNELS "unless the user the numeric
    is being sent to is joined to that channel"."""
    bob = await connected(server, "bob", "#open", "#hush")
    alice = await connected(server, "alice", "#open")
    carol = await connected(server, "carol", "#hush")
    clients.extend([bob, alice, carol])
    await set_mode(bob, "MODE #hush +s")
    bob.send("MODE #open +v alice")
    await bob.expect("MODE", "#open", "+v", "alice")
    alice.send("WHOIS bob")
    assert [m.params for m in await alice.collect_until("318") if m.command == "319"] == [["alice", "bob", "@#open"]]
    carol.send("WHOIS bob")  # a member of the secret channel sees both
    assert [m.params for m in await carol.collect_until("318") if m.command == "319"] == [
        ["carol", "bob", "@#open @#hush"]
    ]
    carol.send("WHOIS alice")
    assert [m.params for m in await carol.collect_until("318") if m.command == "319"] == [["carol", "alice", "+#open"]]
    bob.send("WHOIS bob")  # oneself: all of them
    assert [m.params[2] for m in await bob.collect_until("318") if m.command == "319"] == ["@#open @#hush"]


# -- NAMES and LIST ---------------------------------------------------------------------------


async def test_names_of_several_channels_with_a_secret_one_answers_each_in_order(server, clients) -> None:
    alice = await connected(server, "alice", "#pub", "#hush")
    bob = await connected(server, "bob", "#pub")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await set_mode(alice, "MODE #hush +s")
    await invisible(bob)
    await sync(alice)
    carol.send("NAMES #PUB,#Hush,#none")
    reply = await sync(carol)
    assert [(m.command, m.params) for m in reply] == [
        ("353", ["carol", "=", "#pub", "@alice"]),  # the invisible bob is not shown outside
        ("366", ["carol", "#pub", "End of /NAMES list"]),
        ("366", ["carol", "#Hush", "End of /NAMES list"]),  # secret: as if it did not exist
        ("366", ["carol", "#none", "End of /NAMES list"]),
    ]
    alice.send("NAMES #pub,#hush")
    reply = await sync(alice)
    assert [(m.command, m.params[1:3]) for m in reply] == [
        ("353", ["=", "#pub"]),
        ("366", ["#pub", "End of /NAMES list"]),
        ("353", ["@", "#hush"]),
        ("366", ["#hush", "End of /NAMES list"]),
    ]
    assert sorted(reply[0].params[3].split()) == ["@alice", "bob"]


async def test_list_of_a_channel_named_in_another_case_and_of_a_secret_one(server, clients) -> None:
    alice = await connected(server, "alice", "#Room", "#hush")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    await set_mode(alice, "MODE #hush +s")
    carol.send("LIST #ROOM,#HUSH")
    reply = await carol.collect_until("323")
    assert [(m.command, m.params[1:]) for m in reply] == [
        ("321", ["Channel", "Users  Name"]),
        ("322", ["#Room", "1", ""]),
        ("323", ["End of /LIST"]),
    ]


async def test_list_counts_every_member_of_a_public_channel(server, clients) -> None:
    """Modern RPL_LIST: "`<client count>` is an integer indicating how many clients are
    joined to that channel" (what solanum, InspIRCd, UnrealIRCd and ergo show); +i hides
    a user from WHO and NAMES, not the channel's size."""
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await invisible(bob)
    alice.send("LIST #room")
    assert [m.params[2] for m in await alice.collect_until("323") if m.command == "322"] == ["2"]
    carol.send("LIST #room")
    assert [m.params[2] for m in await carol.collect_until("323") if m.command == "322"] == ["2"]


# -- MONITOR ----------------------------------------------------------------------------------


async def test_monitor_tells_of_a_nick_once_its_holder_is_registered_not_before(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MONITOR + late")
    assert (await alice.expect("731")).params == ["alice", "late"]
    late = await LineClient.connect(server)
    clients.append(late)
    late.send("NICK late")
    await sync(late)  # the nick is held, but nobody named late is on the network yet
    alice.send("MONITOR S")
    assert [(m.command, m.params) for m in await sync(alice)] == [("731", ["alice", "late"])]
    late.send("USER u 0 * :Late")
    await late.expect("001")
    assert (await alice.expect("730")).params == ["alice", f"late!~u@{HOST}"]
    late.writer.close()  # gone without a QUIT
    assert (await alice.expect("731")).params == ["alice", "late"]
    gone = await LineClient.connect(server)  # and one that leaves before registering tells nothing
    gone.send("NICK late")
    await sync(gone)
    gone.send("QUIT")
    await gone.closed()
    await gone.close()
    assert commands(await sync(alice)) == []


async def test_monitor_follows_a_nick_moving_from_one_watched_nick_to_another(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MONITOR + bob,robert")
    await sync(alice)
    bob.send("NICK robert")
    await bob.expect("NICK")
    assert [(m.command, m.params) for m in await sync(alice)] == [
        ("731", ["alice", "bob"]),
        ("730", ["alice", f"robert!~u@{HOST}"]),
    ]
    alice.send("NICK alicia")  # the watcher's own nick change keeps its list
    await alice.expect("NICK")
    alice.send("MONITOR L")
    listed = await alice.collect_until("733")
    assert sorted(",".join(m.params[1] for m in listed if m.command == "732").split(",")) == ["bob", "robert"]
    bob.send("QUIT :bye")
    assert (await alice.expect("731")).params == ["alicia", "robert"]


# -- LUSERS -----------------------------------------------------------------------------------


async def test_lusers_follows_joins_parts_quits_and_invisibility(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#a", "#b")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await invisible(bob)
    await invisible(carol)
    alice.send("LUSERS")
    counts = lusers(await alice.collect_until("266"))
    assert counts["251"] == ["There are 1 users and 2 invisible on 1 servers"]
    assert counts["254"][0] == "2"
    assert counts["266"][:2] == ["3", "3"]
    carol.send("MODE carol +i")  # again: counted once
    assert commands(await sync(carol)) == []
    carol.send("MODE carol -i")
    await carol.expect("MODE", "carol", "-i")
    bob.send("PART #b")
    await bob.expect("PART")
    bob.send("QUIT :bye")  # an invisible user leaves
    await bob.closed()
    await bob.close()
    alice.send("LUSERS")
    counts = lusers(await alice.collect_until("266"))
    assert counts["251"] == ["There are 2 users and 0 invisible on 1 servers"]
    assert counts["254"][0] == "1"  # #b went with its last member
    assert "253" not in counts
    assert counts["255"] == ["I have 2 clients and 0 servers"]
    assert counts["265"][:2] == ["2", "3"] and counts["266"][:2] == ["2", "3"]  # the peak stays


async def test_lusers_counts_operators_while_they_are_operators(make_oper_server, clients) -> None:  # noqa: F811
    server = await make_oper_server()
    alice = await connected(server, "alice")
    ircop = await an_oper(server, "ircop")
    clients.extend([alice, ircop])
    alice.send("LUSERS")
    assert lusers(await alice.collect_until("266"))["252"] == ["1", "operator(s) online"]
    ircop.send("MODE ircop -o")
    await ircop.expect("MODE", "ircop")
    alice.send("LUSERS")
    assert "252" not in lusers(await alice.collect_until("266"))
