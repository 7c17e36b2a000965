"""The store interface against a real database: what is written is what is read back,
in the order and with the bounds the history commands promise."""

from __future__ import annotations

import asyncio

from hubbub.server.storage import (
    AccountRecord,
    AddMessage,
    ChannelRecord,
    CopyMarkers,
    DeleteAccount,
    DeleteChannel,
    DeleteKline,
    DeleteMessage,
    ForgetConversation,
    ForgetExpiredKlines,
    ForgetSilentChannel,
    HistoryQuery,
    KlineRecord,
    LiveChannel,
    PutAccount,
    PutChannel,
    PutKline,
    PutMarker,
    Ref,
    SearchQuery,
    StoredMessage,
)

T0 = 1_800_000_000.0


def line(i: int, target: str = "#c", command: str = "PRIVMSG", text: str | None = None, at: float | None = None,
         nick: str = "alice") -> StoredMessage:  # fmt: skip
    body = f"message {i}" if text is None else text
    params = (target, body) if command in ("PRIVMSG", "NOTICE") else (target,)
    return StoredMessage(target, f"id{i}", T0 + i if at is None else at, command, f"{nick}!u@h", None, params,
                         {"+x": "y"} if i == 1 else None, body if command in ("PRIVMSG", "NOTICE") else "")


async def filled(make_store, count: int = 10, **kw):  # -> Store
    store = await make_store()
    await store.write([AddMessage(line(i, **kw)) for i in range(count)])
    return store


def ids(found: list[StoredMessage]) -> list[str]:
    return [m.msgid for m in found]


def q(mode: str, first: Ref | None = None, second: Ref | None = None, limit: int = 100, events: bool = False):
    return HistoryQuery("#c", mode, first, second, limit, events)


async def test_messages_come_back_as_written(make_store) -> None:
    store = await filled(make_store, 3)
    got = await store.history(q("latest"))
    assert got == [line(0), line(1), line(2)]
    assert await store.find("#c", "id1") == line(1)
    assert await store.find("#other", "id1") is None


async def test_each_query_mode_with_exclusive_bounds(make_store) -> None:
    store = await filled(make_store)
    msgid = lambda i: Ref("msgid", f"id{i}")  # noqa: E731
    at = lambda i: Ref("time", T0 + i)  # noqa: E731
    assert ids(await store.history(q("latest", limit=3))) == ["id7", "id8", "id9"]
    assert ids(await store.history(q("latest", msgid(6)))) == ["id7", "id8", "id9"]
    assert ids(await store.history(q("before", msgid(5), limit=2))) == ["id3", "id4"]
    assert ids(await store.history(q("before", at(5), limit=2))) == ["id3", "id4"]
    assert ids(await store.history(q("after", msgid(5), limit=2))) == ["id6", "id7"]
    assert ids(await store.history(q("after", at(5), limit=2))) == ["id6", "id7"]
    assert ids(await store.history(q("around", msgid(5), limit=3))) == ["id4", "id5", "id6"]
    assert ids(await store.history(q("between", msgid(2), msgid(6)))) == ["id3", "id4", "id5"]
    assert ids(await store.history(q("between", msgid(6), msgid(2), limit=2))) == ["id4", "id5"]
    assert await store.history(q("before", msgid(99))) == []


async def test_one_millisecond_holds_several_messages_in_the_order_stored(make_store) -> None:
    store = await make_store()
    await store.write([AddMessage(line(i, at=T0)) for i in range(4)])
    assert ids(await store.history(q("latest"))) == ["id0", "id1", "id2", "id3"]
    assert ids(await store.history(q("after", Ref("msgid", "id1")))) == ["id2", "id3"]
    assert ids(await store.history(q("before", Ref("msgid", "id2")))) == ["id0", "id1"]
    assert await store.history(q("after", Ref("time", T0))) == []  # a time bound excludes its millisecond


async def test_a_read_sees_the_writes_handed_over_before_it(make_store) -> None:
    store = await make_store()
    writing = asyncio.ensure_future(store.write([AddMessage(line(i)) for i in range(50)]))
    await asyncio.sleep(0)  # the write has started (handed over), and is not committed yet
    assert len(await store.history(q("latest"))) == 50
    await writing


async def test_events_only_for_event_playback(make_store) -> None:
    store = await make_store()
    await store.write([AddMessage(line(0, command="JOIN")), AddMessage(line(1)), AddMessage(line(2, command="TAGMSG"))])
    assert ids(await store.history(q("latest"))) == ["id1"]
    assert ids(await store.history(q("latest", events=True))) == ["id0", "id1", "id2"]


async def test_a_message_stored_twice_is_kept_once_and_deleting_removes_it(make_store) -> None:
    store = await filled(make_store, 2)
    await store.write([AddMessage(line(1))])  # the same msgid in the same conversation
    assert ids(await store.history(q("latest"))) == ["id0", "id1"]
    await store.write([DeleteMessage("#c", "id0")])
    assert ids(await store.history(q("latest"))) == ["id1"]


async def test_targets_lists_conversations_with_their_latest_time(make_store) -> None:
    store = await make_store()
    await store.write([
        AddMessage(line(1, target="#a")), AddMessage(line(5, target="#b")), AddMessage(line(3, target="dm:alice bob")),
        AddMessage(line(4, target="dm:carol dave")),
    ])  # fmt: skip
    found = await store.targets(["#a", "#b", "#z"], "alice", T0, T0 + 100, 10)
    assert found == [("#b", T0 + 5), ("dm:alice bob", T0 + 3), ("#a", T0 + 1)]
    assert await store.targets(["#a", "#b"], None, T0 + 2, T0 + 100, 1) == [("#b", T0 + 5)]


async def test_targets_finds_the_conversations_of_an_account_with_like_wildcards_in_its_name(make_store) -> None:
    """`_` (common in nicks) and `%` are LIKE wildcards: taken literally, and matching nothing else."""
    store = await make_store()
    await store.write([AddMessage(line(1, target="dm:al_ice bob")), AddMessage(line(2, target="dm:alxice bob")),
                       AddMessage(line(3, target="dm:carol 100%"))])  # fmt: skip
    assert await store.targets([], "al_ice", T0, T0 + 100, 10) == [("dm:al_ice bob", T0 + 1)]
    assert await store.targets([], "100%", T0, T0 + 100, 10) == [("dm:carol 100%", T0 + 3)]


async def test_a_deleted_account_takes_its_channels_access_and_private_conversations(make_store) -> None:
    """Whoever registers the name next must inherit nothing: not its channels, not its
    place on access lists, not the private messages it exchanged."""
    store = await make_store()
    records = [
        AccountRecord(name, name, "$argon2id$x", "", "", T0, ()) for name in ("al_ice", "bob")
    ]  # fmt: skip
    owned = ChannelRecord("#mine", "#mine", "al_ice", T0, "", "", 0.0, "nt", None, None,
                          (("b", "*!*@spam", "al_ice", 5),), (("bob", "o"),))  # fmt: skip
    other = ChannelRecord("#bobs", "#bobs", "bob", T0, "", "", 0.0, "nt", None, None, (),
                          (("al_ice", "o"), ("bob", "v")))  # fmt: skip
    await store.write([*map(PutAccount, records), PutChannel(owned), PutChannel(other),
                       AddMessage(line(1, target="dm:al_ice bob")), AddMessage(line(2, target="dm:alxice bob")),
                       AddMessage(line(3, target="#bobs")), PutMarker("bob", "dm:al_ice bob", T0 + 1)])  # fmt: skip
    await store.write([DeleteAccount("al_ice")])
    snapshot = await reopened(make_store)
    assert [a.key for a in snapshot.accounts] == ["bob"]
    assert snapshot.channels == [other._replace(access=(("bob", "v"),))]
    store = await make_store()
    dm = HistoryQuery("dm:al_ice bob", "latest", None, None, 10, True)
    assert await store.history(dm) == []
    assert ids(await store.history(dm._replace(target="dm:alxice bob"))) == ["id2"]
    assert ids(await store.history(dm._replace(target="#bobs"))) == ["id3"]


async def test_search_by_words_sender_time_and_limit(make_store) -> None:
    store = await make_store()
    texts = ["the quick brown fox", "lazy dog", "quick thinking", "Quick, said bob", "café crème"]
    await store.write([AddMessage(line(i, text=t, nick="bob" if "bob" in t else "alice")) for i, t in enumerate(texts)])

    async def search(text: str = "", sender: str = "", after: float | None = None, limit: int = 10) -> list[str]:
        found = await store.search(SearchQuery(("#c",), text, sender, after, None, limit))
        return [m.text for m in found]

    assert await search("quick") == ["the quick brown fox", "quick thinking", "Quick, said bob"]
    assert await search("quick", sender="bob") == ["Quick, said bob"]
    assert await search("quick", after=T0 + 2) == ["quick thinking", "Quick, said bob"]
    assert await search("quick", limit=1) == ["Quick, said bob"]  # the most recent ones
    assert await search("cafe") == ["café crème"]  # diacritics do not matter
    assert await search('"quick" OR dog') == []  # words, not query syntax
    assert await search(sender="bob") == ["Quick, said bob"]
    assert await store.search(SearchQuery(("#elsewhere",), "quick", "", None, None, 10)) == []


async def test_read_markers_only_move_forward(make_store) -> None:
    store = await make_store()
    assert await store.marker("alice", "#c") is None
    await store.write([PutMarker("alice", "#c", T0 + 5)])
    await store.write([PutMarker("alice", "#c", T0 + 2)])
    assert await store.marker("alice", "#c") == T0 + 5
    assert await store.marker("bob", "#c") is None


async def test_klines_whose_time_ran_out_are_forgotten_and_the_others_kept(make_store) -> None:
    store = await make_store()
    lasting = KlineRecord("*@bad", "spam", "oper", T0, None)
    later = KlineRecord("*@later", "x", "oper", T0, T0 + 100)
    await store.write([PutKline(lasting), PutKline(later), PutKline(KlineRecord("*@over", "x", "oper", T0, T0 + 10)),
                       PutKline(KlineRecord("*@just", "x", "oper", T0, T0 + 50))])  # fmt: skip
    await store.write([ForgetExpiredKlines(T0 + 50)])
    assert sorted((await reopened(make_store)).klines) == sorted([lasting, later])


async def test_accounts_channels_and_klines_come_back_at_open(make_store) -> None:
    store = await make_store()
    account = AccountRecord("alice", "Alice", "$argon2id$x", "s:k:k:4096", "a@example.org", T0, ("ab" * 32,))
    channel = ChannelRecord("#c", "#C", "alice", T0, "topic", "alice!u@h", T0 + 1, "mnt", "key", 10,
                            (("b", "*!*@spam", "alice", 5),), (("bob", "o"),), "*5:10", "3:20")  # fmt: skip
    kline = KlineRecord("*@bad", "spam", "oper", T0, None)
    await store.write([PutAccount(account), PutChannel(channel), PutKline(kline),
                       PutKline(KlineRecord("*@gone", "x", "oper", T0, T0 + 10))])  # fmt: skip
    await store.write([DeleteKline("*@gone")])
    snapshot = await reopened(make_store)
    assert snapshot.accounts == [account]
    assert snapshot.channels == [channel]
    assert snapshot.klines == [kline]
    store = await make_store()
    await store.write([DeleteAccount("alice"), DeleteChannel("#c")])
    snapshot = await reopened(make_store)
    assert snapshot.accounts == [] and snapshot.channels == []


async def reopened(make_store):  # -> Snapshot
    """Close and open the store again; what it starts with."""
    from hubbub.store import open_store

    store = await make_store()
    path = store.path
    await store.close()
    again = open_store(path)
    try:
        return await again.open()
    finally:
        await again.close()


async def test_retention_by_age_and_by_count(make_store) -> None:
    store = await filled(make_store, 10)
    await store.write([AddMessage(line(i, target="#d")) for i in range(10, 13)])
    assert await store.prune(T0 + 3, 0) == 3  # id0..id2 are older
    assert ids(await store.history(q("latest")))[:1] == ["id3"]
    assert await store.prune(None, 2) == 5 + 1  # #c keeps its newest two, #d too
    assert ids(await store.history(q("latest"))) == ["id8", "id9"]


async def test_retention_by_count_counts_messages_not_the_events_among_them(make_store) -> None:
    # Joins, parts and reactions do not push messages out: with event-playback on, a busy
    # channel's comings and goings would otherwise leave it no messages at all.
    store = await make_store()
    kept = [AddMessage(line(i)) for i in range(3)]
    events = [AddMessage(line(i, command="JOIN" if i % 2 else "QUIT")) for i in range(3, 11)]
    latest = [AddMessage(line(11, command="TAGMSG")), AddMessage(line(12)), AddMessage(line(13, command="JOIN"))]
    await store.write([*kept, *events, *latest])
    assert await store.prune(None, 3) == 1  # id0: older than the third newest message
    assert ids(await store.history(q("latest"))) == ["id1", "id2", "id12"]
    # what happened among the messages kept stays, the reaction too
    assert ids(await store.history(q("latest", events=True))) == [f"id{i}" for i in range(1, 14)]
    assert await store.prune(None, 3) == 0


async def test_forgetting_a_conversation_takes_its_messages_and_markers_and_nothing_else(make_store) -> None:
    store = await make_store()
    await store.write([AddMessage(line(i, target="#a" if i % 2 else "#c")) for i in range(6)])
    await store.write([PutMarker("alice", "#a", T0 + 3), PutMarker("alice", "#c", T0 + 4)])
    await store.write([ForgetConversation("#a")])
    assert await store.history(HistoryQuery("#a", "latest", None, None, 100, True)) == []
    assert ids(await store.history(q("latest"))) == ["id0", "id2", "id4"]
    assert await store.marker("alice", "#a") is None
    assert await store.marker("alice", "#c") == T0 + 4


async def kept(store, target: str) -> list[str]:
    """Every row kept under `target`, events too, oldest first."""
    return ids(await store.history(HistoryQuery(target, "latest", None, None, 100, True)))


async def test_a_channel_that_ended_with_nothing_said_leaves_nothing_up_to_its_end(make_store) -> None:
    store = await make_store()
    await store.write([LiveChannel("#quiet"), LiveChannel("#other")])
    ended = [line(i, "#quiet", command) for i, command in enumerate(("JOIN", "MODE", "TOPIC", "KICK", "PART"))]
    await store.write([AddMessage(m) for m in ended])
    await store.write([AddMessage(line(10, "#other", "JOIN"))])
    # The next channel of the name begins in the same millisecond as the last one ended
    # (its microseconds after), and its join is stored first (by another node of a cluster).
    end = ended[-1].time
    await store.write([AddMessage(line(11, "#quiet", "JOIN", at=end + 1e-6))])
    await store.write([ForgetSilentChannel("#quiet", end)])
    assert await kept(store, "#quiet") == ["id11"]
    assert await kept(store, "#other") == ["id10"]  # another channel's: not touched
    snapshot = await reopened(make_store)
    assert snapshot.live == ("#other",)  # no longer listed: it ended


async def test_something_said_after_the_end_does_not_keep_what_the_ended_channel_left(make_store) -> None:
    store = await make_store()
    await store.write([AddMessage(line(0, "#c", "JOIN")), AddMessage(line(1, "#c", "PART"))])
    await store.write([AddMessage(line(2, "#c", "JOIN")), AddMessage(line(3, "#c"))])  # the next channel's
    await store.write([ForgetSilentChannel("#c", T0 + 1)])
    assert await kept(store, "#c") == ["id2", "id3"]


async def test_a_channel_where_something_was_said_keeps_everything_at_its_end(make_store) -> None:
    store = await make_store()
    for n, said in enumerate(("PRIVMSG", "NOTICE", "TAGMSG")):
        target = f"#said{n}"
        await store.write([LiveChannel(target)])
        await store.write([AddMessage(line(10 * n + i, target, command))
                           for i, command in enumerate(("JOIN", said, "PART"))])  # fmt: skip
        await store.write([ForgetSilentChannel(target, T0 + 10 * n + 2)])
        assert await kept(store, target) == [f"id{10 * n + i}" for i in range(3)], said
    assert (await reopened(make_store)).live == ()


async def test_a_closed_channel_forgotten_is_no_longer_listed_as_live(make_store) -> None:
    store = await make_store()
    await store.write([LiveChannel("#hush"), LiveChannel("#hush"), LiveChannel("#open")])
    await store.write([ForgetConversation("#hush")])
    assert (await reopened(make_store)).live == ("#open",)


async def test_a_renamed_channel_s_markers_hold_for_its_new_name_the_later_one_kept(make_store) -> None:
    store = await make_store()
    await store.write([PutMarker("alice", "#old", T0 + 3), PutMarker("bob", "#old", T0 + 1),
                       PutMarker("bob", "#new", T0 + 2), PutMarker("carol", "#other", T0 + 5)])  # fmt: skip
    await store.write([CopyMarkers("#old", "#new")])
    assert [await store.marker(a, "#new") for a in ("alice", "bob", "carol")] == [T0 + 3, T0 + 2, None]
    assert await store.marker("alice", "#old") == T0 + 3  # the old name's history keeps its own
    store = await make_store()  # and after a restart
    assert await store.marker("alice", "#new") == T0 + 3


async def test_messages_of_one_millisecond_come_back_in_the_order_of_their_microseconds(make_store) -> None:
    """Each node of a cluster stores its own clients' messages: one relayed later may be
    stored first. Their times (unique, in the order relayed: apply.in_time_order) order them."""
    store = await make_store()
    relayed = [line(i, at=T0 + 0.0002 + i * 1e-6) for i in range(6)]  # one millisecond
    await store.write([AddMessage(m) for m in relayed[3:]])  # the node storing the later ones first
    await store.write([AddMessage(m) for m in relayed[:3]])
    assert ids(await store.history(q("latest"))) == ids(relayed)
    assert ids(await store.history(q("after", Ref("msgid", "id2")))) == ["id3", "id4", "id5"]
    assert ids(await store.history(q("before", Ref("msgid", "id3"), limit=2))) == ["id1", "id2"]
    assert ids(await store.history(q("around", Ref("msgid", "id3"), limit=3))) == ["id2", "id3", "id4"]
    assert ids(await store.search(SearchQuery(("#c",), "", "", None, None, 4))) == ["id2", "id3", "id4", "id5"]
    found = await store.find("#c", "id4")
    assert found is not None and found.time == T0  # read back in milliseconds, as server-time shows it


async def test_opening_again_migrates_nothing_twice(make_store) -> None:
    store = await filled(make_store, 2)
    store = await make_store()
    store = await make_store()
    assert ids(await store.history(q("latest"))) == ["id0", "id1"]
    await store.ping()


# -- batches handed over together -------------------------------------------------------------


async def test_batches_handed_over_together_are_all_stored_and_a_bad_one_fails_alone(make_store) -> None:
    import asyncio

    import pytest

    store = await make_store()
    good = [store.write([AddMessage(line(i))]) for i in range(20)]
    bad = store.write([AddMessage(line(20)), "not a write"])  # type: ignore[list-item]
    more = [store.write([AddMessage(line(i))]) for i in range(21, 30)]
    await asyncio.gather(*good, *more)
    with pytest.raises(TypeError):
        await bad
    assert ids(await store.history(q("latest"))) == [f"id{i}" for i in range(30) if i != 20]
