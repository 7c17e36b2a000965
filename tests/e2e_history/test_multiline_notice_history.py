"""A draft/multiline batch of NOTICE lines is kept as a NOTICE and comes back as one: a
batch of NOTICE lines (with the concatenation tags it had) to a client with
draft/multiline, NOTICE lines to the others (CHATHISTORY, the replay on JOIN, the plain
text mode's replay). Over real sockets, on a SQLite file, then on PostgreSQL."""

from __future__ import annotations

from tests.e2e_caps.support import capped
from tests.e2e_history.test_autoreplay_rejoin import ticking
from tests.e2e_history.test_chathistory import HISTORY
from tests.e2e_history.test_long_lines_replay import batch_of
from tests.helpers import connect_plain, connected, sync, unstamped

MULTILINE = ("draft/multiline", "batch")
CONCAT = "draft/multiline-concat"
LINES = [("deploy finished:", False), ("", False), ("3 hosts up", False), (", 0 down", True)]


async def test_a_notice_batch_is_kept_and_replayed_as_notices(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    ticking(server)
    alice = await capped(server, "alice", *HISTORY, *MULTILINE, "echo-message", channels=("#c",))
    bob = await capped(server, "bob", *HISTORY, *MULTILINE, channels=("#c",))
    carol = await capped(server, "carol", *HISTORY, channels=("#c",))
    clients.extend([alice, bob, carol])
    alice.send("BATCH +n draft/multiline #c")
    for text, concat in LINES:
        alice.send(f"@batch=n{';' + CONCAT if concat else ''} NOTICE #c :{text}")
    alice.send("BATCH -n")
    echo, _ = await batch_of(alice, "draft/multiline")
    msgid = echo[0].tags["msgid"]
    stamp = "[" + echo[0].tags["time"][11:16] + "] "  # when it was said, UTC

    bob.send("CHATHISTORY LATEST #c * 10")
    kept, _ = await batch_of(bob, "chathistory")
    outer = kept[0].params[0][1:]
    (opening,) = [m for m in kept if m.command == "BATCH" and m.params[1:2] == ["draft/multiline"]]
    assert opening.tags["msgid"] == msgid and opening.tags["batch"] == outer
    inner = [m for m in kept if m.tags.get("batch") == opening.params[0][1:]]
    assert [(m.command, m.params[1], CONCAT in m.tags) for m in inner] == [("NOTICE", t, c) for t, c in LINES]
    assert "PRIVMSG" not in [m.command for m in kept]

    carol.send("CHATHISTORY LATEST #c * 10")
    kept, _ = await batch_of(carol, "chathistory")
    lines = [m for m in kept if m.command not in ("BATCH",)]
    assert [(m.command, m.params) for m in lines] == [
        ("NOTICE", ["#c", "deploy finished:"]), ("NOTICE", ["#c", "3 hosts up"]), ("NOTICE", ["#c", ", 0 down"]),
    ]  # fmt: skip
    assert [m.tags.get("msgid") for m in lines] == [msgid, None, None]

    dave = await connected(server, "dave")  # no capability: the replay on joining, lines alone
    clients.append(dave)
    start = len(dave.received)
    dave.send("JOIN #c")
    await dave.expect("366")
    await sync(dave)
    replayed = [m for m in dave.received[start:] if m.source == "alice!~u@127.0.0.1"]
    assert [(m.command, unstamped(m.params[1])) for m in replayed] == [
        ("NOTICE", "deploy finished:"), ("NOTICE", "3 hosts up"), ("NOTICE", ", 0 down"),
    ]  # fmt: skip
    assert all(m.params[1].startswith(stamp) for m in replayed), replayed  # each a line led by when it was said

    person = await connect_plain(server, "person")
    clients.append(person)
    person.send("/join #c")
    # a notice, in the replay: led by when it was said, once a line as the person reads it
    assert await person.expect_text("deploy finished") == f"-alice- {stamp}deploy finished:"
    assert await person.expect_text("hosts up") == f"-alice- {stamp}3 hosts up, 0 down"
