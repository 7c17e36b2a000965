"""Accounts over real sockets: NickServ, REGISTER, SASL, throttling, nick ownership."""

from __future__ import annotations

import asyncio

from scramp import ScramClient

from hubbub.runtime.workers import WorkerPool
from hubbub.server.registration import REGISTERED, Phase
from tests.e2e_accounts.support import NS, b64, ns, registered_account, sasl_plain
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, commands, connected, sync


async def test_register_logs_in_and_everyone_sees_the_account(server, clients) -> None:
    watcher = await capped(server, "watcher", "account-notify", "extended-join", "account-tag", channels=("#c",))
    alice = await connected(server, "alice", "#c")
    clients.extend([watcher, alice])
    alice.send("PRIVMSG NickServ :REGISTER correct-horse")
    logged = await alice.expect("900")
    assert logged.params[1:] == ["alice!~u@127.0.0.1", "alice", "You are now logged in as alice"]
    assert await ns_notice(alice) == "Account created"
    assert await ns_notice(alice) == "You're now logged in as alice"
    assert (await alice.expect("MODE")).params == ["alice", "+r"]  # what the login changed, after its answer
    assert (await watcher.expect("ACCOUNT")).params == ["alice"]
    alice.send("PRIVMSG #c :hi")
    assert (await watcher.expect("PRIVMSG")).tags.get("account") == "alice"
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("WHOIS alice")
    assert (await bob.expect("330")).params == ["bob", "alice", "alice", "is logged in as"]
    alice.send("PART #c")
    alice.send("JOIN #c")
    joined = await watcher.expect("JOIN")
    assert joined.params == ["#c", "alice", "Real Name"]


async def test_register_refusals_are_ergo_texts(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    assert await ns(alice, "REGISTER another pass") == "You're already logged into an account"
    bob = await connected(server, "bob")
    clients.append(bob)
    assert await ns(bob, "REGISTER bob") == "The password cannot be the account name"
    assert await ns(bob, "REGISTER hunter\x072") == (
        "That password has characters a password cannot have (control characters forbidden)"
    )
    assert await ns(bob, "FROBNICATE") == "Unknown command. To see available commands, run: /msg NickServ HELP"
    bob.send("NICK Guest12345")
    await bob.expect("NICK")
    assert await ns(bob, "REGISTER secret pw") == "Guest nicknames cannot be registered"


async def test_help_lists_each_command_once_with_its_other_names(server, clients) -> None:
    bob = await connected(server, "bob")
    clients.append(bob)
    for service in ("NickServ", "ChanServ"):
        bob.send(f"PRIVMSG {service} :HELP")
        lines = [m.params[-1] for m in await sync(bob) if m.command == "NOTICE"]
        listed = [line.split()[0] for line in lines if line.startswith("  ")]
        assert len(listed) == len(set(listed)), lines
        assert any(line.startswith("  DROP ") and line.endswith("(also UNREGISTER)") for line in lines)


async def test_identify_from_a_second_connection_with_its_own_nick(server, clients) -> None:
    alice = await registered_account(server, "alice")
    phone = await connected(server, "alice_phone")
    clients.extend([alice, phone])
    assert await ns(phone, "IDENTIFY alice wrong") == "Authentication failed: Invalid account credentials"
    assert await ns(phone, "IDENTIFY alice correct-horse".replace("correct-horse", "correct")) == (
        "Authentication failed: Invalid account credentials"
    )
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    assert (await phone.expect("900")).params[2] == "alice"
    alice.send("PRIVMSG NickServ :INFO")
    await alice.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "Logged in now as: alice, alice_phone")


async def test_failed_logins_are_throttled_and_a_persistent_guesser_is_dropped(make_server, clients) -> None:
    server = await make_server("accounts.login_failures=3", "accounts.login_window=600")
    alice = await registered_account(server, "alice")
    guesser = await connected(server, "guesser")
    clients.extend([alice, guesser])
    for _ in range(3):
        assert await ns(guesser, "IDENTIFY alice nope") == "Authentication failed: Invalid account credentials"
    refused = await ns(guesser, "IDENTIFY alice correct-horse")  # even the right one: wait first
    assert refused.startswith("Too many failed attempts; try again in")
    other = await connected(server, "other")  # same IP: the account and the address are throttled too
    clients.append(other)
    assert (await ns(other, "IDENTIFY alice correct-horse")).startswith("Too many failed attempts")
    for _ in range(3):
        guesser.send("PRIVMSG NickServ :IDENTIFY guesser whatever")
    lines = await guesser.closed()
    assert any("Too many failed login attempts" in line for line in lines)


async def test_sasl_plain_during_registration_and_its_failures(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    ok, result = await sasl_plain(server, "alice2", "alice", "correct-horse")
    clients.append(ok)
    assert result == "903"
    # +r is told once the client has a nick: after the welcome, not as `MODE *` before it
    assert not [m for m in ok.received if m.command == "MODE"]
    assert (await ok.expect("MODE")).params == ["alice2", "+r"]
    bad, result = await sasl_plain(server, "mallory", "alice", "guess")
    clients.append(bad)
    assert result == "904"
    probe = await LineClient.connect(server)
    clients.append(probe)
    probe.send("CAP REQ :sasl")
    await probe.expect("CAP")
    probe.send("AUTHENTICATE DIGEST-MD5")
    assert (await probe.expect("908")).params[1] == "PLAIN,SCRAM-SHA-256"
    await probe.expect("904")
    probe.send("AUTHENTICATE PLAIN")
    await probe.expect("AUTHENTICATE", "+")
    probe.send("AUTHENTICATE " + "A" * 401)
    await probe.expect("905")
    probe.send("AUTHENTICATE PLAIN")
    await probe.expect("AUTHENTICATE", "+")
    probe.send("AUTHENTICATE *")
    await probe.expect("906")
    probe.send("AUTHENTICATE PLAIN")
    await probe.expect("AUTHENTICATE", "+")
    probe.send("AUTHENTICATE !!notbase64")
    await probe.expect("904")
    probe.send("NICK probe")
    probe.send("USER u 0 * :U")
    probe.send("CAP END")
    await probe.expect("001")


async def test_sasl_plain_in_400_byte_pieces(server, clients) -> None:
    long_password = "p" * 600  # more than 400 bytes of base64
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send(f"PRIVMSG NickServ :REGISTER {'q' * 250}")
    await alice.expect("900")
    alice.send(f"PRIVMSG NickServ :SET PASSWORD {long_password[:290]}")
    assert (await alice.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "Password changed"))
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP REQ :sasl")
    await client.expect("CAP")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    payload = b64(f"alice\0alice\0{long_password[:290]}")
    assert len(payload) > 400
    for i in range(0, len(payload), 400):
        client.send("AUTHENTICATE " + payload[i : i + 400])
    if len(payload) % 400 == 0:
        client.send("AUTHENTICATE +")
    assert (await client.expect(lambda m: m.command in ("903", "904"))).command == "903"


async def test_sasl_scram_sha_256(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    for password, expected in (("correct-horse", "903"), ("wrong", "904")):
        client = await LineClient.connect(server)
        clients.append(client)
        client.send("CAP REQ :sasl")
        await client.expect("CAP")
        client.send("AUTHENTICATE SCRAM-SHA-256")
        await client.expect("AUTHENTICATE", "+")
        scram = ScramClient(["SCRAM-SHA-256"], "alice", password)
        client.send("AUTHENTICATE " + b64(scram.get_client_first()))
        challenge = await client.expect("AUTHENTICATE")
        scram.set_server_first(base64_text(challenge.params[0]))
        client.send("AUTHENTICATE " + b64(scram.get_client_final()))
        reply = await client.expect(lambda m: m.command in ("AUTHENTICATE", "904"))
        if expected == "904":
            assert reply.command == "904"
            continue
        scram.set_server_final(base64_text(reply.params[0]))  # the server proved it knows the keys
        client.send("AUTHENTICATE +")
        assert (await client.expect("903")).command == "903"


async def ns_notice(client: LineClient) -> str:
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1]


def base64_text(data: str) -> str:
    import base64

    return base64.b64decode(data).decode()


async def test_sasl_after_registration_switches_account(server, clients) -> None:
    await registered_account(server, "alice")
    await registered_account(server, "bob")
    client = await capped(server, "carol", "sasl")
    clients.append(client)
    user = server.state.find_user("carol")
    assert user is not None and user.conn is not None
    # registered, a connection shares the one registration nothing changes (a client less
    # to pay for); a re-authentication takes one of its own and gives it back
    assert user.conn.registration is REGISTERED
    for account in ("alice", "bob"):
        client.send("AUTHENTICATE PLAIN")
        await client.expect("AUTHENTICATE", "+")
        assert user.conn.registration is not REGISTERED
        assert user.conn.registration.phase is Phase.REAUTHENTICATING and user.conn.registered
        client.send("AUTHENTICATE " + b64(f"{account}\0{account}\0correct-horse"))
        assert (await client.expect("900")).params[2] == account
        await client.expect("903")
        assert user.conn.registration is REGISTERED and REGISTERED.phase is Phase.REGISTERED


async def test_cap_end_during_a_reauthentication_leaves_it_going(server, clients) -> None:
    """CAP END registers; once registered it has nothing to abort (it used to leave the
    connection re-authenticating for good, refusing every later AUTHENTICATE)."""
    await registered_account(server, "alice")
    client = await capped(server, "carol", "sasl")
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("CAP END")
    client.send("AUTHENTICATE " + b64("alice\0alice\0correct-horse"))
    assert (await client.expect("900")).params[2] == "alice"
    await client.expect("903")
    client.send("AUTHENTICATE PLAIN")  # and another one after it
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE *")
    await client.expect("906")


async def test_irc_register_command(server, clients) -> None:
    alice = await capped(server, "alice", "draft/account-registration")
    clients.append(alice)
    alice.send("REGISTER bob * secretpw")
    assert (await alice.expect("FAIL")).params[:2] == ["REGISTER", "ACCOUNT_NAME_MUST_BE_NICK"]
    alice.send("REGISTER * * secretpw")
    success = await alice.expect("REGISTER")
    assert success.params[:2] == ["SUCCESS", "alice"]
    alice.send("REGISTER * * again")
    assert (await alice.expect("FAIL")).params[:2] == ["REGISTER", "ALREADY_AUTHENTICATED"]
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("CAP LS 302")
    ls = await early.expect("CAP")
    assert "draft/account-registration" in ls.params[-1]
    early.send("REGISTER * * pw")
    assert (await early.expect("FAIL")).params[:2] == ["REGISTER", "COMPLETE_CONNECTION_REQUIRED"]
    early.send("VERIFY alice 1234")
    assert (await early.expect("FAIL")).params[:2] == ["VERIFY", "INVALID_CODE"]


async def test_a_registered_nick_taken_without_logging_in_is_renamed(make_server, clients) -> None:
    server = await make_server("accounts.enforce_after=0.3")
    alice = await registered_account(server, "alice")
    alice.send("QUIT")
    await alice.closed()
    intruder = await connected(server, "alice")
    clients.append(intruder)
    warning = await intruder.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert "This nickname is registered" in warning.params[-1]
    renamed = await intruder.expect("NICK")
    assert renamed.params[0].startswith("Guest")
    explained = await intruder.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert "the nickname alice is registered" in explained.params[-1]
    owner = await connected(server, "owner")
    clients.append(owner)
    owner.send("NICK alice")
    await owner.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    owner.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    await owner.expect("900")
    assert "NICK" not in commands(await sync(owner))  # logged in in time: keeps it


async def test_enforce_none_leaves_a_registered_nick_to_whoever_takes_it(make_server, clients) -> None:
    # Nick ownership off: no warning, no rename, however long the intruder stays.
    server = await make_server("accounts.enforce=none", "accounts.enforce_after=0.1")
    alice = await registered_account(server, "alice")
    alice.send("QUIT")
    await alice.closed()
    intruder = await connected(server, "alice")
    clients.append(intruder)
    await asyncio.sleep(0.4)  # four times the grace it would have had: absence is all there is to wait for
    got = await sync(intruder)
    assert "NICK" not in commands(got) and not [m for m in got if m.source == NS], got
    intruder.send("WHOIS alice")
    assert (await intruder.expect("311")).params[1] == "alice"


async def test_refuse_mode_answers_433_to_a_registered_nick(make_server, clients) -> None:
    server = await make_server("accounts.enforce=refuse")
    alice = await registered_account(server, "alice")
    alice.send("QUIT")
    await alice.closed()
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("NICK alice")
    refused = await bob.expect("433")
    assert refused.params[1:] == ["alice", "Nickname is reserved by a different account"]


async def test_refuse_mode_lets_a_sasl_client_that_sent_nick_first_keep_its_nick(make_server, clients) -> None:
    """Clients send CAP LS, NICK and USER at once, and log in with SASL after: the nick is
    judged when registration completes, once the login had its chance."""
    server = await make_server("accounts.enforce=refuse")
    alice = await registered_account(server, "alice")
    alice.send("QUIT")
    await alice.closed()
    for password, works in (("correct-horse", True), ("wrong", False)):
        client = await LineClient.connect(server)
        clients.append(client)
        client.send("CAP LS 302")
        client.send("NICK alice")
        client.send("USER u 0 * :U")
        client.send("CAP REQ :sasl")
        client.send("AUTHENTICATE PLAIN")
        await client.expect("AUTHENTICATE", "+")
        client.send(f"AUTHENTICATE {b64(chr(0).join(('alice', 'alice', password)))}")
        await client.expect("903" if works else "904")
        client.send("CAP END")
        if works:
            assert (await client.expect("001")).params[0] == "alice"
            client.send("QUIT")
            await client.closed()
            continue
        refused = await client.expect("433")
        assert refused.params[1:] == ["alice", "Nickname is reserved by a different account"]
        assert "001" not in commands(await sync(client))
        client.send("NICK alice_")
        assert (await client.expect("001")).params[0] == "alice_"


async def test_ghost_drop_password_and_certs(server, clients) -> None:
    alice = await registered_account(server, "alice")
    stale = await connected(server, "stale")
    clients.extend([alice, stale])
    stale.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await stale.expect("900")
    assert await ns_notice(stale) == "You're now logged in as alice"
    assert await ns(alice, "GHOST stale") == "stale has been ghosted"
    assert any("GHOSTed by alice" in line for line in await stale.closed())
    assert await ns(alice, "SET PASSWORD battery-staple") == "Password changed"
    fp = "ab" * 32
    assert await ns(alice, f"CERT ADD {fp}") == "Certificate fingerprint successfully added"
    assert await ns(alice, "CERT LIST") == "There are 1 certificate fingerprint(s) authorized for account alice."
    assert await ns_notice(alice) == f"1: {fp}"
    assert await ns(alice, f"CERT DEL {fp}") == "Certificate fingerprint successfully removed"
    assert await ns(alice, "CERT ADD nothex") == "Invalid certificate fingerprint"
    warning = await ns(alice, "DROP")
    assert warning.startswith("Warning: dropping alice")
    confirm = (await alice.expect("NOTICE")).params[-1]
    code = confirm.split()[-1]
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    assert await ns(alice, f"DROP alice {wrong}") == f"{wrong} is not the code that confirms it."
    assert (await alice.expect("NOTICE")).params[-1].startswith("Warning: dropping alice")
    assert (await alice.expect("NOTICE")).params[-1] == confirm
    assert await ns(alice, f"DROP bob {code}") == "You can drop only the account you're logged into, alice."
    assert (await alice.expect("NOTICE")).params[-1].startswith("Warning: dropping alice")
    assert (await alice.expect("NOTICE")).params[-1] == confirm
    alice.send(f"PRIVMSG NickServ :DROP alice {code}")
    await alice.expect("901")
    assert await ns_notice(alice) == "Successfully unregistered account alice"
    bob = await connected(server, "bob")
    clients.append(bob)
    assert await ns(bob, "IDENTIFY alice battery-staple") == "Authentication failed: Invalid account credentials"


async def test_account_extban_keeps_an_account_out(server, clients) -> None:
    op = await connected(server, "op", "#c")
    spammer = await registered_account(server, "spammer")
    clients.extend([op, spammer])
    op.send("MODE #c +b a:spam*")
    await op.expect("MODE")
    spammer.send("JOIN #c")
    assert (await spammer.expect("474")).params[1] == "#c"


async def test_accounts_survive_a_restart(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice")
    await alice.close()
    await server.stop()
    again = await stored()
    client, result = await sasl_plain(again, "alice", "alice", "correct-horse")
    clients.append(client)
    assert result == "903"


async def test_irc_register_while_the_hashing_queue_is_full_says_try_later(server, clients) -> None:
    alice = await capped(server, "alice", "draft/account-registration")
    clients.append(alice)
    server.workers.stop()
    server.workers = WorkerPool(1, max_pending=0)  # every password hashing is refused: the server is busy
    alice.send("REGISTER * * secretpw")
    fail = await alice.expect("FAIL")
    assert fail.params[:3] == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "alice"]
    alice.send("PRIVMSG NickServ :INFO alice")
    assert (await alice.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1] == (
        "Account does not exist"
    )
