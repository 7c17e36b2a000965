"""The plain text mode over real sockets: a person with netcat chats with IRC users.

The plain client here reads raw lines only (its output is human text, not IRC), and
every IRC user's view is checked in IRC terms.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from hubbub.app import Runtime
from hubbub.transport.tcp import UNTERMINATED_LINE_DELAY
from tests.helpers import LOBBY_CREATOR_OP, LineClient, connect_plain, connected, sync

WELCOME = (
    ":hubbub.local NOTICE * :*** Welcome to hubbub. Type a nickname and press Enter to chat, "
    "or connect with an IRC client."
)


@pytest.fixture
async def server(make_server) -> Runtime:
    """A server where alice, who creates #lobby in these transcripts, is its op, as any
    channel's creator (by default the lobby's is not: test_typing_a_nickname_joins_the_lobby
    and tests/e2e_channels/test_default_channel.py)."""
    return await make_server(LOBBY_CREATOR_OP)


async def lobby(server: Runtime, plain_nick: str = "bob") -> tuple[LineClient, LineClient]:
    """alice (IRC) and a plain user, both in #lobby, alice having seen the plain user join."""
    alice = await connected(server, "alice", "#lobby")
    plain = await connect_plain(server, plain_nick)
    await alice.expect("JOIN", "#lobby")
    return alice, plain


async def quiet(plain: LineClient, alice: LineClient) -> None:
    """Wait until everything sent to `plain` so far has arrived, without sleeping.

    alice messages the plain user privately and we read up to that message: the server
    writes each connection's output in order, so nothing sent before it is still on its way.
    """
    token = f"quiet-{len(plain.raw)}"
    alice.send(f"PRIVMSG {plain.nick} :{token}")
    await plain.expect_text(re.escape(token) + "$")


# -- connecting and choosing a nickname -----------------------------------------------------


async def test_welcome_notice_is_the_first_line(server) -> None:
    client = await LineClient.connect(server)
    assert await client.read_line() == WELCOME
    await client.close()


async def test_typing_a_nickname_joins_the_lobby(make_server) -> None:
    server = await make_server()
    alice = await connected(server, "alice", "#lobby")
    bob = await LineClient.connect(server)
    await bob.expect_text("Type a nickname")
    bob.send("bob")
    await bob.expect_text(r"^\*\*\* Welcome, bob! Type /help for commands, /exit to leave\.$")
    await bob.expect_text(r"^\* You joined #lobby$")
    await bob.expect_text(r"^\* In #lobby: alice, bob$")  # its first joiner is no op: it is everyone's
    join = await alice.expect("JOIN", "#lobby")
    assert join.source.startswith("bob!")
    # a person is not shown the numerics meant for IRC software
    assert not any(re.match(r"^:\S+ \d{3} ", line) for line in bob.raw), bob.raw
    assert not any("ISUPPORT" in line or "CHANTYPES" in line for line in bob.raw), bob.raw


async def test_default_channel_is_configurable(make_server) -> None:
    server = await make_server("server.default_channel=#welcome")
    alice = await connected(server, "alice", "#welcome")
    bob = await LineClient.connect(server)
    bob.send("bob")
    await bob.expect_text(r"^\* You joined #welcome$")
    await alice.expect("JOIN", "#welcome")
    bob.send("hello from the welcome channel")
    msg = await alice.expect("PRIVMSG", "#welcome")
    assert msg.params[1] == "hello from the welcome channel"


async def test_bad_and_taken_nicknames_get_a_reason_and_another_try(make_server) -> None:
    server = await make_server("limits.nicklen=8")
    alice = await connected(server, "alice", "#lobby")
    bob = await connect_plain(server)
    bob.send("b o b")
    await bob.expect_text(r"^\*\*\* 'b o b' can't be used: .*only Latin letters.*Type another nickname:$")
    bob.send("9lives")
    await bob.expect_text(r"^\*\*\* '9lives' can't be used: a nickname must start with a Latin letter")
    bob.send("muchtoolongname")
    await bob.expect_text(r"can't be used: a nickname can have at most 8 characters")
    bob.send("ALICE")
    await bob.expect_text(r"^\*\*\* The nickname ALICE is taken\. Type another one:$")
    bob.send("chanserv")
    await bob.expect_text(r"^\*\*\* The nickname chanserv belongs to one of the server's services\. Type another one:$")
    bob.send("/hello")
    await bob.expect_text(r"^\*\*\* Type a nickname first")
    bob.send("bob")
    await bob.expect_text(r"^\* You joined #lobby$")
    join = await alice.expect("JOIN", "#lobby")
    assert join.source.startswith("bob!")


async def test_server_password_is_asked_for(make_server) -> None:
    server = await make_server("server.password=secret")
    alice = await LineClient.connect(server)
    alice.send("PASS secret")
    await alice.register("alice")
    await alice.join("#lobby")
    bob = await connect_plain(server)
    bob.send("bob")
    await bob.expect_text(r"^\*\*\* This server needs a password\. Type it and press Enter:$")
    bob.send("secret")
    await bob.expect_text(r"^\* You joined #lobby$")
    await alice.expect("JOIN", "#lobby")
    mallory = await connect_plain(server)
    mallory.send("mallory")
    await mallory.expect_text("needs a password")
    mallory.send("guess")
    lines = await mallory.closed()
    assert lines == ["* That is not the server's password.", "*** Disconnected: Bad password"]
    assert "mallory" not in " ".join(m.source or "" for m in await sync(alice))


async def test_exit_before_choosing_a_nickname(server) -> None:
    bob = await connect_plain(server)
    bob.send("/exit")
    lines = await bob.closed()
    assert lines and lines[-1].startswith("*** Disconnected: ")


# -- talking ----------------------------------------------------------------------------


async def test_lines_are_messages_to_the_channel_both_ways(server) -> None:
    alice, bob = await lobby(server)
    bob.send("hello everyone")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "hello everyone" and msg.source.startswith("bob!")
    bob.send("//etc/passwd is a path, not a command")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "/etc/passwd is a path, not a command"
    alice.send("PRIVMSG #lobby :hi bob")
    await bob.expect_text(r"^alice: hi bob$")
    alice.send("NOTICE #lobby :a notice")
    await bob.expect_text(r"^-alice- a notice$")


async def test_joins_parts_quits_and_nick_changes_read_as_text(server) -> None:
    alice, bob = await lobby(server)
    carol = await connected(server, "carol", "#lobby")
    await bob.expect_text(r"^\* carol joined #lobby$")
    carol.send("NICK caroline")
    await bob.expect_text(r"^\* carol is now known as caroline$")
    carol.send("PART #lobby :see you later")
    await bob.expect_text(r"^\* caroline left #lobby \(see you later\)$")
    alice.send("QUIT :bye")
    await bob.expect_text(r"^\* alice left \(Quit: bye\)$")


async def test_irc_formatting_shows_as_terminal_attributes_and_escapes_never_pass(server) -> None:
    alice, bob = await lobby(server)
    alice.send("PRIVMSG #lobby :\x1b[2J\x1b]0;pwned\x07\x02bold\x02 \x0304,01red\x03 \x1fplain\x0f\x07")
    line = await bob.expect_text(r"^alice: ")
    # bold; red (196) on black (16); underline: each from a clean state, and reset after
    assert line == "alice: \x1b[0;1mbold\x1b[0m \x1b[0;38;5;196;48;5;16mred\x1b[0m \x1b[0;4mplain\x1b[0m"
    # 52 and 88: mIRC's extended palette (ff0000, 000000); a hex colour keeps the background
    alice.send("PRIVMSG #lobby :\x1ditalic \x1estrike \x16reverse \x0352,88 extended \x04ff8800 hex")
    line = await bob.expect_text(r"^alice: ")
    assert line == (
        "alice: \x1b[0;3mitalic \x1b[0;3;9mstrike \x1b[0;3;7;9mreverse "
        "\x1b[0;3;7;9;38;5;196;48;5;16m extended \x1b[0;3;7;9;38;5;208;48;5;16m hex\x1b[0m"
    )
    alice.send("PRIVMSG #lobby :\x02never closed")  # the line still ends with a reset
    assert await bob.expect_text(r"^alice: ") == "alice: \x1b[0;1mnever closed\x1b[0m"
    bob.send("/colors off")
    await bob.expect_text(r"^\* Colours are off: messages show as plain text\. /colors on turns them on\.$")
    alice.send("PRIVMSG #lobby :\x1b[2J\x02bold\x02 \x0304,01red\x03 \x1fplain\x0f\x07")
    assert await bob.expect_text(r"^alice: ") == "alice: bold red plain"
    bob.send("/colors")
    await bob.expect_text(r"^\* Colours are off")
    bob.send("/colours on")
    await bob.expect_text(r"^\* Colours are on")
    alice.send("TOPIC #lobby :\x02news\x02")  # formatting outside messages too
    assert await bob.expect_text(r"set the topic") == "* alice set the topic of #lobby to: \x1b[0;1mnews\x1b[0m"


async def test_me_is_a_ctcp_action_both_ways(server) -> None:
    alice, bob = await lobby(server)
    bob.send("/me waves")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "\x01ACTION waves\x01"
    alice.send("PRIVMSG #lobby :\x01ACTION waves back\x01")
    await bob.expect_text(r"^\* alice waves back$")
    alice.send("PRIVMSG #lobby :\x01VERSION\x01")  # a CTCP request means nothing to a person
    await quiet(bob, alice)
    assert not any("VERSION" in line for line in bob.raw)


async def test_private_messages_both_ways(server) -> None:
    alice, bob = await lobby(server)
    bob.send("/msg alice just between us")
    msg = await alice.expect("PRIVMSG", "alice")
    assert msg.params[1] == "just between us" and msg.source.startswith("bob!")
    await bob.expect_text(r"^\[to alice\] just between us$")
    alice.send("PRIVMSG bob :got it")
    await bob.expect_text(r"^\[private\] alice: got it$")
    bob.send("/msg nobody hello?")
    await bob.expect_text(r"^\* Nobody is using the nickname nobody right now\.$")
    bob.send("/msg alice")
    await bob.expect_text(r"^\* Usage: /msg NICK TEXT$")


async def test_join_switches_the_current_channel_and_part_switches_back(server) -> None:
    alice, bob = await lobby(server)
    dave = await connected(server, "dave", "#side")
    bob.send("/join side")  # the '#' may be left out
    await bob.expect_text(r"^\* You joined #side$")
    await dave.expect("JOIN", "#side")
    bob.send("now in the side room")
    msg = await dave.expect("PRIVMSG", "#side")
    assert msg.params[1] == "now in the side room"
    alice.send("PRIVMSG #lobby :lobby news")
    await bob.expect_text(r"^\[#lobby\] alice: lobby news$")  # not the current channel: named
    bob.send("/join #lobby")
    await bob.expect_text(r"^\* You are now talking in #lobby$")
    bob.send("back in the lobby")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "back in the lobby"
    bob.send("/part")
    await bob.expect_text(r"^\* You left #lobby; now talking in #side$")
    part = await alice.expect("PART", "#lobby")
    assert part.source.startswith("bob!")
    bob.send("/part off to lunch")  # a reason alone: the current channel, with that reason
    await bob.expect_text(r"^\* You left #side \(off to lunch\); /join #channel to talk$")
    part = await dave.expect("PART", "#side")
    assert part.params == ["#side", "off to lunch"]
    bob.send("anyone?")
    await bob.expect_text(r"^\* You are not in a channel; /join #channel first\.$")
    assert not [m for m in await sync(alice) if m.command == "PRIVMSG"]


async def test_nick_command(server) -> None:
    alice, bob = await lobby(server)
    bob.send("/nick bobby")
    await bob.expect_text(r"^\* You are now known as bobby$")
    nick = await alice.expect("NICK")
    assert nick.source.startswith("bob!") and nick.params == ["bobby"]
    bob.send("/nick alice")
    await bob.expect_text(r"^\* The nickname alice is taken; choose another one\.$")
    bob.send("/nick 9x")
    await bob.expect_text(r"^\* '9x' can't be used: a nickname must start with a Latin letter")
    bob.send("still bobby")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.source.startswith("bobby!")


async def test_who_list_topic_help_and_unknown_commands(server) -> None:
    alice, bob = await lobby(server)
    bob.send("/who")
    found = {await bob.expect_text(r"^\* (alice|bob) \("), await bob.expect_text(r"^\* (alice|bob) \(")}
    assert {line.split()[1] for line in found} == {"alice", "bob"}
    bob.send("/list")
    await bob.expect_text(r"^\* #lobby \(2 here\)$")
    await bob.expect_text(r"^\* End of the channel list$")
    bob.send("/topic")
    await bob.expect_text(r"^\* #lobby has no topic$")
    bob.send("/topic bob's topic")
    await bob.expect_text(r"^\* Only operators of #lobby can do that\.$")
    alice.send("TOPIC #lobby :tea at five")
    await bob.expect_text(r"^\* alice set the topic of #lobby to: tea at five$")
    bob.send("/topic")
    await bob.expect_text(r"^\* Topic of #lobby: tea at five$")
    bob.send("/help")
    await bob.expect_text(r"^Commands:$")
    for command in ("/join", "/part", "/msg", "/me", "/nick", "/who", "/list", "/topic", "/exit"):
        await bob.expect_text(re.escape(command))
    bob.send("/frobnicate now")
    await bob.expect_text(r"^\* Unknown command /frobnicate\. Type /help for the list\.$")
    bob.send("/join #mine")  # a channel of one's own: its operator may set the topic
    await bob.expect_text(r"^\* You joined #mine$")
    bob.send("/topic all mine")
    await bob.expect_text(r"^\* bob set the topic of #mine to: all mine$")


async def test_exit_closes_and_peers_see_quit(server) -> None:
    alice, bob = await lobby(server)
    await bob.expect_text(r"^\* In #lobby: ")
    bob.send("/exit")
    lines = await bob.closed()
    assert lines == ["*** Disconnected: Quit"]
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source.startswith("bob!") and quit_msg.params == ["Quit"]


async def test_quit_with_a_reason(server) -> None:
    alice, carol = await lobby(server, "carol")
    dave = await connect_plain(server, "dave")
    await carol.expect_text(r"^\* dave joined #lobby$")
    carol.send("/quit bye")
    await carol.closed()
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source.startswith("carol!") and quit_msg.params == ["Quit: bye"]
    await dave.expect_text(r"^\* carol left \(Quit: bye\)$")


async def test_lines_sent_without_line_endings_like_the_seed_client(server) -> None:
    """The seed client sends what was typed with no line ending; the server still answers."""
    alice = await connected(server, "alice", "#lobby")
    seed = await connect_plain(server)
    seed.writer.write(b"bob")
    await seed.expect_text(r"^\* You joined #lobby$", timeout=5)
    await alice.expect("JOIN", "#lobby")
    seed.writer.write(b"hello from the old client")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "hello from the old client"
    seed.writer.write("привет".encode())  # the seed users write Russian
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "привет"
    seed.writer.write(b"/exit")
    await seed.closed()
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.params == ["Quit"]


async def test_seed_client_exit_then_close_is_a_quit(server) -> None:
    """The seed client sends "/exit" and closes at once: still a proper /exit."""
    alice = await connected(server, "alice", "#lobby")
    seed = await connect_plain(server)
    seed.writer.write(b"bob")
    await seed.expect_text(r"^\* You joined #lobby$")
    await alice.expect("JOIN", "#lobby")
    seed.writer.write(b"/exit")
    seed.writer.write_eof()
    await seed.closed()
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source.startswith("bob!") and quit_msg.params == ["Quit"]


async def test_a_pause_while_typing_in_character_mode_does_not_end_the_line(server) -> None:
    """Character-mode telnet sends each keystroke alone; a pause must not cut the nickname."""
    alice = await connected(server, "alice", "#lobby")
    telnet = await connect_plain(server)
    telnet.writer.write(bytes([255, 253, 3, 255, 253, 1]))  # `mode character`: IAC DO SGA, IAC DO ECHO first
    telnet.writer.write(b"b")
    await asyncio.sleep(UNTERMINATED_LINE_DELAY * 2)  # the behaviour under test is a timeout
    telnet.writer.write(b"o")
    await asyncio.sleep(UNTERMINATED_LINE_DELAY * 2)
    telnet.writer.write(b"b\r\n")
    await telnet.expect_text(r"^\* You joined #lobby$")
    join = await alice.expect("JOIN", "#lobby")
    assert join.source.startswith("bob!")


async def test_a_setting_typed_without_its_value_is_told_what_it_needs(server) -> None:
    """The server ignores `MODE #c +k` without a key (as Modern IRC says it must): the
    person is told what it needs, and the rest of the line applies."""
    bob = await connect_plain(server, "bob")
    bob.send("/join #mine")
    await bob.expect_text(r"^\* You joined #mine$")
    alice = await connected(server, "alice", "#mine")
    bob.send("/mode +ik")
    await bob.expect_text(r"^\* \+k needs a value: /mode \+k KEY$")
    assert (await alice.expect("MODE")).params == ["#mine", "+i"]
    bob.send("/mode +l")
    await bob.expect_text(r"^\* \+l needs a value: /mode \+l MOST_MEMBERS$")


async def test_a_person_who_types_no_name_in_time_is_told_so_in_words(make_server) -> None:
    # past the greeting, which comes after half a second of silence (0.5 s raced it)
    server = await make_server("limits.registration_timeout=1.5")
    person = await connect_plain(server)  # greeted, then silent
    lines = await person.closed(timeout=5)
    assert lines[-2:] == [
        ":hubbub.local NOTICE * :*** Disconnected: no nickname was chosen in time. Connect again and type one.",
        "ERROR :Closing Link: 127.0.0.1 (Registration timed out)",
    ], lines


async def test_a_seed_clients_one_letter_message_is_a_message_of_its_own(server) -> None:
    """The seed client sends each message without a line ending; a pause ends it, a
    one-letter one too (a lone keystroke is held only for a telnet client)."""
    alice = await connected(server, "alice", "#lobby")
    seed = await connect_plain(server)
    seed.writer.write(b"x")  # a one-letter name
    await seed.expect_text(r"^\* You joined #lobby$")
    await alice.expect("JOIN", "#lobby")
    for text in (b"?", b"k", b"are you there"):
        seed.writer.write(text)
        said = await alice.expect("PRIVMSG")
        assert (said.source.split("!")[0], said.params[-1]) == ("x", text.decode())


async def test_a_line_ending_in_cp1251s_ya_is_refused_at_once_and_the_next_goes_out(server) -> None:
    alice, bob = await lobby(server)
    bob.send("Привет, я Таня\n".encode("cp1251"))  # я, the byte before the line's end, is telnet's IAC
    await bob.expect_text(r"not UTF-8")
    bob.send(b"hello, sorry for that")
    said = await alice.expect("PRIVMSG")
    assert said.params[-1] == "hello, sorry for that"


async def test_text_in_a_legacy_encoding_is_refused_in_plain_words(server) -> None:
    alice, bob = await lobby(server)
    bob.send("Привет".encode("cp1251"))  # a Windows console in the seed users' language
    await bob.expect_text(r"^\* That line was not sent: it is not UTF-8 text\.")
    bob.send("Привет")
    msg = await alice.expect("PRIVMSG", "#lobby")
    assert msg.params[1] == "Привет"  # the first, undecodable line never reached the channel


async def test_kick_and_invite_read_as_text(server) -> None:
    alice, bob = await lobby(server)  # alice is #lobby's op; bob types
    bob.send("/join #side")
    await bob.expect_text(r"^\* In #side: ")
    bob.send("/join #lobby")  # back: #lobby is bob's current channel again
    await bob.expect_text(r"^\* You are now talking in #lobby$")
    carol = await connected(server, "carol", "#lobby")
    alice.send("KICK #lobby carol :too loud")
    await bob.expect_text(r"^\* carol was kicked from #lobby by alice \(too loud\)$")
    alice.send("KICK #lobby bob :you too")
    await bob.expect_text(r"^\* You were kicked from #lobby by alice \(you too\); now talking in #side$")
    alice.send("JOIN #secret")
    alice.send("INVITE bob #secret")
    await bob.expect_text(r"^\* alice invites you to #secret; type /join #secret to go there$")
    bob.send("/join #secret")  # the invitation let bob in
    await alice.expect(lambda m: m.command == "JOIN" and m.params == ["#secret"] and m.source.startswith("bob!"))
    for client in (alice, bob, carol):
        await client.close()
