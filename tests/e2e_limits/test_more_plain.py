"""More of the plain text mode as people use it: slash commands typed odd, what IRC users
do as a person reads it, several channels at once, and nothing a terminal acts on."""

from __future__ import annotations

import re

import pytest

from hubbub.app import Runtime
from tests.e2e_limits.test_plain import lobby, quiet
from tests.helpers import LOBBY_CREATOR_OP, LineClient, cap_ls, connect_plain, connected

CONTROL = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f-\x9f]")  # what a line may never carry (ESC is checked apart)
SGR_ONLY = re.compile(r"\x1b\[[0-9;]*m")  # the only escape sequence a plain user is sent


@pytest.fixture
async def server(make_server) -> Runtime:
    """As in test_plain.py: alice, who creates #lobby in these transcripts, is its op."""
    return await make_server(LOBBY_CREATOR_OP)


async def answered(person: LineClient, typed: str) -> list[str]:
    """The lines a person's `typed` line brought, up to the answer of a /colors typed after it
    (a person's lines are handled in order, so all of the first answer is in by then)."""
    start = len(person.raw)
    person.send(typed)
    person.send("/colors")
    await person.expect_text(r"^\* Colours are ")
    return person.raw[start:-1]


def terminal_safe(line: str) -> bool:
    return not CONTROL.search(line) and "\x1b" not in SGR_ONLY.sub("", line)


# -- slash commands with missing or odd arguments ----------------------------------------------


@pytest.mark.parametrize(("typed", "answer"), [
    ("/join", r"^\* Usage: /join #channel$"),
    ("/msg", r"^\* Usage: /msg NICK TEXT$"),
    ("/msg alice    ", r"^\* Usage: /msg NICK TEXT$"),
    ("/me", r"^\* Usage: /me TEXT$"),
    ("/nick", r"^\* Usage: /nick NAME$"),
    ("/nick a,b", r"^\* 'a,b' can't be used"),
    ("/colors maybe", r"^\* Usage: /colors on, or /colors off$"),
    ("/JOIN", r"^\* Usage: /join #channel$"),  # commands in capitals too
    ("/join ,", r"^\* ',' can't be the name of a channel: .*Join one channel at a time: /join #channel$"),
    ("/away back soon", r"^\* Unknown command /away\. Type /help for the list\.$"),
    ("/", r"^\* Unknown command /\. Type /help for the list\.$"),
])
async def test_slash_commands_with_missing_or_odd_arguments(server: Runtime, typed: str, answer: str) -> None:
    alice, bob = await lobby(server)
    lines = await answered(bob, typed)
    assert any(re.search(answer, line) for line in lines), lines
    bob.send("still here")
    assert (await alice.expect("PRIVMSG", "#lobby")).params[1] == "still here"
    for client in (alice, bob):
        await client.close()


async def test_commands_that_need_a_channel_say_so_when_in_none(server: Runtime) -> None:
    alice, bob = await lobby(server)
    bob.send("/part")
    await bob.expect_text(r"^\* You left #lobby; /join #channel to talk$")
    for typed, answer in [("/me waves", r"^\* You are not in a channel; /join #channel first\.$"),
                          ("/topic", r"^\* You are not in a channel\.$"),
                          ("/topic new one", r"^\* You are not in a channel\.$"),
                          ("/who", r"^\* Usage: /who #channel$"),
                          ("/part", r"^\* You are not in a channel\.$"),
                          ("hello?", r"^\* You are not in a channel; /join #channel first\.$")]:
        lines = await answered(bob, typed)
        assert [line for line in lines if re.search(answer, line)], (typed, lines)
    bob.send("/msg alice but private still works")
    assert (await alice.expect("PRIVMSG", "alice")).params[1] == "but private still works"


async def test_topic_of_another_channel_is_shown_not_set(server: Runtime) -> None:
    alice = await connected(server, "alice", "#side")
    alice.send("TOPIC #side :side news")
    await alice.expect("TOPIC")
    bob = await connect_plain(server, "bob")
    bob.send("/join #side")
    await bob.expect_text(r"^\* You joined #side$")
    bob.send("/join #mine")  # a channel of bob's own, where bob is operator: the current one
    await bob.expect_text(r"^\* You joined #mine$")
    lines = await answered(bob, "/topic #side")
    assert "* Topic of #side: side news" in lines, lines
    assert not [line for line in lines if "set the topic of #mine" in line], lines


async def test_topic_of_another_channel_is_set_when_named_first(server: Runtime) -> None:
    bob = await connect_plain(server, "bob")
    bob.send("/join #other")  # bob's own: bob may set its topic
    await bob.expect_text(r"^\* You joined #other$")
    bob.send("/join #mine")
    await bob.expect_text(r"^\* You joined #mine$")
    bob.send("/topic #other fresh news")
    await bob.expect_text(r"^\* bob set the topic of #other to: fresh news$")
    bob.send("/topic plain words")  # no channel named: the current one's
    await bob.expect_text(r"^\* bob set the topic of #mine to: plain words$")


async def test_who_of_an_empty_or_unknown_channel_gets_an_answer(server: Runtime) -> None:
    alice, bob = await lobby(server)
    lines = await answered(bob, "/who #nowhere")
    assert [line for line in lines if "#nowhere" in line], lines


async def test_a_nickname_typed_in_a_legacy_encoding_gets_a_sentence(server: Runtime, clients) -> None:  # type: ignore[no-untyped-def]
    person = await LineClient.connect(server)
    clients.append(person)
    person.send("Борис".encode("cp1251"))
    person.send("boris")
    await person.expect_text(r"^\* You joined #lobby$")
    said = [line for line in person.raw if "Welcome to hubbub" not in line]
    assert not [line for line in said if line.startswith(":")], said  # no raw IRC for a person
    assert [line for line in said if "UTF-8" in line], said


# -- what IRC users do, as a plain user reads it ------------------------------------------------


async def test_modes_bans_notices_actions_and_away_read_as_text(server: Runtime) -> None:
    alice, bob = await lobby(server)
    alice.send("MODE #lobby +o bob")
    await bob.expect_text(r"^\* alice gave bob operator status in #lobby \(\+o bob\)$")
    alice.send("MODE #lobby +b carol!*@*")
    await bob.expect_text(r"^\* alice banned carol!\*@\* in #lobby \(\+b carol!\*@\*\)$")
    alice.send("NOTICE bob :a private notice")
    await bob.expect_text(r"^\[private\] -alice- a private notice$")
    alice.send("PRIVMSG bob :\x01ACTION pokes bob\x01")
    await bob.expect_text(r"^\[private\] \* alice pokes bob$")
    alice.send("PRIVMSG @#lobby :ops only")
    await bob.expect_text(r"^\[@#lobby\] alice: ops only$")
    alice.send("AWAY :out for lunch")
    await alice.expect("306")
    bob.send("/msg alice you there?")
    await bob.expect_text(r"^\* alice is away: out for lunch$")
    await alice.expect("PRIVMSG", "alice")


async def test_tagmsg_and_ctcp_never_show_and_multiline_lines_do(server: Runtime) -> None:
    alice = await LineClient.connect(server)
    _, offered = await cap_ls(alice)
    assert "draft/multiline" in offered
    alice.send("CAP REQ :message-tags batch draft/multiline")
    await alice.expect("CAP")
    alice.send("CAP END")
    await alice.register("alice")
    await alice.join("#lobby")
    bob = await connect_plain(server, "bob")
    await alice.expect("JOIN", "#lobby")
    await bob.expect_text(r"^\* In #lobby: ")
    start = len(bob.raw)
    alice.send("@+typing=active TAGMSG #lobby")
    alice.send("@+draft/react=x TAGMSG bob")
    alice.send("PRIVMSG #lobby :\x01VERSION\x01")
    alice.send("NOTICE bob :\x01VERSION mIRC\x01")
    alice.send("BATCH +m1 draft/multiline #lobby")
    alice.send("@batch=m1 PRIVMSG #lobby :first line")
    alice.send("@batch=m1 PRIVMSG #lobby :second line")
    alice.send("BATCH -m1")
    await quiet(bob, alice)
    assert bob.raw[start:-1] == ["alice: first line", "alice: second line"]


async def test_multiline_concat_lines_are_joined_for_a_person(server: Runtime) -> None:
    alice = await LineClient.connect(server)
    alice.send("CAP REQ :message-tags batch draft/multiline")
    await alice.expect("CAP")
    alice.send("CAP END")
    await alice.register("alice")
    await alice.join("#lobby")
    bob = await connect_plain(server, "bob")
    await alice.expect("JOIN", "#lobby")
    alice.send("BATCH +m1 draft/multiline #lobby")
    alice.send("@batch=m1 PRIVMSG #lobby :see https://example.org/a/very/")
    alice.send("@batch=m1;draft/multiline-concat PRIVMSG #lobby :long/path")
    alice.send("BATCH -m1")
    await bob.expect_text(r"^alice: see ")
    await quiet(bob, alice)
    assert "alice: see https://example.org/a/very/long/path" in bob.raw


async def test_a_cleared_topic_reads_as_cleared(server: Runtime) -> None:
    alice, bob = await lobby(server)
    alice.send("TOPIC #lobby :tea at five")
    await bob.expect_text(r"^\* alice set the topic of #lobby to: tea at five$")
    alice.send("TOPIC #lobby :")
    line = await bob.expect_text(r"^\* alice .*topic")
    assert not line.endswith(": ") and ("clear" in line or "remove" in line or "no topic" in line), line


async def test_a_person_in_several_channels_sees_where_each_thing_happens(server: Runtime) -> None:
    alice, bob = await lobby(server)
    dave = await connected(server, "dave", "#side")
    bob.send("/join #side")
    await bob.expect_text(r"^\* You joined #side$")
    bob.send("/join #lobby")
    await bob.expect_text(r"^\* You are now talking in #lobby$")
    dave.send("PRIVMSG #side :\x01ACTION waves from the side\x01")
    await bob.expect_text(r"^\[#side\] \* dave waves from the side$")
    dave.send("NOTICE #side :side notice")
    await bob.expect_text(r"^\[#side\] -dave- side notice$")
    dave.send("KICK #side bob :not here")
    await bob.expect_text(r"^\* You were kicked from #side by dave \(not here\)$")  # #lobby stays current
    bob.send("still in the lobby")
    assert (await alice.expect("PRIVMSG", "#lobby")).params[1] == "still in the lobby"
    alice.send("PRIVMSG #lobby :heard you")
    await bob.expect_text(r"^alice: heard you$")  # the current channel: not named


# -- nothing a terminal would act on ----------------------------------------------------------


async def test_escape_sequences_in_everything_others_send_never_reach_the_terminal(server: Runtime) -> None:
    nasty = "\x1b[2J\x1b]0;pwned\x07\x1bP1$q\x1b\\\x9b2J\x08\x0b\x0c\x7f"
    alice = await LineClient.connect(server)
    await alice.register("alice", realname=f"Alice {nasty}Real")
    await alice.join("#lobby")
    bob = await connect_plain(server, "bob")
    await alice.expect("JOIN", "#lobby")
    carol = await connected(server, "carol", "#lobby")
    await bob.expect_text(r"^\* carol joined #lobby$")
    alice.send(f"TOPIC #lobby :topic {nasty}end")
    alice.send(f"PRIVMSG #lobby :message {nasty}end")
    alice.send(f"NOTICE #lobby :notice {nasty}end")
    alice.send(f"PRIVMSG bob :\x01ACTION action {nasty}end\x01")
    alice.send(f"KICK #lobby carol :kick {nasty}end")
    await bob.expect_text(r"was kicked")
    carol.send("JOIN #lobby")
    await bob.expect_text(r"^\* carol joined #lobby$")
    carol.send(f"PART #lobby :part {nasty}end")
    await bob.expect_text(r"^\* carol left #lobby")
    carol.send("JOIN #lobby")  # a quit is shown to those who share a channel
    await bob.expect_text(r"^\* carol joined #lobby$")
    carol.send(f"QUIT :quit {nasty}end")
    await bob.expect_text(r"^\* carol left \(")
    await quiet(bob, alice)
    bob.send("/who")
    await bob.expect_text(r"^\* alice \(")
    bob.send("/list")
    await bob.expect_text(r"^\* End of the channel list$")
    bob.send("/topic")
    await bob.expect_text(r"^\* Topic of #lobby: ")
    shown = [line for line in bob.raw if "end" in line or "Real" in line]
    for word in ("topic", "message", "notice", "action", "kick", "part", "quit", "Alice"):
        assert [line for line in shown if word in line], word
    unsafe = [line for line in bob.raw if not terminal_safe(line)]
    assert not unsafe, unsafe


async def test_a_telnet_users_subnegotiation_and_long_lines_in_one_go(server: Runtime) -> None:
    alice, bob = await lobby(server)
    iac, sb, se = 255, 250, 240
    text = "x" * 700  # one word longer than one message, typed after a window-size report
    bob.writer.write(bytes([iac, sb, 31, 0, 120, 0, 40, iac, se]) + text.encode() + b"\r\n")
    first = await alice.expect("PRIVMSG", "#lobby")
    second = await alice.expect("PRIVMSG", "#lobby")
    assert first.params[1] + second.params[1] == text
