"""Review of the changes since a502f3a, over real sockets: the read markers a connection
learns when it logs in, or asks for draft/read-marker, after joining
(Services.recall_markers, from announce._account_notice and registration._cap_req), which
the RENAME fallback (announce._rename_as_part_and_join) repeats as the MARKREAD a real
JOIN brings.

Looked at as an ergo or InspIRCd developer would: what happens while the store read is in
flight (a RENAME, another connection's MARKREAD, a DROP of the account, a logout, a CAP
REQ turning the capability off), that the client's held input comes back, and the ways to
log in (SASL during registration and after it, NickServ IDENTIFY, REGISTER), with a SQLite
file and with `:memory:`. A test marked xfail(strict=True) asserts the right behaviour
where hubbub does not have it yet.

To keep the recall's store read in flight, the tests take the SQLite file's write lock
(tests/e2e/test_review_today.py `store_held`): the read waits for a write handed over
before it, and so does all output; once let go, everything goes out in the server's order.
"""

from __future__ import annotations

from pathlib import Path

from hubbub.irc.casemap import casefold
from hubbub.server.handlers.nickserv import _drop_code
from tests.cluster.conftest import cluster_config  # noqa: F401  (fixture)
from tests.cluster.support import Cluster, caught_up
from tests.e2e.test_review_today import store_held, until
from tests.e2e_accounts.support import b64, registered_account
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, commands, sync

RENAME = "draft/channel-rename"
MARKER = "draft/read-marker"
STAMP = "timestamp=2021-06-01T12:00:00.000Z"
LATER = "timestamp=2022-02-02T02:02:02.000Z"


async def stored(make_server, tmp_path: Path):
    db = tmp_path / "hubbub.db"
    return await make_server(f"store.db='{db}'"), db


async def set_marker(client: LineClient, channel: str, marker: str) -> None:
    client.send(f"MARKREAD {channel} {marker}")
    assert (await client.expect("MARKREAD")).params == [channel, marker]


async def identify(client: LineClient, account: str = "alice", password: str = "correct-horse") -> None:
    client.send(f"PRIVMSG NickServ :IDENTIFY {account} {password}")
    await client.expect("900")
    await sync(client)


async def account_with_marker(server, clients: list[LineClient], *channels: str, marker: str = STAMP):
    """alice (op of `channels`, draft/channel-rename: RENAME's own form) and laptop, logged in
    to alice with read-marker, which set `marker` on the first channel."""
    op = await registered_account(server, "alice", "correct-horse", *channels)
    clients.append(op)
    laptop = await capped(server, "laptop", MARKER, channels=channels)
    clients.append(laptop)
    await identify(laptop)
    await set_marker(laptop, channels[0], marker)
    return op, laptop


async def fallback_markreads(op: LineClient, client: LineClient, old: str, new: str) -> list[list[str]]:
    """The op renames `old` to `new`; the MARKREADs `client` (no draft/channel-rename) gets
    within the PART, JOIN, topic and NAMES shown in its place."""
    await sync(client)  # what came before is read
    op.send(f"RENAME {old} {new} :tidier")
    shown = await client.collect_until(lambda m: m.command == "366" and m.params[1] == new)
    assert commands(shown)[:2] == ["PART", "JOIN"], commands(shown)
    return [m.params for m in shown if m.command == "MARKREAD"]


def recalling(server, nick: str, account: str | None):
    """Whether `nick` is logged in to `account` with its input held: the login's recall
    (started as the login applies) waits for the store."""

    def check() -> bool:
        user = server.services.state.find_user(nick)
        return user is not None and user.account == account and held(user.conn)

    return check


def held(conn) -> bool:
    """Whether the connection's further lines wait (a store query of its own in flight)."""
    return conn is not None and conn.link.gate.held > 0


# -- what is right ----------------------------------------------------------------------------------


async def test_identify_in_memory_store_gives_the_fallback_the_account_s_markers_of_every_channel(
    server, clients
) -> None:
    op, laptop = await account_with_marker(server, clients, "#one", "#two", "#three")
    await set_marker(laptop, "#three", LATER)
    phone = await capped(server, "phone", MARKER, channels=("#one", "#two", "#three"))
    clients.append(phone)
    await identify(phone)
    assert await fallback_markreads(op, phone, "#one", "#uno") == [["#uno", STAMP]]
    assert await fallback_markreads(op, phone, "#two", "#dos") == [["#dos", "*"]]
    assert await fallback_markreads(op, phone, "#three", "#tres") == [["#tres", LATER]]


async def test_sasl_during_registration_then_join_gives_the_account_s_marker_at_join_and_rename(
    server, clients
) -> None:
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await LineClient.connect(server)
    clients.append(phone)
    phone.send("CAP LS 302")
    phone.send(f"CAP REQ :sasl {MARKER}")
    await phone.expect("CAP", "*", "ACK")
    phone.send("NICK phone")
    phone.send("USER u 0 * :U")
    phone.send("AUTHENTICATE PLAIN")
    await phone.expect("AUTHENTICATE", "+")
    phone.send("AUTHENTICATE " + b64("alice\0alice\0correct-horse"))
    await phone.expect("903")
    phone.send("CAP END")
    await phone.expect("001")
    phone.nick = "phone"
    phone.send("JOIN #foo")
    joined = await phone.collect_until("366")
    assert [m.params for m in joined if m.command == "MARKREAD"] == [["#foo", STAMP]]
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", STAMP]]


async def test_sasl_after_registration_recalls_the_markers_too(server, clients) -> None:
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, "sasl", channels=("#foo",))
    clients.append(phone)
    phone.send("AUTHENTICATE PLAIN")
    await phone.expect("AUTHENTICATE", "+")
    phone.send("AUTHENTICATE " + b64("alice\0alice\0correct-horse"))
    await phone.expect("903")
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", STAMP]]


async def test_nickserv_register_after_joining_tells_star_for_the_new_account(server, clients) -> None:
    op = await registered_account(server, "alice", "correct-horse", "#foo")
    bob = await capped(server, "bob", MARKER, channels=("#foo",))
    clients.extend([op, bob])
    bob.send("PRIVMSG NickServ :REGISTER battery-staple")
    await bob.expect("900")
    await sync(bob)
    assert await fallback_markreads(op, bob, "#foo", "#bar") == [["#bar", "*"]]


async def test_identify_then_logout_at_once_leaves_star(make_server, tmp_path, clients) -> None:
    server, _db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    clients.append(phone)
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse\r\nPRIVMSG NickServ :LOGOUT")
    await phone.expect("900")
    await phone.expect("901")
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", "*"]]


async def test_identify_then_cap_off_at_once_sends_no_markread_and_back_on_the_account_s(
    make_server, tmp_path, clients
) -> None:
    server, _db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    clients.append(phone)
    phone.send(f"PRIVMSG NickServ :IDENTIFY alice correct-horse\r\nCAP REQ :-{MARKER}")
    await phone.expect("900")
    await phone.expect("CAP", "phone", "ACK")
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == []
    phone.send(f"CAP REQ :{MARKER}")
    await phone.expect("CAP", "phone", "ACK")
    await sync(phone)
    assert await fallback_markreads(op, phone, "#bar", "#baz") == [["#baz", STAMP]]


async def test_the_input_held_for_the_recall_all_comes_back_in_order(make_server, tmp_path, clients) -> None:
    server, db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo", "#two", "#three")
    phone = await capped(server, "phone", MARKER, channels=("#foo", "#two", "#three"))
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, carol])
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse\r\n"
                   + "".join(f"PING :p{i}\r\n" for i in range(30)))  # fmt: skip
        await until(recalling(server, "phone", "alice"))
    got = await phone.collect_until(lambda m: m.command == "PONG" and m.params[-1] == "p29")
    pongs = [m.params[-1] for m in got if m.command == "PONG"]
    assert pongs == [f"p{i}" for i in range(30)]
    assert commands(got).index("900") < commands(got).index("PONG")
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", STAMP]]


async def test_a_client_gone_while_its_recall_waits_leaves_the_server_well(make_server, tmp_path, clients) -> None:
    server, db = await stored(make_server, tmp_path)
    op, laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, carol])
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await until(recalling(server, "phone", "alice"))
        await phone.close()
    await op.expect(lambda m: m.command == "QUIT" and m.source.startswith("phone!"))
    assert await fallback_markreads(op, laptop, "#foo", "#bar") == [["#bar", STAMP]]


async def test_a_marker_set_elsewhere_while_the_recall_waits_is_the_one_told(make_server, tmp_path, clients) -> None:
    server, db = await stored(make_server, tmp_path)
    channels = ("#foo", "#b1", "#b2", "#b3", "#b4", "#b5")
    op, laptop = await account_with_marker(server, clients, *channels)
    phone = await capped(server, "phone", MARKER, channels=channels)
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, carol])
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await until(recalling(server, "phone", "alice"))
        laptop.send(f"MARKREAD #foo {LATER}")  # its own read waits too, then moves the marker on
        await until(lambda: held(server.services.state.find_user("laptop").conn))
    await laptop.expect("MARKREAD", "#foo", LATER)
    await phone.expect("MARKREAD", "#foo", LATER)
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", LATER]]


async def test_the_account_dropped_while_the_recall_waits_leaves_star(make_server, tmp_path, clients) -> None:
    server, db = await stored(make_server, tmp_path)
    op = await registered_account(server, "opal", "correct-horse", "#foo")
    laptop = await registered_account(server, "alice", "correct-horse")
    clients.extend([op, laptop])
    laptop.send(f"CAP REQ :{MARKER}")
    await laptop.expect("CAP", "alice", "ACK")
    await laptop.join("#foo")
    await set_marker(laptop, "#foo", STAMP)
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, carol])
    code = _drop_code(server.services.state.accounts[casefold("alice")])
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await until(recalling(server, "phone", "alice"))
        laptop.send(f"PRIVMSG NickServ :DROP alice {code}")
        await until(lambda: server.services.state.find_user("phone").account is None)
    await phone.expect("900")
    await phone.expect("901")
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", "*"]]


async def test_a_part_and_rejoin_typed_after_identify_get_the_account_s_marker(make_server, tmp_path, clients) -> None:
    server, db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, carol])
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse\r\nPART #foo\r\nJOIN #foo")
        await until(recalling(server, "phone", "alice"))
    got = await phone.collect_until(lambda m: m.command == "366")
    assert [m.params for m in got if m.command == "MARKREAD"] == [["#foo", STAMP]]
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", STAMP]]


async def test_cap_req_read_marker_after_joining_while_logged_in_recalls_the_account_s(
    make_server, tmp_path, clients
) -> None:
    server, _db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", channels=("#foo",))
    clients.append(phone)
    await identify(phone)  # no read-marker yet: nothing to recall
    phone.send(f"CAP REQ :{MARKER}")
    await phone.expect("CAP", "phone", "ACK")
    await sync(phone)
    assert await fallback_markreads(op, phone, "#foo", "#bar") == [["#bar", STAMP]]


async def test_two_connections_identifying_at_once_each_learn_the_marker(make_server, tmp_path, clients) -> None:
    server, db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    tablet = await capped(server, "tablet", MARKER, channels=("#foo",))
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, tablet, carol])
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        tablet.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await until(recalling(server, "phone", "alice"))
        await until(recalling(server, "tablet", "alice"))
    for client in (phone, tablet):
        await client.expect("900")
        await sync(client)  # answered once the recall is done
    op.send("RENAME #foo #bar")
    for client in (phone, tablet):
        shown = await client.collect_until(lambda m: m.command == "366" and m.params[1] == "#bar")
        assert [m.params for m in shown if m.command == "MARKREAD"] == [["#bar", STAMP]]


# -- a RENAME while the recall waits ------------------------------------------------------------------


async def renamed_while_recalling(make_server, tmp_path, clients) -> tuple[LineClient, LineClient, list]:
    """phone (read-marker, no channel-rename) in #foo identifies to alice, whose marker on
    #foo is STAMP; while its recall waits for the store, the op renames #foo to #bar. What
    phone gets of the rename once the store lets go."""
    server, db = await stored(make_server, tmp_path)
    op, _laptop = await account_with_marker(server, clients, "#foo")
    phone = await capped(server, "phone", MARKER, channels=("#foo",))
    carol = await capped(server, "carol", channels=("#foo",))
    clients.extend([phone, carol])
    await sync(phone)
    async with store_held(server, db, carol, "#foo"):
        phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await until(recalling(server, "phone", "alice"))
        op.send("RENAME #foo #bar :tidier")
        await until(lambda: server.services.state.find_channel("#bar") is not None)
    got = await phone.collect_until(lambda m: m.command == "366" and m.params[1] == "#bar")
    await sync(phone)
    start = next(i for i, m in enumerate(got) if m.command == "PART")
    return op, phone, got[start:]


async def test_a_rename_while_the_recall_waits_still_brings_the_markread(make_server, tmp_path, clients) -> None:
    _op, _phone, shown = await renamed_while_recalling(make_server, tmp_path, clients)
    assert commands(shown)[:2] == ["PART", "JOIN"]
    assert [m.params for m in shown if m.command == "MARKREAD"] == [["#bar", STAMP]]


async def test_after_a_rename_while_the_recall_waited_the_next_rename_brings_the_markread(
    make_server, tmp_path, clients
) -> None:
    op, phone, _shown = await renamed_while_recalling(make_server, tmp_path, clients)
    assert await fallback_markreads(op, phone, "#bar", "#baz") == [["#baz", STAMP]]


# -- a cluster on one PostgreSQL ------------------------------------------------------------------


async def test_in_a_cluster_the_recall_sees_a_marker_the_network_already_applied(
    redis_server,
    cluster_config: str,  # noqa: F811
    postgres_url: str,
) -> None:
    import asyncpg

    network = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await network.start(2)
        op = await network.client(n1, "op", "#foo", caps=[RENAME])
        laptop = await network.client(n1, "laptop", "#foo", caps=[MARKER])
        laptop.send("PRIVMSG NickServ :REGISTER correct-horse")
        await laptop.expect("900")
        tablet = await network.client(n2, "tablet", caps=[MARKER])  # sees the account's markers on n2
        tablet.send("PRIVMSG NickServ :IDENTIFY laptop correct-horse")
        await tablet.expect("900")
        phone = await network.client(n2, "phone", "#foo", caps=[MARKER])
        await caught_up(phone)
        await sync(laptop)
        lock = await asyncpg.connect(postgres_url)
        try:
            locked = lock.transaction()
            await locked.start()
            await lock.execute("LOCK TABLE read_markers IN EXCLUSIVE MODE")  # reads pass, n1's write waits
            laptop.send(f"MARKREAD #foo {STAMP}")
            await tablet.expect("MARKREAD", "#foo", STAMP)  # applied on n2: the network has it
            phone.send("PRIVMSG NickServ :IDENTIFY laptop correct-horse")
            await phone.expect("900")  # the recall is under way (its store read waits for n1's commit)
            await locked.commit()
        finally:
            await lock.close()
        await laptop.expect("MARKREAD", "#foo", STAMP)
        await caught_up(phone)
        op.send("RENAME #foo #bar")
        shown = await phone.collect_until(lambda m: m.command == "366" and m.params[1] == "#bar")
        assert [m.params for m in shown if m.command == "MARKREAD"] == [["#bar", STAMP]]
    finally:
        await network.close()
