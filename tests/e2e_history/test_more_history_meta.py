"""More history and metadata over real sockets: event-playback details, redaction, SEARCH,
replay on join, read markers across connections, and draft/metadata-2 corners."""

from __future__ import annotations

import re

from hubbub.irc.message import Message
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history, talk
from tests.e2e_history.test_history_privacy import account
from tests.helpers import STAMP, LineClient, commands, connected, sync, unstamped

EVENTS = (*HISTORY, "draft/event-playback", "echo-message", "account-tag")
REDACTION = "draft/message-redaction"
SEARCH = "soju.im/search"
MARKER = "draft/read-marker"
META = ("draft/metadata-2", "batch", "message-tags")


def texts(found: list[Message]) -> list[str]:
    return [m.params[-1] for m in found]


async def search(client: LineClient, line: str) -> list[Message]:
    """Send a SEARCH; the messages of its soju.im/search batch."""
    await sync(client)
    client.send(line)
    got = await sync(client)
    assert got and got[0].command == "BATCH" and got[0].params[1] == SEARCH, (line, got)
    ref = got[0].params[0][1:]
    assert got[-1].params == ["-" + ref], got
    return got[1:-1]


async def refused(client: LineClient, line: str) -> list[str]:
    await sync(client)
    client.send(line)
    got = await sync(client)
    assert commands(got) == ["FAIL"], (line, got)
    return got[0].params


# -- event playback ---------------------------------------------------------------------


async def test_replayed_events_carry_the_msgid_and_time_members_saw_live(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, channels=("#c",))
    bob = await capped(server, "bob", *EVENTS)
    clients.extend([alice, bob])
    live = []
    bob.send("JOIN #c")
    live.append(await alice.expect("JOIN"))
    alice.send("TOPIC #c :a topic")
    live.append(await bob.expect("TOPIC"))
    alice.send("MODE #c +v bob")
    live.append(await bob.expect("MODE"))
    bob.send("NICK robert")
    live.append(await alice.expect("NICK"))
    alice.send("KICK #c robert :go")
    live.append(await alice.expect("KICK"))
    got = await history(alice, "CHATHISTORY LATEST #c * 20")
    assert commands(got) == ["JOIN", "JOIN", "TOPIC", "MODE", "NICK", "KICK"]
    for seen, replayed in zip(live, got[1:], strict=True):
        assert replayed.source == seen.source, (seen, replayed)
        assert replayed.params == seen.params, (seen, replayed)
        assert replayed.tags.get("msgid") == seen.tags.get("msgid"), (seen, replayed)
        assert replayed.tags.get("time") == seen.tags.get("time"), (seen, replayed)


async def test_a_mode_line_replays_with_its_arguments(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, channels=("#c",))
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    alice.send("MODE #c +ov-t bob bob")
    seen = await alice.expect("MODE")
    alice.send("MODE #c +k sekrit")
    seen_key = await alice.expect("MODE")
    got = [m for m in await history(alice, "CHATHISTORY LATEST #c * 20") if m.command == "MODE"]
    assert [m.params for m in got] == [seen.params, seen_key.params]
    assert all(m.source.startswith("alice!") for m in got)


async def test_a_quit_replays_with_its_reason_and_a_part_without_one(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, channels=("#c",))
    bob = await connected(server, "bob", "#c")
    carol = await connected(server, "carol", "#c")
    clients.extend([alice, bob, carol])
    bob.send("QUIT :gone fishing")
    quit_seen = await alice.expect("QUIT")
    carol.send("PART #c")
    part_seen = await alice.expect("PART")
    got = await history(alice, "CHATHISTORY LATEST #c * 2")
    assert [(m.command, m.source, m.params) for m in got] == [
        ("QUIT", quit_seen.source, quit_seen.params), ("PART", part_seen.source, part_seen.params),
    ]  # fmt: skip


async def test_a_renamed_open_channels_history_stays_with_the_old_name(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, "draft/channel-rename", channels=("#old",))
    clients.append(alice)
    await talk(alice, "#old", "said in old")
    alice.send("RENAME #old #new :moving")
    await alice.expect("RENAME")
    await talk(alice, "#new", "said in new")
    assert texts([m for m in await history(alice, "CHATHISTORY LATEST #new * 20") if m.command == "PRIVMSG"]) == [
        "said in new",
    ]  # fmt: skip
    # the old name names no channel now: refused as one that does not exist
    assert (await refused(alice, "CHATHISTORY LATEST #old * 20"))[:2] == ["CHATHISTORY", "INVALID_TARGET"]
    bob = await capped(server, "bob", *HISTORY, channels=("#old",))  # a new #old: the open one's past is there
    clients.append(bob)
    assert "said in old" in texts(await history(bob, "CHATHISTORY LATEST #old * 20"))


async def test_a_renamed_secret_channels_history_is_not_given_to_the_next_owner_of_the_name(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, SEARCH, "draft/channel-rename", channels=("#old",))
    clients.append(alice)
    alice.send("MODE #old +s")
    await alice.expect("MODE")
    await talk(alice, "#old", "secret words")
    alice.send("RENAME #old #new :moving")
    await alice.expect("RENAME")
    mallory = await capped(server, "mallory", *HISTORY, SEARCH, channels=("#old",))
    clients.append(mallory)
    assert "secret words" not in texts(await history(mallory, "CHATHISTORY LATEST #old * 20"))
    assert await search(mallory, "SEARCH in=#old;text=secret") == []


async def test_a_change_of_case_keeps_a_secret_channels_history(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", "draft/channel-rename",
                         channels=("#sec",))  # fmt: skip
    clients.append(alice)
    alice.send("MODE #sec +s")
    await alice.expect("MODE")
    await talk(alice, "#sec", "still here")
    alice.send("RENAME #sec #SEC :case")
    await alice.expect("RENAME")
    assert texts(await history(alice, "CHATHISTORY LATEST #SEC * 20")) == ["still here"]
    assert texts(await search(alice, "SEARCH in=#sec;text=still")) == ["still here"]


# -- redaction --------------------------------------------------------------------------


async def test_redact_goes_only_to_members_with_the_capability(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, REDACTION, "echo-message", channels=("#c",))
    bob = await capped(server, "bob", *HISTORY, channels=("#c",))
    carol = await capped(server, "carol", *HISTORY, REDACTION, channels=("#c",))
    outside = await capped(server, "dave", *HISTORY, REDACTION, channels=("#d",))
    clients.extend([alice, bob, carol, outside])
    said = (await talk(alice, "#c", "oops"))[0]
    alice.send(f"REDACT #c {said.tags['msgid']} :typo")
    mine = await alice.expect("REDACT")
    theirs = await carol.expect("REDACT")
    assert mine.params == theirs.params == ["#c", said.tags["msgid"], "typo"]
    assert mine.tags.get("msgid") and mine.tags.get("msgid") == theirs.tags.get("msgid")
    assert "time" in mine.tags
    assert "REDACT" not in commands(await sync(bob))
    assert "REDACT" not in commands(await sync(outside))


async def test_a_redacted_message_is_gone_from_replay_search_and_every_subcommand(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    alice = await capped(server, "alice", *HISTORY, REDACTION, SEARCH, "echo-message", channels=("#c",))
    clients.append(alice)
    echoes = await talk(alice, "#c", "keep one", "drop banana", "keep two")
    gone = echoes[1].tags["msgid"]
    alice.send(f"REDACT #c {gone}")
    await alice.expect("REDACT")
    assert texts(await search(alice, "SEARCH in=#c;text=banana")) == []
    assert texts(await history(alice, f"CHATHISTORY AROUND #c msgid={echoes[0].tags['msgid']} 10")) == [
        "keep one", "keep two",
    ]  # fmt: skip
    alice.send(f"CHATHISTORY AROUND #c msgid={gone} 10")  # the msgid no longer names anything
    await sync(alice)
    plain = await connected(server, "bob", "#c")
    clients.append(plain)
    replayed = [m.params[-1] for m in await sync(plain) if m.command == "PRIVMSG"]
    stamps = ["[" + echo.tags["time"][11:16] + "] " for echo in echoes]  # without batch: when each was said
    assert replayed == [stamps[0] + "keep one", stamps[2] + "keep two"]
    alice.send(f"REDACT #c {gone}")
    assert (await alice.expect("FAIL")).params[:2] == ["REDACT", "UNKNOWN_MSGID"]


async def test_an_event_cannot_be_redacted(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, REDACTION, channels=("#c",))
    clients.append(alice)
    alice.send("TOPIC #c :keep this topic line")
    await alice.expect("TOPIC")
    got = await history(alice, "CHATHISTORY LATEST #c * 10")
    topic = [m for m in got if m.command == "TOPIC"][0]
    assert (await refused(alice, f"REDACT #c {topic.tags['msgid']}"))[:2] == ["REDACT", "UNKNOWN_MSGID"]
    assert "TOPIC" in commands(await history(alice, "CHATHISTORY LATEST #c * 10"))


async def test_an_op_of_two_channels_cannot_redact_one_through_the_other(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, REDACTION, "echo-message", channels=("#a", "#b"))
    bob = await capped(server, "bob", *HISTORY, REDACTION, "echo-message", channels=("#a",))
    clients.extend([alice, bob])
    said = (await talk(bob, "#a", "in a"))[0]
    assert (await refused(alice, f"REDACT #b {said.tags['msgid']}"))[:2] == ["REDACT", "UNKNOWN_MSGID"]
    assert texts(await history(alice, "CHATHISTORY LATEST #a * 10")) == ["in a"]


async def test_redacting_a_private_message_tells_every_connection_of_both_sides(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, REDACTION, "echo-message")
    alice = await account(server, "alice", *caps)
    bob = await account(server, "bob", *caps)
    clients.extend([alice, bob])
    phone = await capped(server, "bob_phone", *caps)
    clients.append(phone)
    phone.send("PRIVMSG NickServ :IDENTIFY bob correct-horse")
    await phone.expect("900")
    said = (await talk(alice, "bob", "private oops"))[0]
    await sync(bob)
    alice.send(f"REDACT bob {said.tags['msgid']} :sorry")
    for client in (alice, bob, phone):
        line = await client.expect("REDACT")
        assert line.source.startswith("alice!")
        assert line.params[1:] == [said.tags["msgid"], "sorry"], line
    assert await history(bob, "CHATHISTORY LATEST alice * 10") == []
    assert await history(alice, "CHATHISTORY LATEST bob * 10") == []


async def test_the_redact_target_seen_by_the_other_side_of_a_private_message(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, REDACTION, "echo-message")
    alice = await account(server, "alice", *caps)
    bob = await account(server, "bob", *caps)
    clients.extend([alice, bob])
    said = (await talk(alice, "bob", "private oops"))[0]
    await sync(bob)
    alice.send(f"REDACT bob {said.tags['msgid']}")
    assert (await alice.expect("REDACT")).params[:2] == ["bob", said.tags["msgid"]]
    # to bob, as for the PRIVMSG itself, the target is bob
    assert (await bob.expect("REDACT")).params[:2] == ["bob", said.tags["msgid"]]


# -- search -----------------------------------------------------------------------------


async def test_search_with_punctuation_quotes_and_unicode(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", 'she said "hello" twice', "café au lait", "100% sure", "1000 things",
               "snake_case name", "snakeXcase name", "it's done", "C++ rocks", "日本語 テキスト")  # fmt: skip
    for text, expected in (
        ('"hello"', ['she said "hello" twice']),
        ("HELLO", ['she said "hello" twice']),
        ("café", ["café au lait"]),
        ("cafe", ["café au lait"]),
        ("100%", ["100% sure"]),
        ("it's", ["it's done"]),
        ("C++", ["C++ rocks"]),
        ("OR", []),
        ("*", []),
        ("hello\\stwice", ['she said "hello" twice']),
    ):
        assert texts(await search(alice, f"SEARCH in=#c;text={text}")) == expected, text


async def test_search_for_an_underscore_is_not_a_wildcard(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "snake_case name", "snakeXcase name", "50% off", "5000 off")
    assert "snakeXcase name" not in texts(await search(alice, "SEARCH in=#c;text=snake_case"))
    assert "5000 off" not in texts(await search(alice, "SEARCH in=#c;text=50%"))


async def test_search_from_is_case_insensitive_and_bounds_are_included(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    bob = await capped(server, "Bob", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    clients.extend([alice, bob])
    said = (await talk(bob, "#c", "from bob"))[0]
    await talk(alice, "#c", "from alice")
    assert texts(await search(alice, "SEARCH in=#c;from=bob")) == ["from bob"]
    assert texts(await search(alice, "SEARCH in=#C;from=BOB")) == ["from bob"]
    stamp = said.tags["time"]
    assert "from bob" in texts(await search(alice, f"SEARCH in=#c;after={stamp}"))
    assert "from bob" in texts(await search(alice, f"SEARCH in=#c;before={stamp}"))
    assert "from bob" in texts(await search(alice, f"SEARCH in=#c;after=timestamp={stamp};before={stamp}"))


async def test_search_limit_above_the_maximum_is_the_maximum(stored, clients) -> None:
    server = await stored("history.chathistory_max=3")
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", *(f"word {i}" for i in range(5)))
    assert texts(await search(alice, "SEARCH in=#c;text=word;limit=1000")) == ["word 2", "word 3", "word 4"]
    assert texts(await search(alice, "SEARCH in=#c;text=word")) == ["word 2", "word 3", "word 4"]
    assert (await refused(alice, "SEARCH in=#c;limit=-1"))[:3] == ["SEARCH", "INVALID_PARAMS", "limit"]


async def test_search_returns_no_events_or_tagmsg_and_carries_tags(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, SEARCH, channels=("#c",))
    clients.append(alice)
    alice.send("TOPIC #c :topic word")
    await alice.expect("TOPIC")
    alice.send("@+draft/react=word TAGMSG #c")
    said = (await talk(alice, "#c", "message word"))[0]
    alice.send("NOTICE #c :notice word")
    await alice.expect("NOTICE")
    found = await search(alice, "SEARCH in=#c;text=word")
    assert commands(found) == ["PRIVMSG", "NOTICE"]
    assert found[0].tags.get("msgid") == said.tags["msgid"] and found[0].tags.get("time") == said.tags["time"]
    assert found[0].source == said.source


async def test_search_of_a_channel_that_is_empty_of_matches_or_absent(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, channels=("#c",))
    clients.append(alice)
    assert await search(alice, "SEARCH in=#c;text=nothing") == []
    assert await search(alice, "SEARCH in=#c") == []
    assert (await refused(alice, "SEARCH in=#gone;text=x"))[:3] == ["SEARCH", "INVALID_PARAMS", "in"]


# -- replay on join ---------------------------------------------------------------------


async def test_replay_on_join_counts_messages_not_events_and_keeps_order(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=3")
    alice = await capped(server, "alice", "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "m0", "m1", "m2", "m3")
    for nick in ("x1", "x2", "x3", "x4"):  # joins and parts after the messages
        other = await connected(server, nick, "#c")
        other.send("PART #c")
        await alice.expect("PART")
        await other.close()
    alice.send("TOPIC #c :new topic")
    await alice.expect("TOPIC")
    bob = await capped(server, "bob", "server-time", "batch", "message-tags")
    clients.append(bob)
    bob.send("JOIN #c")
    got = await sync(bob)
    replayed = [m for m in got if m.command in ("PRIVMSG", "NOTICE", "JOIN", "PART", "TOPIC", "QUIT")]
    assert [(m.command, m.params) for m in replayed if "batch" in m.tags] == [
        ("PRIVMSG", ["#c", "m1"]), ("PRIVMSG", ["#c", "m2"]), ("PRIVMSG", ["#c", "m3"]),
    ]  # fmt: skip
    stamps = [m.tags["time"] for m in replayed if "batch" in m.tags]
    assert stamps == sorted(stamps)


async def test_no_replay_on_join_to_a_bot(stored, clients) -> None:
    """A bot (+B) cannot tell replayed lines from new ones without batch and server-time,
    and would act on old commands again at every join: it is sent none (it can ask with
    CHATHISTORY)."""
    server = await stored("history.autoreplay_lines=10")
    alice = await capped(server, "alice", "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "!deploy prod")
    bot = await connected(server, "botty")
    person = await connected(server, "person")
    clients.extend([bot, person])
    bot.send("MODE botty +B")
    await bot.expect("MODE")
    for client in (bot, person):
        client.send("JOIN #c")
    got = {client.nick: await sync(client) for client in (bot, person)}
    [replayed] = [m.params for m in got["person"] if m.command == "PRIVMSG"]
    assert replayed[0] == "#c" and unstamped(replayed[1]) == "!deploy prod"
    assert STAMP.match(replayed[1]), replayed  # led by when it was said
    assert [m for m in got["botty"] if m.command in ("PRIVMSG", "NOTICE")] == []


async def test_a_replay_without_batch_says_when_each_line_was_said_and_runs_no_command_again(
    stored, clients
) -> None:  # fmt: skip
    """A client without `batch` (irssi, most bot libraries) cannot tell a replayed line
    from a live one: each replayed text starts with when it was said, in UTC as the
    NOTICE before them says (`[14:02] !deploy prod`, as ZNC plays its buffer back): a
    person sees when, and a bot that did not set +B takes no old `!command` for a new
    one. With `batch`, the lines are as they were said, in their chathistory batch."""
    server = await stored("history.autoreplay_lines=10")
    alice = await capped(server, "alice", "echo-message", "server-time", channels=("#c",))
    clients.append(alice)
    (said,) = await talk(alice, "#c", "!deploy prod")
    alice.send("PRIVMSG #c :\x01ACTION deploys\x01")
    await alice.expect("PRIVMSG")
    stamp = "[" + said.tags["time"][11:16] + "] "
    bot = await connected(server, "botty")
    batched = await capped(server, "reader", "batch", "server-time")
    clients.extend([bot, batched])
    for client in (bot, batched):
        client.send("JOIN #c")
    got = await sync(bot)
    assert [m.params for m in got if m.command == "PRIVMSG"] == [
        ["#c", stamp + "!deploy prod"], ["#c", f"\x01ACTION {stamp}deploys\x01"],
    ]  # fmt: skip
    assert [m.params[1] for m in got if m.command == "NOTICE"][0].startswith("Earlier messages of #c")
    assert [m.params for m in await sync(batched) if m.command == "PRIVMSG"] == [
        ["#c", "!deploy prod"], ["#c", "\x01ACTION deploys\x01"],
    ]  # fmt: skip


async def test_replay_on_join_holds_no_private_messages(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    alice = await account(server, "alice", "echo-message")
    bob = await account(server, "bob", "echo-message")
    clients.extend([alice, bob])
    await alice.join("#c")
    await talk(alice, "bob", "private to bob")
    await talk(alice, "#c", "public")
    carol = await account(server, "carol")
    clients.append(carol)
    carol.send("JOIN #c")
    got = await sync(carol)
    assert [[m.params[0], unstamped(m.params[1])] for m in got if m.command == "PRIVMSG"] == [["#c", "public"]]
    assert all(STAMP.match(m.params[1]) for m in got if m.command == "PRIVMSG"), got
    await bob.join("#c")
    got = await sync(bob)
    assert [[m.params[0], unstamped(m.params[1])] for m in got if m.command == "PRIVMSG"] == [["#c", "public"]]
    assert all(STAMP.match(m.params[1]) for m in got if m.command == "PRIVMSG"), got


async def test_replay_on_join_brings_notices_and_no_tagmsg(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=10")
    alice = await capped(server, "alice", "message-tags", "echo-message", channels=("#c",))
    clients.append(alice)
    alice.send("NOTICE #c :a notice")
    await alice.expect("NOTICE")
    alice.send("@+draft/react=x TAGMSG #c")
    await alice.expect("TAGMSG")
    await talk(alice, "#c", "a privmsg")
    bob = await capped(server, "bob", "message-tags")
    clients.append(bob)
    bob.send("JOIN #c")
    got = [m for m in await sync(bob) if m.command in ("PRIVMSG", "NOTICE", "TAGMSG")]
    # without `batch`, the server's NOTICEs say where the earlier lines begin and end
    earlier = [(m.command, unstamped(m.params[-1])) for m in got[1:-1]]
    assert earlier == [("NOTICE", "a notice"), ("PRIVMSG", "a privmsg")]
    assert all(STAMP.match(m.params[-1]) for m in got[1:-1]), got  # each led by when it was said
    assert [m.source for m in (got[0], got[-1])] == ["hubbub.local"] * 2


async def test_a_replay_without_batch_is_said_to_be_earlier_lines_and_with_batch_is_its_batch(stored, clients) -> None:
    """A client without `batch` (irssi) cannot tell replayed lines from new ones, and many
    show when a line arrived rather than its server-time: a server NOTICE to the channel
    opens and closes them, with when they were said. One with `batch` gets them in a
    chathistory batch, and no NOTICE."""
    server = await stored("history.autoreplay_lines=10")
    alice = await capped(server, "alice", "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "said before")
    await talk(alice, "#c", "and again")
    plain = await capped(server, "bob")
    batched = await capped(server, "carol", "batch", "server-time")
    clients.extend([plain, batched])
    plain.send("JOIN #c")
    got = [m for m in await sync(plain) if m.command in ("PRIVMSG", "NOTICE")]
    assert [m.command for m in got] == ["NOTICE", "PRIVMSG", "PRIVMSG", "NOTICE"]
    opening, closing = got[0], got[-1]
    assert opening.source == closing.source == "hubbub.local"
    assert opening.params[0] == closing.params[0] == "#c"
    # within one minute (as here, but for a test run across a minute's end): said at it
    when = r"said (?:at|from) \d{4}-\d\d-\d\d (\d\d:\d\d)(?: to (\d\d:\d\d))? UTC"
    said = re.fullmatch(rf"Earlier messages of #c, {when}:", opening.params[1])
    assert said, opening
    assert closing.params[1] == "End of the earlier messages: what follows is said now"
    # each line led by when it was said, as the NOTICE says: the first at its start, the last at its end
    first, last = said[1], said[2] or said[1]
    assert [m.params for m in got[1:-1]] == [["#c", f"[{first}] said before"], ["#c", f"[{last}] and again"]]
    batched.send("JOIN #c")
    lines = await sync(batched)
    assert "NOTICE" not in [m.command for m in lines]
    assert [m.params[-1] for m in lines if m.command == "PRIVMSG"] == ["said before", "and again"]
    assert any(m.command == "BATCH" and m.params[1:] == ["chathistory", "#c"] for m in lines)
    # asked for, the history is an answer: no NOTICE around it
    plain.send("PART #c")
    await plain.expect("PART")
    await talk(alice, "#c", "while away")
    plain.send("JOIN #c")
    again = [m for m in await sync(plain) if m.command in ("PRIVMSG", "NOTICE")]
    assert [unstamped(m.params[-1]) for m in again[1:-1]] == ["while away"]  # only what was missed, bracketed too
    assert STAMP.match(again[1].params[-1]), again


# -- read markers -----------------------------------------------------------------------


async def test_read_marker_is_shared_by_two_connections_and_sent_on_join(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, MARKER, "echo-message")
    laptop = await account(server, "alice", *caps, channels=("#c",))
    clients.append(laptop)
    said = (await talk(laptop, "#c", "read me"))[0]
    phone = await capped(server, "alice_phone", *caps)
    plainphone = await capped(server, "alice_old", *HISTORY)
    clients.extend([phone, plainphone])
    for client in (phone, plainphone):
        client.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
        await client.expect("900")
    stamp = said.tags["time"]
    laptop.send(f"MARKREAD #c timestamp={stamp}")
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
    assert "MARKREAD" not in commands(await sync(plainphone))
    phone.send("JOIN #c")
    got = await phone.collect_until("366")
    marker = [m for m in got if m.command == "MARKREAD"]
    assert [m.params for m in marker] == [["#c", f"timestamp={stamp}"]]
    assert commands(got).index("MARKREAD") < commands(got).index("353")
    phone.send("MARKREAD #C")  # another case of the same name
    assert (await phone.expect("MARKREAD")).params[1] == f"timestamp={stamp}"


async def test_read_marker_of_a_private_conversation_is_shared_by_both_connections(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, MARKER, "echo-message")
    laptop = await account(server, "alice", *caps)
    bob = await account(server, "bob", *caps)
    clients.extend([laptop, bob])
    said = (await talk(bob, "alice", "hi"))[0]
    phone = await capped(server, "alice_phone", *caps)
    clients.append(phone)
    phone.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await phone.expect("900")
    laptop.send(f"MARKREAD bob timestamp={said.tags['time']}")
    assert (await laptop.expect("MARKREAD")).params == ["bob", f"timestamp={said.tags['time']}"]
    assert (await phone.expect("MARKREAD")).params == ["bob", f"timestamp={said.tags['time']}"]
    # bob's own marker on the same conversation is his, not alice's
    bob.send("MARKREAD alice")
    assert (await bob.expect("MARKREAD")).params == ["alice", "*"]


# -- metadata ---------------------------------------------------------------------------


async def meta_client(server, nick: str, *extra: str, channels: tuple[str, ...] = ()) -> LineClient:
    return await capped(server, nick, *META, *extra, channels=channels)


async def test_metadata_values_with_spaces_unicode_and_the_byte_limit(server, clients) -> None:
    alice = await meta_client(server, "alice")
    clients.append(alice)
    value = "héllo wörld: ; \\s 日本"
    alice.send(f"METADATA * SET status :{value}")
    got = await alice.expect("761")
    assert got.params[1:] == ["alice", "status", "*", value] or got.params[-1] == value
    alice.send("METADATA * GET status")
    assert (await alice.expect("761")).params[-1] == value
    exactly = "é" * 128  # 256 bytes
    alice.send(f"METADATA * SET status :{exactly}")
    assert (await alice.expect("761")).params[-1] == exactly
    over = "é" * 128 + "x"
    params = await refused(alice, f"METADATA * SET status :{over}")
    assert params[:3] == ["METADATA", "VALUE_INVALID", "status"] or params[:2] == ["METADATA", "VALUE_INVALID"]


async def test_metadata_key_names(server, clients) -> None:
    alice = await meta_client(server, "alice")
    clients.append(alice)
    ok = "a" * 64
    alice.send(f"METADATA * SET {ok} :v")
    assert (await alice.expect("761")).params[2] == ok
    for bad in ("a" * 65, "Upper", "sp@ce", "Ümlaut"):
        params = await refused(alice, f"METADATA * SET {bad} :v")
        assert params[:2] == ["METADATA", "INVALID_KEY"], (bad, params)


async def test_metadata_of_a_secret_channel_is_hidden_from_outsiders(server, clients) -> None:
    alice = await meta_client(server, "alice", channels=("#s",))
    bob = await meta_client(server, "bob")
    clients.extend([alice, bob])
    alice.send("MODE #s +s")
    await alice.expect("MODE")
    alice.send("METADATA #s SET url :https://x")
    await alice.expect("761")
    for line in ("METADATA #s GET url", "METADATA #s LIST", "METADATA #s SYNC"):
        params = await refused(bob, line)
        nowhere = await refused(bob, line.replace("#s", "#nowhere"))
        assert params[:2] == ["METADATA", "INVALID_TARGET"], (line, params)
        assert params == [("#s" if p == "#nowhere" else p) for p in nowhere], (line, params, nowhere)


async def test_metadata_outsiders_cannot_set_a_channels_keys(server, clients) -> None:
    alice = await meta_client(server, "alice", channels=("#c",))
    bob = await meta_client(server, "bob", channels=("#c",))
    carol = await meta_client(server, "carol")
    clients.extend([alice, bob, carol])
    for client in (bob, carol):
        params = await refused(client, "METADATA #c SET url :x")
        assert params[:2] == ["METADATA", "KEY_NO_PERMISSION"], params
    params = await refused(bob, "METADATA alice SET url :x")
    assert params[:2] == ["METADATA", "KEY_NO_PERMISSION"], params


async def test_metadata_sub_unsub_subs_and_notifications_stop(server, clients) -> None:
    alice = await meta_client(server, "alice", channels=("#c",))
    bob = await meta_client(server, "bob", channels=("#c",))
    clients.extend([alice, bob])
    bob.send("METADATA * SUB status status")
    got = await sync(bob)
    assert [m.params[-1] for m in got if m.command == "770"] in (["status"], ["status", "status"])
    bob.send("METADATA * SUBS")
    subs = [m.params[-1] for m in await sync(bob) if m.command == "772"]
    assert subs == ["status"]
    alice.send("METADATA * SET status :busy")
    note = await bob.expect("METADATA")
    assert note.params == ["alice", "status", "*", "busy"]
    bob.send("METADATA * UNSUB status")
    assert (await bob.expect("771")).params[-1] == "status"
    alice.send("METADATA * SET status :free")
    await alice.expect("761")
    assert "METADATA" not in commands(await sync(bob))
    bob.send("METADATA * UNSUB never-subbed")
    assert (await bob.expect("771")).params[-1] == "never-subbed"


async def test_metadata_removal_notifies_without_a_value(server, clients) -> None:
    alice = await meta_client(server, "alice", channels=("#c",))
    bob = await meta_client(server, "bob", channels=("#c",))
    clients.extend([alice, bob])
    bob.send("METADATA * SUB status")
    await sync(bob)
    alice.send("METADATA * SET status :busy")
    await bob.expect("METADATA")
    alice.send("METADATA * SET status")
    assert (await alice.expect("766")).params[1:3] == ["alice", "status"]
    note = await bob.expect("METADATA")
    assert note.params == ["alice", "status", "*"]


async def test_metadata_follows_a_nick_change(server, clients) -> None:
    alice = await meta_client(server, "alice", channels=("#c",))
    bob = await meta_client(server, "bob", channels=("#c",))
    clients.extend([alice, bob])
    alice.send("METADATA * SET status :here")
    await alice.expect("761")
    alice.send("NICK alicia")
    await bob.expect("NICK")
    bob.send("METADATA alicia GET status")
    assert (await bob.expect("761")).params[1:] == ["alicia", "status", "*", "here"]
    params = await refused(bob, "METADATA alice GET status")
    assert params[:2] == ["METADATA", "INVALID_TARGET"]


async def test_metadata_is_gone_when_the_user_quits(server, clients) -> None:
    alice = await meta_client(server, "alice")
    clients.append(alice)
    alice.send("METADATA * SET status :here")
    await alice.expect("761")
    alice.send("QUIT")
    await alice.closed()
    again = await meta_client(server, "alice")
    clients.append(again)
    again.send("METADATA * GET status")
    assert (await again.expect(lambda m: m.command in ("761", "766"))).command == "766"


async def test_metadata_limit_of_keys_and_clear(make_server, clients) -> None:
    server = await make_server("limits.metadata_max_keys=2")
    alice = await meta_client(server, "alice")
    clients.append(alice)
    for key in ("a", "b"):
        alice.send(f"METADATA * SET {key} :v")
        await alice.expect("761")
    assert (await refused(alice, "METADATA * SET c :v"))[:2] == ["METADATA", "LIMIT_REACHED"]
    alice.send("METADATA * SET a :changed")  # changing a key already there is no new key
    assert (await alice.expect(lambda m: m.command in ("761", "FAIL"))).command == "761"
    alice.send("METADATA * CLEAR")
    got = await sync(alice)
    assert sorted(m.params[2] for m in got if m.command == "766") == ["a", "b"]
    alice.send("METADATA * SET c :v")
    assert (await alice.expect(lambda m: m.command in ("761", "FAIL"))).command == "761"


# -- more event playback and search corners ------------------------------------------------


async def test_a_long_mode_change_replays_as_the_lines_members_saw(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, channels=("#c",))
    clients.append(alice)
    masks = [f"n{i}!*@{chr(97 + i) * 112}.com" for i in range(4)]
    await sync(alice)
    alice.send(f"MODE #c +bbbb {' '.join(masks)}")
    live = [m for m in await sync(alice) if m.command == "MODE"]
    assert len(live) >= 2  # too long for one line: split
    got = [m for m in await history(alice, "CHATHISTORY LATEST #c * 20") if m.command == "MODE"]
    assert [m.params for m in got] == [m.params for m in live]


async def test_a_kick_without_reason_and_an_emptied_topic_replay_as_seen(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *EVENTS, channels=("#c",))
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    alice.send("TOPIC #c :something")
    await alice.expect("TOPIC")
    alice.send("TOPIC #c :")
    emptied = await alice.expect("TOPIC")
    alice.send("KICK #c bob")
    kicked = await alice.expect("KICK")
    got = await history(alice, "CHATHISTORY LATEST #c * 2")
    assert [(m.command, m.params) for m in got] == [("TOPIC", emptied.params), ("KICK", kicked.params)]


async def test_a_nick_change_replays_in_every_channel_with_the_account_tag(stored, clients) -> None:
    server = await stored()
    bob = await account(server, "bob", *EVENTS, channels=("#a", "#b"))
    clients.append(bob)
    bob.send("NICK robert")
    live = await bob.expect("NICK")
    for where in ("#a", "#b"):
        got = await history(bob, f"CHATHISTORY LATEST {where} * 10")
        assert got[-1].command == "NICK" and got[-1].source == live.source and got[-1].params == ["robert"]
        assert got[-1].tags.get("account") == "bob"
        assert got[-1].tags.get("msgid") == live.tags.get("msgid")


async def test_search_for_punctuation_only_or_a_blank_text(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "hello!!!", "plain")
    await search(alice, "SEARCH in=#c;text=!!!")  # a batch, not an error
    assert texts(await search(alice, "SEARCH in=#c;text=\\s")) == ["hello!!!", "plain"]
