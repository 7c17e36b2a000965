"""Transcripts of connection registration: NICK/USER, PASS, CAP, and the welcome burst.

Also the connection's own lifecycle: PING/PONG and QUIT. Every test talks raw lines to
a real server on port 0 and checks the exact numerics and parameters that come back.
"""

from __future__ import annotations

import pytest

from hubbub.server import caps
from hubbub.server.isupport import VERSION
from tests.helpers import LineClient, cap_ls, commands, connected, isupport_tokens, sync

SERVER = "hubbub.local"


async def fresh(server, clients) -> LineClient:
    """A connection that has not registered and is known to speak IRC: its first line, a
    PING, is an IRC opener, so the malformed registration lines the tests send next are
    answered as IRC (as a first line, they would be taken for a person's typing)."""
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("PING fresh")
    await client.expect("PONG")
    return client


# -- the welcome burst ----------------------------------------------------------------


async def test_welcome_burst_is_001_to_005_then_lusers_then_motd(server, clients) -> None:
    alice = await fresh(server, clients)
    alice.send("NICK alice")
    alice.send("USER al 0 * :Alice Liddell")
    burst = await alice.collect_until("376")
    codes = commands(burst)
    isupport_count = codes.count("005")
    assert isupport_count >= 1
    assert codes == (
        ["001", "002", "003", "004"]
        + ["005"] * isupport_count
        + ["251", "254", "255", "265", "266"]
        + ["375", "372", "376"]
    )
    by_code = {m.command: m for m in burst}
    assert all(m.source == SERVER for m in burst)
    assert all(m.params[0] == "alice" for m in burst)
    assert by_code["001"].params == ["alice", "Welcome to the hubbub IRC Network alice!~al@127.0.0.1"]
    assert by_code["002"].params == ["alice", f"Your host is {SERVER}, running version {VERSION}"]
    assert by_code["003"].params[1].startswith("This server was created ")
    assert by_code["004"].params == ["alice", SERVER, VERSION, "BRiorsw", "CIKMRTabefhijklmnoqstv", "Iabefhjkloqv"]
    assert by_code["251"].params == ["alice", "There are 1 users and 0 invisible on 1 servers"]
    assert by_code["254"].params == ["alice", "0", "channels formed"]
    assert by_code["255"].params == ["alice", "I have 1 clients and 0 servers"]
    assert by_code["265"].params == ["alice", "1", "1", "Current local users 1, max 1"]
    assert by_code["266"].params == ["alice", "1", "1", "Current global users 1, max 1"]
    assert by_code["375"].params == ["alice", f"- {SERVER} Message of the day - "]
    assert by_code["372"].params == ["alice", "- Welcome to hubbub. Be kind."]
    assert by_code["376"].params == ["alice", "End of /MOTD command."]


async def test_isupport_advertises_what_the_server_enforces(server, clients) -> None:
    alice = await fresh(server, clients)
    alice.send("NICK alice")
    alice.send("USER al 0 * :Alice")
    burst = await alice.collect_until("376")
    for line in (m for m in burst if m.command == "005"):
        assert line.params[-1] == "are supported by this server"
        assert len(line.encode()) <= 512
    tokens = isupport_tokens(burst)
    assert tokens["CASEMAPPING"] == "ascii"
    assert tokens["CHANTYPES"] == "#"
    assert tokens["CHANMODES"] == "beI,k,fjl,CiKMmnRsTt"
    assert tokens["PREFIX"] == "(qaohv)~&@%+"
    assert tokens["NICKLEN"] == "30"
    assert tokens["CHANNELLEN"] == "64"
    assert tokens["TOPICLEN"] == "390"
    assert tokens["MODES"] == "4"
    assert tokens["NETWORK"] == "hubbub"
    assert "UTF8ONLY" in tokens and tokens["UTF8ONLY"] is None
    targmax = dict(item.split(":") for item in tokens["TARGMAX"].split(","))
    assert targmax["PRIVMSG"] == "4" and targmax["NOTICE"] == "4"


async def test_isupport_follows_the_configured_limits(make_server, clients) -> None:
    server = await make_server("limits.nicklen=12", "limits.max_targets=2", "server.network=TestNet")
    alice = await fresh(server, clients)
    alice.send("NICK alice")
    alice.send("USER al 0 * :Alice")
    tokens = isupport_tokens(await alice.collect_until("376"))
    assert tokens["NICKLEN"] == "12"
    assert tokens["NETWORK"] == "TestNet"
    assert "PRIVMSG:2" in tokens["TARGMAX"].split(",")


async def test_welcome_counts_other_users_in_lusers(server, clients) -> None:
    clients.append(await connected(server, "alice", "#room"))
    bob = await fresh(server, clients)
    bob.send("NICK bob")
    bob.send("USER b 0 * :Bob")
    burst = {m.command: m for m in await bob.collect_until("376")}
    assert burst["251"].params == ["bob", "There are 2 users and 0 invisible on 1 servers"]
    assert burst["254"].params == ["bob", "1", "channels formed"]
    assert burst["255"].params == ["bob", "I have 2 clients and 0 servers"]
    assert burst["265"].params[1:3] == ["2", "2"]


async def test_empty_motd_is_422_at_registration_and_on_request(make_server, clients) -> None:
    server = await make_server("server.motd=''")
    alice = await fresh(server, clients)
    alice.send("NICK alice")
    alice.send("USER al 0 * :Alice")
    burst = await alice.collect_until("422")
    assert "375" not in commands(burst) and "376" not in commands(burst)
    assert burst[-1].params == ["alice", "MOTD File is missing"]
    alice.send("MOTD")
    reply = await alice.read_message()
    assert reply is not None and reply.command == "422"


# -- NICK and USER errors ---------------------------------------------------------------


async def test_nick_without_a_nickname_is_431(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("USER u 0 * :Someone")
    client.send("NICK")
    reply = await client.expect("431")
    assert reply.params == ["*", "No nickname given"]


@pytest.mark.parametrize("bad", ["1digit", "-dash", "bad!nick", "bad@host", "#chan", "a" * 31, "ni,ck"])
async def test_erroneous_nickname_is_432(server, clients, bad) -> None:
    client = await fresh(server, clients)
    client.send("USER u 0 * :Someone")
    client.send(f"NICK {bad}")
    reply = await client.expect("432")
    assert reply.params == ["*", bad, "Erroneous nickname"]
    client.send("NICK good")  # the connection stays usable
    await client.expect("001", "good")


@pytest.mark.parametrize("line", ["NICK :a b", "NICK ::colon"])
async def test_erroneous_nickname_that_cannot_be_repeated_is_shown_as_star(server, clients, line) -> None:
    client = await fresh(server, clients)
    client.send(line)
    reply = await client.expect("432")
    assert reply.params == ["*", "*", "Erroneous nickname"]
    client.send("NICK good")
    client.send("USER u 0 * :Someone")
    await client.expect("001", "good")


async def test_nickname_in_use_is_433_case_insensitively(server, clients) -> None:
    clients.append(await connected(server, "Alice"))
    client = await fresh(server, clients)
    client.send("USER u 0 * :Someone")
    client.send("NICK aLiCe")
    reply = await client.expect("433")
    assert reply.params == ["*", "aLiCe", "Nickname is already in use"]
    client.send("NICK bob")
    await client.expect("001", "bob")


async def test_casemapping_ascii_keeps_brackets_distinct_from_braces(server, clients) -> None:
    # With rfc1459 casemapping "x[" and "x{" would collide; we advertise ascii.
    clients.append(await connected(server, "x{"))
    other = await connected(server, "X[")
    clients.append(other)
    other.send("WHOIS x{")
    whois = await other.expect("311")
    assert whois.params[1] == "x{"


async def test_nick_held_by_a_registering_connection_is_in_use(server, clients) -> None:
    first = await fresh(server, clients)
    first.send("NICK carol")
    await sync(first)
    second = await fresh(server, clients)
    second.send("NICK carol")
    reply = await second.expect("433")
    assert reply.params == ["*", "carol", "Nickname is already in use"]


async def test_user_with_too_few_parameters_is_461(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("NICK dave")
    client.send("USER dave 0 *")
    reply = await client.expect("461")
    assert reply.params == ["dave", "USER", "Not enough parameters"]
    client.send("USER dave 0 * :Dave")
    await client.expect("001", "dave")


async def test_user_with_an_empty_realname_is_461_and_registration_waits(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("NICK dave")
    client.send("USER dave 0 * :")
    reply = await client.expect("461")
    assert reply.params == ["dave", "USER", "Not enough parameters"]
    assert "001" not in commands(await sync(client))
    client.send("USER dave 0 * :Dave")
    await client.expect("001", "dave")


async def test_user_and_pass_after_registration_are_462(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("USER again 0 * :Again")
    reply = await alice.expect("462")
    assert reply.params == ["alice", "You may not reregister"]
    alice.send("PASS secret")
    reply = await alice.expect("462")
    assert reply.params == ["alice", "You may not reregister"]


async def test_command_before_registration_is_451(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("NICK early")
    client.send("JOIN #room")
    reply = await client.expect("451")
    assert reply.params == ["early", "You have not registered"]
    client.send("PRIVMSG someone :hi")
    reply = await client.expect("451")
    assert reply.params == ["early", "You have not registered"]


async def test_unknown_command_is_421(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("FROBNICATE now please")
    reply = await alice.expect("421")
    assert reply.params == ["alice", "FROBNICATE", "Unknown command"]
    alice.send("frobnicate")  # commands are case-insensitive; the reply names it in upper case
    reply = await alice.expect("421")
    assert reply.params == ["alice", "FROBNICATE", "Unknown command"]


# -- server password ----------------------------------------------------------------------


async def test_right_server_password_registers(make_server, clients) -> None:
    server = await make_server("server.password=secret")
    client = await fresh(server, clients)
    client.send("PASS secret")
    client.send("NICK alice")
    client.send("USER al 0 * :Alice")
    welcome = await client.expect("001")
    assert welcome.params[0] == "alice"


async def test_server_password_guesses_are_throttled_per_address(make_server, clients) -> None:
    server = await make_server("server.password=secret", "accounts.login_failures_per_address=3")

    async def attempt(password: str) -> list[str]:
        client = await fresh(server, clients)
        client.send(f"PASS {password}")
        client.send("NICK guesser")
        client.send("USER g 0 * :G")
        return [line for line in await client.closed() if not line.startswith(":") or " 464 " in line]

    for guess in ("one", "two", "three"):
        assert await attempt(guess) == [
            ":hubbub.local 464 guesser :Password incorrect",
            "ERROR :Closing Link: 127.0.0.1 (Bad password)",
        ]
    refused = await attempt("secret")  # right, and refused unchecked all the same
    assert refused[0].startswith(":hubbub.local 464 guesser :Too many failed attempts; try again in ")
    assert refused[1] == "ERROR :Closing Link: 127.0.0.1 (Too many failed password attempts)"
    now = server.clock()
    server.clock = lambda: now + 61  # the window has passed
    client = await fresh(server, clients)
    client.send("PASS secret")
    await client.register("welcome")


@pytest.mark.parametrize("password_line", ["PASS wrong", None])
async def test_wrong_or_missing_server_password_is_464_then_error(make_server, clients, password_line) -> None:
    server = await make_server("server.password=secret")
    client = await fresh(server, clients)
    if password_line:
        client.send(password_line)
    client.send("NICK alice")
    client.send("USER al 0 * :Alice")
    reply = await client.read_message()
    assert reply is not None and reply.command == "464"
    assert reply.params == ["alice", "Password incorrect"]
    error = await client.read_message()
    assert error is not None and error.command == "ERROR"
    assert "Bad password" in error.params[0]
    assert await client.closed() == []
    # the refused connection does not keep the nickname
    again = await fresh(server, clients)
    again.send("PASS secret")
    again.send("NICK alice")
    again.send("USER al 0 * :Alice")
    await again.expect("001", "alice")


# -- CAP negotiation ----------------------------------------------------------------------


async def test_cap_ls_302_suspends_registration_until_cap_end(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP LS 302")
    client.send("NICK alice")
    client.send("USER al 0 * :Alice")
    ls = await client.expect("CAP")
    assert ls.source == SERVER
    assert ls.params[:2] == ["*", "LS"]
    assert "001" not in commands(await sync(client))
    client.send("CAP END")
    welcome = await client.read_message()
    assert welcome is not None and welcome.command == "001"


async def test_cap_ls_lists_exactly_the_supported_caps(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP LS 302")
    tokens: list[str] = []
    while True:  # 302: as many lines as needed, each but the last marked "*"
        ls = await client.expect("CAP")
        assert ls.params[:2] == ["*", "LS"]
        tokens += ls.params[-1].split()
        if len(ls.params) == 3:
            break
        assert ls.params[2] == "*" and len(ls.encode()) <= 512
    advertised = dict(token.partition("=")[::2] for token in tokens)
    assert sorted(advertised) == sorted(caps.SUPPORTED)
    for name, value in caps.SUPPORTED.items():  # 302 clients see the values
        assert advertised[name] == (value or "")
    assert {"cap-notify", "echo-message", "multi-prefix", "userhost-in-names"} <= set(advertised)


async def test_cap_ls_302_continues_over_lines_of_at_most_512_bytes(make_server, clients) -> None:
    """CAP 302: lines as full as 512 bytes allow, each but the last marked `*`; a 3.1
    client gets one line of names."""
    for name in ("hubbub.local", "a-rather-long-server-name.irc.example.org"):
        server = await make_server(f"server.name={name}")
        client = await fresh(server, clients)
        start = len(client.raw)
        lines, advertised = await cap_ls(client)
        raw = client.raw[start:]
        assert all(len(text.encode()) + 2 <= 512 for text in raw)
        assert [len(line.params) for line in lines] == [4] * (len(lines) - 1) + [3]
        assert sorted(advertised) == sorted(caps.offered(server.config))
        if len(lines) > 1:  # the first line could not take the next token
            first_token = lines[1].params[-1].split()[0]
            assert len(raw[0].encode()) + 1 + len(first_token.encode()) > 510
        old = await fresh(server, clients)
        old_lines, offered = await cap_ls(old, version="")
        assert len(old_lines) == 1 and sorted(offered) == sorted(advertised)
        assert all(value == "" for value in offered.values())


async def test_cap_req_of_known_caps_is_acked_and_listed(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP LS")
    await client.expect("CAP", "*", "LS")
    client.send("CAP REQ :multi-prefix echo-message")
    ack = await client.expect("CAP")
    assert ack.params == ["*", "ACK", "multi-prefix echo-message"]
    client.send("CAP LIST")
    listed = await client.expect("CAP")
    assert listed.params[:2] == ["*", "LIST"]
    assert sorted(listed.params[2].split()) == ["echo-message", "multi-prefix"]


async def test_cap_req_with_an_unknown_cap_naks_the_whole_set(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP LS")
    await client.expect("CAP", "*", "LS")
    client.send("CAP REQ :multi-prefix no-such-cap")
    nak = await client.expect("CAP")
    assert nak.params == ["*", "NAK", "multi-prefix no-such-cap"]
    client.send("CAP LIST")
    listed = await client.expect("CAP")
    assert listed.params == ["*", "LIST", ""]


async def test_cap_req_minus_removes_a_cap(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP LS")
    await client.expect("CAP", "*", "LS")
    client.send("CAP REQ :multi-prefix userhost-in-names")
    await client.expect("CAP", "*", "ACK")
    client.send("CAP REQ -multi-prefix")
    ack = await client.expect("CAP")
    assert ack.params == ["*", "ACK", "-multi-prefix"]
    client.send("CAP LIST")
    listed = await client.expect("CAP")
    assert listed.params == ["*", "LIST", "userhost-in-names"]


async def test_cap_302_client_may_not_disable_cap_notify(server, clients) -> None:
    client = await fresh(server, clients)
    await cap_ls(client)
    client.send("CAP REQ :multi-prefix -cap-notify")
    nak = await client.expect("CAP")
    assert nak.params == ["*", "NAK", "multi-prefix -cap-notify"]
    client.send("CAP REQ cap-notify")  # requesting it anyway is harmless
    assert (await client.expect("CAP")).params == ["*", "ACK", "cap-notify"]
    client.send("CAP LIST")
    assert (await client.expect("CAP")).params == ["*", "LIST", "cap-notify"]


async def test_pre_302_client_may_enable_and_disable_cap_notify(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP LS")
    await client.expect("CAP", "*", "LS")
    client.send("CAP REQ cap-notify")
    assert (await client.expect("CAP")).params == ["*", "ACK", "cap-notify"]
    client.send("CAP REQ -cap-notify")
    assert (await client.expect("CAP")).params == ["*", "ACK", "-cap-notify"]
    client.send("CAP LIST")
    assert (await client.expect("CAP")).params == ["*", "LIST", ""]


@pytest.mark.parametrize("version", ["\u00b3", "abc", "-1"])
async def test_cap_ls_with_a_version_that_is_not_a_number(server, clients, version) -> None:
    client = await fresh(server, clients)
    client.send(f"CAP LS {version}")
    ls = await client.expect("CAP")
    assert ls.params[:2] == ["*", "LS"]
    client.send("CAP LIST")  # not a 302 client: cap-notify was not implied
    assert (await client.expect("CAP")).params == ["*", "LIST", ""]


async def test_cap_req_alone_also_suspends_registration(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP REQ :multi-prefix")
    client.send("NICK alice")
    client.send("USER al 0 * :Alice")
    await client.expect("CAP", "*", "ACK")
    assert "001" not in commands(await sync(client))
    client.send("CAP END")
    await client.expect("001", "alice")


async def test_invalid_cap_subcommand_is_410(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("CAP FOO")
    reply = await client.expect("410")
    assert reply.params == ["*", "FOO", "Invalid CAP command"]


async def test_an_unknown_cap_subcommand_as_the_first_line_is_irc_answered_410(server, clients) -> None:
    """A client's first line may be a CAP subcommand the server does not know (a later
    version's): IRC all the same, answered with 410, not a nickname refused in words."""
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP NOTACOMMAND")
    reply = await client.expect("410")
    assert reply.params == ["*", "NOTACOMMAND", "Invalid CAP command"]
    client.send("PING still-irc")
    await client.expect("PONG")


@pytest.mark.parametrize("line", ["CAP :", "CAP :a b"])
async def test_unrepeatable_cap_subcommand_is_410_with_star(server, clients, line) -> None:
    client = await fresh(server, clients)
    client.send(line)
    reply = await client.expect("410")
    assert reply.params == ["*", "*", "Invalid CAP command"]
    client.send("CAP LS")
    await client.expect("CAP", "*", "LS")


async def test_cap_after_registration_uses_the_nick(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("CAP LS 302")
    ls = await alice.expect("CAP")
    assert ls.params[:2] == ["alice", "LS"]
    while len(ls.params) > 3:  # continued: read to the last LS line
        ls = await alice.expect("CAP")
    alice.send("CAP REQ multi-prefix")
    ack = await alice.expect("CAP")
    assert ack.params == ["alice", "ACK", "multi-prefix"]
    alice.send("CAP END")  # nothing to end after registration: no second welcome
    assert "001" not in commands(await sync(alice))


# -- PING, PONG, QUIT ---------------------------------------------------------------------


async def test_ping_is_answered_with_pong_and_the_same_token(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("PING :LAG1234567")
    pong = await alice.expect("PONG")
    assert pong.source == SERVER
    assert pong.params == [SERVER, "LAG1234567"]
    alice.send("PING :with spaces inside")
    pong = await alice.expect("PONG")
    assert pong.params == [SERVER, "with spaces inside"]


async def test_ping_without_a_token_is_409(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("PING")
    reply = await alice.expect("409")
    assert reply.params == ["alice", "No origin specified"]


async def test_ping_is_answered_before_registration(server, clients) -> None:
    client = await fresh(server, clients)
    client.send("NICK alice")
    client.send("PING token")
    pong = await client.expect("PONG")
    assert pong.params == [SERVER, "token"]


async def test_quit_sends_error_to_the_quitter_and_quit_to_channel_peers(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    stranger = await connected(server, "carol")
    clients.extend([alice, bob, stranger])
    await alice.expect("JOIN", "#room")  # bob's
    bob.send("QUIT :gone fishing")
    error = await bob.read_message()
    assert error is not None and error.command == "ERROR"
    assert error.params == ["Closing Link: 127.0.0.1 (Quit: gone fishing)"]
    assert await bob.closed() == []
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.source == "bob!~u@127.0.0.1"
    assert quit_msg.params == ["Quit: gone fishing"]
    assert "QUIT" not in commands(await sync(stranger))
    alice.send("NAMES #room")  # the channel forgot bob, and the nick is free again
    names = await alice.expect("353")
    assert names.params[-1] == "@alice"
    clients.append(await connected(server, "bob"))


async def test_quit_without_reason(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("QUIT")
    error = await bob.expect("ERROR")
    assert error.params == ["Closing Link: 127.0.0.1 (Quit)"]
    quit_msg = await alice.expect("QUIT")
    assert quit_msg.params == ["Quit"]
