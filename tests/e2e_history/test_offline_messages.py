"""A private message to an account nobody is connected under, over real sockets: kept
for its owner (found by CHATHISTORY TARGETS and read with CHATHISTORY when back, after a
restart too), the sender told so by an away reply; refused as before (401) where nothing
could keep it."""

from __future__ import annotations

import asyncio

from hubbub.irc.message import Message
from hubbub.server.handlers.messaging import OFFLINE
from tests.e2e_accounts.support import b64
from tests.e2e_accounts.test_account_cli import account as account_cli
from tests.e2e_history.test_chathistory import HISTORY, history
from tests.e2e_history.test_history_privacy import EVER, account, texts
from tests.e2e_history.test_long_lines_replay import batch_of
from tests.e2e_history.test_multiline_notice_history import CONCAT, LINES, MULTILINE
from tests.helpers import STAMP, LineClient, commands, connected, sync, unstamped


async def logged_in(
    server, nick: str, *caps: str, password: str = "correct-horse", account_name: str | None = None,
) -> LineClient:  # fmt: skip
    """A client logged in to the account `nick` (or `account_name`) by SASL PLAIN, with `caps`."""
    name = account_name or nick
    client = await LineClient.connect(server)
    client.send("CAP REQ :" + " ".join(("sasl", *caps)))
    await client.expect("CAP")
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64(f"{name}\0{name}\0{password}"))
    await client.expect("903")
    client.send("CAP END")
    await client.expect("001")
    client.nick = nick
    return client


async def replay_to(client: LineClient) -> list:
    """What a client that logged in is replayed, up to the closing NOTICE."""
    return await client.collect_until(lambda m: m.command == "NOTICE" and m.params[-1].startswith("End of the earlier"))


def as_said(message: Message) -> list[str]:
    """A replayed line's parameters as it was said: its text is led by when (a client
    without `batch`: server/replay.py `_stamped`), which must be there."""
    target, text = message.params
    assert STAMP.match(text), message
    return [target, unstamped(text)]


async def gone(client: LineClient) -> None:
    client.send("QUIT")
    await client.closed()


async def test_a_message_to_an_offline_account_waits_for_its_owner(stored, clients) -> None:
    server = await stored()
    alice = await account(server, "alice")
    await gone(alice)
    bob = await account(server, "bob", *HISTORY, "echo-message")
    clients.append(bob)
    bob.send("PRIVMSG alice :are you coming tonight?")
    echo = await bob.expect("PRIVMSG")
    assert echo.params == ["alice", "are you coming tonight?"]
    away = await bob.expect("301")
    assert away.params[1:] == ["alice", OFFLINE]
    assert texts(await history(bob, "CHATHISTORY LATEST alice * 10")) == ["are you coming tonight?"]

    back = await logged_in(server, "alice", *HISTORY)
    clients.append(back)
    back.send(f"CHATHISTORY TARGETS {EVER} 10")
    await back.expect("BATCH")
    listed = await back.expect("CHATHISTORY")
    assert listed.params[:2] == ["TARGETS", "bob"]
    assert (await back.expect("BATCH")).params[0][0] == "-"  # bob alone
    got = await history(back, "CHATHISTORY LATEST bob * 10")
    assert [(m.source, m.params, m.tags["msgid"]) for m in got] == [
        ("bob!~u@127.0.0.1", ["alice", "are you coming tonight?"], echo.tags["msgid"]),
    ]  # fmt: skip
    back.send("PRIVMSG bob :yes, at eight")  # and the conversation goes on, live
    assert (await bob.expect("PRIVMSG")).params == ["bob", "yes, at eight"]
    assert texts(await history(back, "CHATHISTORY LATEST bob * 10")) == ["are you coming tonight?", "yes, at eight"]


async def test_a_message_kept_for_an_offline_account_outlives_a_restart(stored) -> None:
    server = await stored()
    await gone(await account(server, "Alice"))
    bob = await account(server, "bob")
    bob.send("PRIVMSG ALICE :said before the restart")  # any case of the name
    assert (await bob.expect("301")).params[1] == "Alice"
    await gone(bob)
    await server.stop()
    again = await stored()
    alice = await logged_in(again, "Alice", *HISTORY)
    got = await history(alice, "CHATHISTORY LATEST bob * 10")
    assert [m.params for m in got] == [["Alice", "said before the restart"]]
    await alice.close()


async def test_where_nothing_could_keep_it_the_answer_is_no_such_nick(stored, clients) -> None:
    """A sender without an account (only messages between accounts are kept), a nick that
    is no account, a TAGMSG (typing): 401 as before; a NOTICE, silent as ever, is not kept."""
    server = await stored()
    await gone(await account(server, "alice"))
    anon = await connected(server, "anon")
    bob = await account(server, "bob", *HISTORY, "message-tags")
    clients.extend([anon, bob])
    anon.send("PRIVMSG alice :hello?")
    # what would have kept it, said: an account, offline
    assert (await anon.expect("401")).params[1:] == [
        "alice", "No such nick/channel: alice is offline; log in to leave a message for when they are back"]
    bob.send("PRIVMSG nobody :hello?")
    assert (await bob.expect("401")).params[1:] == ["nobody", "No such nick/channel"]
    bob.send("@+typing=active TAGMSG alice")
    assert (await bob.expect("401")).params[1] == "alice"
    bob.send("NOTICE alice :a notice")
    assert commands(await sync(bob)) == []
    assert await history(bob, "CHATHISTORY LATEST alice * 10") == []


async def test_without_history_a_message_to_an_offline_account_is_no_such_nick(stored, clients) -> None:
    server = await stored("history.enabled=false")
    await gone(await account(server, "alice"))
    bob = await account(server, "bob")
    clients.append(bob)
    bob.send("PRIVMSG alice :hello?")
    assert (await bob.expect("401")).params[1:] == ["alice", "No such nick/channel"]  # nothing would keep it


async def test_several_targets_at_once_reach_the_online_and_keep_for_the_offline(stored, clients) -> None:
    server = await stored()
    await gone(await account(server, "alice"))
    bob = await account(server, "bob", *HISTORY)
    carol = await account(server, "carol")
    clients.extend([bob, carol])
    bob.send("PRIVMSG alice,carol :meeting at noon")
    assert (await carol.expect("PRIVMSG")).params == ["carol", "meeting at noon"]
    assert (await bob.expect("301")).params[1:] == ["alice", OFFLINE]
    assert texts(await history(bob, "CHATHISTORY LATEST alice * 10")) == ["meeting at noon"]
    assert texts(await history(bob, "CHATHISTORY LATEST carol * 10")) == ["meeting at noon"]


async def test_a_multiline_message_to_an_offline_account_is_kept_whole(stored, clients) -> None:
    server = await stored()
    await gone(await account(server, "alice"))
    bob = await account(server, "bob", *HISTORY, *MULTILINE, "echo-message")
    clients.append(bob)
    bob.send("BATCH +m draft/multiline alice")
    for text, concat in LINES:
        bob.send(f"@batch=m{';' + CONCAT if concat else ''} PRIVMSG alice :{text}")
    bob.send("BATCH -m")
    echo, _ = await batch_of(bob, "draft/multiline")
    assert (await bob.expect("301")).params[1:] == ["alice", OFFLINE]

    back = await logged_in(server, "alice", *HISTORY, *MULTILINE)
    clients.append(back)
    back.send("CHATHISTORY LATEST bob * 10")
    kept, _ = await batch_of(back, "chathistory")
    (opening,) = [m for m in kept if m.command == "BATCH" and m.params[1:2] == ["draft/multiline"]]
    assert opening.tags["msgid"] == echo[0].tags["msgid"] and opening.params[2] == "alice"
    inner = [m for m in kept if m.tags.get("batch") == opening.params[0][1:]]
    assert [(m.command, m.params[1], CONCAT in m.tags) for m in inner] == [("PRIVMSG", t, c) for t, c in LINES]


async def test_a_client_that_cannot_ask_for_history_is_given_what_waited_when_it_logs_in(stored, clients) -> None:
    """irssi and most IRC clients have no draft/chathistory: logged in again (SASL, or
    IDENTIFY once connected), they are replayed what the account's private conversations
    held since it last quit, between two NOTICEs, as a channel's lines on JOIN are."""
    server = await stored()
    alice = await account(server, "alice")
    await gone(alice)
    bob = await account(server, "bob")
    carol = await account(server, "carol")
    clients.extend([bob, carol])
    bob.send("PRIVMSG alice :are you coming tonight?")
    await bob.expect("301")
    carol.send("PRIVMSG alice :call me")
    await carol.expect("301")

    back = await logged_in(server, "alice")  # SASL: replayed after the welcome
    clients.append(back)
    replayed = [m for m in await back.collect_until(lambda m: m.command == "NOTICE"
                                                     and m.params[-1].startswith("End of the earlier"))]
    await sync(back)
    back.send("QUIT")
    await back.closed()
    clients.remove(back)
    said = [(m.source.split("!")[0], as_said(m)) for m in replayed if m.command == "PRIVMSG"]
    assert said == [("bob", ["alice", "are you coming tonight?"])]
    opening = [m for m in replayed if m.command == "NOTICE"][0]
    assert opening.params[0] == "alice" and opening.params[1].startswith("Earlier messages of bob")

    carol.send("PRIVMSG alice :still there?")
    await carol.expect("301")
    again = await connected(server, "alice")  # IDENTIFY once connected: the same
    clients.append(again)
    again.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    got = await again.collect_until(lambda m: m.command == "NOTICE" and m.params[-1].startswith("End of the earlier"))
    assert [as_said(m) for m in got if m.command == "PRIVMSG"] == [["alice", "still there?"]]  # since the last quit
    assert not [m for m in await sync(again) if m.command == "PRIVMSG"]  # and carol's conversation alone


async def test_a_client_that_asks_for_history_itself_is_replayed_nothing(stored, clients) -> None:
    server = await stored()
    await gone(await account(server, "alice"))
    bob = await account(server, "bob")
    clients.append(bob)
    bob.send("PRIVMSG alice :hello")
    await bob.expect("301")
    back = await logged_in(server, "alice", *HISTORY)
    clients.append(back)
    assert not [m for m in await sync(back) if m.command in ("PRIVMSG", "BATCH")]


async def test_when_the_account_left_outlives_a_clean_restart(stored) -> None:
    """Connected when the server stopped: it saw everything until then, and is replayed
    what came after, once it is back on the restarted server."""
    server = await stored()
    alice = await account(server, "alice")
    await account(server, "bob")
    await server.stop()
    await alice.closed()
    again = await stored()
    bob = await logged_in(again, "bob")
    bob.send("PRIVMSG alice :after the restart")
    await bob.expect("301")
    back = await logged_in(again, "alice")
    got = await back.collect_until(lambda m: m.command == "NOTICE" and m.params[-1].startswith("End of the earlier"))
    assert [as_said(m) for m in got if m.command == "PRIVMSG"] == [["alice", "after the restart"]]
    for client in (bob, back):
        await client.close()


async def test_an_owner_connected_under_another_nick_is_not_offline(stored, clients) -> None:
    """Logged in to the account as someone else (a phone's `alice_phone`): 401, as
    before, not "Offline" while they are there; their own account's name, the same."""
    server = await stored()
    await gone(await account(server, "alice"))
    phone = await logged_in(server, "alice_phone", password="correct-horse", account_name="alice")
    bob = await account(server, "bob", *HISTORY)
    clients.extend([phone, bob])
    bob.send("PRIVMSG alice :hello?")
    # where to find them instead (as NickServ INFO tells anyone)
    assert (await bob.expect("401")).params[1:] == ["alice", "No such nick/channel: alice is online as alice_phone"]
    tablet = await logged_in(server, "alice_tab", password="correct-horse", account_name="alice")
    clients.append(tablet)
    phone.send("PRIVMSG alice :a note to self")
    both = "No such nick/channel: alice is online as alice_phone, alice_tab"
    assert (await phone.expect("401")).params[1:] == ["alice", both]
    assert await history(bob, "CHATHISTORY LATEST alice * 10") == []


async def test_a_ctcp_query_is_not_kept_but_an_action_is(stored, clients) -> None:
    server = await stored()
    await gone(await account(server, "alice"))
    bob = await account(server, "bob", *HISTORY)
    clients.append(bob)
    bob.send("PRIVMSG alice :\x01VERSION\x01")
    assert (await bob.expect("401")).params[1] == "alice"
    bob.send("PRIVMSG alice :\x01ACTION waves\x01")
    assert (await bob.expect("301")).params[1] == "alice"
    assert texts(await history(bob, "CHATHISTORY LATEST alice * 10")) == ["\x01ACTION waves\x01"]


async def test_targets_names_a_conversation_by_the_nick_its_other_side_is_online_under(stored, clients) -> None:
    """bob, logged in as `bobby` (his account's nick free): TARGETS names the conversation
    `bobby`, where a reply reaches him (`bob` is 401 now); once he is gone, `bob` again."""
    server = await stored()
    await gone(await account(server, "bob"))
    alice = await account(server, "alice", *HISTORY)
    clients.append(alice)
    bobby = await logged_in(server, "bobby", *HISTORY, account_name="bob")
    clients.append(bobby)
    bobby.send("PRIVMSG alice :it's me, on my phone")
    await alice.expect("PRIVMSG")
    alice.send(f"CHATHISTORY TARGETS {EVER} 10")
    await alice.expect("BATCH")
    assert (await alice.expect("CHATHISTORY")).params[:2] == ["TARGETS", "bobby"]
    assert (await alice.expect("BATCH")).params[0][0] == "-"
    assert texts(await history(alice, "CHATHISTORY LATEST bobby * 10")) == ["it's me, on my phone"]
    await gone(bobby)
    alice.send(f"CHATHISTORY TARGETS {EVER} 10")
    await alice.expect("BATCH")
    assert (await alice.expect("CHATHISTORY")).params[:2] == ["TARGETS", "bob"]


async def test_the_login_replay_shows_the_accounts_own_lines_from_another_device_as_its_own(stored, clients) -> None:
    """alice's phone (`alice_phone`) talked with bob while her IRC client was gone: logged
    in again, the client is replayed her phone's lines from its own nick (irssi shows them
    as hers, in the conversation with bob, not in one with `alice_phone`), and bob's lines
    to the phone as said to its nick."""
    server = await stored()
    await gone(await account(server, "alice"))
    phone = await logged_in(server, "alice_phone", account_name="alice")
    bob = await account(server, "bob")
    clients.extend([phone, bob])
    phone.send("PRIVMSG bob :on my phone now")
    await bob.expect("PRIVMSG")
    bob.send("PRIVMSG alice_phone :ok, noted")
    await phone.expect("PRIVMSG")

    back = await logged_in(server, "alice")
    clients.append(back)
    replayed = await replay_to(back)
    said = [(m.source, as_said(m)) for m in replayed if m.command == "PRIVMSG"]
    assert said == [("alice!~u@127.0.0.1", ["bob", "on my phone now"]), ("bob!~u@127.0.0.1", ["alice", "ok, noted"])]


async def test_a_web_page_leaving_does_not_move_what_irssi_is_replayed_from(stored, clients) -> None:
    """alice's IRC client (no chathistory) left; bob wrote to her phone's page (which reads
    history itself), which then closed: back, the IRC client is replayed bob's line, said
    after it left, though the page's quit came after it."""
    server = await stored()
    await gone(await account(server, "alice"))
    phone = await logged_in(server, "alice_phone", *HISTORY, account_name="alice")
    bob = await account(server, "bob")
    clients.append(bob)
    bob.send("PRIVMSG alice_phone :seen on your phone only")
    await phone.expect("PRIVMSG")
    await gone(phone)
    back = await logged_in(server, "alice")
    clients.append(back)
    replayed = await replay_to(back)
    assert [as_said(m) for m in replayed if m.command == "PRIVMSG"] == [["alice", "seen on your phone only"]]


async def test_a_first_login_from_irc_after_the_web_alone_is_replayed_what_waited(stored, clients) -> None:
    """An account that only ever used a page that reads history: its quit is the point
    an IRC client's first login is replayed from (the message left for it meanwhile)."""
    server = await stored()
    page = await account(server, "alice", *HISTORY)
    await gone(page)
    bob = await account(server, "bob")
    clients.append(bob)
    bob.send("PRIVMSG alice :left for you")
    await bob.expect("301")
    back = await logged_in(server, "alice")
    clients.append(back)
    replayed = await replay_to(back)
    assert [as_said(m) for m in replayed if m.command == "PRIVMSG"] == [["alice", "left for you"]]


async def test_the_login_replay_and_a_joins_leave_out_ctcp_queries_and_answers(stored, clients) -> None:
    """irssi answers a CTCP query replayed to it (bob would get a VERSION answer again):
    neither the private replay nor a channel's on JOIN gives one; an ACTION is words."""
    server = await stored()
    await gone(await account(server, "alice"))
    phone = await logged_in(server, "alice_phone", account_name="alice")
    bob = await account(server, "bob", channels=("#c",))
    clients.extend([phone, bob])
    bob.send("PRIVMSG alice_phone :\x01VERSION\x01")
    await phone.expect("PRIVMSG")
    phone.send("NOTICE bob :\x01VERSION some client 1.0\x01")
    await bob.expect("NOTICE")
    bob.send("PRIVMSG alice_phone :\x01ACTION waves\x01")
    await phone.expect("PRIVMSG")
    bob.send("PRIVMSG #c :\x01VERSION\x01")
    bob.send("PRIVMSG #c :hello #c")
    await sync(bob)
    back = await logged_in(server, "alice")
    clients.append(back)
    replayed = await replay_to(back)
    said = [as_said(m)[1] for m in replayed if m.command in ("PRIVMSG", "NOTICE") and "!" in (m.source or "")]
    assert said == ["\x01ACTION waves\x01"]  # not the bracketing NOTICEs, the server's
    back.send("JOIN #c")
    joined = await back.collect_until("366")
    back.send("PING :end")
    joined += await back.collect_until("PONG")
    assert [as_said(m)[1] for m in joined if m.command == "PRIVMSG"] == ["hello #c"]


async def test_a_first_login_is_replayed_what_waited_since_the_account_was_made(stored, db, tmp_path) -> None:
    """An account made by `hubbub account add` never had a connection that quit: its
    owner's first login from irssi is replayed the message left for it meanwhile (there
    was no point to start from, and nothing), and a second login only what came since."""
    made = await asyncio.to_thread(account_cli, db, "add", "alice", password="correct-horse\n", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    server = await stored()
    bob = await account(server, "bob")
    bob.send("PRIVMSG alice :welcome aboard, ask me anything")
    assert (await bob.expect("301")).params[1] == "alice"
    first = await logged_in(server, "alice")
    got = await replay_to(first)
    assert [(m.source.split("!")[0], as_said(m)) for m in got if m.command == "PRIVMSG"] == [
        ("bob", ["alice", "welcome aboard, ask me anything"]),
    ]  # fmt: skip
    await gone(first)
    bob.send("PRIVMSG alice :one more thing")
    await bob.expect("301")
    again = await logged_in(server, "alice")
    got = await replay_to(again)
    assert [as_said(m) for m in got if m.command == "PRIVMSG"] == [["alice", "one more thing"]]
    for client in (bob, again):
        await client.close()
