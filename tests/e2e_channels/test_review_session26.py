"""Review of the changes since 101db93, over real sockets: KNOCK (handlers/moderation.py
handle_knock, events.Knocked, announce._knocked), PART and QUIT reasons of one who may not
speak (handlers/channels.py handle_part, handlers/connection.py handle_quit), and what the
RENAME fallback now sends (announce._rename_as_part_and_join: MARKREAD from
Connection.marker_told, the metadata batch).

Looked at as an operator of charybdis/solanum, InspIRCd or ergo would: the IRCv3 drafts
(read-marker, metadata-2, channel-rename), what a hostile client can do with KNOCK, the
order of the lines a client receives, and a cluster's nodes. A test marked
xfail(strict=True) asserts the right behaviour where hubbub does not have it yet.
"""

from __future__ import annotations

from pathlib import Path

from tests.cluster.conftest import cluster, cluster_config  # noqa: F401  (fixtures)
from tests.cluster.support import Cluster, caught_up
from tests.e2e.test_review_today import store_held, until, waits
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_channels.common import SERVER, mask, op_sets, room
from tests.e2e_opers.conftest import make_oper_server, oper_hash, oper_toml  # noqa: F401  (fixtures)
from tests.e2e_opers.support import an_oper, connected_from
from tests.helpers import LineClient, commands, connected, sync

RENAME = "draft/channel-rename"
MARKER = "draft/read-marker"
META = ("draft/metadata-2", "batch")


async def cap(client: LineClient, request: str) -> None:
    """`CAP REQ :request` after registration, acknowledged."""
    client.send(f"CAP REQ :{request}")
    await client.expect("CAP", client.nick, "ACK")


async def invite_only(server, clients: list[LineClient], *channels: str, modes: str = "+i") -> LineClient:
    """alice, op of each of `channels`, each set to `modes`."""
    alice = await connected(server, "alice", *channels)
    clients.append(alice)
    for channel in channels:
        await op_sets(alice, f"MODE {channel} {modes}")
    return alice


def knocks(messages) -> list[list[str]]:
    return [m.params for m in messages if m.command == "710"]


# -- PART and QUIT of one who may not speak ------------------------------------------------------


async def test_a_part_reason_is_dropped_for_one_who_may_not_speak_and_kept_for_the_others(server, clients) -> None:
    alice, bob, carol, dave = await room(server, clients, "alice", "bob", "carol", "dave")
    await op_sets(alice, "MODE #room +mv bob", bob, carol, dave)
    carol.send("PART #room :buy cheap followers at spam.example")  # +m, no voice: what +m holds back
    assert (await alice.expect("PART")).params == ["#room"]
    bob.send("PART #room :bye all")  # voiced: may speak, so may say goodbye
    assert (await alice.expect("PART")).params == ["#room", "bye all"]
    await op_sets(alice, "MODE #room -m+b dave!*@*", dave)
    dave.send("PART #room :banned but talking")
    assert (await alice.expect("PART")).params == ["#room"]
    alice.send("PART #room :the op says goodbye")
    assert (await alice.expect("PART")).params == ["#room", "the op says goodbye"]


async def test_a_quit_while_silenced_in_one_channel_is_bare_in_every_channel(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob", channel="#open")
    carol = await connected(server, "carol", "#quiet")
    clients.append(carol)
    await bob.join("#quiet")
    await carol.expect("JOIN")
    await op_sets(carol, "MODE #quiet +b m:bob!*@*", bob)  # muted in #quiet only
    bob.send("QUIT :visit spam.example")
    for watcher in (alice, carol):  # one QUIT reaches both channels: it cannot carry the reason in one
        assert (await watcher.expect("QUIT")).params == ["Quit"]
    erin = await connected(server, "erin", "#open")
    clients.append(erin)
    await alice.expect("JOIN")
    erin.send("QUIT :off to bed")  # silenced nowhere: the reason stays
    assert (await alice.expect("QUIT")).params == ["Quit: off to bed"]


# -- KNOCK: what is right ---------------------------------------------------------------------------


async def test_the_longest_knock_keeps_the_710_within_512_bytes_and_whole_characters(server, clients) -> None:
    channel = "#" + "k" * 63  # CHANNELLEN 64
    alice = await invite_only(server, clients, channel)
    nick = "d" * 30  # NICKLEN 30
    knocker = await connected(server, nick)
    clients.append(knocker)
    knocker.send(f"KNOCK {channel} :" + "é" * 200)  # 400 bytes of two-byte characters: more than the 710 has room for
    await knocker.expect("711")
    knock = await alice.expect("710")
    line = alice.raw[-1]
    assert len(line.encode()) <= 510, len(line.encode())  # 512 with the CRLF
    assert "\ufffd" not in line  # cut between characters, never inside one
    assert knock.source == SERVER and knock.params[:3] == [channel, channel, mask(nick)]
    assert knock.params[-1].startswith("has asked for an invite: éé")


async def test_an_invited_user_knocking_on_an_invite_only_channel_is_told_to_join(server, clients) -> None:
    alice = await invite_only(server, clients, "#room")
    dave = await connected(server, "dave")
    clients.append(dave)
    alice.send("INVITE dave #room")
    await dave.expect("INVITE")
    dave.send("KNOCK #room :may I?")
    assert (await dave.expect("713")).params[1] == "#room"  # the invitation lets it in: nothing to ask
    assert knocks(await sync(alice)) == []


async def test_a_knock_reaches_an_op_on_another_node_even_past_a_longer_server_name(cluster: Cluster) -> None:  # noqa: F811
    n1 = await cluster.add(name="n1.test")
    n2 = await cluster.add(name="a-much-longer-node-name-than-the-knockers." + "x" * 20 + ".test")
    channel = "#" + "k" * 63
    op = await cluster.client(n2, "op", channel)
    op.send(f"MODE {channel} +i")
    await op.expect("MODE")
    await caught_up(op)
    knocker = await cluster.client(n1, "d" * 30)
    await caught_up(knocker)
    knocker.send(f"KNOCK {channel} :" + "é" * 200)  # cut for n1's short name
    await knocker.expect("711")
    knock = await op.expect("710")
    assert knock.source == n2.name and knock.params[2].startswith("d" * 30 + "!")
    line = op.raw[-1]
    assert len(line.encode()) <= 510 and "\ufffd" not in line  # n2's longer name did not overflow it


# -- KNOCK: deviations ------------------------------------------------------------------------------


async def test_a_knock_on_a_secret_channel_one_is_invited_to_says_join_it(server, clients) -> None:
    alice = await invite_only(server, clients, "#hideout", modes="+is")
    dave = await connected(server, "dave")
    clients.append(dave)
    alice.send("INVITE dave #hideout")
    await dave.expect("INVITE")  # the channel is no secret to dave any more
    dave.send("KNOCK #hideout")
    reply = await dave.expect(lambda m: m.command in ("403", "713"))
    assert reply.command == "713" and reply.params[1] == "#hideout"


async def test_one_client_cannot_knock_on_channel_after_channel_at_once(make_server, clients) -> None:
    server = await make_server("limits.knock_delay=600")
    names = [f"#shop{i}" for i in range(8)]
    await invite_only(server, clients, *names)
    spammer = await connected(server, "spammer")
    clients.append(spammer)
    for name in names:
        spammer.send(f"KNOCK {name} :cheap followers at spam.example")
    answers = [m.command for m in await sync(spammer) if m.command in ("711", "712")]
    assert len(answers) == len(names)
    assert "712" in answers, answers  # eight channels' ops got the advert within a second


async def test_knocks_from_many_addresses_on_one_channel_are_limited(make_server, clients) -> None:
    server = await make_server("limits.knock_delay=600")
    alice = await invite_only(server, clients, "#room")
    answers = []
    for i in range(2, 6):
        bot = await connected_from(server, f"127.0.0.{i}", f"bot{i}")
        clients.append(bot)
        bot.send("KNOCK #room :let me in")
        answers.append((await bot.expect(lambda m: m.command in ("711", "712"))).command)
    assert answers[0] == "711"
    assert len(knocks(await sync(alice))) == 1, answers  # the ops hear one knock per delay


async def rehash(ircop: LineClient, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    ircop.send("REHASH")
    await ircop.expect("382")
    await ircop.expect(lambda m: m.command == "NOTICE" and m.params[-1] == "*** Configuration reloaded")


async def test_rehash_applies_a_new_knock_delay(make_oper_server, oper_hash, tmp_path, clients) -> None:  # noqa: F811
    server = await make_oper_server(toml=oper_toml(oper_hash) + "[limits]\nknock_delay = 0\n")
    ircop = await an_oper(server, "ircop")
    clients.append(ircop)
    await invite_only(server, clients, "#room")
    dave = await connected(server, "dave")
    clients.append(dave)
    dave.send("KNOCK #room :first")
    await dave.expect("711")
    # knocks flood in: the operator raises the delay, as the README says it may be set
    await rehash(ircop, tmp_path / "hubbub0.toml", oper_toml(oper_hash) + "[limits]\nknock_delay = 600\n")
    dave.send("KNOCK #room :again")
    assert (await dave.expect(lambda m: m.command in ("711", "712"))).command == "712"


async def test_the_knock_delay_holds_across_a_cluster_s_nodes(cluster: Cluster) -> None:  # noqa: F811
    n1, n2 = await cluster.start(2, "limits.knock_delay=600")
    op = await cluster.client(n1, "op", "#club")
    op.send("MODE #club +i")
    await op.expect("MODE")
    await caught_up(op)
    dave = await cluster.client(n1, "dave")
    dave.send("KNOCK #club :let me in")
    await dave.expect("711")
    again = await cluster.client(n2, "dave2")  # the same address (127.0.0.1), the other node
    await caught_up(again)
    again.send("KNOCK #club :let me in, really")
    assert (await again.expect(lambda m: m.command in ("711", "712"))).command == "712"


# -- the RENAME fallback: MARKREAD and metadata ----------------------------------------------------


async def test_the_marker_cache_stays_bounded_by_the_channels_one_is_in(server, clients) -> None:
    bob = await capped(server, "bob", MARKER)
    clients.append(bob)
    for i in range(60):
        bob.send(f"JOIN #c{i}")
        bob.send(f"PART #c{i}")
    await bob.join("#stay")
    conn = server.services.state.find_user("bob").conn
    assert len(conn.markers) <= 2 * len(conn.user.channels) + 9, len(conn.markers)


async def test_the_fallback_join_brings_markread_to_one_who_asked_for_read_marker_after_joining(
    server, clients
) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#foo",))
    bob = await connected(server, "bob", "#foo")
    clients.extend([alice, bob])
    await cap(bob, MARKER)  # negotiated mid-session, after the JOIN
    await sync(bob)
    alice.send("RENAME #foo #bar")
    shown = await bob.collect_until("366")
    assert commands(shown)[:2] == ["PART", "JOIN"]
    assert [m.params for m in shown if m.command == "MARKREAD"] == [["#bar", "*"]]


async def test_the_fallback_markread_is_the_account_s_after_identifying(make_server, tmp_path, clients) -> None:
    server = await make_server(f"store.db='{tmp_path / 'hubbub.db'}'")
    op = await registered_account(server, "alice", "correct-horse", "#foo")
    laptop = await capped(server, "laptop", MARKER, channels=("#foo",))
    phone = await capped(server, "phone", MARKER, channels=("#foo",))  # autojoin first, as many clients do
    clients.extend([op, laptop, phone])
    assert [m.params for m in phone.received if m.command == "MARKREAD"] == [["#foo", "*"]]
    laptop.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await laptop.expect("900")
    marker = "timestamp=2021-06-01T12:00:00.000Z"
    laptop.send(f"MARKREAD #foo {marker}")
    assert (await laptop.expect("MARKREAD")).params == ["#foo", marker]
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")  # then identify
    await phone.expect("900")
    await sync(phone)
    op.send("RENAME #foo #bar")
    shown = await phone.collect_until("366")
    told = [m.params for m in shown if m.command == "MARKREAD"]
    phone.send("MARKREAD #bar")  # what the server holds for the account
    assert (await phone.expect("MARKREAD")).params == ["#bar", marker]
    assert told == [["#bar", marker]]


async def renamed_while_held(server, db: Path, clients: list[LineClient], keys: int) -> list:
    """alice (op, draft/channel-rename) and bob (metadata-2, no rename, no chathistory) in
    #m, `keys` keys of 250 bytes set on #m and subscribed to by bob; bob's JOIN #x waits
    for its replay from the store (others' lines held for bob) while alice renames #m to
    #n. What bob receives once the store lets go."""
    alice = await capped(server, "alice", RENAME, *META, channels=("#m",))
    bob = await capped(server, "bob", *META)
    carol = await connected(server, "carol", "#x")
    clients.extend([alice, bob, carol])
    for i in range(keys):
        alice.send(f"METADATA #m SET k{i} :" + "v" * 250)
    await sync(alice)
    bob.send("METADATA * SUB " + " ".join(f"k{i}" for i in range(keys)))
    await sync(bob)
    await bob.join("#m")
    await sync(bob)
    async with store_held(server, db, carol, "#x"):
        bob.send("JOIN #x")
        await until(waits(server, "bob"))  # bob's JOIN #x waits for its replay: others' lines are held
        alice.send("RENAME #m #n :tidier")
        await until(lambda: server.services.state.find_channel("#n") is not None)
    return await sync(bob)


def about_n(got: list) -> tuple[int, list[int]]:
    """Where bob's JOIN #n is, and where the lines about #n's metadata (a METADATA, or 774) are."""
    joined = next(i for i, m in enumerate(got) if m.command == "JOIN" and m.params[0] == "#n")
    metadata = [i for i, m in enumerate(got) if (m.command == "METADATA" and m.params[0] == "#n")
                or (m.command == "774" and m.params[1] == "#n")]  # fmt: skip
    return joined, metadata


async def test_the_fallback_metadata_batch_comes_after_its_join_when_the_connection_holds(
    make_server, tmp_path, clients
) -> None:
    db = tmp_path / "hubbub.db"
    server = await make_server(f"store.db='{db}'")
    got = await renamed_while_held(server, db, clients, 1)
    joined, metadata = about_n(got)
    assert metadata and all(i > joined for i in metadata), commands(got)  # the batch is delivered: held too


async def test_the_fallback_sync_later_comes_after_its_join_when_the_connection_holds(
    make_server, tmp_path, clients
) -> None:
    db = tmp_path / "hubbub.db"
    server = await make_server(f"store.db='{db}'", "limits.sendq=4096")  # a sync budget of 2048 bytes
    got = await renamed_while_held(server, db, clients, 10)  # 10 x (250 + 64) bytes: past it, 774
    joined, metadata = about_n(got)
    assert [got[i].command for i in metadata] == ["774"], commands(got)
    assert all(i > joined for i in metadata), commands(got)


async def test_a_marker_set_while_its_channel_is_renamed_holds_for_the_new_name(make_server, tmp_path, clients) -> None:
    db = tmp_path / "hubbub.db"
    server = await make_server(f"store.db='{db}'")
    op = await registered_account(server, "alice", "correct-horse", "#foo")
    laptop = await capped(server, "laptop", MARKER, RENAME, channels=("#foo",))
    carol = await connected(server, "carol", "#foo")
    clients.extend([op, laptop, carol])
    laptop.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await laptop.expect("900")
    await sync(laptop)
    marker = "timestamp=2021-06-01T12:00:00.000Z"
    tasks = server.persistence._tasks
    before = len(tasks)
    async with store_held(server, db, carol, "#foo"):
        laptop.send(f"MARKREAD #foo {marker}")
        await until(lambda: len(tasks) > before)  # its store read (markers only move forward) waits
        op.send("RENAME #foo #bar :tidier")
        await until(lambda: server.services.state.find_channel("#bar") is not None)
    await laptop.expect("RENAME")
    await sync(laptop)
    laptop.send("MARKREAD #bar")
    assert (await laptop.expect("MARKREAD")).params == ["#bar", marker]
