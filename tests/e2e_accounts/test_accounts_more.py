"""More accounts over real sockets: failed logins counted per account and per address,
a registered channel's exception and invite lists across a restart, the protect status
(+a, `&`) from the access list, and handing a channel to another founder."""

from __future__ import annotations

import asyncio

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.confirming import give_channel
from tests.e2e_accounts.support import b64, ns, registered_account
from tests.helpers import LineClient, connected

CS = "ChanServ!ChanServ@services"
INVALID = "Authentication failed: Invalid account credentials"
THROTTLED = "Too many failed attempts; try again in"


async def cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def raw_from(runtime: Runtime, ip: str) -> LineClient:
    """A connection from `ip` (any 127.x.y.z reaches the server on 127.0.0.1 over the
    loopback), so that the server counts its failures against that address."""
    host, port = runtime.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(ip, 0), limit=1 << 20)
    return LineClient(reader, writer)


async def from_address(runtime: Runtime, ip: str, nick: str) -> LineClient:
    """A registered client connected from `ip`."""
    client = await raw_from(runtime, ip)
    await client.register(nick)
    return client


async def identified(client: LineClient, account: str, password: str = "correct-horse") -> None:
    client.send(f"PRIVMSG NickServ :IDENTIFY {account} {password}")
    assert (await client.expect("900")).params[2] == account


async def test_failures_against_one_account_throttle_it_but_not_the_address_or_other_accounts(
    make_server, clients
) -> None:
    """Three failures against alice from two addresses and two connections: no address
    and no connection reached the limit, only the account did (its own limit, set to 3
    here). alice is refused (even the right password, from an address that never failed);
    bob is not, from an address and a connection that did fail."""
    server = await make_server(
        "accounts.login_failures=3", "accounts.login_failures_per_account=3", "accounts.login_window=600"
    )
    alice = await registered_account(server, "alice")
    bob = await registered_account(server, "bob")
    first = await from_address(server, "127.0.0.2", "first")
    second = await from_address(server, "127.0.0.3", "second")
    clients.extend([alice, bob, first, second])
    for guesser in (first, first, second):
        assert await ns(guesser, "IDENTIFY alice nope") == INVALID
    fresh = await from_address(server, "127.0.0.4", "fresh")
    clients.append(fresh)
    assert (await ns(fresh, "IDENTIFY alice correct-horse")).startswith(THROTTLED)
    # 127.0.0.2 failed twice, and so did this connection: both still below the limit
    await identified(first, "bob")


async def test_failures_spread_over_accounts_throttle_the_address(make_server, clients) -> None:
    """One failure against each of three accounts, each from a connection of its own,
    all from 127.0.0.2: no account and no connection reached the limit, the address did
    (its own limit, set to 3 here). A fourth account, never guessed at, is refused from
    there, and not from elsewhere."""
    server = await make_server(
        "accounts.login_failures=3", "accounts.login_failures_per_address=3", "accounts.login_window=600"
    )
    owners = [await registered_account(server, name) for name in ("alice", "bob", "carol", "dave")]
    clients.extend(owners)
    for number, account in enumerate(("alice", "bob", "carol")):
        guesser = await from_address(server, "127.0.0.2", f"guesser{number}")
        clients.append(guesser)
        assert await ns(guesser, f"IDENTIFY {account} nope") == INVALID
    again = await from_address(server, "127.0.0.2", "again")
    clients.append(again)
    assert (await ns(again, "IDENTIFY dave correct-horse")).startswith(THROTTLED)
    # SASL from that address is refused as well
    sasl = await raw_from(server, "127.0.0.2")
    clients.append(sasl)
    sasl.send("CAP REQ :sasl")
    await sasl.expect("CAP")
    sasl.send("AUTHENTICATE PLAIN")
    await sasl.expect("AUTHENTICATE", "+")
    sasl.send(f"AUTHENTICATE {b64(chr(0).join(('dave', 'dave', 'correct-horse')))}")
    failed = await sasl.expect(lambda m: m.command in ("903", "904"))
    assert failed.command == "904" and THROTTLED in failed.params[-1]
    elsewhere = await from_address(server, "127.0.0.3", "elsewhere")
    clients.append(elsewhere)
    await identified(elsewhere, "dave")
    other = await from_address(server, "127.0.0.3", "other")  # alice failed once: far from her limit
    clients.append(other)
    await identified(other, "alice")


async def list_entries(client: LineClient, channel: str, letter: str, item: str, end: str) -> list[str]:
    client.send(f"MODE {channel} {letter}")
    messages: list[Message] = await client.collect_until(lambda m: m.command == end)
    return sorted(m.params[2] for m in messages if m.command == item and m.params[1] == channel)


async def test_exception_and_invite_lists_survive_a_restart(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice", "correct-horse", "#keep")
    assert await cs(alice, "REGISTER #keep") == "Channel #keep successfully registered"
    await alice.expect("MODE", "#keep", "+q", "alice")
    alice.send("MODE #keep +ee *!*@friend.example a:bob")
    await alice.expect("MODE", "#keep", "+ee")
    alice.send("MODE #keep +II *!*@invited.example a:carol")
    await alice.expect("MODE", "#keep", "+II")
    exceptions = ["*!*@friend.example", "a:bob"]
    invites = ["*!*@invited.example", "a:carol"]
    assert await list_entries(alice, "#keep", "e", "348", "349") == exceptions
    assert await list_entries(alice, "#keep", "I", "346", "347") == invites
    await alice.close()
    await server.stop()
    again = await stored()
    alice = await LineClient.connect(again)
    clients.append(alice)
    await alice.register("alice")
    await identified(alice, "alice")
    alice.send("JOIN #keep")
    assert (await alice.expect("353")).params[-1] == "~alice"
    assert await list_entries(alice, "#keep", "e", "348", "349") == exceptions
    assert await list_entries(alice, "#keep", "I", "346", "347") == invites


async def test_the_access_list_gives_protect_status(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    assert await cs(alice, "AMODE #c +a bob") == "Successfully set persistent mode +a on bob"
    assert await cs(alice, "AMODE #c") == "Channel #c has 1 persistent modes set"
    assert (await alice.expect("NOTICE")).params[-1] == "Account bob receives mode +a"
    bob.send("JOIN #c")
    assert (await bob.expect("353")).params[-1].split() == ["~alice", "&bob"]
    assert await cs(alice, "AMODE #c +o bob") == "Successfully set persistent mode +ao on bob"
    bob.send("PART #c")
    await bob.expect("PART")
    carol.send("CAP REQ :multi-prefix")
    await carol.expect("CAP")
    carol.send("JOIN #c")
    await carol.expect("366")
    bob.send("JOIN #c")
    assert sorted((await bob.expect("353")).params[-1].split()) == ["&bob", "carol", "~alice"]
    carol.send("NAMES #c")
    assert sorted((await carol.expect("353")).params[-1].split()) == ["&@bob", "carol", "~@alice"]
    alice.send("MODE #c +o carol")
    await carol.expect("MODE", "#c", "+o", "carol")
    carol.send("KICK #c bob :no")  # an op cannot kick the protected
    assert (await carol.expect("482")).params[1] == "#c"


async def test_set_founder_hands_the_channel_over(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob")
    carol = await registered_account(server, "carol")
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    assert await cs(bob, "SET #c FOUNDER bob") == "Only the channel founder can do this"
    assert await cs(alice, "SET #c FOUNDER nobody") == "Account does not exist"
    assert await give_channel(alice, "#c", "bob") == "The founder of #c is now bob"
    assert await cs(carol, "INFO #c") == "Channel #c is registered"
    assert (await carol.expect("NOTICE")).params[-1] == "Founder: bob"
    alice.send("PART #c")
    await alice.expect("PART")
    bob.send("JOIN #c")
    assert (await bob.expect("353")).params[-1] == "~bob"
    alice.send("JOIN #c")
    assert (await alice.expect("353")).params[-1].split() == ["~bob", "alice"]
    assert await cs(alice, "AMODE #c +o carol") == "Only the channel founder can do this"
    assert await cs(alice, "OP #c") == "You don't have any stored privileges on that channel"
    assert await cs(alice, "SET #c FOUNDER alice") == "Only the channel founder can do this"
    assert await cs(bob, "AMODE #c +o carol") == "Successfully set persistent mode +o on carol"
    assert await cs(bob, "OP #c") == "Successfully granted operator privileges"


async def test_set_founder_moves_the_founder_status_in_the_channel_at_once(server, clients) -> None:
    """The old founder, still in the channel, must not keep +q (and with it the power to
    kick the new one); the new founder, there already, gets it without rejoining."""
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob", "correct-horse", "#c")
    clients.extend([alice, bob])
    await cs(alice, "REGISTER #c")
    assert await give_channel(alice, "#c", "bob") == "The founder of #c is now bob"
    changes = []
    while len(changes) < 2:
        mode = await alice.expect("MODE", "#c")
        assert mode.source == CS
        changes.append(tuple(mode.params[1:]))
    assert sorted(changes) == [("+q", "bob"), ("-q", "alice")]
    alice.send("NAMES #c")
    assert sorted((await alice.expect("353")).params[-1].split()) == ["@alice", "~bob"]  # her op stays
    alice.send("KICK #c bob")
    assert (await alice.expect("482")).params[1] == "#c"
