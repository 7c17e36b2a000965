"""Transcripts of channel mode +j joins:seconds: once that many have joined within the
window, the channel is closed to new joins for `limits.join_lock` seconds, its members
told why; invited users still come in."""

from __future__ import annotations

import time

from tests.e2e_channels.common import SERVER, op_sets, room
from tests.helpers import LineClient, connected, sync


async def newcomer(server, clients: list[LineClient], nick: str) -> LineClient:
    client = await connected(server, nick)
    clients.append(client)
    return client


async def test_a_rush_of_joins_closes_the_channel_and_says_so(server, clients) -> None:
    op, = await room(server, clients, "op")
    assert await op_sets(op, "MODE #room +j 3:60") == ["#room", "+j", "3:60"]
    op.send("MODE #room")
    assert (await op.expect("324")).params[1:] == ["#room", "+ntj", "3:60"]
    joiners = [await newcomer(server, clients, f"bot{i}") for i in range(4)]
    for bot in joiners[:3]:
        bot.send("JOIN #room")
        await bot.expect("366")
    notice = await op.expect("NOTICE")
    assert notice.source == SERVER
    assert notice.params == ["#room", "This channel is closed to new joins for 60 seconds: 3 joins in 60 seconds (+j)"]
    heard = [m.params for m in joiners[2].received if m.command == "NOTICE"]
    assert heard == [notice.params]  # the third joiner hears it too (after its JOIN, before NAMES)
    late = joiners[3]
    late.send("JOIN #room")
    refused = await late.expect("437")
    assert refused.params[1] == "#room"
    assert refused.params[2].startswith("Cannot join channel (+j): too many joins at once, try again in ")
    late.send("KNOCK #room :let me in")  # closed: a knock may ask
    await late.expect("711")
    op.send("INVITE bot3 #room")  # an invitation still lets in
    await late.expect("INVITE")
    late.send("JOIN #room")
    await late.expect("366")


async def test_the_channel_opens_again_after_the_lock_or_when_j_is_taken_off(server, clients) -> None:
    op, = await room(server, clients, "op")
    await op_sets(op, "MODE #room +j 2:60")
    first, second, third = [await newcomer(server, clients, f"guest{i}") for i in range(3)]
    for guest in (first, second):
        guest.send("JOIN #room")
        await guest.expect("366")
    third.send("JOIN #room")
    await third.expect("437")
    await op_sets(op, "MODE #room -j")  # taken off: open at once
    third.send("JOIN #room")
    await third.expect("366")
    await op_sets(op, "MODE #room +j 1:60")
    fourth, fifth = [await newcomer(server, clients, f"late{i}") for i in range(2)]
    fourth.send("JOIN #room")  # one join is the rule: closed after it
    await fourth.expect("366")
    fifth.send("JOIN #room")
    wait = (await fifth.expect("437")).params[2]
    assert wait.endswith("try again in 60 seconds"), wait
    server.services.set_clock(lambda: time.time() + 61)  # a minute later
    fifth.send("JOIN #room")
    await fifth.expect("366")


async def test_join_lock_zero_closes_nothing(make_server, clients) -> None:
    server = await make_server("limits.join_lock=0")
    op, = await room(server, clients, "op")
    await op_sets(op, "MODE #room +j 1:60")
    for i in range(3):
        guest = await newcomer(server, clients, f"g{i}")
        guest.send("JOIN #room")
        await guest.expect("366")
    assert not [m for m in await sync(op) if m.command == "NOTICE"]


async def test_bad_rules_are_refused_with_696_and_the_connection_stays_usable(server, clients) -> None:
    op, = await room(server, clients, "op")
    for rule in ("0:10", "5:0", "abc", "101:10", "5:3601", "*5:10", "5"):
        op.send(f"MODE #room +j {rule}")
        invalid = await op.expect("696")
        assert invalid.params[1:4] == ["#room", "j", rule], invalid.params
    op.send("MODE #room +j")  # no parameter: ignored, as +l
    op.send("MODE #room")
    assert (await op.expect("324")).params[2] == "+nt"


async def test_only_halfops_and_above_set_it(server, clients) -> None:
    op, member = await room(server, clients, "op", "member")
    member.send("MODE #room +j 3:10")
    await member.expect("482")
