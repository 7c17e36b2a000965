"""Black-box audit of SASL (IRCv3 sasl 3.1 / 3.2, numerics 900-908) and of
draft/account-registration (REGISTER / VERIFY), over real sockets, against the specs
and docs/accounts.md.

Specs read: ircv3-specifications extensions/sasl-3.1.md, extensions/sasl-3.2.md,
extensions/account-registration.md, core/capability-negotiation.md; modern-irc numerics.
"""

from __future__ import annotations

import base64
import re

from scramp import ScramClient

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import b64
from tests.helpers import LineClient, cap_ls, connected, sync

PASSWORD = "correct-horse"
MECHS = "PLAIN,SCRAM-SHA-256"
FINISHED = ("903", "904", "905", "906", "907")  # how an exchange ends, whatever the way
THROTTLED = re.compile(r"Too many failed attempts; try again in \d+ seconds")


# -- helpers ---------------------------------------------------------------------------------


async def account(server: Runtime, clients: list[LineClient], nick: str, password: str = PASSWORD) -> LineClient:
    """A registered connection that registered `nick` as an account (draft REGISTER), logged in."""
    client = await connected(server, nick)
    clients.append(client)
    client.send(f"REGISTER * * :{password}")
    done = await client.expect(lambda m: m.command in ("REGISTER", "FAIL"))
    assert done.params[:2] == ["SUCCESS", nick], done
    return client


async def negotiating(
    server: Runtime, clients: list[LineClient], nick: str | None = None, *, ls: bool = True
) -> LineClient:
    """A connection inside CAP negotiation with `sasl` acknowledged (NICK and USER sent when `nick`)."""
    client = await LineClient.connect(server)
    clients.append(client)
    if ls:
        await cap_ls(client)
    client.send("CAP REQ :sasl")
    ack = await client.expect("CAP")
    assert ack.params[1:] == ["ACK", "sasl"], ack
    if nick:
        client.send(f"NICK {nick}")
        client.send("USER u 0 * :U")
        client.nick = nick
    return client


def send_response(client: LineClient, payload: str) -> None:
    """A base64 response in 400-byte AUTHENTICATE pieces, `+` after a last full one (sasl 3.1)."""
    for i in range(0, len(payload), 400):
        client.send("AUTHENTICATE " + payload[i : i + 400])
    if len(payload) % 400 == 0:
        client.send("AUTHENTICATE +")


async def start(client: LineClient, mechanism: str) -> None:
    client.send(f"AUTHENTICATE {mechanism}")
    await client.expect("AUTHENTICATE", "+")


async def finished(client: LineClient) -> Message:
    return await client.expect(lambda m: m.command in FINISHED)


async def plain(client: LineClient, authcid: str, password: str, authzid: str = "") -> Message:
    """AUTHENTICATE PLAIN with these credentials; the numeric that ends the exchange."""
    await start(client, "PLAIN")
    send_response(client, b64(f"{authzid}\0{authcid}\0{password}"))
    return await finished(client)


async def plain_raw(client: LineClient, response: str) -> Message:
    await start(client, "PLAIN")
    client.send(f"AUTHENTICATE {response}")
    return await finished(client)


def unb64(text: str) -> str:
    return base64.b64decode(text).decode()


async def scram_first(client: LineClient, name: str, password: str) -> tuple[ScramClient, str]:
    """Start SCRAM-SHA-256 with scramp as the client: (the client, the server-first message)."""
    await start(client, "SCRAM-SHA-256")
    scram = ScramClient(["SCRAM-SHA-256"], name, password)
    client.send("AUTHENTICATE " + b64(scram.get_client_first()))
    challenge = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in FINISHED)
    assert challenge.command == "AUTHENTICATE", challenge
    server_first = unb64(challenge.params[0])
    scram.set_server_first(server_first)
    return scram, server_first


async def scram_login(client: LineClient, name: str, password: str) -> Message:
    """A whole SCRAM-SHA-256 exchange; the numeric that ends it (the server's signature checked)."""
    scram, _ = await scram_first(client, name, password)
    client.send("AUTHENTICATE " + b64(scram.get_client_final()))
    reply = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in FINISHED)
    if reply.command != "AUTHENTICATE":
        return reply
    scram.set_server_final(unb64(reply.params[0]))  # raises unless the server proved it knows the keys
    client.send("AUTHENTICATE +")
    return await finished(client)


def salt_of(server_first: str) -> bytes:
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    return base64.b64decode(fields["s"])


async def whois_account(client: LineClient) -> str | None:
    """The account WHOIS shows for the client itself (330), or None."""
    client.send(f"WHOIS {client.nick}")
    lines = await client.collect_until("318")
    found = [m.params[2] for m in lines if m.command == "330"]
    return found[0] if found else None


async def usable(client: LineClient) -> None:
    """The connection still answers (PING/PONG): nothing else pending on it."""
    assert [m for m in await sync(client) if m.command in FINISHED] == []


# -- advertisement ---------------------------------------------------------------------------


async def test_cap_ls_values_name_the_mechanisms_and_no_before_connect(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    _, offered = await cap_ls(client, "302")
    assert offered["sasl"] == MECHS
    assert offered["draft/account-registration"] == ""  # no before-connect, no custom-account-name
    _, bare = await cap_ls(client, "")  # CAP LS without 302: no values
    assert "sasl" in bare and bare["sasl"] == ""


async def test_registration_disabled_withdraws_the_capability_and_refuses_register(make_server, clients) -> None:
    server = await make_server("accounts.registration=false")
    client = await LineClient.connect(server)
    clients.append(client)
    _, offered = await cap_ls(client)
    assert "draft/account-registration" not in offered
    client.send("CAP END")
    await client.register("dora")
    client.send("REGISTER * * hunter2")
    fail = await client.expect("FAIL")
    assert fail.params[:3] == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "dora"]


# -- the AUTHENTICATE command ----------------------------------------------------------------


async def test_authenticate_without_the_sasl_capability_is_904_and_registration_goes_on(server, clients) -> None:
    await account(server, clients, "alice")
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("NICK late")
    client.send("AUTHENTICATE PLAIN")  # no CAP at all
    refused = await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))
    assert refused.command == "904"
    await cap_ls(client)  # negotiating, sasl listed but not requested: still refused
    client.send("AUTHENTICATE PLAIN")
    assert (await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))).command == "904"
    client.send("CAP REQ :sasl")
    await client.expect("CAP", "late", "ACK")
    assert (await plain(client, "alice", PASSWORD)).command == "903"
    client.send("USER u 0 * :U")
    client.send("CAP END")
    await client.expect("001")


async def test_unknown_mechanism_is_908_then_904_and_another_may_be_tried(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    client.send("AUTHENTICATE DIGEST-MD5")
    mechs = await client.expect(lambda m: m.command in ("908", "904", "AUTHENTICATE"))
    assert mechs.command == "908"
    assert mechs.params[:2] == ["al", MECHS]
    assert (await client.expect(lambda m: m.command in FINISHED)).command == "904"
    client.send("AUTHENTICATE EXTERNAL")  # offered only with a client certificate
    assert (await client.expect(lambda m: m.command in ("908", "AUTHENTICATE"))).command == "908"
    assert (await finished(client)).command == "904"
    assert (await plain(client, "alice", PASSWORD)).command == "903"


async def test_abort_with_star_is_906_and_a_new_exchange_starts_clean(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    client.send("AUTHENTICATE *")
    aborted = await finished(client)
    assert aborted.command == "906" and aborted.params[0] == "al"
    # aborted after a full 400-byte piece: the piece is forgotten with the exchange
    await start(client, "PLAIN")
    client.send("AUTHENTICATE " + "A" * 400)
    client.send("AUTHENTICATE *")
    assert (await finished(client)).command == "906"
    assert (await plain(client, "alice", PASSWORD)).command == "903"
    client.send("CAP END")
    await client.expect("001")


async def test_a_piece_over_400_bytes_is_905_and_the_client_may_retry(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    client.send("AUTHENTICATE " + "A" * 401)
    assert (await finished(client)).command == "905"
    await usable(client)
    assert (await plain(client, "alice", PASSWORD)).command == "903"


async def test_an_over_long_line_is_417_and_the_exchange_still_answers(server, clients) -> None:
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    client.send("AUTHENTICATE " + "A" * 1000)  # past the 512-byte line: not read as a piece
    assert (await client.expect(lambda m: m.command == "417" or m.command in FINISHED)).command == "417"
    client.send("AUTHENTICATE *")
    assert (await finished(client)).command == "906"


async def test_a_response_of_exactly_400_bytes_waits_for_the_trailing_plus(server, clients) -> None:
    password = "p" * 293  # \0alice\0 + 293 bytes = 300 bytes = 400 bytes of base64
    await account(server, clients, "alice", password)
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    payload = b64(f"\0alice\0{password}")
    assert len(payload) == 400
    client.send("AUTHENTICATE " + payload)
    assert [m.command for m in await sync(client)] == []  # nothing yet: more may follow
    client.send("AUTHENTICATE +")
    logged = await client.expect(lambda m: m.command == "900" or m.command in FINISHED)
    assert logged.params[:3] == ["al", "al!*@*", "alice"]
    assert (await finished(client)).command == "903"


async def test_the_response_limit_is_8192_bytes_and_passing_it_fails_at_once(server, clients) -> None:
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    send_response(client, "A" * 8192)  # at the limit: read, then refused for what it says
    at_limit = await finished(client)
    assert at_limit.command == "904" and "too long" not in at_limit.params[-1]
    await start(client, "PLAIN")
    for _ in range(21):  # 8400 bytes: refused on the piece that passes the limit, not later
        client.send("AUTHENTICATE " + "A" * 400)
    client.send("PING over")
    over = await client.expect(lambda m: m.command in FINISHED or m.command == "PONG")
    assert over.command in ("904", "905") and "too long" in over.params[-1]
    await client.expect("PONG")
    await start(client, "PLAIN")  # usable: a new exchange starts
    client.send("AUTHENTICATE *")
    assert (await finished(client)).command == "906"


async def test_plain_with_an_authzid_other_than_the_authcid_fails(server, clients) -> None:
    await account(server, clients, "alice")
    await account(server, clients, "bob")
    client = await negotiating(server, clients, "al")
    assert (await plain(client, "alice", PASSWORD, authzid="bob")).command == "904"
    assert (await plain(client, "alice", PASSWORD, authzid="alice")).command == "903"


async def test_malformed_plain_responses_are_904_and_leave_the_connection_usable(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    for response in (
        b64("alice-hunter2-no-nul"),  # no NUL at all
        b64("alice\0" + PASSWORD),  # one NUL: two fields
        b64(b"\0alice\0\xff\xfe" + PASSWORD.encode()),  # not UTF-8
        b64(f"\0alice\0{PASSWORD}\0extra"),  # four fields
        b64(f"\0\0{PASSWORD}"),  # no authcid
        "!!not*base64",
        b64(f"\0alice\0{PASSWORD}").rstrip("="),  # base64 without its padding
        "+",  # empty
    ):
        reply = await plain_raw(client, response)
        assert reply.command == "904", (response, reply)
        await usable(client)
    assert (await plain(client, "alice", PASSWORD)).command == "903"


# -- 900 / 901 / 903 and registration --------------------------------------------------------


async def test_900_and_903_during_registration_and_the_wait_for_cap_end(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    send_response(client, b64(f"\0alice\0{PASSWORD}"))
    logged = await client.expect("900")
    assert logged.params == ["al", "al!*@*", "alice", "You are now logged in as alice"]
    assert (await finished(client)).params == ["al", "SASL authentication successful"]
    # NICK and USER are in, the exchange is over: registration still waits for CAP END
    assert "001" not in [m.command for m in await sync(client)]
    client.send("CAP END")
    await client.expect("001")
    assert (await client.expect("MODE")).params == ["al", "+r"]
    assert await whois_account(client) == "alice"


async def test_900_before_nick_names_nobody(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients)
    await start(client, "PLAIN")
    send_response(client, b64(f"\0alice\0{PASSWORD}"))
    assert (await client.expect("900")).params[:3] == ["*", "*!*@*", "alice"]
    assert (await finished(client)).command == "903"


async def test_cap_end_during_an_exchange_is_906_and_registers_without_an_account(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    client.send("CAP END")
    assert (await client.expect(lambda m: m.command in FINISHED or m.command == "001")).command == "906"
    await client.expect("001")
    await client.expect(lambda m: m.command in ("376", "422"))
    assert await whois_account(client) is None
    # the late response is no exchange's: not a login
    client.send("AUTHENTICATE " + b64(f"\0alice\0{PASSWORD}"))
    assert (await finished(client)).command == "904"
    assert await whois_account(client) is None


async def test_authenticating_again_after_903_switches_account_without_907(server, clients) -> None:
    await account(server, clients, "alice")
    await account(server, clients, "bob")
    client = await negotiating(server, clients, "carol")
    assert (await plain(client, "alice", PASSWORD)).command == "903"
    # during registration: again, to another account (sasl 3.2; docs: no 907)
    await start(client, "PLAIN")
    send_response(client, b64(f"\0bob\0{PASSWORD}"))
    assert (await client.expect("900")).params[:3] == ["carol", "carol!*@*", "bob"]
    assert (await finished(client)).command == "903"
    client.send("CAP END")
    await client.expect("001")
    await client.expect(lambda m: m.command in ("376", "422"))
    assert await whois_account(client) == "bob"
    # registered: again, with the whole mask in 900
    await start(client, "PLAIN")
    send_response(client, b64(f"\0alice\0{PASSWORD}"))
    assert (await client.expect("900")).params[:3] == ["carol", "carol!~u@127.0.0.1", "alice"]
    assert (await finished(client)).command == "903"
    assert await whois_account(client) == "alice"
    # a failed re-authentication leaves the account as it was
    assert (await plain(client, "bob", "wrong")).command == "904"
    assert await whois_account(client) == "alice"


async def test_logout_is_901_with_the_whole_mask(server, clients) -> None:
    client = await account(server, clients, "alice")
    client.send("PRIVMSG NickServ :LOGOUT")
    out = await client.expect("901")
    assert out.params == ["alice", "alice!~u@127.0.0.1", "You are now logged out"]


async def test_an_exchange_left_open_is_cut_by_the_registration_timeout(make_server, clients) -> None:
    server = await make_server("limits.registration_timeout=1")
    client = await negotiating(server, clients, "al")
    await start(client, "PLAIN")
    lines = await client.closed(timeout=15)
    assert any(line.startswith("ERROR") and "Registration timed out" in line for line in lines), lines


# -- SCRAM-SHA-256 ---------------------------------------------------------------------------


async def test_scram_sha_256_full_exchange_with_scramp(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    scram, server_first = await scram_first(client, "alice", PASSWORD)
    assert ",i=4096" in server_first
    client.send("AUTHENTICATE " + b64(scram.get_client_final()))
    final = await client.expect("AUTHENTICATE")
    scram.set_server_final(unb64(final.params[0]))  # the server's signature is right
    assert [m.command for m in await sync(client)] == []  # 903 waits for the client's empty response
    client.send("AUTHENTICATE +")
    assert (await client.expect("900")).params[:3] == ["al", "al!*@*", "alice"]
    assert (await finished(client)).command == "903"
    client.send("CAP END")
    await client.expect("001")
    assert await whois_account(client) == "alice"


async def test_scram_wrong_proof_bad_nonce_and_garbage_are_904_and_leave_it_usable(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    assert (await scram_login(client, "alice", "wrong")).command == "904"  # wrong proof
    scram, _ = await scram_first(client, "alice", PASSWORD)
    final = scram.get_client_final()
    nonce = re.search(r"r=([^,]+)", final).group(1)  # type: ignore[union-attr]
    client.send("AUTHENTICATE " + b64(final.replace(nonce, nonce[:-4] + "AAAA")))  # another nonce
    assert (await finished(client)).command == "904"
    await scram_first(client, "alice", PASSWORD)
    client.send("AUTHENTICATE " + b64("this is no SCRAM message"))  # garbage final message
    assert (await finished(client)).command == "904"
    await start(client, "SCRAM-SHA-256")
    client.send("AUTHENTICATE " + b64("garbage first"))  # garbage first message
    assert (await finished(client)).command == "904"
    await start(client, "SCRAM-SHA-256")
    client.send("AUTHENTICATE " + b64("p=tls-unique,,n=alice,r=abcdef"))  # channel binding: not offered
    assert (await finished(client)).command == "904"
    await usable(client)
    assert (await scram_login(client, "alice", PASSWORD)).command == "903"


async def test_scram_with_an_unknown_account_fails_at_the_proof(server, clients) -> None:
    client = await negotiating(server, clients, "al")
    scram, server_first = await scram_first(client, "nobody", PASSWORD)  # a challenge all the same
    assert ",i=4096" in server_first
    client.send("AUTHENTICATE " + b64(scram.get_client_final()))
    assert (await finished(client)).command == "904"


async def test_scram_salt_does_not_tell_whether_an_account_exists(server, clients) -> None:
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    salts = {}
    for name in ("alice", "ghost1", "ghost2", "ghost1"):
        _, server_first = await scram_first(client, name, "x")
        salts.setdefault(name, set()).add(salt_of(server_first))
        client.send("AUTHENTICATE *")
        await finished(client)
    assert len(salts["ghost1"]) == 1  # asked twice, the same salt: as a real account's
    assert len(salts["ghost1"] | salts["ghost2"]) == 2  # two accounts, two salts
    assert {len(s) for names in salts.values() for s in names} == {len(next(iter(salts["alice"])))}


async def test_scram_to_an_unknown_account_fails_like_a_wrong_password_whatever_the_password(
    make_server, clients
) -> None:
    server = await make_server(
        "accounts.login_failures=2", "accounts.login_failures_per_address=2", "accounts.login_window=600"
    )
    await account(server, clients, "alice")
    wrong = await negotiating(server, clients, "w1")
    expected = await scram_login(wrong, "alice", "wrong")  # the address's first failure
    assert expected.command == "904"
    client = await negotiating(server, clients, "w2")
    first = await scram_login(client, "ghost", "decoy password")  # what the decoy keys were made of
    assert first.params[-1] == expected.params[-1]
    # counted like any failure (the address's second): the next attempt is refused unchecked
    refused = await plain(client, "ghost", "x")
    assert THROTTLED.fullmatch(refused.params[-1]), refused


# -- throttling --------------------------------------------------------------------------------


async def test_failed_logins_are_refused_with_904_and_why_then_disconnected(make_server, clients) -> None:
    server = await make_server("accounts.login_failures=2", "accounts.login_window=600")
    await account(server, clients, "alice")
    client = await negotiating(server, clients, "al")
    for _ in range(2):
        failed = await plain(client, "alice", "wrong")
        assert failed.params == ["al", "SASL authentication failed: invalid account credentials"]
    refused = await plain(client, "alice", PASSWORD)  # the right one too: not checked
    assert refused.command == "904" and THROTTLED.fullmatch(refused.params[-1]), refused
    # SCRAM from another connection: refused at its first message (the account and address count)
    other = await negotiating(server, clients, "al2")
    await start(other, "SCRAM-SHA-256")
    other.send("AUTHENTICATE " + b64(ScramClient(["SCRAM-SHA-256"], "alice", PASSWORD).get_client_first()))
    refused = await other.expect(lambda m: m.command == "AUTHENTICATE" or m.command in FINISHED)
    assert refused.command == "904" and THROTTLED.fullmatch(refused.params[-1]), refused
    # going on while refused: disconnected at twice the failures allowed, with the reason
    await start(client, "PLAIN")
    send_response(client, b64(f"\0alice\0{PASSWORD}"))
    lines = await client.closed()
    assert any(line.startswith("ERROR") and "Too many failed login attempts" in line for line in lines), lines


# -- draft/account-registration --------------------------------------------------------------


async def test_register_before_the_connection_is_registered_is_complete_connection_required(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    await cap_ls(client)
    client.send("REGISTER * * hunter2")  # before NICK (no before-connect: not NEED_NICK)
    fail = await client.expect("FAIL")
    assert fail.params[:2] == ["REGISTER", "COMPLETE_CONNECTION_REQUIRED"] and len(fail.params) == 3
    client.send("NICK erin")
    client.send("USER u 0 * :U")
    client.send("REGISTER * * hunter2")
    fail = await client.expect("FAIL")
    assert fail.params[:2] == ["REGISTER", "COMPLETE_CONNECTION_REQUIRED"] and len(fail.params) == 3
    client.send("CAP END")
    await client.expect("001")
    client.send("REGISTER * * hunter2")  # the second attempt, after the welcome (the spec's SHOULD)
    assert (await client.expect("900")).params[:3] == ["erin", "erin!~u@127.0.0.1", "erin"]
    assert (await client.expect("REGISTER")).params[:2] == ["SUCCESS", "erin"]


async def test_register_star_is_the_nick_and_logs_in_for_plain_and_scram(server, clients) -> None:
    client = await connected(server, "frank")
    clients.append(client)
    client.send("REGISTER * * :two words")
    assert (await client.expect("900")).params[:3] == ["frank", "frank!~u@127.0.0.1", "frank"]
    success = await client.expect("REGISTER")
    assert success.params[:2] == ["SUCCESS", "frank"] and len(success.params) == 3
    assert (await client.expect("MODE")).params == ["frank", "+r"]
    assert await whois_account(client) == "frank"
    client.send("REGISTER * * another")
    fail = await client.expect("FAIL")
    assert fail.params[:3] == ["REGISTER", "ALREADY_AUTHENTICATED", "frank"]
    await usable(client)
    again = await negotiating(server, clients, "f2")
    assert (await plain(again, "frank", "two words")).command == "903"
    assert (await scram_login(again, "FRANK", "two words")).command == "903"


async def test_register_refusals_use_the_spec_codes_and_leave_the_connection_usable(server, clients) -> None:
    bob = await account(server, clients, "bob")
    bob.send("QUIT")
    await bob.closed()  # its nick free to take
    client = await connected(server, "carol")
    clients.append(client)

    async def refused(line: str) -> list[str]:
        client.send(line)
        fail = await client.expect(lambda m: m.command in ("FAIL", "REGISTER", "461"))
        await usable(client)
        return fail.params[:-1] if fail.command == "FAIL" else [fail.command]

    assert await refused("REGISTER dave * hunter2") == ["REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", "dave"]
    assert await refused("REGISTER bad,name * hunter2") == ["REGISTER", "BAD_ACCOUNT_NAME", "bad,name"]
    assert await refused("REGISTER #chan * hunter2") == ["REGISTER", "BAD_ACCOUNT_NAME", "#chan"]
    assert await refused("REGISTER * * carol") == ["REGISTER", "UNACCEPTABLE_PASSWORD", "carol"]
    assert await refused("REGISTER * * CAROL") == ["REGISTER", "UNACCEPTABLE_PASSWORD", "carol"]
    assert await refused("REGISTER * * :") == ["REGISTER", "UNACCEPTABLE_PASSWORD", "carol"]
    assert await refused("REGISTER * * " + "x" * 301) == ["REGISTER", "UNACCEPTABLE_PASSWORD", "carol"]
    # what SASLprep refuses (SCRAM's keys are of its output): answered, not an internal error
    assert await refused("REGISTER * * :hunter\x1f2") == ["REGISTER", "UNACCEPTABLE_PASSWORD", "carol"]
    assert await refused("REGISTER * * \u0627\u0031") == ["REGISTER", "UNACCEPTABLE_PASSWORD", "carol"]
    assert await refused("REGISTER * hunter2") == ["461"]
    client.send("NICK bob")  # a registered nick may be used for a while (enforce = rename)
    await client.expect("NICK")
    client.nick = "bob"
    assert await refused("REGISTER * * hunter2") == ["REGISTER", "ACCOUNT_EXISTS", "bob"]
    assert await refused("REGISTER BOB * hunter2") == ["REGISTER", "ACCOUNT_EXISTS", "BOB"]
    client.send("NICK Guest12345")
    await client.expect("NICK")
    client.nick = "Guest12345"
    assert await refused("REGISTER * * hunter2") == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "Guest12345"]
    client.send("VERIFY Guest12345 123456")
    assert (await client.expect("FAIL")).params[:3] == ["VERIFY", "INVALID_CODE", "Guest12345"]
    client.send("NICK carol")
    await client.expect("NICK")
    client.nick = "carol"
    client.send("REGISTER carol carol@example.org hunter2")  # all that, and it still registers
    assert (await client.expect("REGISTER")).params[:2] == ["SUCCESS", "carol"]


async def test_register_refuses_an_email_that_is_no_address(server, clients) -> None:
    client = await connected(server, "gina")
    clients.append(client)
    client.send("REGISTER * notanaddress hunter2")
    reply = await client.expect(lambda m: m.command in ("FAIL", "REGISTER"))
    assert reply.params[:3] == ["REGISTER", "INVALID_EMAIL", "gina"], reply


async def test_the_registration_limit_is_temporarily_unavailable_with_the_wait(make_server, clients) -> None:
    server = await make_server("accounts.register_limit=1")
    await account(server, clients, "hana")
    client = await connected(server, "ivan")
    clients.append(client)
    client.send("REGISTER * * hunter2")
    fail = await client.expect("FAIL")
    assert fail.params[:3] == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "ivan"]
    assert re.fullmatch(r"Too many accounts registered from your address; try again in \d+ seconds", fail.params[3])
    await usable(client)


async def test_an_account_registered_with_register_logs_in_with_scram_after_a_restart(stored, clients) -> None:
    server = await stored()
    first = await connected(server, "jill")
    first.send("REGISTER * jill@example.org hunter2")
    assert (await first.expect("REGISTER")).params[:2] == ["SUCCESS", "jill"]
    await first.close()
    await server.stop()
    again = await stored()
    client = await negotiating(again, clients, "jill")
    assert (await scram_login(client, "jill", "hunter2")).command == "903"
    client.send("CAP END")
    await client.expect("001")


async def test_an_unknown_name_s_scram_salt_stays_the_same_after_a_restart(stored, clients) -> None:
    """As a real account's: the made-up keys derive from the store's secret (schema 5),
    not from the process, so a restart does not tell which names are accounts."""
    salts = []
    for _ in range(2):
        server = await stored()
        client = await negotiating(server, clients, "probe")
        _, server_first = await scram_first(client, "ghost", "whatever")
        salts.append(salt_of(server_first))
        await client.close()
        await server.stop()
    assert salts[0] == salts[1] and len(salts[0]) == 32
