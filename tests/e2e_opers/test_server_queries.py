"""WHOWAS, INFO, ADMIN, STATS and HELP transcripts."""

from __future__ import annotations

import re

from hubbub.server.commands import COMMANDS
from hubbub.server.helptext import HELP
from tests.e2e_opers.support import SERVER, an_oper
from tests.helpers import LineClient, commands, connected

# -- WHOWAS ----------------------------------------------------------------------------


async def _leave(server, nick: str, user: str = "u", realname: str = "Real Name") -> None:
    client = await LineClient.connect(server)
    await client.register(nick, user=user, realname=realname)
    client.send("QUIT :bye")
    await client.closed()
    await client.close()


async def test_whowas_shows_who_used_a_nick_newest_first(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    await _leave(server, "gone", user="first", realname="First One")
    await _leave(server, "gone", user="second", realname="Second One")
    alice.send("WHOWAS GONE")
    reply = await alice.collect_until("369")
    assert commands(reply) == ["314", "312", "314", "312", "369"]
    assert reply[0].params == ["alice", "gone", "~second", "127.0.0.1", "*", "Second One"]
    assert reply[2].params == ["alice", "gone", "~first", "127.0.0.1", "*", "First One"]
    assert reply[1].params[:3] == ["alice", "gone", SERVER]
    assert re.fullmatch(r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4} UTC", reply[1].params[3])
    assert reply[4].params == ["alice", "GONE", "End of WHOWAS"]
    alice.send("WHOWAS gone 1")
    assert commands(await alice.collect_until("369")) == ["314", "312", "369"]
    alice.send("WHOWAS gone 0")  # a non-positive count means all
    assert commands(await alice.collect_until("369")).count("314") == 2


async def test_whowas_remembers_a_nick_left_by_a_nick_change(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("NICK robert")
    await bob.expect("NICK")
    alice.send("WHOWAS bob")
    reply = await alice.collect_until("369")
    assert commands(reply) == ["314", "312", "369"] and reply[0].params[1:3] == ["bob", "~u"]
    alice.send("WHOWAS robert")  # online, never left: no history
    assert commands(await alice.collect_until("369")) == ["406", "369"]


async def test_whowas_of_an_unknown_nick_is_406_then_369(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHOWAS nobody")
    reply = await alice.collect_until("369")
    assert [m.params for m in reply] == [
        ["alice", "nobody", "There was no such nickname"],
        ["alice", "nobody", "End of WHOWAS"],
    ]


async def test_whowas_without_a_nick_is_431(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("WHOWAS")
    assert (await alice.expect("431")).params == ["alice", "No nickname given"]


async def test_whowas_history_is_bounded_by_whowas_entries(make_server, clients) -> None:
    server = await make_server("limits.whowas_entries=2")
    alice = await connected(server, "alice")
    clients.append(alice)
    for nick in ("one", "two", "three"):
        await _leave(server, nick)
    alice.send("WHOWAS one")
    await alice.expect("406")
    alice.send("WHOWAS three")
    await alice.expect("314")


# -- INFO, ADMIN ---------------------------------------------------------------------------


async def test_info_is_371_lines_then_374(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("INFO")
    reply = await alice.collect_until("374")
    assert set(commands(reply[:-1])) == {"371"} and len(reply) > 1
    assert reply[0].params[1].startswith("hubbub ")
    assert reply[-1].params == ["alice", "End of INFO list"]


async def test_info_admin_and_stats_name_only_this_server(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for line, ours in (("INFO HUBBUB.LOCAL", "374"), ("ADMIN *.local", "259"), ("INFO alice", "374"),
                       ("STATS u hubbub.local", "219")):
        alice.send(line)
        await alice.expect(ours)
    for line in ("INFO other.example", "ADMIN other.example", "STATS u other.example"):
        alice.send(line)
        assert (await alice.expect("402")).params == ["alice", "other.example", "No such server"], line


async def test_admin_replies_with_the_configured_contacts(make_server, clients) -> None:
    server = await make_server("admin.location=Lyon, France", "admin.organization=Example Org",
                               "admin.email=irc@example.org")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("ADMIN")
    reply = await alice.collect_until("259")
    assert [(m.command, m.params) for m in reply] == [
        ("256", ["alice", SERVER, "Administrative info"]),
        ("257", ["alice", "Lyon, France"]),
        ("258", ["alice", "Example Org"]),
        ("259", ["alice", "irc@example.org"]),
    ]


async def test_admin_without_configuration_still_answers_all_four(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("ADMIN")
    assert commands(await alice.collect_until("259")) == ["256", "257", "258", "259"]


# -- STATS -------------------------------------------------------------------------------------


async def test_stats_u_gives_the_uptime_then_219(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("STATS u")
    reply = await alice.collect_until("219")
    assert commands(reply) == ["242", "219"]
    assert re.fullmatch(r"Server Up \d+ days \d+:\d\d:\d\d", reply[0].params[1])
    assert reply[1].params == ["alice", "u", "End of /STATS report"]


async def test_stats_of_an_unknown_letter_is_only_219(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("STATS z")
    assert [m.params for m in await alice.collect_until("219")] == [["alice", "z", "End of /STATS report"]]


async def test_stats_without_a_letter_is_461(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("STATS")
    assert (await alice.expect("461")).params[:2] == ["alice", "STATS"]
    alice.send("STATS :")
    assert (await alice.expect("461")).params[:2] == ["alice", "STATS"]


async def test_stats_o_lists_operator_blocks_to_operators_only(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("STATS o")
    await alice.expect("481")
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("STATS o")
    reply = await ircop.collect_until("219")
    assert [m.params for m in reply] == [["ircop", "O", "*@*", "*", "admin"], ["ircop", "o", "End of /STATS report"]]


# -- HELP --------------------------------------------------------------------------------------


async def test_help_without_a_subject_lists_the_commands(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("HELP")
    reply = await alice.collect_until("706")
    assert reply[0].command == "704" and reply[-1].command == "706"
    assert set(commands(reply[1:-1])) == {"705"}
    listed = " ".join(m.params[-1] for m in reply)
    for name in ("PRIVMSG", "WHOWAS", "KLINE", "HELP"):
        assert re.search(rf"\b{name}\b", listed)


async def test_help_on_a_command_is_704_705_706_for_that_subject(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for line in ("HELP privmsg", "HELPOP PRIVMSG"):
        alice.send(line)
        reply = await alice.collect_until("706")
        assert commands(reply) == ["704"] + ["705"] * (len(reply) - 2) + ["706"]
        assert {m.params[1] for m in reply} == {"PRIVMSG"}
        assert reply[0].params[2].startswith("PRIVMSG <target>")
        assert reply[1].params[2] == ""


async def test_help_on_an_unknown_subject_is_524(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("HELP THISISNOTACOMMAND")
    assert (await alice.expect("524")).params == ["alice", "THISISNOTACOMMAND", "No help available on this topic"]


def test_every_command_has_a_help_text() -> None:
    assert sorted(set(COMMANDS) - set(HELP)) == []
