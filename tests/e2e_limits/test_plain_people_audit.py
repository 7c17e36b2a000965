"""An audit of the plain text mode as people use it, over real sockets: what the seed
chat's users (a name, plain sentences, /exit) meet with netcat or telnet, beyond what
test_plain.py, test_more_plain.py and test_plain_people.py already cover.

Each strict xfail is a problem a person would notice, its reason saying what goes wrong
and where. A plain user gets no PONG: to know that everything sent to one has arrived,
these tests wait for the answer to a line typed after it (`answered`) or for a private
message from an IRC user (`quiet`); a timeout under test is waited for through another
connection's lines (a silent one timed out, a PING), never by sleeping.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from hubbub.app import Runtime
from tests.e2e_channels.common import op_sets
from tests.e2e_limits.test_more_plain import answered
from tests.e2e_limits.test_plain import lobby, quiet
from tests.helpers import LineClient, connect_plain, connected, sync

IAC, DONT, DO, WONT, WILL = 255, 254, 253, 252, 251
ECHO, SGA, TTYPE, NAWS, TSPEED, NEW_ENVIRON = 1, 3, 24, 31, 32, 39
Opened = list[LineClient]  # the `clients` fixture: closed at the end of a test
RED, BLUE, BOLD, RESET = "\x1b[0;38;5;196m", "\x1b[0;38;5;21m", "\x1b[0;1m", "\x1b[0m"  # as text.py shows them


def store_at(tmp_path: Path) -> str:
    return f"store.db='{tmp_path / 'store.db'}'"


async def said(irc: LineClient, count: int, channel: str = "#lobby") -> list[str]:
    """The texts of the next `count` messages `irc` gets in `channel`."""
    return [(await irc.expect("PRIVMSG", channel)).params[1] for _ in range(count)]


# -- the name prompt -----------------------------------------------------------------------------


async def test_a_name_in_cyrillic_is_refused_in_words_that_say_what_to_type(server: Runtime, clients: Opened) -> None:
    person = await LineClient.connect(server)
    clients.append(person)
    person.send("Борис")
    first = await person.expect_text(r"can't be used")
    person.send("Bоris")  # a Cyrillic 'о' in the middle: looks Latin, is not
    second = await person.expect_text(r"can't be used")
    person.send("boris")
    await person.expect_text(r"^\* You joined #lobby$")
    for line in (first, second):
        assert re.search(r"Latin|ASCII|English|a to z|a-z", line), line


async def test_backspaces_typed_in_raw_mode_apply_to_the_name_and_the_lines(server: Runtime, clients: Opened) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)
    person.send(b"bobb\x7f")  # DEL, as a terminal in raw mode sends Backspace
    await person.expect_text(r"^\*\*\* Welcome, bob! ")
    assert (await alice.expect("JOIN", "#lobby")).source.startswith("bob!")
    person.send(b"hellp\x08o")  # BS, as other terminals send it
    person.send("привет\x7f\x7fет".encode())  # a backspace erases a character, not a byte
    person.send(b"\x7f\x7f\x7fsorry")  # more backspaces than characters: nothing to erase
    assert await said(alice, 3) == ["hello", "привет", "sorry"]


async def test_a_person_still_choosing_a_name_is_not_dropped(make_server, clients: Opened) -> None:
    server: Runtime = await make_server("limits.registration_timeout=1")
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)
    person.send("alice")
    await person.expect_text(r"is taken")
    clock = await LineClient.connect(server)  # connected after the person, types nothing
    clients.append(clock)
    while True:  # the person keeps trying names until the silent connection times out
        try:
            line = await clock.read_line(0.2)
        except TimeoutError:
            line = ""
        if line is None or line.startswith("ERROR"):
            break
        person.send("alice")
        await person.expect_text(r"is taken")
    person.send("bob")
    await person.expect_text(r"^\* You joined #lobby$")


async def test_a_telnet_clients_opening_negotiation_is_refused_then_the_name_works(
    server: Runtime, clients: Opened
) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)
    offers = [(WILL, NAWS), (WILL, TSPEED), (WILL, TTYPE), (WILL, NEW_ENVIRON), (DO, ECHO), (WILL, SGA), (DO, SGA)]
    person.writer.write(b"".join(bytes([IAC, verb, option]) for verb, option in offers))  # as PuTTY opens
    answers = await asyncio.wait_for(person.reader.readexactly(3 * len(offers)), 5)
    assert answers == b"".join(bytes([IAC, DONT if verb == WILL else WONT, option]) for verb, option in offers)
    assert await person.expect_text(r"Type a nickname") == (
        ":hubbub.local NOTICE * :*** Welcome to hubbub. Type a nickname and press Enter to chat, "
        "or connect with an IRC client."
    )  # negotiation is not a first line: the greeting still comes, and whole
    person.send("pat")
    await person.expect_text(r"^\* You joined #lobby$")
    assert (await alice.expect("JOIN", "#lobby")).source.startswith("pat!")


# -- the commands /help lists --------------------------------------------------------------------

SAMPLES = {  # what a person would type after each command /help lists
    "/join": "#helpcheck",
    "/part": "#helpcheck",
    "/msg": "alice hello from help",
    "/me": "reads the help",
    "/nick": "bobby",
    "/who": "",
    "/list": "",
    "/topic": "",
    "/knock": "#lobby",
    "/colors": "on",
    "/kick": "alice bye",
    "/op": "alice",
    "/deop": "alice",
    "/voice": "alice",
    "/devoice": "alice",
    "/ban": "",
    "/unban": "nobody",
    "/invite": "alice",
    "/mode": "",
    "/help": "",
}


async def test_every_command_the_help_lists_is_understood(server: Runtime) -> None:
    alice, bob = await lobby(server)
    bob.send("/help")
    await bob.expect_text(r"^Commands:$")
    shown: list[str] = []
    while not shown or "Long lines are sent" not in shown[-1]:
        shown.append(await bob.expect_text(r""))
    listed = {command for line in shown for command in re.findall(r"(?<![/\w])/[a-z]+", line)}
    assert listed == set(SAMPLES) - {"/help"} | {"/exit", "/quit"}, listed
    for command, sample in SAMPLES.items():
        lines = await answered(bob, f"{command} {sample}".rstrip())
        assert not [line for line in lines if "Unknown command" in line or "Usage" in line], (command, lines)
    assert (await alice.expect("PRIVMSG", "alice")).params[1] == "hello from help"
    assert (await alice.expect("PRIVMSG", "#lobby")).params[1] == "\x01ACTION reads the help\x01"
    bob.send("/exit")
    assert (await bob.closed())[-1].startswith("*** Disconnected: ")
    assert (await alice.expect("QUIT")).source.startswith("bobby!")


@pytest.mark.parametrize(
    ("typed", "reason"), [("/EXIT", "Quit"), ("/Quit   ", "Quit"), ("/exit see you", "Quit: see you")]
)
async def test_exit_and_quit_as_people_type_them(server: Runtime, typed: str, reason: str) -> None:
    alice, bob = await lobby(server)
    carol = await connect_plain(server, "carol")
    await bob.expect_text(r"^\* carol joined #lobby$")
    bob.send(typed)
    lines = await bob.closed()
    assert lines and lines[-1].startswith("*** Disconnected: "), lines
    quit_message = await alice.expect("QUIT")
    assert quit_message.source.startswith("bob!") and quit_message.params == [reason]
    await carol.expect_text(rf"^\* bob left \({re.escape(reason)}\)$")


async def test_a_refused_private_message_is_not_echoed_as_sent(server: Runtime) -> None:
    alice = await connected(server, "alice", "#lobby", "#noext", "#mod")
    await op_sets(alice, "MODE #mod +m")
    bob = await connect_plain(server, "bob")
    for typed in ("/msg #noext hi there", "/msg #mod hi mods"):
        lines = await answered(bob, typed)
        assert [line for line in lines if "was not sent" in line], (typed, lines)
        assert not [line for line in lines if line.startswith("[to ")], (typed, lines)
    assert not [m for m in await sync(alice) if m.command == "PRIVMSG"]


async def test_private_messages_between_two_plain_users_short_and_long(server: Runtime) -> None:
    bob = await connect_plain(server, "bob")
    carol = await connect_plain(server, "carol")
    await bob.expect_text(r"^\* carol joined #lobby$")
    bob.send("/msg carol hello carol")
    await bob.expect_text(r"^\[to carol\] hello carol$")
    await carol.expect_text(r"^\[private\] bob: hello carol$")
    carol.send("/query bob back at you")
    await bob.expect_text(r"^\[private\] carol: back at you$")
    text = " ".join(f"secret{i}" for i in range(120))  # longer than one IRC line
    bob.send(f"/msg carol {text}")
    parts: list[str] = []
    while len(" ".join(parts).split()) < len(text.split()):
        parts.append((await carol.expect_text(r"^\[private\] bob: ")).removeprefix("[private] bob: "))
    assert len(parts) >= 2 and " ".join(parts).split() == text.split()


async def test_join_with_a_key_who_of_another_channel_and_part_by_name(server: Runtime) -> None:
    alice, bob = await lobby(server)
    alice.send("JOIN #club")
    await alice.expect("366", "alice", "#club")
    await op_sets(alice, "MODE #club +k sesame")
    bob.send("/join club sesame")
    await bob.expect_text(r"^\* You joined #club$")
    assert (await alice.expect("JOIN", "#club")).source.startswith("bob!")
    bob.send("/join #lobby")
    await bob.expect_text(r"^\* You are now talking in #lobby$")
    lines = await answered(bob, "/who #club")
    assert {line.split()[1] for line in lines if re.match(r"^\* \S+ \(", line)} == {"alice", "bob"}, lines
    bob.send("/part #club see you")
    await bob.expect_text(r"^\* You left #club \(see you\)$")  # not the current channel: no switch
    assert (await alice.expect("PART", "#club")).params == ["#club", "see you"]
    bob.send("still in the lobby")
    assert await said(alice, 1) == ["still in the lobby"]


# -- what IRC users send, as a person reads it ------------------------------------------------------


async def test_actions_notices_and_colours_as_irc_clients_send_them(server: Runtime) -> None:
    alice, bob = await lobby(server)
    await quiet(bob, alice)
    start = len(bob.raw)
    alice.send("PRIVMSG #lobby :\x01action stretches\x01")  # some clients: lower case
    alice.send("PRIVMSG #lobby :\x01ACTION yawns")  # others: no closing \x01
    alice.send("PRIVMSG #lobby :\x01ACTION \x02loudly\x02 claps\x01")
    alice.send("NOTICE #lobby :\x0304red notice")
    alice.send("PRIVMSG bob :\x01PING 12345\x01")  # a CTCP request: nothing a person can answer
    alice.send("NOTICE bob :\x0312blue\x03 private")
    await quiet(bob, alice)
    assert bob.raw[start:-1] == [
        "* alice stretches",
        "* alice yawns",
        f"* alice {BOLD}loudly{RESET} claps",
        f"-alice- {RED}red notice{RESET}",
        f"[private] -alice- {BLUE}blue{RESET} private",
    ]


async def test_a_nick_change_and_a_quit_show_once_to_someone_in_two_shared_channels(server: Runtime) -> None:
    alice = await connected(server, "alice", "#lobby", "#side")
    carol = await connected(server, "carol", "#lobby")
    bob = await connect_plain(server, "bob")
    bob.send("/join #side")
    await bob.expect_text(r"^\* In #side: ")
    start = len(bob.raw)
    alice.send("NICK alicia")
    alice.send("QUIT :bye both")
    await carol.expect("QUIT")
    await quiet(bob, carol)
    assert bob.raw[start:-1] == ["* alice is now known as alicia", "* alicia left (Quit: bye both)"]


async def registered_and_gone(server: Runtime, *nicks: str) -> None:
    """Accounts registered with NickServ (password `sesame1234`), nobody connected as them."""
    for nick in nicks:
        owner = await connected(server, nick)
        owner.send("PRIVMSG NickServ :REGISTER sesame1234")
        await owner.expect(lambda m: m.command == "NOTICE" and "logged in" in m.params[-1])
        owner.send("QUIT")
        await owner.closed()


async def test_logging_in_with_nickserv_reads_as_words(make_server, tmp_path: Path) -> None:
    server: Runtime = await make_server(store_at(tmp_path))
    await registered_and_gone(server, "carol")
    carol = await LineClient.connect(server)
    carol.send("carol")
    await carol.expect_text(r"^\[private\] -NickServ- This nickname is registered")
    await carol.expect_text(r"^\* You joined #lobby$")
    start = len(carol.raw)
    carol.send("/msg NickServ IDENTIFY sesame1234")
    await carol.expect_text(r"^\[private\] -NickServ- You're now logged in as carol")
    await answered(carol, "/colors")  # and whatever came with it
    lines = carol.raw[start:]
    assert not [line for line in lines if "!~" in line or "(+" in line or "sets mode" in line], lines


# -- lines longer than IRC's, pasted text and flood control ---------------------------------------


async def test_a_long_line_under_flood_control_arrives_whole_and_before_the_next_one(make_server) -> None:
    server: Runtime = await make_server("limits.flood_control=true", "limits.flood_burst=3", "limits.flood_rate=50")
    alice, bob = await lobby(server)
    text = " ".join(f"part{i}" for i in range(300))  # some five IRC lines' worth
    bob.send(text)
    bob.send("and then this")
    received: list[str] = []
    while "and then this" not in received:
        received.append((await alice.expect("PRIVMSG", "#lobby")).params[1])
    assert len(received) >= 4
    assert " ".join(received[:-1]).split() == text.split()  # every word, in order, before the next line


async def test_a_paste_within_the_limits_arrives_whole_and_in_order(make_server) -> None:
    server: Runtime = await make_server("limits.flood_control=true", "limits.flood_burst=5", "limits.flood_rate=100")
    alice, bob = await lobby(server)
    lines = [f"pasted line {i}: the quick brown fox" for i in range(40)]
    bob.writer.write("".join(line + "\r\n" for line in lines).encode())  # all at once, as a paste arrives
    assert await said(alice, len(lines)) == lines
    await quiet(bob, alice)
    assert not [line for line in bob.raw if "not sent" in line or "Disconnected" in line], bob.raw


async def test_a_person_dropped_for_pasting_too_much_is_told_so_in_words(make_server) -> None:
    server: Runtime = await make_server("limits.flood_control=true", "limits.recvq=2048")
    alice, bob = await lobby(server)
    bob.writer.write(("a line of a very long paste " * 3 + "\r\n").encode() * 200)
    lines = await bob.closed()
    gone = [line for line in lines if line.startswith("*** Disconnected")]
    assert gone, lines
    assert re.search(r"too (much|many|fast|quickly)", gone[-1]), gone


# -- bytes: UTF-8, telnet's CR NUL, the end of a netcat ------------------------------------------


async def test_utf8_both_ways_even_cut_between_reads_and_a_bad_byte_refuses_only_its_line(server: Runtime) -> None:
    alice, bob = await lobby(server)
    text = "héllo wörld, привет, 你好 🎉"
    data = (text + "\r\n").encode()
    cut = data.index("你".encode()) + 1  # inside a three-byte character
    bob.writer.write(data[:cut])
    await bob.writer.drain()
    bob.writer.write(data[cut:])
    assert await said(alice, 1) == [text]
    alice.send("PRIVMSG #lobby :ответ 👍 ok")
    await bob.expect_text(r"^alice: ответ 👍 ok$")
    bob.send(b"caf\xe9 au lait")  # one Latin-1 byte in the line
    await bob.expect_text(r"^\* That line was not sent: it is not UTF-8 text\.")
    bob.send("café au lait")
    assert await said(alice, 1) == ["café au lait"]


async def test_cr_nul_ends_a_line_typed_in_character_mode(server: Runtime, clients: Opened) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)
    person.writer.write(b"bob\r\x00")
    await person.expect_text(r"^\* You joined #lobby$")
    await alice.expect("JOIN", "#lobby")
    person.writer.write(b"hi\r\x00there\r\x00")  # the second line typed before a pause
    assert (await alice.expect("PRIVMSG", "#lobby")).params[1] == "hi"
    assert (await alice.expect("PRIVMSG", "#lobby")).params[1] == "there"


async def test_keystrokes_ending_in_cr_nul_make_lines_after_a_pause(server: Runtime, clients: Opened) -> None:
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    person = await LineClient.connect(server)
    clients.append(person)

    async def type_keys(text: bytes) -> None:
        for key in text:  # one keystroke a packet, as character mode sends them
            person.writer.write(bytes([key]))
            await person.writer.drain()
        person.writer.write(b"\r\x00")  # Enter

    await type_keys(b"bob")
    await person.expect_text(r"^\* You joined #lobby$")
    await alice.expect("JOIN", "#lobby")
    await type_keys(b"hello")
    assert await said(alice, 1) == ["hello"]


async def test_netcat_ended_mid_line_says_what_it_sent_and_leaves_in_words(server: Runtime) -> None:
    alice, bob = await lobby(server)
    carol = await connect_plain(server, "carol")
    await bob.expect_text(r"^\* carol joined #lobby$")
    bob.send("a whole line")
    bob.writer.write(b"and half a thou")  # Ctrl+D in netcat sends what was typed, without Enter
    await bob.writer.drain()
    bob.writer.close()  # then Ctrl+C ends netcat
    assert await said(alice, 2) == ["a whole line", "and half a thou"]
    quit_message = await alice.expect("QUIT")
    assert quit_message.source.startswith("bob!")
    await carol.expect_text(r"^bob: and half a thou$")
    await carol.expect_text(r"^\* bob left \(Connection closed\)$")


# -- staying connected -------------------------------------------------------------------------


async def test_idle_plain_users_are_never_pinged_nor_dropped(make_server, clients: Opened) -> None:
    server: Runtime = await make_server("limits.ping_interval=0.2", "limits.ping_timeout=0.2")
    bob = await connect_plain(server, "bob")
    carol = await connect_plain(server, "carol")
    clients.extend((bob, carol))
    await bob.expect_text(r"^\* carol joined #lobby$")
    silent = await connected(server, "dave")  # an IRC client registered after them that never answers
    clients.append(silent)
    await silent.expect("PING")
    assert "Ping timeout" in (await silent.expect("ERROR")).params[0]  # bob and carol were quiet longer
    carol.send("still there, bob?")
    await bob.expect_text(r"^carol: still there, bob\?$")
    bob.send("yes")
    await carol.expect_text(r"^bob: yes$")
    assert not [line for line in bob.raw + carol.raw if "PING" in line or "Disconnected" in line]


# -- history -----------------------------------------------------------------------------------


async def test_what_was_said_before_is_shown_to_a_plain_user_who_joins(make_server, tmp_path: Path) -> None:
    server: Runtime = await make_server(store_at(tmp_path))
    alice = await connected(server, "alice", "#lobby")
    for text in ("tea is ready", "\x02who wants some\x02", "\x01ACTION pours\x01"):
        alice.send(f"PRIVMSG #lobby :{text}")
    await sync(alice)
    bob = await connect_plain(server)  # a person reads the greeting, then types a name
    bob.send("bob")
    await bob.expect_text(r"^\* In #lobby: ")
    # each led by when it was said (in an action, after the nick)
    when = r"\[\d\d:\d\d\] "
    first = await bob.expect_text(r"tea is ready")
    assert re.search(rf"alice: {when}tea is ready$", first), first
    bold = await bob.expect_text(r"who wants some")
    assert re.search(rf"alice: {when}{re.escape(BOLD)}who wants some{re.escape(RESET)}$", bold), bold
    action = await bob.expect_text(r"pours")
    assert re.search(rf"\* alice {when}pours$", action), action
    alice.send("PRIVMSG #lobby :and now, live")
    await bob.expect_text(r"^alice: and now, live$")
    assert sum("tea is ready" in line for line in bob.raw) == 1  # shown once


async def test_what_was_said_before_is_marked_as_earlier(make_server, tmp_path: Path) -> None:
    server: Runtime = await make_server(store_at(tmp_path))
    alice = await connected(server, "alice", "#lobby")
    alice.send("PRIVMSG #lobby :tea is ready")
    await sync(alice)
    bob = await connect_plain(server)
    bob.send("bob")
    replayed = await bob.expect_text(r"tea is ready")
    alice.send("PRIVMSG #lobby :tea is ready")  # the same words, said now
    live = await bob.expect_text(r"tea is ready")
    assert live == "alice: tea is ready"
    earlier = bob.raw[: bob.raw.index(replayed)]
    assert replayed != live or [line for line in earlier if re.search(r"(?i)earlier|history|before you", line)]


# -- many people ---------------------------------------------------------------------------------


async def test_a_dozen_plain_users_and_an_irc_user_in_one_room(server: Runtime) -> None:
    alice = await connected(server, "alice", "#lobby")
    people = [await connect_plain(server, f"p{i}") for i in range(12)]  # alice and 12: under the per-IP limit
    names = await people[-1].expect_text(r"^\* In #lobby: ")
    # nobody is op of the default channel for having created it
    assert set(names.removeprefix("* In #lobby: ").split(", ")) == {"alice"} | {f"p{i}" for i in range(12)}
    for i in range(12):
        assert (await alice.expect("JOIN", "#lobby")).source.startswith(f"p{i}!")
    people[0].send("hello everyone")
    for person in people[1:]:
        await person.expect_text(r"^p0: hello everyone$")
    assert await said(alice, 1) == ["hello everyone"]
    alice.send("PRIVMSG #lobby :hello dozen")
    for person in people:
        await person.expect_text(r"^alice: hello dozen$")
    people[5].send("/exit")
    await people[5].closed()
    for index, person in enumerate(people):
        if index != 5:
            await person.expect_text(r"^\* p5 left \(Quit\)$")


async def test_an_irc_user_and_a_plain_user_see_each_other(server: Runtime) -> None:
    alice, bob = await lobby(server)
    alice.send("NAMES #lobby")
    names = await alice.expect("353")
    assert set(names.params[-1].split()) == {"alice", "bob"}  # no op for creating the default channel
    alice.send("WHOIS bob")
    whois = await alice.expect("311")
    assert whois.params[1:4] == ["bob", "~bob", "127.0.0.1"]
    assert (await alice.expect("319")).params[-1].split() == ["#lobby"]
    lines = await answered(bob, "/who")
    assert "* alice (~u@127.0.0.1): Real Name" in lines, lines
    bob.send("hi alice, I am on netcat")
    message = await alice.expect("PRIVMSG", "#lobby")
    assert message.source == "bob!~bob@127.0.0.1" and message.params[1] == "hi alice, I am on netcat"
    alice.send("PRIVMSG #lobby :\x02welcome\x02, bob")
    await bob.expect_text(rf"^alice: {re.escape(BOLD)}welcome{re.escape(RESET)}, bob$")
    bob.send("/nick robert")
    await bob.expect_text(r"^\* You are now known as robert$")
    assert (await alice.expect("NICK")).params == ["robert"]
    alice.send("PRIVMSG robert :psst, robert")
    await bob.expect_text(r"^\[private\] alice: psst, robert$")
    bob.send("/msg alice psst back")
    assert (await alice.expect("PRIVMSG", "alice")).params[1] == "psst back"


async def test_a_message_left_for_someone_offline_is_shown_as_sent_and_said_kept(make_server, tmp_path: Path) -> None:
    server: Runtime = await make_server(store_at(tmp_path))
    await registered_and_gone(server, "alice", "carol")
    carol = await LineClient.connect(server)
    carol.send("carol")
    await carol.expect_text(r"^\* You joined #lobby$")
    carol.send("/msg alice are you there?")  # not logged in: not kept, and told how it could be
    await carol.expect_text(r"^\* Nobody is using the nickname alice right now\. \(alice is offline; "
                            r"log in to leave a message for when they are back\)$")
    carol.send("/msg NickServ IDENTIFY sesame1234")
    await carol.expect_text(r"^\[private\] -NickServ- You're now logged in as carol")
    carol.send("/msg alice lunch tomorrow?")  # told at once that it is kept, then shown sent
    await carol.expect_text(r"^\* alice is away: Offline; your messages are kept for when they are back$")
    await carol.expect_text(r"^\[to alice\] lunch tomorrow\?$")
    await carol.close()
