"""NickServ and ChanServ on one server, as bots, bouncers and people used to ergo use
them: every way of reaching a service, missing and bad arguments, what others see after
each action (account-notify, extended-join, WHOIS 330), what survives a restart, and the
places where hubbub's services differed from ergo's (fixed since)."""

from __future__ import annotations

from hubbub.irc.message import Message
from tests.e2e_accounts.confirming import give_channel
from tests.e2e_accounts.support import NS, ns, registered_account, sasl_plain
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, connected, sync

CS = "ChanServ!ChanServ@services"
PW = "correct-horse"
USAGE = "Invalid parameters. Usage: "
CERT_SYNTAX = "CERT LIST | CERT ADD [fingerprint] | CERT DEL <fingerprint>"
NOT_LOGGED_IN = "You're not logged into an account"
INVALID = "Authentication failed: Invalid account credentials"


async def cs(client: LineClient, line: str) -> str:
    """Say `line` to ChanServ; its first answer."""
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def service_notices(client: LineClient, line: str) -> list[tuple[str, str]]:
    """Send `line`; every service NOTICE it caused, as (source, text)."""
    client.send(line)
    return [(m.source, m.params[-1]) for m in await sync(client) if m.command == "NOTICE" and m.source in (NS, CS)]


async def whois_account(client: LineClient, nick: str) -> str | None:
    """The account WHOIS shows for `nick` (330), or None."""
    client.send(f"WHOIS {nick}")
    lines: list[Message] = await client.collect_until(lambda m: m.command == "318")
    found = [m.params for m in lines if m.command == "330"]
    return found[0][2] if found else None


async def names(client: LineClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    return (await client.expect("353")).params[-1].split()


async def identified(client: LineClient, line: str, account: str) -> None:
    client.send(f"PRIVMSG NickServ :{line}")
    assert (await client.expect("900")).params[2] == account
    await client.expect(lambda m: m.command == "NOTICE" and m.source == NS and "now logged in" in m.params[-1])


async def drop_code(client: LineClient, service: str, line: str) -> str:
    client.send(f"PRIVMSG {service} :{line}")
    confirm = await client.expect(lambda m: m.command == "NOTICE" and "To confirm" in m.params[-1])
    return confirm.params[-1].split()[-1]


async def registered_at(client: LineClient, service: str, line: str) -> str:
    client.send(f"PRIVMSG {service} :{line}")
    found = await client.expect(lambda m: m.command == "NOTICE" and m.params[-1].startswith("Registered at: "))
    await sync(client)  # the lines after it
    return found.params[-1]


# -- reaching the services ------------------------------------------------------------------------


async def test_every_way_of_reaching_nickserv_gives_the_same_answer(server, clients) -> None:
    alice = await registered_account(server, "alice")
    clients.append(alice)
    expected = await service_notices(alice, "PRIVMSG NickServ :INFO alice")
    assert expected[0] == (NS, "Account: alice")
    for line in ("PRIVMSG nickserv :info ALICE", "PRIVMSG NICKSERV :Info alice", "NICKSERV INFO alice",
                 "NS INFO alice", "ns info alice", "NICKSERV :INFO alice", "NS :info   alice"):  # fmt: skip
        assert await service_notices(alice, line) == expected, line
    chan = await service_notices(alice, "PRIVMSG ChanServ :INFO #nowhere")
    for line in ("CS INFO #nowhere", "chanserv info #nowhere", "PRIVMSG chanSERV :Info #nowhere"):
        assert await service_notices(alice, line) == chan == [(CS, "Channel does not exist")], line
    assert await service_notices(alice, "PRIVMSG NickServ :help info") == [
        (NS, "Syntax: INFO [account]"),
        (NS, "Shows what is known of an account."),
    ]
    assert await service_notices(alice, "CS HELP unregister") == [
        (CS, "Syntax: DROP <#channel> [code]"),
        (CS, "Unregisters a channel: DROP alone tells you the code that confirms it."),
    ]


# -- NickServ ---------------------------------------------------------------------------------------


async def test_nickserv_missing_arguments_unknown_settings_and_needing_a_login(server, clients) -> None:
    alice = await registered_account(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    for line, reply in (
        ("REGISTER", USAGE + "REGISTER <password> [email]"),
        ("IDENTIFY", USAGE + "IDENTIFY [account] <password>"),
        ("GHOST", USAGE + "GHOST <nick>"),
        ("SET", USAGE + "SET PASSWORD <new password>"),
        ("set password", USAGE + "SET PASSWORD <new password>"),
        ("PASSWD only-two words", USAGE + "PASSWD <current> <new> <new again>"),
        ("CERT", USAGE + CERT_SYNTAX),
        ("CERT FROB", USAGE + CERT_SYNTAX),
        ("SET EMAIL alice@example.org", "Unknown setting. Settings: PASSWORD"),
        ("   ", "Unknown command. To see available commands, run: /msg NickServ HELP"),
        ("GHOST alice", "You can't GHOST yourself (try /QUIT instead)"),
        ("GHOST NickServ", "No such nick"),
        ("IDENTIFY alice " + PW, "You're already logged into an account"),
    ):
        assert await ns(alice, line) == reply, line
    for line in ("LOGOUT", "SET PASSWORD something", "SET PASS something", "PASSWD a b b", "CERT LIST",
                 "CERT ADD " + "ab" * 32, "DROP", "UNREGISTER"):  # fmt: skip
        assert await ns(bob, line) == NOT_LOGGED_IN, line
    assert await ns(bob, "GHOST alice") == "You don't own that nick"
    assert await ns(bob, "INFO") == "Account does not exist"  # the own nick, not registered
    assert await ns(bob, "IDENTIFY " + PW) == INVALID  # the nick's account: there is none
    assert await whois_account(alice, "bob") is None


async def test_identify_in_both_forms_as_others_see_it(server, clients) -> None:
    watcher = await capped(server, "watcher", "account-notify", "extended-join", channels=("#c",))
    alice = await registered_account(server, "alice", PW, "#c")
    phone = await connected(server, "phone", "#c")
    clients.extend([watcher, alice, phone])
    await watcher.expect(lambda m: m.command == "ACCOUNT" and m.source.startswith("alice!"))
    alice.send("PRIVMSG NickServ :LOGOUT")
    await alice.expect("901")
    assert (await watcher.expect("ACCOUNT")).params == ["*"]
    assert await whois_account(watcher, "alice") is None
    await identified(alice, "IDENTIFY " + PW, "alice")  # the nick's own account
    assert (await watcher.expect("ACCOUNT")).params == ["alice"]
    assert await whois_account(watcher, "alice") == "alice"
    await identified(phone, "IDENTIFY ALICE " + PW, "alice")  # another nick, the name in another case
    shown = await watcher.expect("ACCOUNT")
    assert shown.source.startswith("phone!") and shown.params == ["alice"]
    assert await whois_account(watcher, "phone") == "alice"
    assert await ns(alice, "SET PASSWORD battery-staple") == "Password changed"
    assert [m for m in await sync(watcher) if m.command == "ACCOUNT"] == []  # a new password is no new login
    phone.send("PRIVMSG NickServ :LOGOUT")
    await phone.expect("901")
    await sync(phone)
    gone = await watcher.expect("ACCOUNT")
    assert gone.source.startswith("phone!") and gone.params == ["*"]
    assert await whois_account(watcher, "phone") is None
    for client, account in ((phone, "*"), (alice, "alice")):
        client.send("PART #c")
        client.send("JOIN #c")
        joined = await watcher.expect("JOIN")
        assert joined.source.startswith(client.nick + "!") and joined.params == ["#c", account, "Real Name"]
    assert await ns(phone, "IDENTIFY alice " + PW) == INVALID  # the old password is gone


async def test_identifying_to_another_account_does_not_keep_a_registered_nick(make_server, clients) -> None:
    server = await make_server("accounts.enforce_after=0.3")
    bob = await registered_account(server, "bob")
    carol = await registered_account(server, "carol")
    clients.append(carol)
    bob.send("QUIT")
    await bob.closed()
    intruder = await connected(server, "bob")
    clients.append(intruder)
    intruder.send("PRIVMSG NickServ :IDENTIFY carol " + PW)
    assert (await intruder.expect("900")).params[2] == "carol"
    renamed = [m for m in intruder.received if m.command == "NICK"] or [await intruder.expect("NICK")]
    guest = renamed[0].params[0]
    assert guest.startswith("Guest")
    assert await whois_account(carol, guest) == "carol"


async def test_registration_details_password_and_certificates_survive_a_restart(stored, clients) -> None:
    server = await stored()
    me = await connected(server, "dora")
    other = await connected(server, "other")
    me.send("PRIVMSG NickServ :REGISTER first-pass dora@example.org")
    await me.expect("900")
    owner_view = [text for _, text in await service_notices(me, "PRIVMSG NickServ :INFO")]
    assert "Email address: dora@example.org" in owner_view
    assert not [t for _, t in await service_notices(other, "NS INFO dora") if t.startswith("Email")]
    when = await registered_at(me, "NickServ", "INFO")
    assert await ns(me, "SET PASSWORD second-pass") == "Password changed"
    for line in ("CERT ADD " + "ab" * 32, "CERT ADD " + "CD:" * 31 + "CD", "CERT DEL " + "AB" * 32):
        assert (await ns(me, line)).startswith("Certificate fingerprint successfully")
    await me.close()
    await other.close()
    await server.stop()
    again = await stored()
    back = await connected(again, "dora")
    clients.append(back)
    await sync(back)  # the warning that the nick is registered
    assert await ns(back, "IDENTIFY first-pass") == INVALID
    await identified(back, "IDENTIFY second-pass", "dora")
    view = [text for _, text in await service_notices(back, "NS INFO")]
    assert when in view and "Email address: dora@example.org" in view and "Certificate fingerprints: 1" in view
    assert await ns(back, "CERT LIST") == "There are 1 certificate fingerprint(s) authorized for account dora."
    assert (await back.expect("NOTICE")).params[-1] == "1: " + "cd" * 32


# -- ChanServ ---------------------------------------------------------------------------------------


async def test_chanserv_refusals_and_bad_arguments(make_server, clients) -> None:
    server = await make_server("accounts.max_channels=1")
    alice = await registered_account(server, "alice", PW, "#c", "#d")
    bob = await registered_account(server, "bob", PW, "#c")
    dave = await connected(server, "dave", "#c")
    clients.extend([alice, bob, dave])
    for line in ("REGISTER #c", "AMODE #c", "AMODE #c +o dave", "SET #c FOUNDER dave", "DROP #c",
                 "OP #c", "DEOP #c", "VOICE #c"):  # fmt: skip
        assert await cs(dave, line) == NOT_LOGGED_IN, line
    for line in ("OP #c", "DEOP #c", "VOICE #c bob", "AMODE #c", "AMODE #c +o bob", "SET #c FOUNDER bob",
                 "DROP #c", "INFO #c"):  # fmt: skip
        assert await cs(alice, line) == "Channel #c is not registered", line
    assert await cs(bob, "REGISTER #c") == "You must be an oper on the channel to register it"
    assert await cs(alice, "REGISTER #C") == "Channel #c successfully registered"
    assert await cs(alice, "REGISTER #d") == (
        "You have already registered the maximum number of channels; try dropping some with /CS DROP"
    )
    for line, reply in (
        ("INFO", USAGE + "INFO <#channel>"),
        ("OP", USAGE + "OP <#channel> [nick]"),
        ("SET #c", USAGE + "SET <#channel> FOUNDER <account> [code]"),
        ("SET #c FOUNDER", USAGE + "SET <#channel> FOUNDER <account> [code]"),
        ("SET #c EMAIL x", "Unknown setting. Settings: FOUNDER"),
        ("SET #c founder nobody", "Account does not exist"),
        ("AMODE #c +o", "Invalid mode change"),
        ("AMODE #c o bob", "Invalid mode change"),
        ("AMODE #c +", "Invalid mode change"),
        ("OP c", "Channel does not exist"),
        ("FROB #c", "Unknown command. To see available commands, run: /msg ChanServ HELP"),
        ("info #C", "Channel #c is registered"),
    ):
        assert await cs(alice, line) == reply, line
    for line, reply in (
        ("SET #c FOUNDER bob", "Only the channel founder can do this"),
        ("DROP #c", "Only the channel founder can do this"),
        ("OP #c", "You don't have any stored privileges on that channel"),
        ("OP #c dave", "You don't have any stored privileges on that channel"),
        ("AMODE #c", "Channel #c has 0 persistent modes set"),
    ):
        assert await cs(bob, line) == reply, line
    code = await drop_code(alice, "ChanServ", "DROP #c")
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    assert await cs(alice, f"DROP #c {wrong}") == f"{wrong} is not the code that confirms it."
    assert (await alice.expect("NOTICE")).params[-1].startswith("Warning: unregistering")
    assert (await alice.expect("NOTICE")).params[-1] == f"To confirm, run this command: /msg ChanServ DROP #c {code}"
    assert await cs(dave, "INFO #c") == "Channel #c is registered"


async def test_what_chanserv_keeps_survives_a_restart(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice", PW, "#keep", "#gone")
    others = [await registered_account(server, name) for name in ("bob", "carol", "dave")]
    assert await cs(alice, "REGISTER #keep") == "Channel #keep successfully registered"
    assert await cs(alice, "REGISTER #gone") == "Channel #gone successfully registered"
    for line, reply in (
        ("AMODE #keep +h carol", "Successfully set persistent mode +h on carol"),
        ("AMODE #keep +v dave", "Successfully set persistent mode +v on dave"),
        ("AMODE #keep -v dave", "Successfully removed dave from the access list"),
    ):
        assert await cs(alice, line) == reply, line
    assert await give_channel(alice, "#keep", "bob") == "The founder of #keep is now bob"
    when = await registered_at(alice, "ChanServ", "INFO #keep")
    code = await drop_code(alice, "ChanServ", "DROP #gone")
    assert await cs(alice, f"DROP #gone {code}") == "Channel #gone is now unregistered"
    for client in (alice, *others):
        await client.close()
    await server.stop()
    again = await stored()
    stranger = await connected(again, "stranger")
    bob = await connected(again, "bob")
    alice = await connected(again, "alice")
    clients.extend([stranger, bob, alice])
    stranger.send("LIST")
    listed = [m.params[1] for m in await stranger.collect_until("323") if m.command == "322"]
    assert listed == ["#keep"]
    stranger.send("JOIN #keep")  # the first in, with no account: no status in a registered channel
    assert (await stranger.expect("353")).params[-1].split() == ["stranger"]
    info = [text for _, text in await service_notices(stranger, "CS INFO #keep")]
    assert info == ["Channel #keep is registered", "Founder: bob", when]
    await identified(bob, "IDENTIFY " + PW, "bob")
    amodes = [text for _, text in await service_notices(bob, "CS AMODE #keep")]
    assert amodes == ["Channel #keep has 1 persistent modes set", "Account carol receives mode +h"]
    bob.send("JOIN #keep")
    assert set((await bob.expect("353")).params[-1].split()) == {"stranger", "~bob"}
    await identified(alice, "IDENTIFY " + PW, "alice")
    assert await cs(alice, "SET #keep FOUNDER alice") == "Only the channel founder can do this"
    assert await cs(alice, "INFO #gone") in ("Channel #gone is not registered", "Channel does not exist")


# -- where hubbub's services differed from ergo's ---------------------------------------------------------


async def test_set_password_with_spaces_does_not_leave_only_its_first_word(server, clients) -> None:
    """`/msg NickServ SET PASSWORD correct horse battery staple` answered `Password
    changed` and set `correct`: the passphrase the user believed in failed at the next
    SASL login. Now refused (NickServ splits its words apart); never the first word alone."""
    alice = await registered_account(server, "alice")
    clients.append(alice)
    reply = await ns(alice, "SET PASSWORD correct horse battery staple")
    assert reply == "A password given to NickServ cannot contain spaces"
    first, result = await sasl_plain(server, "probe1", "alice", "correct")
    clients.append(first)
    assert result == "904", "the first word alone logs in"
    if reply == "Password changed":
        whole, result = await sasl_plain(server, "probe2", "alice", "correct horse battery staple")
        clients.append(whole)
        assert result == "903"


async def test_cert_del_without_a_fingerprint_says_the_usage(server, clients) -> None:
    """The syntax is `CERT DEL <fingerprint>` (docs/accounts.md: missing arguments are
    `Invalid parameters. Usage: <syntax>`; ergo: `Invalid parameters`). The answer given
    talks of the connection's certificate, which DEL never uses, even with one."""
    alice = await registered_account(server, "alice")
    clients.append(alice)
    assert await ns(alice, "CERT DEL") == USAGE + CERT_SYNTAX


async def test_echo_message_echoes_a_privmsg_to_a_service(server, clients) -> None:
    """With echo-message a client shows what it sent only once the server echoes it
    (hubbub's own web client counts a line as sent on its echo); ergo echoes a message
    to its services like any other, and so does hubbub now (a NOTICE too, unanswered)."""
    bob = await capped(server, "bob", "echo-message")
    clients.append(bob)
    bob.send("PRIVMSG NickServ :HELP")
    bob.send("PRIVMSG ChanServ :HELP")
    bob.send("NOTICE NickServ :hello")
    echoed = [[m.command, *m.params] for m in await sync(bob) if m.source.startswith("bob!")]
    assert echoed == [["PRIVMSG", "NickServ", "HELP"], ["PRIVMSG", "ChanServ", "HELP"], ["NOTICE", "NickServ", "hello"]]


async def test_a_ctcp_to_a_service_is_not_taken_for_a_command(server, clients) -> None:
    """ergo answers CTCP VERSION, PING and TIME from its services and ignores other CTCPs
    (an ACTION, `/me` in a query with NickServ); hubbub answered each with `Unknown command`."""
    bob = await connected(server, "bob")
    clients.append(bob)
    assert await service_notices(bob, "PRIVMSG NickServ :\x01ACTION waves\x01") == []
    assert await service_notices(bob, "PRIVMSG ChanServ :\x01PING 1234\x01") == [(CS, "\x01PING 1234\x01")]
    [(_, version)] = await service_notices(bob, "PRIVMSG NickServ :\x01VERSION\x01")
    assert version.startswith("\x01VERSION hubbub ") and version.endswith("\x01")
    [(_, when)] = await service_notices(bob, "PRIVMSG NickServ :\x01TIME\x01")
    assert when.startswith("\x01TIME ") and when.endswith(" UTC\x01")


async def test_amode_applies_to_the_accounts_members_present_now(server, clients) -> None:
    """ergo applies an AMODE change to the account's connections already in the channel
    (ergo #729); in hubbub `AMODE #c -o bob` left bob an operator until he rejoined, so a
    founder could not take an op away through the access list, and `+o` waited for a rejoin."""
    alice = await registered_account(server, "alice", PW, "#c")
    bob = await registered_account(server, "bob", PW, "#c")
    clients.extend([alice, bob])
    assert await cs(alice, "REGISTER #c") == "Channel #c successfully registered"
    assert await cs(alice, "AMODE #c +o bob") == "Successfully set persistent mode +o on bob"
    await sync(alice)
    assert "@bob" in await names(alice, "#c")
    assert await cs(alice, "AMODE #c -o bob") == "Successfully removed bob from the access list"
    await sync(alice)
    assert "bob" in await names(alice, "#c")


async def test_ghost_reaches_a_connection_holding_the_nick_before_it_registers(server, clients) -> None:
    """A connection that sent `NICK alice` and nothing more holds the nick (433 to its
    owner) for the registration timeout, and can do it again on every reconnection, out
    of reach of nick enforcement (which starts at registration). GHOST is the owner's
    remedy, and ergo's reaches such a client; hubbub's said `No such nick`."""
    alice = await registered_account(server, "alice")
    alice.send("QUIT")
    await alice.closed()
    squatter = await LineClient.connect(server)
    owner = await connected(server, "owner")
    clients.extend([squatter, owner])
    squatter.send("NICK alice")
    squatter.send("PING :held")
    await squatter.expect("PONG")
    await identified(owner, "IDENTIFY alice " + PW, "alice")
    owner.send("NICK alice")
    assert (await owner.expect("433")).params[1] == "alice"  # held, registered or not
    assert await ns(owner, "GHOST alice") == "alice has been ghosted"
    await squatter.closed()
    owner.send("NICK alice")
    assert (await owner.expect("NICK")).params == ["alice"]
