"""An audit of connection registration and IRCv3 capability negotiation, black-box over
real sockets, against ircv3 capability-negotiation (CAP 302, cap-notify), sasl-3.1/3.2
and Modern IRC's connection registration and message format.

It covers what tests/e2e/test_registration.py, test_cap_negotiation.py and
test_spec_more.py leave out: negotiation reopened or started late in registration, CAP
replies too long for one line, SASL corners during registration, and odd lines.
The three replies too long for one line it found cut mid-name are fixed (registration.py `_cap_lines`).
"""

from __future__ import annotations

from hubbub.server import caps
from tests.e2e_accounts.support import b64, registered_account
from tests.helpers import LineClient, cap_ls, commands, connected, sync

# A long but ordinary server name and the longest nick it allows: with every capability
# on, the CAP replies that list names no longer fit in one 512-byte line.
LONG_NAME = "irc.a-rather-long-network-name.example.org"
LONG_NICK = "n" * 30


async def opened(server, clients) -> LineClient:
    client = await LineClient.connect(server)
    clients.append(client)
    return client


async def speaking_irc(server, clients) -> LineClient:
    """A connection whose first line (a PING) marks it as IRC, so that the odd lines sent
    next are answered as IRC and not taken for a person typing a nickname."""
    client = await opened(server, clients)
    client.send("PING fresh")
    await client.expect("PONG")
    return client


def words(lines) -> list[str]:
    return [token for line in lines for token in line.params[-1].split()]


async def cap_reply(client: LineClient, line: str) -> list:
    """The CAP lines that answer `line` (read up to a PONG)."""
    client.send(line)
    return [m for m in await sync(client) if m.command == "CAP"]


# -- when registration waits ------------------------------------------------------------------


async def test_cap_ls_after_cap_end_holds_registration_again(server, clients) -> None:
    # "If a server receives an LS subcommand while client registration is in progress, it
    # MUST suspend registration until an END subcommand is received from the client."
    client = await opened(server, clients)
    client.send("CAP LS")
    await client.expect("CAP", "*", "LS")
    client.send("CAP END")
    client.send("NICK again")
    lines, _ = await cap_ls(client)  # still registering: a second negotiation
    assert lines[0].params[0] == "again"
    client.send("USER u 0 * :U")
    assert "001" not in commands(await sync(client))
    client.send("CAP END")
    assert (await client.expect("001")).params[0] == "again"


async def test_cap_ls_between_nick_and_user_holds_registration(server, clients) -> None:
    client = await opened(server, clients)
    client.send("NICK late")
    client.send("CAP LS")
    ls = await client.expect("CAP")
    assert ls.params[:2] == ["late", "LS"]  # the client identifier once NICK gave one
    client.send("USER u 0 * :U")
    assert "001" not in commands(await sync(client))
    client.send("CAP END")
    await client.expect("001", "late")


async def test_cap_end_alone_and_cap_list_do_not_hold_registration(server, clients) -> None:
    # Only LS and REQ suspend registration; END with no negotiation open is harmless.
    ender = await opened(server, clients)
    ender.send("CAP END")
    ender.send("NICK ender")
    ender.send("USER u 0 * :U")
    got = await ender.collect_until("001")
    assert [m for m in got if m.command == "CAP"] == []
    lister = await opened(server, clients)
    lister.send("CAP LIST")
    lister.send("NICK lister")
    lister.send("USER u 0 * :U")
    got = await lister.collect_until("001")
    assert [(m.command, m.params) for m in got[:1]] == [("CAP", ["*", "LIST", ""])]


async def test_pass_given_during_negotiation_counts_for_the_server_password(make_server, clients) -> None:
    server = await make_server("server.password=secret")
    right = await opened(server, clients)
    right.send("CAP LS 302\r\nNICK p1\r\nUSER u 0 * :U\r\nPASS secret\r\nCAP END")
    await right.expect("001", "p1")
    wrong = await opened(server, clients)
    wrong.send("CAP LS 302\r\nNICK p2\r\nUSER u 0 * :U\r\nPASS wrong\r\nCAP END")
    lines = await wrong.closed()
    assert [line for line in lines if " CAP " not in line] == [
        ":hubbub.local 464 p2 :Password incorrect",
        "ERROR :Closing Link: 127.0.0.1 (Bad password)",
    ]


async def test_nick_changes_during_negotiation_show_in_the_cap_replies(server, clients) -> None:
    clients.append(await connected(server, "taken"))
    client = await opened(server, clients)
    await cap_ls(client)
    client.send("NICK taken")
    assert (await client.expect("433")).params == ["*", "taken", "Nickname is already in use"]
    client.send("NICK first")
    client.send("NICK second")
    (listed,) = await cap_reply(client, "CAP LIST")
    assert listed.params == ["second", "LIST", "cap-notify"]
    client.send("USER u 0 * :U")
    assert "001" not in commands(await sync(client))
    client.send("CAP END")
    await client.expect("001", "second")


async def test_quit_during_negotiation_ends_the_connection_and_frees_the_nick(server, clients) -> None:
    client = await opened(server, clients)
    client.send("CAP LS 302\r\nNICK quitter\r\nUSER u 0 * :U\r\nQUIT :changed my mind")
    lines = await client.closed()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Quit: changed my mind)"
    assert not any(" 001 " in line for line in lines)
    clients.append(await connected(server, "quitter"))


# -- CAP REQ and the other subcommands ------------------------------------------------------------


async def test_cap_req_takes_the_last_mention_of_a_capability_and_refuses_a_bare_dash(server, clients) -> None:
    # "If a capability is sent multiple times, the last one received takes priority";
    # names "MUST NOT start with a hyphen", so `-` alone names nothing and is refused.
    client = await opened(server, clients)
    assert [m.params[1:] for m in await cap_reply(client, "CAP REQ :-batch batch")] == [["ACK", "-batch batch"]]
    assert [m.params[1:] for m in await cap_reply(client, "CAP LIST")] == [["LIST", "batch"]]
    assert [m.params[1:] for m in await cap_reply(client, "CAP REQ :batch -batch")] == [["ACK", "batch -batch"]]
    assert [m.params[1:] for m in await cap_reply(client, "CAP LIST")] == [["LIST", ""]]
    for request in ("-", "- echo-message"):
        assert [m.params[1:] for m in await cap_reply(client, f"CAP REQ :{request}")] == [["NAK", request]]
    acked = await cap_reply(client, "CAP REQ :echo-message  server-time")  # two spaces between
    assert [m.params[1:] for m in acked] == [["ACK", "echo-message server-time"]]
    assert [m.params[1:] for m in await cap_reply(client, "CAP LIST")] == [["LIST", "echo-message server-time"]]


async def test_cap_errors_after_registration_name_the_nick(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("CAP FOO")
    alice.send("CAP REQ :no-such-cap")
    alice.send("CAP")
    alice.send("cap list")  # the subcommand, like the command, in any case
    got = await sync(alice)
    assert [(m.command, m.params) for m in got] == [
        ("410", ["alice", "FOO", "Invalid CAP command"]),
        ("CAP", ["alice", "NAK", "no-such-cap"]),
        ("461", ["alice", "CAP", "Not enough parameters"]),
        ("CAP", ["alice", "LIST", ""]),
    ]


# -- CAP replies longer than a line ---------------------------------------------------------


async def long_named(make_server, clients) -> tuple:
    """A server with a long name and a client registered under a 30-character nick."""
    server = await make_server(f"server.name={LONG_NAME}")
    client = await connected(server, LONG_NICK)
    clients.append(client)
    return server, client


def too_long_for_one_line(sub: str, names: list[str]) -> bool:
    return len(f":{LONG_NAME} CAP {LONG_NICK} {sub} :{' '.join(names)}\r\n".encode()) > 512


async def test_cap_ls_without_302_after_registration_keeps_every_name_whole(make_server, clients) -> None:
    # A 3.1 client gets names only; when they do not fit one line, the server "MAY send
    # multiple lines" (without the 302 `*`), but never a line over 512 bytes nor a cut name.
    server, client = await long_named(make_server, clients)
    offered = sorted(caps.offered(server.config))
    assert too_long_for_one_line("LS", offered)
    start = len(client.raw)
    lines = await cap_reply(client, "CAP LS")
    assert all(len(raw.encode()) + 2 <= 512 for raw in client.raw[start:])
    assert all(line.params[2] != "*" for line in lines)  # no 302 continuation for a 3.1 client
    assert sorted(words(lines)) == offered


async def test_cap_list_too_long_for_one_line_is_continued_with_a_star_for_a_302_client(make_server, clients) -> None:
    # "If a multi-line response to CAP LIST is sent, and the client supports CAP version
    # 302, the server MUST delimit all replies except for the last one" with `*`.
    server, client = await long_named(make_server, clients)
    await cap_ls(client)
    enabled = sorted(caps.offered(server.config))
    for half in (enabled[: len(enabled) // 2], enabled[len(enabled) // 2 :]):
        assert [m.params[1] for m in await cap_reply(client, "CAP REQ :" + " ".join(half))] == ["ACK"]
    assert too_long_for_one_line("LIST", enabled)
    start = len(client.raw)
    lines = await cap_reply(client, "CAP LIST")
    assert all(len(raw.encode()) + 2 <= 512 for raw in client.raw[start:])
    assert [len(line.params) for line in lines] == [4] * (len(lines) - 1) + [3]
    assert all(line.params[2] == "*" for line in lines[:-1])
    assert sorted(words(lines)) == enabled


async def test_cap_ack_too_long_for_one_line_never_acknowledges_a_cut_name(make_server, clients) -> None:
    # "If an ACK reply originating from the server is spread across multiple lines, a
    # client MUST NOT change capabilities until the last ACK of the set is received."
    # (Clients SHOULD keep requests short enough for one ACK; this one fits in the REQ.)
    server, client = await long_named(make_server, clients)
    requested = sorted(caps.offered(server.config))
    request = "CAP REQ :" + " ".join(requested)
    assert len(request) + 2 <= 512 and too_long_for_one_line("ACK", requested)
    start = len(client.raw)
    lines = await cap_reply(client, request)
    assert all(len(raw.encode()) + 2 <= 512 for raw in client.raw[start:])
    assert {line.params[1] for line in lines} == {"ACK"}
    assert sorted(words(lines)) == requested


# -- SASL during registration -------------------------------------------------------------------


async def test_authenticate_without_the_sasl_capability_or_an_exchange(server, clients) -> None:
    client = await opened(server, clients)
    await cap_ls(client)
    client.send("AUTHENTICATE PLAIN")  # sasl not requested: refused, nothing started
    client.send("CAP REQ :sasl")
    client.send("AUTHENTICATE *")  # an abort with no exchange open
    got = await sync(client)
    assert [(m.command, m.params[:1]) for m in got] == [("904", ["*"]), ("CAP", ["*"]), ("906", ["*"])]
    client.send("NICK plain")
    client.send("USER u 0 * :U")
    assert "001" not in commands(await sync(client))  # the REQ holds registration
    client.send("CAP END")
    await client.expect("001", "plain")


async def test_cap_end_during_an_exchange_aborts_it_and_registers_without_an_account(server, clients) -> None:
    # sasl-3.1: "If the client completes registration (with CAP END, NICK, USER ...) while
    # the SASL authentication is still in progress, the server SHOULD abort it and send a
    # 906 numeric, then register the client without authentication."
    client = await opened(server, clients)
    client.send("CAP REQ :sasl\r\nNICK halfway\r\nUSER u 0 * :U\r\nAUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("CAP END")
    got = await client.collect_until("001")
    assert [(m.command, m.params[0]) for m in got] == [("906", "halfway"), ("001", "halfway")]
    await client.expect("376")
    client.send("WHOIS halfway")
    whois = await client.collect_until("318")
    assert "330" not in commands(whois) and "900" not in commands(client.received)


async def test_a_second_authenticate_before_cap_end_reauthenticates_and_a_failure_keeps_the_login(
    server, clients
) -> None:
    # sasl-3.2: "Servers SHOULD allow a client, authenticated or otherwise, to
    # reauthenticate by sending a new AUTHENTICATE message at any time" (no 907 here,
    # as docs/accounts.md says).
    owner = await registered_account(server, "dave")
    owner.send("QUIT")
    await owner.closed()
    client = await opened(server, clients)
    client.send("CAP REQ :sasl\r\nNICK twice\r\nUSER u 0 * :U\r\nAUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64("dave\0dave\0correct-horse"))
    assert (await client.expect("900")).params[2] == "dave"
    await client.expect("903")
    client.send("AUTHENTICATE PLAIN")
    assert (await client.expect(lambda m: m.command in ("AUTHENTICATE", "907"))).params == ["+"]
    client.send("AUTHENTICATE " + b64("dave\0dave\0wrong"))
    assert (await client.expect(lambda m: m.command in ("903", "904"))).command == "904"
    client.send("CAP END")
    await client.expect("376")
    client.send("WHOIS twice")
    logged = await client.expect("330")
    assert logged.params[1:3] == ["twice", "dave"]


async def test_authenticate_after_cap_end_but_before_user_is_refused(server, clients) -> None:
    client = await opened(server, clients)
    client.send("CAP REQ :sasl\r\nNICK tardy\r\nCAP END\r\nAUTHENTICATE PLAIN")
    got = await sync(client)
    assert [(m.command, m.params[0]) for m in got[1:]] == [("904", "tardy")]
    client.send("USER u 0 * :U")
    await client.expect("001", "tardy")


# -- odd lines ------------------------------------------------------------------------------------


async def test_blank_lines_are_ignored_and_lines_without_a_command_get_one_fail_each(server, clients) -> None:
    # Modern IRC: "If you encounter an empty message, silently ignore it"; a line of tags
    # or a source alone, or one cut by a lone CR, has no command (hubbub answers FAIL,
    # as docs/ircv3.md says, to every client).
    client = await speaking_irc(server, clients)
    for line in (b"   \r\n", b"\r\n", b"@a=b\r\n", b"@t=1 :src\r\n", b":src\r\n", b"\r\r\n"):
        client.send(line)
    got = await sync(client)
    assert [(m.command, m.params) for m in got] == [("FAIL", ["*", "INVALID_MESSAGE", "Could not parse that line"])] * 4
    client.send("NICK odd")
    client.send("USER u 0 * :U")
    await client.expect("001", "odd")


async def test_a_numeric_sent_as_a_command_is_421(server, clients) -> None:
    client = await speaking_irc(server, clients)
    client.send("001 me :hello")
    assert [(m.command, m.params[:2]) for m in await sync(client)] == [("421", ["*", "001"])]
    await client.register("numeric")
    client.send(":numeric 433 * x :spoofed")
    assert [(m.command, m.params[:2]) for m in await sync(client)] == [("421", ["numeric", "433"])]


async def test_user_twice_before_registration_registers_once_without_error(server, clients) -> None:
    client = await opened(server, clients)
    client.send("USER first 0 * :First")
    client.send("USER second 0 * :Second")
    client.send("NICK twiceuser")
    got = await client.collect_until("376")
    assert commands(got).count("001") == 1 and "462" not in commands(got)
    assert got[0].params[-1].endswith(("twiceuser!~first@127.0.0.1", "twiceuser!~second@127.0.0.1"))
