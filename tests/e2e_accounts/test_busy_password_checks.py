"""Password checks run on a few worker threads, with a bounded queue: a login refused
because the queue is full (many checks at once, a guessing swarm) says the server is
busy, never that the credentials are invalid (they were not even looked at), and is
not counted as a failure: the owner's client tries again instead of giving up. Each
client address has a share of that queue (`limits.password_checks_per_address`), so that
one address with many connections cannot keep everyone else's logins out; a WebIRC
gateway's users, and the web listener's behind a trusted proxy, count at their own
addresses."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hubbub.app import Runtime
from hubbub.irc.message import Message
from hubbub.runtime.workers import BLOCKING_WORKERS
from hubbub.server.logins import BUSY
from tests.e2e.test_webirc import OPERS, make_gateway_server, oper_up, through_gateway  # noqa: F401  (a fixture)
from tests.e2e_accounts.support import NS, b64, registered_account, sasl_plain
from tests.helpers import LineClient, connected
from tests.web.wsclient import WsClient


async def test_a_login_refused_for_want_of_workers_says_busy_not_invalid(server, clients: list[LineClient]) -> None:
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    server.workers.max_pending = 0  # every worker taken, the queue full
    client, numeric = await sasl_plain(server, "legit", "legit", "right-password")
    clients.append(client)
    assert numeric == "904"
    failure = next(m for m in client.received if m.command == "904")
    assert "busy" in failure.params[-1] and "invalid" not in failure.params[-1]

    identify = await LineClient.connect(server)
    clients.append(identify)
    await identify.register("someone")
    identify.send("PRIVMSG NickServ :IDENTIFY legit right-password")
    said = await identify.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert "busy" in said.params[-1]

    server.workers.max_pending = 10  # free again: the same password logs in, nothing was counted against it
    client, numeric = await sasl_plain(server, "legit2", "legit", "right-password")
    clients.append(client)
    assert numeric == "903"


# -- each address's share of the queue (limits.password_checks_per_address) ---------------------
#
# The workers are kept busy with the server's own work (`workers_taken`), so that the checks
# clients ask for wait in the queue, as they do behind a burst of slow hashing: which are
# taken (they wait, counted) and which are refused at once (the client is told "busy") is
# then plain to see, whatever the machine's speed.


@contextmanager
def workers_taken(runtime: Runtime) -> Iterator[None]:
    """Every worker thread busy until the block ends (then the waiting checks run)."""
    release = threading.Event()
    for _ in range(BLOCKING_WORKERS):
        runtime.workers.submit(release.wait, lambda _: None)
    try:
        yield
    finally:
        release.set()


# How long an answer may take once the workers are free: it may wait behind several
# argon2 checks of 64 MiB each, on a loaded machine (a bound to wait for, not a claim).
AFTER_CHECKS = 30.0


async def waiting_checks(runtime: Runtime, count: int) -> None:
    """Until `count` clients' checks wait (each client's was read and taken, not refused)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + AFTER_CHECKS
    while runtime.workers.pending != count:
        if loop.time() > deadline:
            raise AssertionError(f"{runtime.workers.pending} checks waiting, not {count}")
        await asyncio.sleep(0.01)


async def raw_from(runtime: Runtime, ip: str) -> LineClient:
    """A connection from `ip` (any 127.x.y.z is this machine on Linux)."""
    host, port = runtime.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(ip, 0), limit=1 << 20)
    return LineClient(reader, writer)


async def sasl_sent(runtime: Runtime, ip: str, account: str, password: str) -> LineClient:
    """A connection from `ip` that sent its SASL PLAIN credentials; the answer is to come."""
    client = await raw_from(runtime, ip)
    client.send("CAP REQ :sasl")
    await client.expect("CAP")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send(f"AUTHENTICATE {b64(chr(0).join((account, account, password)))}")
    return client


async def sasl_answer(client: LineClient) -> Message:
    return await client.expect(lambda m: m.command in ("903", "904", "905", "906"), timeout=AFTER_CHECKS)


async def ns_answer(client: LineClient) -> str:
    said = await client.expect(lambda m: m.command == "NOTICE" and m.source == NS, timeout=AFTER_CHECKS)
    return said.params[-1]


LOGGED_IN = "You're now logged in as legit"


async def test_one_address_filling_its_share_is_told_busy_while_another_address_is_checked(
    make_server, clients: list[LineClient]
) -> None:
    """Two checks may wait for 127.0.0.1: its third login, by SASL or NickServ, is refused
    at once as busy (and not counted: it logs in afterwards); one from 127.0.0.2 meanwhile
    is taken and checked, though the whole queue has room for many more."""
    server = await make_server("limits.password_checks_per_address=2")
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    neighbour = await connected(server, "neighbour")
    clients.append(neighbour)
    with workers_taken(server):
        waiting = [await sasl_sent(server, "127.0.0.1", "legit", "right-password")]
        clients.extend(waiting)
        await waiting_checks(server, 1)
        waiting.append(await sasl_sent(server, "127.0.0.1", "legit", "right-password"))
        clients.append(waiting[-1])
        await waiting_checks(server, 2)

        third = await sasl_sent(server, "127.0.0.1", "legit", "right-password")
        clients.append(third)
        refused = await sasl_answer(third)
        assert refused.command == "904" and refused.params[-1].endswith(BUSY)
        neighbour.send("PRIVMSG NickServ :IDENTIFY legit right-password")
        assert await ns_answer(neighbour) == BUSY

        elsewhere = await sasl_sent(server, "127.0.0.2", "legit", "right-password")
        clients.append(elsewhere)
        await waiting_checks(server, 3)  # taken: it waits its turn
    assert (await sasl_answer(elsewhere)).command == "903"
    assert [(await sasl_answer(client)).command for client in waiting] == ["903", "903"]

    # refused unchecked, so nothing counted against the password: now there is room, it logs in
    neighbour.send("PRIVMSG NickServ :IDENTIFY legit right-password")
    assert await ns_answer(neighbour) == LOGGED_IN
    assert server.workers.by_address == {}


async def test_zero_gives_an_address_the_whole_queue(make_server, clients: list[LineClient]) -> None:
    server = await make_server("limits.password_checks_per_address=0")
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    with workers_taken(server):
        waiting = []
        for count in range(1, 6):  # more than the default share, all from 127.0.0.1
            waiting.append(await sasl_sent(server, "127.0.0.1", "legit", "right-password"))
            clients.append(waiting[-1])
            await waiting_checks(server, count)
    assert [(await sasl_answer(client)).command for client in waiting] == ["903"] * 5


async def test_a_webirc_gateways_users_have_the_shares_of_their_own_addresses(
    make_gateway_server, clients: list[LineClient]  # noqa: F811
) -> None:
    """The gateway at 127.0.0.1 connects two users of one IPv6 /64: 127.0.0.1's share
    full (a check waits for a direct connection there) refuses neither, and one's check
    waiting fills the share of their /64, which counts as one address."""
    server = await make_gateway_server("limits.password_checks_per_address=1")
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    web_user = await through_gateway(server, clients, "webuser", "2001:db8:1:2::7")  # its WEBIRC checked by now
    housemate = await through_gateway(server, clients, "housemate", "2001:db8:1:2::8")
    local, local_too = await connected(server, "local"), await connected(server, "localtoo")
    clients.extend([local, local_too])
    with workers_taken(server):
        local.send("PRIVMSG NickServ :IDENTIFY legit right-password")
        await waiting_checks(server, 1)
        local_too.send("PRIVMSG NickServ :IDENTIFY legit right-password")
        assert await ns_answer(local_too) == BUSY  # 127.0.0.1's share is taken

        web_user.send("PRIVMSG NickServ :IDENTIFY legit right-password")
        await waiting_checks(server, 2)  # taken: it is 2001:db8:1:2::/64's
        housemate.send("PRIVMSG NickServ :IDENTIFY legit right-password")
        assert await ns_answer(housemate) == BUSY  # and now that /64's is taken
    assert await ns_answer(web_user) == LOGGED_IN
    assert await ns_answer(local) == LOGGED_IN


async def test_web_clients_behind_a_trusted_proxy_have_the_shares_of_their_own_addresses(
    make_server, clients: list[LineClient]
) -> None:
    """The web listener's connections come from the proxy (127.0.0.1 here): each browser's
    check counts against the address the proxy names, not the proxy's."""
    server = await make_server("listen.web='127.0.0.1:0'", "web.trusted_proxies=['127.0.0.1']",
                               "limits.password_checks_per_address=1")  # fmt: skip
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    local = await connected(server, "local")
    clients.append(local)
    browsers = []
    try:
        for nick, address in (("browser", "198.51.100.7"), ("sametab", "198.51.100.7")):
            browsers.append(await WsClient.connect(server, headers={"X-Forwarded-For": address}))
            await browsers[-1].register(nick)
        browser, same_address = browsers
        with workers_taken(server):
            local.send("PRIVMSG NickServ :IDENTIFY legit right-password")
            await waiting_checks(server, 1)  # the proxy's own address's share is taken
            await browser.send("PRIVMSG NickServ :IDENTIFY legit right-password")
            await waiting_checks(server, 2)
            await same_address.send("PRIVMSG NickServ :IDENTIFY legit right-password")
            said = await same_address.expect(lambda m: m.command == "NOTICE" and m.source == NS)
            assert said.params[-1] == BUSY
        said = await browser.expect(lambda m: m.command == "NOTICE" and m.source == NS, timeout=AFTER_CHECKS)
        assert said.params[-1] == LOGGED_IN
    finally:
        for client in browsers:
            await client.close()


async def test_rehash_changes_the_share_for_the_next_check(
    make_gateway_server, clients: list[LineClient]  # noqa: F811
) -> None:
    server = await make_gateway_server(toml=OPERS + "[limits]\npassword_checks_per_address = 1\n")
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    ircop = await connected(server, "ircop")
    clients.append(ircop)
    await oper_up(ircop)
    Path(server.config_name).write_text(OPERS + "[limits]\npassword_checks_per_address = 2\n", encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "*** Configuration reloaded")
    logins = [await connected(server, f"login{number}") for number in range(3)]
    clients.extend(logins)
    with workers_taken(server):
        for count, client in enumerate(logins[:2], 1):
            client.send("PRIVMSG NickServ :IDENTIFY legit right-password")
            await waiting_checks(server, count)  # the second too: the share is 2 now
        logins[2].send("PRIVMSG NickServ :IDENTIFY legit right-password")
        assert await ns_answer(logins[2]) == BUSY
    assert [await ns_answer(client) for client in logins[:2]] == [LOGGED_IN, LOGGED_IN]
