"""Audit: slow commands never reorder a client's replies.

Reads that may be slow (CHATHISTORY, SEARCH, MARKREAD, REDACT's lookup, the replay on
JOIN) and password checks (NickServ REGISTER and IDENTIFY, SASL) run off the event loop;
the client's later lines wait meanwhile, so "its replies keep their order" and "a
labeled command's reply is completed by" the slow part (docs/architecture.md,
docs/history.md, server/context.py `Later`, `run_blocking`, `run_query`).

These tests pipeline many commands in ONE write from one client, slow ones mixed with
fast ones, with and without `labeled-response` + `batch`, and check that the replies
come in the order the commands were sent, each label's reply whole, nothing lost: also
when the client QUITs right after, changes NICK between slow commands, is KILLed by an
operator mid-way, hangs up during a password check, goes past its flood budget, speaks
over a WebSocket, or while another client's traffic comes in. Real SQLite files, and
PostgreSQL for the two big pipelines (the `stored` fixture of this folder).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message
from tests.e2e_accounts.support import b64, ns, registered_account
from tests.e2e_caps.support import capped
from tests.helpers import DEFAULT_HASH, LineClient, cheap_hash, connected, start_server, sync
from tests.web.wsclient import WsClient

HISTORY = ("draft/chathistory", "batch", "server-time", "message-tags")
READING = (*HISTORY, "draft/read-marker", "soju.im/search", "draft/message-redaction")
LABELED = ("labeled-response", "batch", "message-tags")
EPOCH, FUTURE = "timestamp=2000-01-01T00:00:00.000Z", "timestamp=2099-12-31T00:00:00.000Z"
MARK = "timestamp=2021-02-03T04:05:06.789Z"


# -- servers -------------------------------------------------------------------------------


@pytest.fixture
async def sqlite_server(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await sqlite_server(*overrides)`: a server on a SQLite file of its own (one backend
    is enough where the store only answers, not where it is tested)."""
    started: list[Runtime] = []

    async def make(*overrides: str) -> Runtime:
        runtime = await start_server(f"store.db='{tmp_path / 'hubbub.db'}'", *overrides)
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.stop()


OPER_BLOCK = '[[opers]]\nname = "admin"\npassword_hash = "{hash}"\n'


@pytest.fixture(scope="module")
def oper_hash() -> str:
    return cheap_hash("operpass")  # checked at the cost it was made at: the suite's cheap one


@pytest.fixture
async def oper_server(tmp_path: Path, oper_hash: str) -> AsyncIterator[tuple[Runtime, Path]]:
    """A server on a SQLite file with an operator block `admin` / `operpass`, reading its
    configuration file (given back, so that a test may change it and REHASH)."""
    path = tmp_path / "hubbub.toml"
    path.write_text('[server]\nmotd = "the old MOTD"\n' + OPER_BLOCK.format(hash=oper_hash), encoding="utf-8")
    overrides = ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                 f"store.db='{tmp_path / 'hubbub.db'}'"]  # fmt: skip
    runtime = Runtime(load(str(path), overrides), loader=lambda: load(str(path), overrides), config_name=str(path))
    await runtime.start()
    yield runtime, path
    await runtime.stop()


# -- reading replies -----------------------------------------------------------------------


def content(messages: list[Message]) -> list[Message]:
    """The reply without its batch framing."""
    return [m for m in messages if m.command != "BATCH"]


def kinds(messages: list[Message]) -> list[str]:
    return [m.command for m in content(messages)]


def texts(messages: list[Message]) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "PRIVMSG"]


def units(messages: list[Message]) -> list[tuple[str | None, list[Message]]]:
    """The stream cut into replies: a whole batch (nested ones inside it) is one unit, any
    other line one of its own; each with the label it carries (None when unlabeled). A
    line inside a batch that carries no reference of a batch open around it is someone
    else's traffic (the batch specification lets it come there): a unit of its own, after."""
    found: list[tuple[str | None, list[Message]]] = []
    i = 0
    while i < len(messages):
        first = messages[i]
        if first.command == "BATCH" and first.params[0].startswith("+"):
            ref, opened, body, between = first.params[0][1:], {first.params[0][1:]}, [first], []
            i += 1
            while not (messages[i].command == "BATCH" and messages[i].params[0] == "-" + ref):
                line = messages[i]
                if line.tags.get("batch") not in opened:
                    between.append((line.tags.get("label"), [line]))
                else:
                    if line.command == "BATCH" and line.params[0].startswith("+"):
                        opened.add(line.params[0][1:])
                    body.append(line)
                i += 1
            body.append(messages[i])
            found.append((first.tags.get("label"), body))
            found.extend(between)
        else:
            found.append((first.tags.get("label"), [first]))
        i += 1
    return found


async def until_pong(client: LineClient, token: str, timeout: float = 10.0) -> list[Message]:
    """Everything received up to the PONG answering `PING :token` (that PONG included)."""
    return await client.collect_until(lambda m: m.command == "PONG" and m.params[-1] == token, timeout=timeout)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def reset(client: LineClient) -> None:
    """Hang up at once: a TCP reset, not a goodbye."""
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.writer.transport.abort()


async def offline(watcher: LineClient, nick: str) -> None:
    """Return once `nick` is not on the server (MONITOR says so: 731)."""
    watcher.send(f"MONITOR + {nick}")
    await watcher.expect(lambda m: m.command == "731" and nick in m.params[-1].split(","), timeout=10)
    watcher.send(f"MONITOR - {nick}")


# -- the pipeline: one write of slow and fast commands ---------------------------------------


async def channel_with_talk(server: Runtime, alice_caps: tuple[str, ...]) -> tuple[LineClient, LineClient, list[str]]:
    """alice (op of #c, not logged in yet) and bob in #c; bob said c0, c1, c2: their msgids."""
    alice = await capped(server, "alice", *alice_caps, channels=("#c",))
    bob = await connected(server, "bob", "#c")
    for i in range(3):
        bob.send(f"PRIVMSG #c :c{i}")
    await sync(bob)
    seen = [m for m in await sync(alice) if m.command == "PRIVMSG"]
    assert texts(seen) == ["c0", "c1", "c2"]
    return alice, bob, [m.tags["msgid"] for m in seen]


def the_plan(ids: list[str]) -> list[tuple[str, Callable[[list[Message]], bool]]]:
    """Commands, slow and fast mixed, and what the reply to each must be (its lines, batch
    framing aside). Later ones depend on earlier ones being done: MARKREAD needs the
    account REGISTER makes, the last CHATHISTORY the REDACT before it."""
    c0, c1, c2 = ids
    return [
        ("PRIVMSG NickServ :REGISTER pw-alice-1", lambda r: "900" in kinds(r) and "Account created" in
         [m.params[-1] for m in r if m.command == "NOTICE"]),
        ("CHATHISTORY LATEST #c * 10", lambda r: texts(r) == ["c0", "c1", "c2"]),
        ("PING :fast-1", lambda r: kinds(r) == ["PONG"]),
        ("PRIVMSG alice :note to self", lambda r: texts(r) == ["note to self"] or kinds(r) == ["ACK"]),
        ("SEARCH in=#c;text=c1", lambda r: texts(r) == ["c1"]),
        ("JOIN #new", lambda r: kinds(r)[0] == "JOIN" and kinds(r)[-1] == "366"),
        (f"CHATHISTORY BEFORE #c msgid={c2} 10", lambda r: texts(r) == ["c0", "c1"]),
        ("TOPIC #new :fresh topic", lambda r: kinds(r) == ["TOPIC"]),
        (f"MARKREAD #c {MARK}", lambda r: [m.params for m in content(r)] == [["#c", MARK]]),
        ("MODE #new +m", lambda r: kinds(r) == ["MODE"]),
        (f"CHATHISTORY AFTER #c msgid={c0} 10", lambda r: texts(r) == ["c1", "c2"]),
        ("WHO #new", lambda r: kinds(r) == ["352", "315"]),
        (f"CHATHISTORY AROUND #c msgid={c1} 3", lambda r: texts(r) == ["c0", "c1", "c2"]),
        ("LIST", lambda r: kinds(r)[0] == "321" and kinds(r)[-1] == "323"),
        (f"CHATHISTORY BETWEEN #c msgid={c0} msgid={c2} 10", lambda r: texts(r) == ["c1"]),
        (f"CHATHISTORY TARGETS {EPOCH} {FUTURE} 10", lambda r: set(kinds(r)) == {"CHATHISTORY"} and "#c" in
         [m.params[1] for m in r if m.command == "CHATHISTORY"]),
        ("NICK alice2", lambda r: kinds(r) == ["NICK"]),
        (f"REDACT #c {c1} :wrong", lambda r: kinds(r) == ["REDACT"]),
        ("CHATHISTORY LATEST #c * 10", lambda r: texts(r) == ["c0", "c2"]),
        ("WHOWAS alice", lambda r: "314" in kinds(r) and kinds(r)[-1] == "369"),
        ("PART #new", lambda r: kinds(r) == ["PART"]),
        ("MARKREAD #c", lambda r: [m.params for m in content(r)] == [["#c", MARK]]),
        ("PING :fast-2", lambda r: kinds(r) == ["PONG"]),
    ]  # fmt: skip


@pytest.mark.parametrize("batched", [True, False], ids=["batch", "no-batch"])
async def test_a_pipeline_of_slow_and_fast_commands_is_answered_in_the_order_sent(stored, clients, batched) -> None:
    """Every command followed by a PING of its own, all in one write: the lines between
    two PONGs are exactly the reply of the command between the PINGs."""
    server = await stored()
    caps = READING if batched else tuple(c for c in READING if c != "batch")
    alice, bob, ids = await channel_with_talk(server, caps)
    clients.extend([alice, bob])
    plan = the_plan(ids)
    alice.send("".join(f"{line}\r\nPING :after-{i}\r\n" for i, (line, _) in enumerate(plan)).encode())
    for i, (line, check) in enumerate(plan):
        reply = (await until_pong(alice, f"after-{i}"))[:-1]
        assert check(reply), (line, [(m.command, m.params) for m in reply])
        if batched:
            for label, unit in units(reply):
                assert label is None
                if unit[0].command == "BATCH":  # a history reply is one batch, whole
                    assert unit[0].params[1] in ("chathistory", "soju.im/search", "draft/chathistory-targets")
    await still_here(bob, alice)


async def still_here(bob: LineClient, alice: LineClient) -> None:
    """Both still connected and answering, and nothing more came: a stray reply would be here."""
    assert await sync(alice) == []
    await sync(bob)


async def test_a_labeled_pipeline_gets_each_label_whole_and_in_order(stored, clients) -> None:
    """The same commands back to back, each with a label: one reply per label, in the order
    sent, each whole (a batch or one line), and no other line but the message alice sent
    herself (a delivery, unlabeled, as docs/ircv3.md says)."""
    server = await stored()
    alice, bob, ids = await channel_with_talk(server, (*READING, *LABELED))
    clients.extend([alice, bob])
    plan = the_plan(ids)
    alice.send("".join(f"@label=L{i} {line}\r\n" for i, (line, _) in enumerate(plan)).encode() + b"PING :end\r\n")
    got = units((await until_pong(alice, "end"))[:-1])
    labeled = [(label, unit) for label, unit in got if label is not None]
    others = [unit for label, unit in got if label is None]
    assert [label for label, _ in labeled] == [f"L{i}" for i in range(len(plan))]
    assert [texts(unit) for unit in others] == [["note to self"]]
    for (line, check), (_, unit) in zip(plan, labeled, strict=True):
        assert check(unit), (line, [(m.command, m.params) for m in unit])
    await still_here(bob, alice)


# -- QUIT, NICK, KILL and hanging up in the middle -------------------------------------------


@pytest.mark.parametrize("half_close", [False, True], ids=["stays-open", "then-eof"])
async def test_a_quit_after_slow_commands_comes_last_with_every_reply_before_it(
    sqlite_server, clients, half_close
) -> None:
    server = await sqlite_server()
    owner = await registered_account(server, "acct", "pw-acct-1", "#c")
    owner.send("PRIVMSG #c :before the quit")
    await sync(owner)
    clients.append(owner)
    alice = await capped(server, "alice", *HISTORY, *LABELED, "soju.im/search", channels=("#c",))
    identify = "PRIVMSG NickServ :IDENTIFY acct pw-acct-1"
    lines = [identify, "CHATHISTORY LATEST #c * 10", "PING :p1", "SEARCH in=#c;text=quit", identify, "PING :p2",
             "QUIT :done"]  # fmt: skip
    alice.send("".join(f"@label=Q{i} {line}\r\n" for i, line in enumerate(lines)).encode())
    if half_close:
        alice.writer.write_eof()
    start = len(alice.received)
    while await alice.read_message(10) is not None:
        pass
    got = units(alice.received[start:])
    assert [label for label, _ in got] == [f"Q{i}" for i in range(len(lines))], [u for _, u in got]
    replies = [unit for _, unit in got]
    assert "900" in kinds(replies[0])
    assert texts(replies[1]) == texts(replies[3]) == ["before the quit"]
    assert [m.params[-1] for m in replies[4]] == ["You're already logged into an account"]  # the first was done
    assert replies[-1][0].command == "ERROR" and "Quit: done" in replies[-1][0].params[-1]


async def test_nick_changes_between_slow_commands_address_each_reply_to_the_nick_of_its_moment(
    sqlite_server, clients
) -> None:
    server = await sqlite_server()
    owner = await registered_account(server, "acct", "pw-acct-1", "#c")
    clients.append(owner)
    owner.send("PRIVMSG #c :hello")
    await sync(owner)
    alice = await capped(server, "alice", *HISTORY, "sasl", channels=("#c",))
    clients.append(alice)
    sasl = b64("\0".join(("acct", "acct", "pw-acct-1")))
    lines = ["CHATHISTORY LATEST #c * 10", "NICK n2", "PRIVMSG NickServ :IDENTIFY acct pw-acct-1", "NICK n3",
             f"CHATHISTORY TARGETS {EPOCH} {FUTURE} 10", "NICK n4", "AUTHENTICATE PLAIN", f"AUTHENTICATE {sasl}",
             "NICK n5", "CHATHISTORY LATEST #c * 10", "PING :end"]  # fmt: skip
    alice.send("".join(f"{line}\r\n" for line in lines).encode())
    got = content(await until_pong(alice, "end"))
    nick, seen = "alice", []
    for m in got:
        if m.command == "NICK":
            assert m.source.split("!")[0] == nick
            nick = m.params[0]
            seen.append(("NICK", nick))
        elif m.command.isdigit() or (m.command == "NOTICE" and m.source.startswith("NickServ!")):
            assert m.params[0] == nick, (nick, m)
            seen.append((m.command, nick))
        elif m.command == "PRIVMSG":
            seen.append(("history", nick))
    assert seen == [("history", "alice"), ("NICK", "n2"), ("900", "n2"), ("NOTICE", "n2"), ("NICK", "n3"),
                    ("NICK", "n4"), ("900", "n4"), ("903", "n4"), ("NICK", "n5"), ("history", "n5")]  # fmt: skip
    assert [m.params[1] for m in got if m.command == "CHATHISTORY"] == ["#c"]  # TARGETS, between n3 and n4
    assert [m.params for m in got if m.command == "AUTHENTICATE"] == [["+"]]


async def test_a_kill_during_a_password_check_ends_with_error_last_and_frees_the_nick(
    oper_server, clients, caplog
) -> None:
    server, _ = oper_server
    oper = await connected(server, "oper")
    clients.append(oper)
    oper.send("OPER admin operpass")
    await oper.expect("381")
    owner = await registered_account(server, "acct", "pw-acct-1")
    owner.send("QUIT")
    await owner.closed()
    victim = await capped(server, "victim", *HISTORY, *LABELED, "sasl", channels=("#c",))
    sasl = b64("\0".join(("acct", "acct", "pw-acct-1")))
    lines = ["PRIVMSG NickServ :IDENTIFY acct pw-acct-1", "CHATHISTORY LATEST #c * 10", "PING :x", "JOIN #after",
             "AUTHENTICATE PLAIN", f"AUTHENTICATE {sasl}", "QUIT :not reached"]  # fmt: skip
    start = len(victim.received)
    victim.send("".join(f"@label=K{i} {line}\r\n" for i, line in enumerate(lines)).encode())
    await victim.writer.drain()
    oper.send("KILL victim :enough")  # arrives while a password is being checked (there are two, one after the other)
    while await victim.read_message(10) is not None:
        pass
    got = victim.received[start:]
    assert got[-1].command == "ERROR" and "Killed" in got[-1].params[-1], got
    assert all(m.command != "ERROR" for m in got[:-1])
    got_units = units(got[:-1])
    answered = [label for label, _ in got_units if label is not None]
    assert answered == [f"K{i}" for i in range(len(answered))]  # what was answered, in order, whole
    assert "K6" not in answered
    # the nick and the user are gone: someone else takes the nick, no one is in #after
    newcomer = await connected(server, "victim", "#after")
    clients.append(newcomer)
    newcomer.send("NAMES #after")
    names = await newcomer.expect("353")
    assert names.params[-1].split() == ["@victim"]
    oper.send("WHOWAS victim")
    assert any(m.command == "314" for m in await oper.collect_until("369"))
    await sync(oper)
    assert errors_logged(caplog) == []


async def test_oper_then_operator_commands_in_one_write_are_done_as_an_operator(oper_server, clients) -> None:
    server, _ = oper_server
    bob = await connected(server, "bob")
    admin = await capped(server, "admin", *LABELED)
    clients.extend([bob, admin])
    admin.send(b"@label=O1 OPER admin operpass\r\n@label=O2 KILL bob :gone\r\n@label=O3 WHOIS bob\r\n"
               b"@label=O4 OPER admin wrong\r\n@label=O5 PING :end\r\n")  # fmt: skip
    got = units(await until_pong(admin, "end"))
    labeled = {label: kinds(unit) for label, unit in got if label is not None}
    assert list(labeled) == ["O1", "O2", "O3", "O4", "O5"]
    assert "381" in labeled["O1"] and "481" not in labeled["O2"] and "401" in labeled["O3"]
    assert labeled["O4"] == ["464"]
    assert (await bob.closed())[-1].startswith("ERROR")


@pytest.mark.parametrize("how", ["identify", "register", "sasl-before-welcome"])
async def test_hanging_up_during_a_password_check_leaves_nothing_behind(sqlite_server, clients, caplog, how) -> None:
    server = await sqlite_server(*DEFAULT_HASH)  # a check that takes time, to hang up during
    owner = await registered_account(server, "acct", "pw-acct-1")
    owner.send("QUIT")
    await owner.closed()
    watcher = await connected(server, "watcher")
    clients.append(watcher)
    if how == "sasl-before-welcome":
        gone = await LineClient.connect(server)
        gone.send("CAP LS 302\r\nCAP REQ :sasl\r\nNICK gone\r\nUSER u 0 * :U\r\nAUTHENTICATE PLAIN\r\n")
        await gone.expect("AUTHENTICATE", "+")
        gone.send(f"AUTHENTICATE {b64(chr(0).join(('acct', 'acct', 'pw-acct-1')))}\r\nCAP END\r\nJOIN #left\r\n")
    else:
        gone = await connected(server, "gone")
        line = "IDENTIFY acct pw-acct-1" if how == "identify" else "REGISTER pw-gone-1"
        gone.send(f"PRIVMSG NickServ :{line}\r\nJOIN #left\r\nPING :never\r\n")
    await gone.writer.drain()
    reset(gone)  # while the password is being checked (argon2: a few hundred ms)
    await offline(watcher, "gone")
    newcomer = await connected(server, "gone")  # the nick is free
    clients.append(newcomer)
    # what the connection asked for before it left is not done for it later: the newcomer
    # registers "gone" itself, and #left was never joined
    assert await ns(newcomer, "REGISTER pw-newcomer-1") == "Account created"
    newcomer.send("NAMES #left")
    assert [m.command for m in await sync(newcomer)] == ["NOTICE", "MODE", "366"]  # the login notice, +r, then no one
    watcher.send("WHOIS gone")
    whois = await watcher.collect_until("318")
    assert [m.params[2] for m in whois if m.command == "330"] == ["gone"]  # the newcomer's own account
    assert errors_logged(caplog) == []


async def test_hanging_up_politely_during_a_password_check_still_gets_it_done_then_frees_the_nick(
    sqlite_server, clients, caplog
) -> None:
    """EOF (not a reset) after a pipelined REGISTER: the lines sent before it are handled,
    the replies written, then the connection closes and the nick is free."""
    server = await sqlite_server()
    watcher = await connected(server, "watcher")
    clients.append(watcher)
    gone = await connected(server, "gone")
    gone.send(b"PRIVMSG NickServ :REGISTER pw-gone-1\r\nJOIN #left\r\nPING :last\r\n")
    gone.writer.write_eof()
    start = len(gone.received)
    while await gone.read_message(10) is not None:
        pass
    got = gone.received[start:]
    assert "900" in kinds(got) and kinds(got)[-1] == "PONG", kinds(got)
    assert kinds(got).index("900") < kinds(got).index("JOIN")
    await offline(watcher, "gone")
    newcomer = await connected(server, "gone")
    clients.append(newcomer)
    assert await ns(newcomer, "INFO gone") != "Account does not exist"  # it was registered before the EOF
    assert errors_logged(caplog) == []


# -- flood budget, WebSocket, registration in one write ---------------------------------------


async def test_a_slow_command_then_lines_past_the_flood_budget_are_all_answered_in_order(
    sqlite_server, clients
) -> None:
    """Flood control on (a burst of 5, 100 lines a second): 40 lines behind a password
    check wait for it, then for their tokens; none is lost and the client stays."""
    server = await sqlite_server("limits.flood_control=true", "limits.flood_burst=5", "limits.flood_rate=100")
    owner = await registered_account(server, "acct", "pw-acct-1")
    clients.append(owner)
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send(b"PRIVMSG NickServ :IDENTIFY acct pw-acct-1\r\n" + b"".join(b"PING :p%d\r\n" % i for i in range(40)))
    got = content(await until_pong(alice, "p39"))
    assert "ERROR" not in kinds(got)
    assert kinds(got).index("900") < kinds(got).index("PONG")
    assert [m.params[-1] for m in got if m.command == "PONG"] == [f"p{i}" for i in range(40)]


async def test_input_held_past_the_recvq_for_a_slow_command_is_read_later_not_dropped(sqlite_server, clients) -> None:
    """docs/architecture.md: input held for slow work past the recvq stops reading rather
    than "Excess Flood". 3,000 lines (about 30 KB, the recvq is 8 KB) behind a check."""
    server = await sqlite_server()
    owner = await registered_account(server, "acct", "pw-acct-1")
    clients.append(owner)
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send(b"PRIVMSG NickServ :IDENTIFY acct pw-acct-1\r\n" + b"".join(b"PING :p%d\r\n" % i for i in range(3000)))
    got = content(await until_pong(alice, "p2999", timeout=20))
    assert "ERROR" not in kinds(got) and kinds(got).index("900") < kinds(got).index("PONG")
    assert [m.params[-1] for m in got if m.command == "PONG"] == [f"p{i}" for i in range(3000)]


async def test_a_websocket_client_sending_frames_back_to_back_gets_its_labels_in_order(sqlite_server) -> None:
    server = await sqlite_server("listen.web='127.0.0.1:0'")
    bob = await connected(server, "bob", "#c")
    bob.send("PRIVMSG #c :from bob")
    await sync(bob)
    ws = await WsClient.connect(server)
    try:
        await ws.send("CAP REQ :" + " ".join(sorted({*READING, *LABELED, "draft/account-registration"})))
        await ws.send("CAP END")
        await ws.register("web")
        await ws.join("#c")
        lines = ["REGISTER * * pw-web-1", "CHATHISTORY LATEST #c * 10", "PING :w", "NICK web2",
                 "SEARCH in=#c;text=bob", f"MARKREAD #c {MARK}", "JOIN #w", "PRIVMSG NickServ :SET PASSWORD pw-web-2",
                 "CHATHISTORY LATEST #w * 10", "MARKREAD #c"]  # fmt: skip
        for i, line in enumerate(lines):  # written at once, none waits for an answer
            await ws.send(f"@label=W{i} {line}")
        await ws.send("PING :end")
        start = len(ws.received)
        await ws.expect(lambda m: m.command == "PONG" and m.params[-1] == "end", timeout=10)
        got = units(ws.received[start:-1])
        assert [label for label, _ in got] == [f"W{i}" for i in range(len(lines))]
        replies = [unit for _, unit in got]
        assert kinds(replies[0])[-3:] == ["900", "REGISTER", "MODE"] and content(replies[0])[-2].params[0] == "SUCCESS"
        assert texts(replies[1]) == texts(replies[4]) == ["from bob"]
        assert [m.params for m in content(replies[5])] == [["#c", MARK]]
        assert [m.params[-1] for m in replies[7]] == ["Password changed"]
        assert [m.params for m in content(replies[9])] == [["#c", MARK]]
    finally:
        await ws.close()
        await bob.close()


async def test_registration_sasl_join_and_private_history_in_one_write(sqlite_server, clients) -> None:
    """A client that says everything at once, SASL before CAP END and a private
    conversation's history (which needs the login) after it, gets it all in order."""
    server = await sqlite_server()
    bob = await registered_account(server, "bob", "pw-bob-1", "#c")
    acct = await registered_account(server, "acct", "pw-acct-1")
    clients.extend([bob, acct])
    bob.send("PRIVMSG #c :in the channel")
    bob.send("PRIVMSG acct :private to acct")
    await sync(bob)
    alice = await LineClient.connect(server)
    clients.append(alice)
    sasl = b64("\0".join(("acct", "acct", "pw-acct-1")))
    alice.send(("CAP LS 302\r\nCAP REQ :sasl " + " ".join(HISTORY) + "\r\nNICK alice\r\nUSER u 0 * :U\r\n"
                f"AUTHENTICATE PLAIN\r\nAUTHENTICATE {sasl}\r\nCAP END\r\nJOIN #c\r\n"
                "CHATHISTORY LATEST #c * 10\r\nCHATHISTORY LATEST bob * 10\r\nPING :end\r\n").encode())  # fmt: skip
    got = content(await until_pong(alice, "end"))
    order = [m.command for m in got if m.command in ("AUTHENTICATE", "900", "903", "001", "JOIN", "366", "PRIVMSG")]
    assert order == ["AUTHENTICATE", "900", "903", "001", "JOIN", "366", "PRIVMSG", "PRIVMSG"], order
    assert texts(got) == ["in the channel", "private to acct"]


# -- another client's traffic -------------------------------------------------------------------


async def test_another_clients_traffic_leaves_labeled_replies_whole_and_in_order(stored, clients) -> None:
    server = await stored()
    alice, bob, ids = await channel_with_talk(server, (*READING, *LABELED))
    clients.extend([alice, bob])
    plan = [line for line, _ in the_plan(ids)]
    alice.send("".join(f"@label=L{i} {line}\r\n" for i, line in enumerate(plan)).encode() + b"PING :end\r\n")
    for i in range(60):  # bob talks in #c the whole time, a line per write
        bob.send(f"PRIVMSG #c :live {i}")
        await bob.writer.drain()
        await asyncio.sleep(0)
    await sync(bob)
    got = units(await until_pong(alice, "end"))
    assert [label for label, _ in got if label is not None] == [f"L{i}" for i in range(len(plan))]
    live = [m.params[-1] for label, unit in got if label is None for m in unit
            if m.command == "PRIVMSG" and m.params[0] == "#c"]  # fmt: skip
    live += [m.params[-1] for m in await sync(alice) if m.command == "PRIVMSG"]
    assert live == [f"live {i}" for i in range(60)]  # all of bob's, in order


# -- bugs: a JOIN waits for the store (its replay, its read marker) ---------------------------


async def test_a_labeled_join_comes_before_the_channels_live_traffic(sqlite_server, clients) -> None:
    server = await sqlite_server()
    bob = await connected(server, "bob", "#a")
    clients.append(bob)
    for i in range(5):
        bob.send(f"PRIVMSG #a :old {i}")
    await sync(bob)
    alice = await capped(server, "alice", *LABELED)  # no draft/chathistory: the JOIN replays
    clients.append(alice)
    for round in range(3):
        start = len(alice.received)
        alice.send(f"@label=J{round} JOIN #a")
        for i in range(30):  # bob talks meanwhile, a line per write
            bob.send(f"PRIVMSG #a :live {round}.{i}")
            await bob.writer.drain()
            await asyncio.sleep(0)
        await sync(bob)
        alice.send("PART #a")
        await sync(alice)
        got = alice.received[start:]
        joined = next(i for i, m in enumerate(got) if m.command == "JOIN")
        first_live = next(i for i, m in enumerate(got) if m.command == "PRIVMSG" and "live" in m.params[-1])
        assert joined < first_live, [(m.command, m.params[-1]) for m in got[: joined + 1]]


async def test_a_kick_right_after_a_labeled_join_comes_after_the_join(sqlite_server, clients) -> None:
    server = await sqlite_server()
    bob = await connected(server, "bob", "#a")
    clients.append(bob)
    bob.send("PRIVMSG #a :something to replay")
    await sync(bob)
    alice = await capped(server, "alice", *LABELED)
    clients.append(alice)
    for round in range(2):
        start = len(alice.received)
        alice.send(f"@label=J{round} JOIN #a")
        for _ in range(30):  # bob (op) kicks her as soon as she is in: a KICK per write until one lands
            bob.send("KICK #a alice :out")
            await bob.writer.drain()
            await asyncio.sleep(0)
        await sync(bob)
        await sync(alice)
        seen = [m.command for m in alice.received[start:] if m.command in ("JOIN", "KICK")]
        assert seen == ["JOIN", "KICK"], seen


async def test_a_labeled_join_of_several_channels_is_one_labeled_reply(sqlite_server, clients) -> None:
    server = await sqlite_server()
    bob = await connected(server, "bob", "#a", "#b", "#c")
    clients.append(bob)
    for name in ("a", "b", "c"):
        bob.send(f"PRIVMSG #{name} :said in {name}")
    await sync(bob)
    alice = await capped(server, "alice", *LABELED)  # no draft/chathistory: each channel replays
    clients.append(alice)
    alice.send("@label=J JOIN #a,#b,#c")
    got = units(await sync(alice))
    assert [label for label, _ in got] == ["J"], [(label, kinds(unit)) for label, unit in got]
    reply = got[0][1]
    assert [m.params[0] for m in reply if m.command == "JOIN"] == ["#a", "#b", "#c"]
    assert texts(reply) == ["said in a", "said in b", "said in c"]


async def test_a_join_of_several_channels_is_answered_channel_by_channel(sqlite_server, clients) -> None:
    """The control for the next test: without draft/read-marker, JOIN #a,#b,#c answers
    each channel whole (JOIN, topic, NAMES) before the next."""
    server = await sqlite_server()
    owner = await connected(server, "owner", "#a", "#b", "#c")
    clients.append(owner)
    for name in ("a", "b", "c"):
        owner.send(f"TOPIC #{name} :topic of {name}")
    await sync(owner)
    alice = await capped(server, "alice", *HISTORY)
    clients.append(alice)
    alice.send("JOIN #a,#b,#c")
    assert channel_of_each(await sync(alice)) == ["#a"] * 5 + ["#b"] * 5 + ["#c"] * 5


def channel_of_each(messages: list[Message]) -> list[str]:
    """The channel each line of a JOIN's reply is about (JOIN, MARKREAD, 332, 333, 353, 366)."""
    found = []
    for m in messages:
        if m.command in ("JOIN", "MARKREAD"):
            found.append(m.params[0])
        elif m.command in ("332", "333", "366"):
            found.append(m.params[1])
        elif m.command == "353":
            found.append(m.params[2])
    return found


async def test_a_join_of_several_channels_with_read_markers_is_answered_channel_by_channel(
    sqlite_server, clients
) -> None:
    server = await sqlite_server()
    owner = await registered_account(server, "owner", "pw-owner-1", "#a", "#b", "#c")
    clients.append(owner)
    for name in ("a", "b", "c"):
        owner.send(f"TOPIC #{name} :topic of {name}")
    await sync(owner)
    alice = await capped(server, "alice", *HISTORY, "draft/read-marker")
    clients.append(alice)
    alice.send("PRIVMSG NickServ :REGISTER pw-alice-1")
    await alice.expect("900")
    await sync(alice)
    alice.send("JOIN #a,#b,#c")
    assert channel_of_each(await sync(alice)) == ["#a"] * 6 + ["#b"] * 6 + ["#c"] * 6


async def test_a_command_after_rehash_sees_the_new_configuration_and_comes_after_its_answer(
    oper_server, oper_hash, clients
) -> None:
    server, path = oper_server
    admin = await capped(server, "admin", *LABELED)
    clients.append(admin)
    admin.send("OPER admin operpass")
    await admin.expect("381")
    await sync(admin)
    path.write_text('[server]\nmotd = "the new MOTD"\n' + OPER_BLOCK.format(hash=oper_hash), encoding="utf-8")
    admin.send(b"@label=R REHASH\r\n@label=M MOTD\r\n@label=P PING :end\r\n")
    got = units(await until_pong(admin, "end"))
    if not any("Configuration reloaded" in m.params[-1] for _, unit in got for m in unit):
        got += units(await admin.collect_until(lambda m: "Configuration reloaded" in m.params[-1]))
    assert [label for label, _ in got] == ["R", "M", "P"], [(label, kinds(unit)) for label, unit in got]
    answer = {label: unit for label, unit in got}
    assert [m.params[-1] for m in answer["R"] if m.command == "NOTICE"] == ["*** Configuration reloaded"]
    assert "- the new MOTD" in [m.params[-1] for m in answer["M"]]
