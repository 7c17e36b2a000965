"""A long line sent as draft/multiline-concat pieces (as the web client sends any line too
long for one IRC message) comes back from history whole: as its multiline batch, with
the concatenation tags it had, to a client with draft/multiline; as its pieces, each a
line within 512 bytes and cut between characters, to the others (CHATHISTORY, the
replay on JOIN, SEARCH). Over real sockets, on a SQLite file, then on PostgreSQL; what
an older version kept (the pieces joined without a trace) on a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_caps.support import capped
from tests.e2e_history.test_autoreplay_rejoin import ticking
from tests.e2e_history.test_chathistory import HISTORY
from tests.helpers import LineClient, connect_plain, connected, sync, unstamped

MULTILINE = ("draft/multiline", "batch")
CONCAT = "draft/multiline-concat"
ALICE = "alice!~u@127.0.0.1"
# Room for text in `:alice!~u@127.0.0.1 PRIVMSG #c :...` (510 bytes without CRLF).
ROOM = 510 - len(f":{ALICE} PRIVMSG #c :".encode())

# A long line in three pieces, each fitting one message, that only read as one together:
# Cyrillic (two bytes a letter), emoji (four), and a word cut between two pieces.
PIECES = [
    "Съешь же ещё этих мягких французских булок 🥐, да выпей чаю ☕. " * 3 + "продол",
    "жение: " + "🎉😀🚀 ракета летит к звёздам, " * 7,
    "и конец длинной строки ✅ " * 8 + "КОНЕЦ",
]
WHOLE = "".join(PIECES)
Line = tuple[str, bool]  # a multiline message's line: text, concatenated to the one before


def wire_bytes(raw: str) -> int:
    """Bytes of a received line without its tags (what the 512-byte limit counts), CRLF included."""
    body = raw.split(" ", 1)[1] if raw.startswith("@") else raw
    return len(body.encode()) + 2


def send_multiline(client: LineClient, target: str, lines: list[Line]) -> None:
    client.send(f"BATCH +ml draft/multiline {target}")
    for text, concat in lines:
        client.send(f"@batch=ml{';' + CONCAT if concat else ''} PRIVMSG {target} :{text}")
    client.send("BATCH -ml")


async def batch_of(client: LineClient, kind: str) -> tuple[list[Message], list[str]]:
    """The next `kind` batch `client` receives, whole: its messages (opening and closing
    lines included, a nested batch's too) and the raw lines they came as."""
    opening = await client.expect(lambda m: m.command == "BATCH" and m.params[1:2] == [kind])
    first = len(client.received) - 1
    ref = opening.params[0][1:]
    while True:
        message = await client.read_message()
        assert message is not None
        if message.command == "BATCH" and message.params == ["-" + ref]:
            return client.received[first:], client.raw[first:]


def multiline_batches(messages: list[Message]) -> list[tuple[Message, list[Line]]]:
    """Each draft/multiline batch among `messages`: its opening line, and its lines."""
    found: dict[str, tuple[Message, list[Line]]] = {}
    for message in messages:
        if message.command == "BATCH" and message.params[0][:1] == "+" and message.params[1] == "draft/multiline":
            found[message.params[0][1:]] = (message, [])
        elif message.command == "PRIVMSG" and message.tags.get("batch") in found:
            found[message.tags["batch"]][1].append((message.params[1], CONCAT in message.tags))
    return list(found.values())


def privmsgs(messages: list[Message], raw: list[str]) -> list[tuple[Message, str]]:
    return [(message, line) for message, line in zip(messages, raw, strict=True) if message.command == "PRIVMSG"]


def assert_within_limits(lines: list[tuple[Message, str]]) -> None:
    for _, raw in lines:
        assert wire_bytes(raw) <= 512, (wire_bytes(raw), raw)
        assert "\ufffd" not in raw, raw  # no character cut in two


async def sender(server: Runtime) -> LineClient:
    return await capped(server, "alice", *HISTORY, *MULTILINE, "echo-message", channels=("#c",))


async def said_long_line(alice: LineClient, lines: list[Line] | None = None) -> Message:
    """Alice says `lines` (the long line by default) to #c: the opening line of her echo."""
    send_multiline(alice, "#c", lines or [(PIECES[0], False), (PIECES[1], True), (PIECES[2], True)])
    messages, _ = await batch_of(alice, "draft/multiline")
    return messages[0]


# -- a client with draft/multiline ----------------------------------------------------------------


async def test_chathistory_gives_a_multiline_client_the_batch_with_the_concat_tags_it_had(stored, clients) -> None:
    server = await stored()
    alice = await sender(server)
    bob = await capped(server, "bob", *HISTORY, *MULTILINE, channels=("#c",))
    clients.extend([alice, bob])
    assert all(len(piece.encode()) <= ROOM for piece in PIECES)  # each piece went out whole, live
    echo = await said_long_line(alice)
    live, _ = await batch_of(bob, "draft/multiline")
    # a message of several lines too: a blank one, and a piece glued to a line
    shaped = [("первая строка 🙂", False), ("", False), ("вторая ", False), ("строка", True), ("third", False)]
    echo2 = await said_long_line(alice, shaped)
    live2, _ = await batch_of(bob, "draft/multiline")

    bob.send("CHATHISTORY LATEST #c * 10")
    kept, raw = await batch_of(bob, "chathistory")
    outer = kept[0].params[0][1:]
    # the lines and concat tags as they went live
    assert [lines for _, lines in multiline_batches(kept)] == [lines for _, lines in multiline_batches(live + live2)]
    (opening, lines), (opening2, lines2) = multiline_batches(kept)
    assert lines == [(PIECES[0], False), (PIECES[1], True), (PIECES[2], True)]
    assert "".join(text for text, _ in lines) == WHOLE
    assert lines2 == shaped
    for first, said in ((opening, echo), (opening2, echo2)):
        assert first.source == ALICE and first.params[2] == "#c"
        assert first.tags["batch"] == outer  # nested in the chathistory batch
        assert first.tags["msgid"] == said.tags["msgid"] and first.tags["time"] == said.tags["time"]
    # the nested batches close inside the chathistory batch, and every line fits
    closings = [m for m in kept[1:-1] if m.command == "BATCH" and m.params[0][:1] == "-"]
    assert len(closings) == 2 and all(m.tags.get("batch") == outer for m in closings)
    assert not [m for m in kept if m.command == "PRIVMSG" and "msgid" in m.tags]  # the msgid is the batch's
    assert_within_limits(privmsgs(kept, raw))


async def test_search_gives_a_multiline_client_the_long_line_in_its_batch(stored, clients) -> None:
    server = await stored()
    alice = await sender(server)
    bob = await capped(server, "bob", *HISTORY, *MULTILINE, "soju.im/search", channels=("#c",))
    clients.extend([alice, bob])
    echo = await said_long_line(alice)
    bob.send("SEARCH in=#c;text=КОНЕЦ")
    found, raw = await batch_of(bob, "soju.im/search")
    [(opening, lines)] = multiline_batches(found)
    assert opening.tags["msgid"] == echo.tags["msgid"] and opening.tags["batch"] == found[0].params[0][1:]
    assert lines == [(PIECES[0], False), (PIECES[1], True), (PIECES[2], True)]
    assert_within_limits(privmsgs(found, raw))


# -- clients without draft/multiline --------------------------------------------------------------


async def test_chathistory_gives_a_client_without_multiline_the_pieces_as_lines(stored, clients) -> None:
    server = await stored()
    alice = await sender(server)
    carol = await capped(server, "carol", *HISTORY, channels=("#c",))
    clients.extend([alice, carol])
    echo = await said_long_line(alice)
    live = [m.params[1] for m in await sync(carol) if m.command == "PRIVMSG"]
    assert live == PIECES  # live: each piece a message of its own

    carol.send("CHATHISTORY LATEST #c * 10")
    kept, raw = await batch_of(carol, "chathistory")
    lines = privmsgs(kept, raw)
    assert [m.params for m, _ in lines] == [["#c", piece] for piece in PIECES]  # as it went live
    assert "".join(m.params[1] for m, _ in lines) == WHOLE
    assert [m.tags.get("msgid") for m, _ in lines] == [echo.tags["msgid"], None, None]  # on the first only
    assert all(m.tags["time"] == echo.tags["time"] and m.source == ALICE for m, _ in lines)
    assert_within_limits(lines)


async def test_the_replay_on_join_gives_a_client_without_chathistory_the_whole_line(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    ticking(server)  # the line said a second before the join, whatever the machine's speed
    alice = await sender(server)
    clients.append(alice)
    echo = await said_long_line(alice)
    stamp = "[" + echo.tags["time"][11:16] + "] "  # when it was said, UTC
    dave = await connected(server, "dave")  # no capability at all: the lines alone
    clients.append(dave)
    start = len(dave.received)
    dave.send("JOIN #c")
    await dave.expect("366")
    await sync(dave)
    lines = privmsgs(dave.received[start:], dave.raw[start:])
    # each piece a line led by when it was said (each would read as said now otherwise),
    # and whole after it: every piece, 8 bytes longer, still fits (PIECES are well short)
    assert all(len((stamp + piece).encode()) <= ROOM for piece in PIECES)
    assert [m.params for m, _ in lines] == [["#c", stamp + piece] for piece in PIECES]
    assert "".join(unstamped(m.params[1]) for m, _ in lines) == WHOLE
    assert not [m for m, _ in lines if m.tags]  # no tags for a client that did not ask for them
    assert_within_limits(lines)


async def test_the_replay_on_join_shows_a_plain_text_user_the_long_line_whole(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await capped(server, "alice", *HISTORY, *MULTILINE, "echo-message", channels=("#lobby",))
    clients.append(alice)
    send_multiline(alice, "#lobby", [(PIECES[0], False), (PIECES[1], True), (PIECES[2], True)])
    echo, _ = await batch_of(alice, "draft/multiline")
    stamp = "[" + echo[0].tags["time"][11:16] + "] "  # when it was said, UTC
    pat = await connect_plain(server, "pat")  # lands in #lobby, and is told what was said there
    clients.append(pat)
    line = await pat.expect_text("КОНЕЦ")
    # one line, as it was typed, not cut where IRC's lines end: led once by when it was
    # said, not again where each of its pieces began
    assert line == f"alice: {stamp}{WHOLE}", line


# -- what an older version kept: the pieces joined, with no trace of where ------------------------


Make = Callable[..., Awaitable[Runtime]]


async def test_a_long_line_kept_without_its_joins_is_cut_between_characters(
    make_server: Make, clients, tmp_path: Path
) -> None:  # fmt: skip
    db = tmp_path / "hubbub.db"
    server = await make_server(f"store.db='{db}'", "history.autoreplay_lines=10")
    alice = await sender(server)
    clients.append(alice)
    # no space to cut at, 1.7 KB; past the first byte every cut by bytes alone at ROOM
    # (even) falls inside a two-byte letter, and some inside the four-byte emoji
    whole = "x" + "я" * 700 + "🎉" * 40 + "ю" * 200
    pieces = [whole[i : i + 150] for i in range(0, len(whole), 150)]
    assert all(len(piece.encode()) <= ROOM for piece in pieces)
    echo = await said_long_line(alice, [(pieces[0], False), *((piece, True) for piece in pieces[1:])])
    await server.stop()
    with sqlite3.connect(db) as conn:  # as versions before the joins were kept wrote it
        changed = conn.execute(
            "UPDATE messages SET params = ? WHERE msgid = ?",
            (json.dumps(["#c", whole], ensure_ascii=False), echo.tags["msgid"]),
        ).rowcount
    conn.close()
    assert changed == 1

    server = await make_server(f"store.db='{db}'", "history.autoreplay_lines=10")
    bob = await capped(server, "bob", *HISTORY, *MULTILINE, channels=("#c",))
    carol = await capped(server, "carol", *HISTORY, channels=("#c",))
    clients.extend([bob, carol])
    bob.send("CHATHISTORY LATEST #c * 10")
    kept, raw = await batch_of(bob, "chathistory")
    [(opening, lines)] = multiline_batches(kept)
    assert opening.tags["msgid"] == echo.tags["msgid"]
    assert "".join(text for text, _ in lines) == whole
    assert len(lines) > 1 and not lines[0][1] and all(concat for _, concat in lines[1:])
    assert_within_limits(privmsgs(kept, raw))

    carol.send("CHATHISTORY LATEST #c * 10")
    kept, raw = await batch_of(carol, "chathistory")
    found = privmsgs(kept, raw)
    assert "".join(m.params[1] for m, _ in found) == whole
    assert [m.tags.get("msgid") for m, _ in found] == [echo.tags["msgid"]] + [None] * (len(found) - 1)
    assert_within_limits(found)
