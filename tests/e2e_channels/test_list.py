"""Transcripts of LIST with the ELIST filters (C, M, N, T, U), and ISUPPORT telling the
truth about channel modes."""

from __future__ import annotations

import pytest

from tests.e2e_channels.common import room
from tests.helpers import connected, isupport_tokens


async def listed(client, line: str) -> set[str]:
    client.send(line)
    return {m.params[1] for m in await client.collect_until("323") if m.command == "322"}


async def test_list_filters_by_user_count(server, clients) -> None:
    alice = await connected(server, "alice", "#one", "#two")
    bob = await connected(server, "bob", "#two")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    assert await listed(carol, "LIST >0") == {"#one", "#two"}
    assert await listed(carol, "LIST >1") == {"#two"}
    assert await listed(carol, "LIST <2") == {"#one"}
    assert await listed(carol, "LIST <1") == set()
    assert await listed(carol, "LIST >0,<2") == {"#one"}  # every condition must hold


async def test_list_filters_by_mask_and_by_not_mask(server, clients) -> None:
    alice = await connected(server, "alice", "#chan1", "#chan2", "#other")
    clients.append(alice)
    assert await listed(alice, "LIST *an1") == {"#chan1"}
    assert await listed(alice, "LIST #C*N2") == {"#chan2"}  # casemapping applies
    assert await listed(alice, "LIST #ch*") == {"#chan1", "#chan2"}
    assert await listed(alice, "LIST *an3") == set()
    assert await listed(alice, "LIST !#ch*") == {"#other"}
    assert await listed(alice, "LIST #ch*,!*1") == {"#chan2"}
    assert await listed(alice, "LIST #chan1,#other") == {"#chan1", "#other"}
    assert await listed(alice, "LIST #chan1,#nowhere >0") == {"#chan1"}  # conditions as 2nd parameter


async def test_list_filters_by_creation_and_topic_time_in_minutes(server, clients) -> None:
    now = [1_000_000.0]
    server.clock = lambda: now[0]  # the runtime's injectable clock
    alice = await connected(server, "alice", "#old")
    clients.append(alice)
    alice.send("TOPIC #old :set long ago")
    await alice.expect("TOPIC")
    now[0] += 10 * 60
    await alice.join("#new")
    alice.send("TOPIC #new :set just now")
    await alice.expect("TOPIC")
    await alice.join("#notopic")
    now[0] += 60
    assert await listed(alice, "LIST C>5") == {"#old"}
    assert await listed(alice, "LIST C<5") == {"#new", "#notopic"}
    assert await listed(alice, "LIST C<20") == {"#old", "#new", "#notopic"}
    assert await listed(alice, "LIST c>20") == set()
    assert await listed(alice, "LIST T>5") == {"#old"}
    assert await listed(alice, "LIST T<5") == {"#new"}  # no topic matches no T condition
    assert await listed(alice, "LIST T<0") == set()


@pytest.mark.parametrize("junk", ["<x", ">", "C<", "T>1x"])
async def test_malformed_conditions_are_ignored(server, clients, junk) -> None:
    alice = await connected(server, "alice", "#one")
    clients.append(alice)
    assert await listed(alice, f"LIST {junk}") == {"#one"}


async def test_isupport_advertises_the_channel_modes_as_implemented(make_server, clients) -> None:
    server = await make_server(
        "limits.max_list_entries=7", "limits.kicklen=99", "limits.keylen=12", "limits.max_kick_targets=3"
    )
    alice = await connected(server)
    clients.append(alice)
    alice.send("NICK alice")
    alice.send("USER a 0 * :A")
    burst = await alice.collect_until("376")
    tokens = isupport_tokens(burst)
    assert tokens["CHANMODES"] == "beI,k,fjl,CiKMmnRsTt"
    assert tokens["PREFIX"] == "(qaohv)~&@%+"
    assert tokens["EXCEPTS"] == "e"
    assert tokens["INVEX"] == "I"
    assert tokens["EXTBAN"] == ",am" and tokens["ACCOUNTEXTBAN"] == "a"
    assert tokens["ELIST"] == "CMNTU"
    assert tokens["MAXLIST"] == "b:7,e:7,I:7"
    assert tokens["KICKLEN"] == "99"
    assert tokens["KEYLEN"] == "12"
    assert "KICK:3" in tokens["TARGMAX"].split(",")
    myinfo = next(m for m in burst if m.command == "004")
    assert myinfo.params[4] == "CIKMRTabefhijklmnoqstv"
    # every advertised letter is one MODE accepts (no 472), each in its documented kind
    await room(server, clients, "bob")
    bob = clients[-1]
    bob.send("MODE #room +beIklimnstohv a b c d 5 bob bob bob")
    change = await bob.expect("MODE")
    assert "472" not in [m.command for m in bob.received]
    assert change.params[1:] == ["+beIkims", "a!*@*", "b!*@*", "c!*@*", "d"]  # MODES=4


async def test_secret_channels_are_listed_to_their_members_only(server, clients) -> None:
    alice = await connected(server, "alice", "#open", "#hush")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MODE #hush +s")
    await alice.expect("MODE")
    assert await listed(alice, "LIST") == {"#open", "#hush"}
    assert await listed(bob, "LIST") == {"#open"}
    assert await listed(bob, "LIST #h*") == set()
