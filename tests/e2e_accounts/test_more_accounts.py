"""Accounts audited over real sockets: SCRAM failures and aborts, exact SASL piece sizes,
re-authentication after registration, GHOST and DROP with several connections on one
account, nick enforcement races, ChanServ edge cases, the a: extban, +R/+M, and the
privacy of private message history between accounts."""

from __future__ import annotations

import asyncio
import base64

from scramp import ScramClient

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import NS, b64, ns, registered_account
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, commands, connected, sync

CS = "ChanServ!ChanServ@services"
INVALID = "Authentication failed: Invalid account credentials"
THROTTLED = "Too many failed attempts; try again in"
ENDS = ("903", "904", "905", "906", "907")


def unb64(data: str) -> str:
    return base64.b64decode(data).decode()


async def cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def ns_notice(client: LineClient) -> str:
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1]


async def sasl_client(runtime: Runtime) -> LineClient:
    """Connected, `sasl` acknowledged, not registered yet."""
    client = await LineClient.connect(runtime)
    client.send("CAP REQ :sasl")
    await client.expect("CAP")
    return client


async def scram(client: LineClient, account: str, password: str) -> Message:
    """A whole SCRAM-SHA-256 exchange; the numeric that ends it (903 or 904...)."""
    client.send("AUTHENTICATE SCRAM-SHA-256")
    await client.expect("AUTHENTICATE", "+")
    exchange = ScramClient(["SCRAM-SHA-256"], account, password)
    client.send("AUTHENTICATE " + b64(exchange.get_client_first()))
    challenge = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in ENDS)
    if challenge.command != "AUTHENTICATE":  # refused before the challenge (the throttle)
        return challenge
    exchange.set_server_first(unb64(challenge.params[0]))
    client.send("AUTHENTICATE " + b64(exchange.get_client_final()))
    reply = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in ENDS)
    if reply.command != "AUTHENTICATE":
        return reply
    exchange.set_server_final(unb64(reply.params[0]))
    client.send("AUTHENTICATE +")
    return await client.expect(lambda m: m.command in ENDS)


async def plain(client: LineClient, account: str, password: str) -> Message:
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64(f"{account}\0{account}\0{password}"))
    return await client.expect(lambda m: m.command in ENDS)


async def finish(client: LineClient, nick: str) -> None:
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    client.send("CAP END")
    await client.expect("001")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick


async def quit_(client: LineClient) -> None:
    client.send("QUIT")
    await client.closed()


async def drop(client: LineClient, account: str) -> None:
    client.send("PRIVMSG NickServ :DROP")
    code = (await client.expect(lambda m: m.command == "NOTICE" and "To confirm" in m.params[-1])).params[-1]
    client.send(f"PRIVMSG NickServ :DROP {account} {code.split()[-1]}")


async def whois_account(asker: LineClient, nick: str) -> str | None:
    asker.send(f"WHOIS {nick}")
    got = await asker.collect_until("318")
    found = [m.params[2] for m in got if m.command == "330"]
    return found[0] if found else None


# -- SASL ---------------------------------------------------------------------------------------


async def test_scram_wrong_proofs_count_as_failed_logins_and_throttle(make_server, clients) -> None:
    server = await make_server("accounts.login_failures=2", "accounts.login_window=600")
    alice = await registered_account(server, "alice")
    clients.append(alice)
    for _ in range(2):
        client = await sasl_client(server)
        clients.append(client)
        failed = await scram(client, "alice", "wrong")
        assert failed.command == "904" and "invalid account credentials" in failed.params[-1]
    client = await sasl_client(server)
    clients.append(client)
    refused = await scram(client, "alice", "correct-horse")  # the right one, refused: throttled
    assert refused.command == "904" and THROTTLED in refused.params[-1]


async def test_scram_of_an_unknown_account_fails_at_the_proof_like_a_wrong_password(server, clients) -> None:
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE SCRAM-SHA-256")
    await client.expect("AUTHENTICATE", "+")
    exchange = ScramClient(["SCRAM-SHA-256"], "nobody", "whatever")
    client.send("AUTHENTICATE " + b64(exchange.get_client_first()))
    challenge = await client.expect("AUTHENTICATE")
    assert unb64(challenge.params[0]).startswith("r=")  # a challenge all the same
    exchange.set_server_first(unb64(challenge.params[0]))
    client.send("AUTHENTICATE " + b64(exchange.get_client_final()))
    assert (await client.expect(lambda m: m.command in ENDS)).command == "904"
    assert (await plain(client, "nobody", "whatever")).command == "904"  # and the connection is still usable
    await finish(client, "nobody")


async def test_scram_uses_the_new_password_after_set_password(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    assert await ns(alice, "SET PASSWORD battery-staple") == "Password changed"
    old = await sasl_client(server)
    new = await sasl_client(server)
    clients.extend([old, new])
    assert (await scram(old, "alice", "correct-horse")).command == "904"
    assert (await scram(new, "alice", "battery-staple")).command == "903"
    assert (await plain(old, "alice", "battery-staple")).command == "903"
    await finish(new, "alice2")
    assert (await new.expect("MODE")).params == ["alice2", "+r"]


async def test_scram_with_the_account_name_in_another_case(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    client = await sasl_client(server)
    clients.append(client)
    assert (await scram(client, "ALICE", "correct-horse")).command == "903"
    logged = [m for m in client.received if m.command == "900"]
    assert logged[-1].params[2] == "alice"  # the account's own spelling


async def test_an_aborted_scram_exchange_leaves_room_for_another(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE SCRAM-SHA-256")
    await client.expect("AUTHENTICATE", "+")
    exchange = ScramClient(["SCRAM-SHA-256"], "alice", "correct-horse")
    client.send("AUTHENTICATE " + b64(exchange.get_client_first()))
    await client.expect("AUTHENTICATE")
    client.send("AUTHENTICATE *")
    assert (await client.expect(lambda m: m.command in ENDS)).command == "906"
    assert (await scram(client, "alice", "correct-horse")).command == "903"
    await finish(client, "alice2")


async def test_a_second_mechanism_mid_exchange_is_taken_as_a_response(server, clients) -> None:
    """`AUTHENTICATE PLAIN` inside an open exchange is a (bad) response to it, not a new start."""
    await registered_account(server, "alice")
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE SCRAM-SHA-256")
    assert (await client.expect(lambda m: m.command in ENDS)).command == "904"
    assert (await plain(client, "alice", "correct-horse")).command == "903"


async def test_sasl_pieces_of_exactly_400_bytes_wait_for_the_plus(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    # "alice\0alice\0" is 12 bytes; 300 bytes in all is exactly 400 of base64
    password = "x" * 288
    assert await ns(alice, f"REGISTER {password}") == "Account created"
    payload = b64(f"alice\0alice\0{password}")
    assert len(payload) == 400
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + payload)
    assert not [m for m in await sync(client) if m.command in ENDS]  # a full piece: more may follow
    client.send("AUTHENTICATE +")
    assert (await client.expect(lambda m: m.command in ENDS)).command == "903"


async def test_an_empty_plain_response_fails_cleanly(server, clients) -> None:
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE +")
    assert (await client.expect(lambda m: m.command in ENDS)).command == "904"
    await finish(client, "bob")


async def test_plain_with_another_authorization_identity_fails(server, clients) -> None:
    await registered_account(server, "alice")
    await registered_account(server, "bob")
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64("bob\0alice\0correct-horse"))
    assert (await client.expect(lambda m: m.command in ENDS)).command == "904"


async def test_authenticate_without_the_capability_fails(server, clients) -> None:
    client = await connected(server, "bob")
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    assert (await client.expect("904")).params[0] == "bob"
    assert "AUTHENTICATE" not in commands(await sync(client))


async def test_aborting_while_the_password_is_checked_does_not_log_in(server, clients) -> None:
    """`AUTHENTICATE *` sent right after the response (before the check ends): either the
    login completes first (903, then 906 for nothing), or it is aborted and not logged in."""
    await registered_account(server, "alice")
    client = await sasl_client(server)
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64("alice\0alice\0correct-horse") + "\r\nAUTHENTICATE *")
    ends = [(await client.expect(lambda m: m.command in ENDS)).command]
    ends += [m.command for m in await sync(client) if m.command in ENDS + ("900",)]
    assert ends in (["903"], ["906"], ["903", "906"]), ends
    if ends == ["906"]:
        await finish(client, "carol")
        assert await whois_account(client, "carol") is None


# -- re-authentication after registration --------------------------------------------------------


async def test_a_login_after_registration_answers_900_and_903_first_then_says_what_changed(server, clients) -> None:
    """The lines after the last AUTHENTICATE are its answer, 900 then 903 (as irctest and
    ergo have it); the client's own ACCOUNT line and +r follow, not precede, them."""
    await registered_account(server, "alice")
    client = await capped(server, "carol", "sasl", "account-notify")
    clients.append(client)
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    seen = len(client.received)
    client.send("AUTHENTICATE " + b64("alice\0alice\0correct-horse"))
    await client.expect("MODE")
    after = [(m.command, m.params[1] if m.command == "MODE" else "") for m in client.received[seen:]]
    assert after == [("900", ""), ("903", ""), ("ACCOUNT", ""), ("MODE", "+r")]


async def test_reauthenticating_to_another_account_is_announced_and_keeps_plus_r(server, clients) -> None:
    await registered_account(server, "alice")
    await registered_account(server, "bob")
    watcher = await capped(server, "watcher", "account-notify", channels=("#c",))
    client = await capped(server, "carol", "sasl", "account-notify", channels=("#c",))
    clients.extend([watcher, client])
    assert (await plain(client, "alice", "correct-horse")).command == "903"
    assert (await watcher.expect("ACCOUNT")).params == ["alice"]
    assert (await plain(client, "bob", "correct-horse")).command == "903"
    assert (await watcher.expect("ACCOUNT")).params == ["bob"]
    await sync(client)  # its own ACCOUNT line follows the 903
    assert [m.params for m in client.received if m.command == "ACCOUNT"] == [["alice"], ["bob"]]
    modes = [m for m in client.received if m.command == "MODE" and m.params[0] == "carol"]
    assert [m.params[1] for m in modes] == ["+r"]  # once: still logged in throughout
    assert await whois_account(watcher, "carol") == "bob"
    watcher.send("PRIVMSG NickServ :INFO alice")
    texts = [m.params[-1] for m in await sync(watcher) if m.command == "NOTICE"]
    assert not any(t.startswith("Logged in now as") for t in texts), texts


async def test_a_failed_reauthentication_keeps_the_account(server, clients) -> None:
    await registered_account(server, "alice")
    await registered_account(server, "bob")
    client = await capped(server, "carol", "sasl")
    clients.append(client)
    assert (await plain(client, "alice", "correct-horse")).command == "903"
    assert (await plain(client, "bob", "wrong")).command == "904"
    assert await whois_account(client, "carol") == "alice"
    assert "MODE" not in commands(await sync(client))


async def test_reauthenticating_away_from_the_nicks_account_starts_enforcement(make_server, clients) -> None:
    """Holding the nick alice, logged in to alice, then SASL to bob: alice's nick is no
    longer used by its account, as after LOGOUT: the warning, then the rename."""
    server = await make_server("accounts.enforce_after=0.3")
    await registered_account(server, "bob")
    alice = await capped(server, "alice", "sasl")
    clients.append(alice)
    alice.send("PRIVMSG NickServ :REGISTER correct-horse")
    await alice.expect("900")
    await ns_notice(alice)  # Account created
    await ns_notice(alice)  # You're now logged in as alice
    assert (await plain(alice, "bob", "correct-horse")).command == "903"
    warning = await ns_notice(alice)
    assert warning.startswith("This nickname is registered"), warning
    assert (await alice.expect("NICK")).params[0].startswith("Guest")


# -- several connections on one account: GHOST and DROP -----------------------------------------


async def test_ghost_of_another_connection_of_the_same_account(server, clients) -> None:
    alice = await registered_account(server, "alice")
    phone = await connected(server, "alice_phone")
    stranger = await connected(server, "stranger")
    clients.extend([alice, phone, stranger])
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await phone.expect("900")
    assert await ns(alice, "GHOST stranger") == "You don't own that nick"
    assert await ns(stranger, "GHOST alice_phone") == "You don't own that nick"  # not logged in at all
    assert await ns(alice, "GHOST ALICE_PHONE") == "ALICE_PHONE has been ghosted"
    assert any("GHOSTed by alice" in line for line in await phone.closed())
    alice.send("PRIVMSG NickServ :INFO")
    await alice.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "Logged in now as: alice")
    assert await ns(alice, "GHOST nobody") == "No such nick"


async def test_ghost_of_the_accounts_nick_held_by_someone_not_logged_in(make_server, clients) -> None:
    server = await make_server("accounts.enforce=none")
    alice = await registered_account(server, "alice")
    await quit_(alice)
    squatter = await connected(server, "alice")
    owner = await connected(server, "owner")
    clients.extend([squatter, owner])
    owner.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await owner.expect("900")
    await ns_notice(owner)
    assert await ns(owner, "GHOST alice") == "alice has been ghosted"
    assert any("GHOSTed by owner" in line for line in await squatter.closed())
    owner.send("NICK alice")
    assert (await owner.expect("NICK")).params == ["alice"]


async def test_drop_logs_out_every_connection_of_the_account(server, clients) -> None:
    watcher = await capped(server, "watcher", "account-notify", channels=("#c",))
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    phone = await capped(server, "phone", "account-notify", channels=("#c",))
    clients.extend([watcher, alice, phone])
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await phone.expect("900")
    await watcher.expect(lambda m: m.command == "ACCOUNT" and m.source.startswith("phone!"))
    await drop(alice, "alice")
    assert (await phone.expect("901")).params[1] == "phone!~u@127.0.0.1"
    got = await sync(phone)
    assert [m.params for m in phone.received if m.command == "MODE" and m.params[0] == "phone"][-1] == ["phone", "-r"]
    assert ["*"] in [m.params for m in phone.received if m.command == "ACCOUNT"], got
    await alice.expect("901")
    gone = [m for m in await sync(watcher) if m.command == "ACCOUNT"]
    gone += [m for m in watcher.received if m.command == "ACCOUNT" and m.params == ["*"]]
    assert {m.source.split("!")[0] for m in gone if m.params == ["*"]} == {"alice", "phone"}
    assert await whois_account(watcher, "phone") is None
    assert await whois_account(watcher, "alice") is None
    assert await ns(phone, "INFO alice") == "Account does not exist"
    assert await ns(phone, "SET PASSWORD newpass") == "You're not logged into an account"


async def test_a_dropped_account_no_longer_logs_in_by_sasl_or_scram(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    await drop(alice, "alice")
    await alice.expect("901")
    for way in (plain, scram):
        client = await sasl_client(server)
        clients.append(client)
        assert (await way(client, "alice", "correct-horse")).command == "904"


async def test_set_password_from_a_second_connection_applies_to_the_account(server, clients) -> None:
    alice = await registered_account(server, "alice")
    phone = await connected(server, "phone")
    clients.extend([alice, phone])
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await phone.expect("900")
    await ns_notice(phone)
    assert await ns(phone, "PASSWD wrong new-one new-one") == "Password incorrect"
    assert await ns(phone, "PASSWD correct-horse new-one other") == "Passwords do not match"
    assert await ns(phone, "PASSWD correct-horse new-one new-one") == "Password changed"
    alice.send("PRIVMSG NickServ :LOGOUT")
    await alice.expect("901")
    await ns_notice(alice)  # You're now logged out
    assert (await ns_notice(alice)).startswith("This nickname is registered")
    assert await ns(alice, "IDENTIFY correct-horse") == INVALID
    alice.send("PRIVMSG NickServ :IDENTIFY new-one")
    assert (await alice.expect("900")).params[2] == "alice"


# -- nick enforcement -------------------------------------------------------------------------------


async def test_changing_the_case_of_a_registered_nick_does_not_restart_the_grace(make_server, clients) -> None:
    """NICK ALICE / NICK alice is the same nick; it must not give a new grace each time,
    or a squatter keeps the nick for ever by toggling its case."""
    server = await make_server("accounts.enforce_after=1.0")
    alice = await registered_account(server, "alice")
    await quit_(alice)
    squatter = await connected(server, "alice")
    clients.append(squatter)
    for spelling in ("ALICE", "alice", "Alice", "aLICE", "ALICE", "alice", "Alice", "aLICE"):
        await asyncio.sleep(0.4)  # the grace is 1.0 s: eight changes cover three graces and more
        squatter.send(f"NICK {spelling}")
        if any(m.command == "NICK" and m.params[0].startswith("Guest") for m in await sync(squatter)):
            return
    raise AssertionError("never renamed: " + repr([m.params[-1] for m in squatter.received if m.source == NS]))


async def test_leaving_a_registered_nick_before_the_grace_ends_is_not_renamed_later(make_server, clients) -> None:
    server = await make_server("accounts.enforce_after=0.3")
    alice = await registered_account(server, "alice")
    await quit_(alice)
    bob = await connected(server, "alice")
    clients.append(bob)
    await ns_notice(bob)  # the warning
    bob.send("NICK bob")
    await bob.expect("NICK")
    await asyncio.sleep(0.6)  # twice the grace: there is nothing to wait for but absence
    assert "NICK" not in commands(await sync(bob))
    bob.send("NICK alice")  # back: a new grace, and the rename at its end
    await bob.expect("NICK")
    assert (await ns_notice(bob)).startswith("This nickname is registered")
    assert (await bob.expect("NICK")).params[0].startswith("Guest")


async def test_identifying_to_the_account_after_the_warning_keeps_the_nick(make_server, clients) -> None:
    server = await make_server("accounts.enforce_after=0.5")
    alice = await registered_account(server, "alice")
    await quit_(alice)
    back = await connected(server, "alice")
    clients.append(back)
    await ns_notice(back)
    back.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await back.expect("900")
    await asyncio.sleep(1.0)
    assert "NICK" not in commands(await sync(back))


async def test_refuse_mode_lets_the_account_take_its_nick_from_another_nick(make_server, clients) -> None:
    server = await make_server("accounts.enforce=refuse")
    alice = await registered_account(server, "alice")
    await quit_(alice)
    phone = await connected(server, "phone")
    other = await connected(server, "other")
    clients.extend([phone, other])
    other.send("NICK ALICE")  # another case of it is the same nick
    assert (await other.expect("433")).params[1:] == ["ALICE", "Nickname is reserved by a different account"]
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await phone.expect("900")
    phone.send("NICK Alice")
    assert (await phone.expect("NICK")).params == ["Alice"]
    phone.send("NICK phone")
    await phone.expect("NICK")
    phone.send("PRIVMSG NickServ :LOGOUT")
    await phone.expect("901")
    phone.send("NICK alice")
    assert (await phone.expect("433")).params[1] == "alice"


async def test_register_takes_the_nick_as_typed_and_sees_other_cases_as_taken(server, clients) -> None:
    alice = await capped(server, "Alice", "draft/account-registration")
    clients.append(alice)
    alice.send("REGISTER * * secretpw")
    assert (await alice.expect("REGISTER")).params[:2] == ["SUCCESS", "Alice"]
    await quit_(alice)
    other = await capped(server, "ALICE", "draft/account-registration")
    clients.append(other)
    other.send("REGISTER * * otherpw")
    assert (await other.expect("FAIL")).params[:3] == ["REGISTER", "ACCOUNT_EXISTS", "ALICE"]
    assert await ns(other, "REGISTER otherpw") == "Account already exists"
    other.send("PRIVMSG NickServ :IDENTIFY alice secretpw")
    assert (await other.expect("900")).params[2] == "Alice"


async def test_register_with_a_nick_that_is_not_ascii_is_refused_cleanly(server, clients) -> None:
    client = await capped(server, "bob", "draft/account-registration")
    clients.append(client)
    client.send("REGISTER bøb * secretpw")
    fail = await client.expect("FAIL")
    assert fail.params[:2] in (["REGISTER", "BAD_ACCOUNT_NAME"], ["REGISTER", "ACCOUNT_NAME_MUST_BE_NICK"])
    client.send("REGISTER * * secretpw")
    assert (await client.expect("REGISTER")).params[:2] == ["SUCCESS", "bob"]


# -- ChanServ -------------------------------------------------------------------------------------


async def test_chanserv_answers_for_missing_accounts_nicks_and_members(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    assert await cs(alice, "REGISTER #c") == "Channel #c successfully registered"
    assert await cs(alice, "AMODE #c +o nobody") == "Account does not exist"
    assert await cs(alice, "AMODE #c +x alice") == "Invalid mode change"
    assert await cs(alice, "AMODE #c -o alice") == "No changes were made"
    assert await cs(alice, "OP #c bob") == "They aren't on that channel"
    assert await cs(alice, "OP #c ghost") == "Could not find given client"
    assert await cs(alice, "OP #nowhere") == "Channel does not exist"
    assert await cs(alice, "INFO #nowhere") == "Channel does not exist"
    assert "MODE" not in commands(await sync(bob))


async def test_chanserv_op_of_a_channel_you_are_not_in(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    clients.append(alice)
    await cs(alice, "REGISTER #c")
    alice.send("PART #c")
    await alice.expect("PART")
    alice.send("JOIN #d")  # #c is kept (registered), empty
    await alice.expect("366")
    assert await cs(alice, "OP #c") == "You're not on that channel"


async def test_dropping_the_founders_account_takes_its_founder_status(server, clients) -> None:
    """NickServ DROP unregisters the channels the account founded; like ChanServ DROP, the
    founder status (+q, `~`) that came with the registration must go too, or a user with
    no account keeps an unkickable status in a channel nobody owns."""
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await cs(alice, "REGISTER #c")
    await bob.expect("MODE", "#c", "+q", "alice")
    await drop(alice, "alice")
    await alice.expect("901")
    assert await cs(bob, "INFO #c") == "Channel #c is not registered"
    bob.send("NAMES #c")
    names = (await bob.expect("353")).params[-1].split()
    assert "alice" in names or "@alice" in names, names


async def test_a_channel_whose_founder_was_dropped_can_be_registered_again(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob")
    clients.extend([alice, bob])
    await cs(alice, "REGISTER #c")
    assert await cs(alice, "AMODE #c +o bob") == "Successfully set persistent mode +o on bob"
    await drop(alice, "alice")
    await alice.expect("901")
    assert await cs(alice, "REGISTER #c") == "You're not logged into an account"
    assert await cs(bob, "OP #c") == "Channel #c is not registered"
    bob.send("JOIN #c")
    names = (await bob.expect("353")).params[-1].split()
    assert "bob" in names  # the access list went with the founder
    alice.send("MODE #c +o bob")
    await bob.expect("MODE", "#c", "+o", "bob")
    assert await cs(bob, "REGISTER #c") == "Channel #c successfully registered"
    assert (await cs(bob, "INFO #c")) == "Channel #c is registered"
    assert (await bob.expect("NOTICE")).params[-1] == "Founder: bob"


# -- the a: extban, +R and +M -----------------------------------------------------------------------


async def test_account_extban_matches_the_account_in_any_case(server, clients) -> None:
    op = await connected(server, "op", "#c")
    spammer = await registered_account(server, "spammer")
    clients.extend([op, spammer])
    op.send("MODE #c +b a:SPAMMER")
    await op.expect("MODE")
    spammer.send("JOIN #c")
    assert (await spammer.expect("474")).params[1] == "#c"
    spammer.send("PRIVMSG NickServ :LOGOUT")
    await spammer.expect("901")
    spammer.send("JOIN #c")  # logged out, the account ban no longer applies
    assert (await spammer.expect("366")).params[1] == "#c"


async def test_account_extban_silences_a_member_who_logs_in(server, clients) -> None:
    op = await connected(server, "op", "#c")
    spammer = await registered_account(server, "spammer")
    clients.extend([op, spammer])
    spammer.send("PRIVMSG NickServ :LOGOUT")
    await spammer.expect("901")
    await spammer.join("#c")
    op.send("MODE #c +b a:spammer")
    await spammer.expect("MODE", "#c", "+b")
    spammer.send("PRIVMSG #c :before")
    assert (await op.expect("PRIVMSG")).params[-1] == "before"
    spammer.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    await spammer.expect("900")
    spammer.send("PRIVMSG #c :after")
    assert (await spammer.expect("404")).params[1] == "#c"
    assert "PRIVMSG" not in commands(await sync(op))


async def test_plus_m_silences_a_member_who_logs_out(server, clients) -> None:
    op = await connected(server, "op", "#c")
    member = await registered_account(server, "member", "correct-horse", "#c")
    clients.extend([op, member])
    op.send("MODE #c +M")
    await member.expect("MODE", "#c", "+M")
    member.send("PRIVMSG #c :while logged in")
    assert (await op.expect("PRIVMSG")).params[-1] == "while logged in"
    member.send("PRIVMSG NickServ :LOGOUT")
    await member.expect("901")
    member.send("PRIVMSG #c :after logout")
    assert (await member.expect("404")).params[1] == "#c"
    assert "PRIVMSG" not in commands(await sync(op))


async def test_plus_r_lets_in_an_account_on_the_invite_list(server, clients) -> None:
    op = await connected(server, "op", "#c")
    guest = await connected(server, "guest")
    clients.extend([op, guest])
    op.send("MODE #c +Ri")
    await op.expect("MODE")
    op.send("MODE #c +I a:member")
    await op.expect("MODE")
    guest.send("JOIN #c")
    assert (await guest.expect(lambda m: m.command in ("473", "477"))).params[1] == "#c"
    member = await registered_account(server, "member")
    clients.append(member)
    member.send("JOIN #c")
    assert (await member.expect("366")).params[1] == "#c"


# -- private message history between accounts -------------------------------------------------------


HISTORY_CAPS = ("draft/chathistory", "batch", "server-time", "message-tags")


async def private_history(client: LineClient, target: str) -> list[str]:
    """The texts CHATHISTORY LATEST gives of the conversation with `target` (a FAIL: none)."""
    client.send(f"CHATHISTORY LATEST {target} * 10")
    first = await client.expect(lambda m: m.command in ("BATCH", "FAIL"))
    if first.command == "FAIL":
        return []
    inside = await client.collect_until(lambda m: m.command == "BATCH" and m.params[0] == "-" + first.params[0][1:])
    return [m.params[-1] for m in inside if m.command == "PRIVMSG"]


async def test_private_history_is_the_accounts_not_the_nicks(make_server, clients) -> None:
    """With nick enforcement off, someone else can use the nick alice once she has gone:
    the conversation between the accounts alice and bob is not theirs to read."""
    server = await make_server("history.enabled=true", "accounts.enforce=none")
    alice = await registered_account(server, "alice")
    bob = await registered_account(server, "bob")
    clients.append(bob)
    alice.send("PRIVMSG bob :our secret")
    await bob.expect("PRIVMSG", "bob")
    bob.send("PRIVMSG alice :our reply")
    await alice.expect("PRIVMSG", "alice")
    await quit_(alice)
    squatter = await capped(server, "alice", *HISTORY_CAPS)
    clients.append(squatter)
    assert await private_history(squatter, "bob") == []
    carol = await capped(server, "carol", *HISTORY_CAPS)
    clients.append(carol)
    carol.send("PRIVMSG NickServ :REGISTER correct-horse")
    await carol.expect("900")
    for target in ("bob", "alice"):
        assert await private_history(carol, target) == [], target
    phone = await capped(server, "phone", *HISTORY_CAPS)
    clients.append(phone)
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await phone.expect("900")
    assert await private_history(phone, "bob") == ["our secret", "our reply"]


# -- the login throttle's window, and what others see -------------------------------------------


async def test_the_throttle_lifts_for_a_fresh_connection_when_the_window_has_passed(make_server, clients) -> None:
    # a window long enough for a loaded machine to connect `fresh` and ask within it
    server = await make_server("accounts.login_failures=2", "accounts.login_window=2")
    alice = await registered_account(server, "alice")
    guesser = await connected(server, "guesser")
    clients.extend([alice, guesser])
    for _ in range(2):
        assert await ns(guesser, "IDENTIFY alice nope") == INVALID
    fresh = await connected(server, "fresh")
    clients.append(fresh)
    assert (await ns(fresh, "IDENTIFY alice correct-horse")).startswith(THROTTLED)
    await asyncio.sleep(2.2)  # the window is 2 s: the failures have left it
    fresh.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    assert (await fresh.expect("900")).params[2] == "alice"


async def test_the_throttle_lifts_for_the_connection_that_failed_when_the_window_has_passed(
    make_server, clients
) -> None:
    """Refused "until the oldest failure is out of the window": the connection that
    failed too, not only for its account and address."""
    server = await make_server("accounts.login_failures=2", "accounts.login_window=0.5")
    alice = await registered_account(server, "alice")
    guesser = await connected(server, "guesser")
    clients.extend([alice, guesser])
    for _ in range(2):
        assert await ns(guesser, "IDENTIFY alice nope") == INVALID
    await asyncio.sleep(0.7)  # the window is 0.5 s: the failures have left it
    answer = await ns(guesser, "IDENTIFY alice correct-horse")
    assert answer == "You're now logged in as alice", answer


async def test_a_successful_login_forgets_its_address_and_account_pair_not_the_address(make_server, clients) -> None:
    """A login forgets what its address failed on its account (the one who mistyped got it
    right); the address's count across accounts stays, a bound whoever failed."""
    server = await make_server(
        "accounts.login_failures=2", "accounts.login_failures_per_address=3", "accounts.login_window=600"
    )
    alice = await registered_account(server, "alice")
    first = await connected(server, "first")
    clients.extend([alice, first])
    for _ in range(2):  # each time: one failure, then the right password, which forgets it
        assert await ns(first, "IDENTIFY alice nope") == INVALID
        first.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await first.expect("900")  # the second time too: the pair's first failure was forgotten
        await ns_notice(first)
        assert (await ns(first, "LOGOUT")) == "You're now logged out"
    assert await ns(first, "IDENTIFY alice nope") == INVALID
    assert (await ns(first, "IDENTIFY alice correct-horse")).startswith(THROTTLED)  # the address: 3


async def test_sasl_to_another_account_with_a_registered_nick_is_warned(make_server, clients) -> None:
    server = await make_server("accounts.enforce_after=0.3")
    alice = await registered_account(server, "alice")
    await registered_account(server, "bob")
    await quit_(alice)
    client = await sasl_client(server)
    clients.append(client)
    client.send("NICK alice")
    assert (await plain(client, "bob", "correct-horse")).command == "903"
    client.send("USER u 0 * :U")
    client.send("CAP END")
    await client.expect("001")
    assert (await ns_notice(client)).startswith("This nickname is registered")
    assert (await client.expect("NICK")).params[0].startswith("Guest")
    assert await whois_account(client, (client.received[-1].params[0])) == "bob"


async def test_whox_and_account_tag_follow_the_current_account(server, clients) -> None:
    await registered_account(server, "alice")
    await registered_account(server, "bob")
    watcher = await capped(server, "watcher", "account-tag", channels=("#c",))
    client = await capped(server, "carol", "sasl", channels=("#c",))
    clients.extend([watcher, client])
    client.send("PRIVMSG #c :anonymous")
    assert "account" not in (await watcher.expect("PRIVMSG")).tags
    for account in ("alice", "bob"):
        assert (await plain(client, account, "correct-horse")).command == "903"
        client.send("PRIVMSG #c :signed")
        assert (await watcher.expect("PRIVMSG")).tags.get("account") == account
        watcher.send("WHO carol %na")
        assert (await watcher.expect("354")).params[1:] == ["carol", account]
    client.send("PRIVMSG NickServ :LOGOUT")
    await client.expect("901")
    watcher.send("WHO carol %na")
    assert (await watcher.expect("354")).params[1:] == ["carol", "0"]


async def test_a_connection_keeps_a_record_of_failed_logins_only_while_it_has_some(make_server, clients) -> None:
    """An idle client carries no record of login attempts (an empty deque is some 600
    bytes, a quarter of what an idle client costs): made at a failure, let go at a login."""
    server: Runtime = await make_server()
    alice = await registered_account(server, "alice")
    guesser = await connected(server, "guesser")
    clients.extend([alice, guesser])

    def record() -> object:
        (ctx,) = [c for c in server.services.local.values() if c.user.nick == "guesser"]
        return ctx.conn.login_failures

    assert record() is None
    assert await ns(guesser, "IDENTIFY alice nope") == INVALID
    assert list(record()) != []  # type: ignore[call-overload]
    assert (await ns(guesser, "IDENTIFY alice correct-horse")).startswith("You're now logged in")
    assert record() is None
