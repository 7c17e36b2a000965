"""Transcripts of KNOCK: asking a closed channel's halfops and ops for an invitation,
with the charybdis family's numerics (710-714)."""

from __future__ import annotations

from tests.e2e_channels.common import SERVER, mask, op_sets, room
from tests.helpers import LineClient, connected, isupport_tokens, sync


async def closed(server, clients: list[LineClient], modes: str) -> tuple[LineClient, LineClient, LineClient]:
    """#room with alice (op), bob (voiced) and carol (a plain member), set to `modes`."""
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +v bob", bob, carol)
    await op_sets(alice, f"MODE #room {modes}", bob, carol)
    return alice, bob, carol


async def test_a_knock_reaches_the_ops_and_is_confirmed_to_the_knocker(server, clients) -> None:
    alice, bob, carol = await closed(server, clients, "+i")
    dave = await connected(server, "dave")
    clients.append(dave)
    dave.send("KNOCK #room :it's dave, from the meetup")
    assert (await dave.expect("711")).params == ["dave", "#room", "Your KNOCK has been delivered"]
    knock = await alice.expect("710")
    assert knock.source == SERVER
    assert knock.params == ["#room", "#room", mask("dave"), "has asked for an invite: it's dave, from the meetup"]
    for member in (bob, carol):  # who cannot invite to a +i channel is not asked
        assert not [m for m in await sync(member) if m.command == "710"]
    alice.send("INVITE dave #room")  # what the knock is for
    await dave.expect("INVITE")
    dave.send("JOIN #room")
    await dave.expect("366")


async def test_a_knock_without_a_reason_says_only_that(server, clients) -> None:
    alice, _bob, _carol = await closed(server, clients, "+i")
    dave = await connected(server, "dave")
    clients.append(dave)
    dave.send("KNOCK #room")
    await dave.expect("711")
    assert (await alice.expect("710")).params[-1] == "has asked for an invite."


async def test_a_keyed_or_full_channel_may_be_knocked_on_an_open_one_not(make_server, clients) -> None:
    server = await make_server("limits.knock_delay=0")
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    dave = await connected(server, "dave")
    clients.append(dave)
    dave.send("KNOCK #room")
    assert (await dave.expect("713")).params == ["dave", "#room", "Channel is open: JOIN it"]
    await op_sets(alice, "MODE #room +k sesame", bob, carol)
    dave.send("KNOCK #room")
    await dave.expect("711")
    assert (await alice.expect("710")).params[2] == mask("dave")
    await op_sets(alice, "MODE #room -k+l sesame 3", bob, carol)  # three in: full
    dave.send("KNOCK #room")
    await dave.expect("711")
    await alice.expect("710")


async def test_knocks_refused_with_the_standard_numerics(server, clients) -> None:
    alice, bob, carol = await closed(server, clients, "+is")
    dave = await connected(server, "dave", "#dave")
    clients.append(dave)
    dave.send("KNOCK")
    assert (await dave.expect("461")).params[1] == "KNOCK"
    dave.send("KNOCK #nowhere")
    assert (await dave.expect("403")).params[1] == "#nowhere"
    dave.send("KNOCK #room")  # secret: it does not exist outside
    assert (await dave.expect("403")).params[1] == "#room"
    await op_sets(alice, "MODE #room -s+b dave!*@*", bob, carol)
    dave.send("KNOCK #room")
    assert (await dave.expect("404")).params[1:] == ["#room", "Cannot KNOCK on channel (+b)"]
    alice.send("KNOCK #room")
    assert (await alice.expect("714")).params[1:] == ["#room", "You are already on that channel"]
    assert not [m for m in await sync(alice) if m.command == "710"]
    dave.send("PRIVMSG #dave :still connected")  # each refusal left the connection usable
    await sync(dave)


async def test_a_secret_channel_anyone_may_join_is_not_told_to_outsiders_by_knock(make_server, clients) -> None:
    """+s without +i: JOIN would let anyone in, but the channel does not exist for those
    outside (TOPIC, MODE, NAMES say 403 or nothing), and KNOCK must not tell them
    otherwise without a JOIN its members would see. Invited, it exists: open, join it."""
    server = await make_server("limits.knock_delay=0")
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +s", bob, carol)
    dave = await connected(server, "dave", "#dave")
    clients.append(dave)
    for line in ("KNOCK #room", "TOPIC #room", "KNOCK #ROOM"):
        dave.send(line)
        assert (await dave.expect("403")).params[1].lower() == "#room", line
    alice.send("INVITE dave #room")
    await dave.expect("INVITE")
    dave.send("KNOCK #room")
    assert (await dave.expect("713")).params == ["dave", "#room", "Channel is open: JOIN it"]
    await op_sets(alice, "MODE #room +iI frank!*@*", bob, carol)  # let in by name: +I
    eve, frank = await connected(server, "eve", "#eve"), await connected(server, "frank", "#frank")
    clients.extend([eve, frank])
    eve.send("KNOCK #room")  # +s+i, and eve on no list: nothing to tell her
    assert (await eve.expect("403")).params[1] == "#room"
    frank.send("KNOCK #room")
    assert (await frank.expect("713")).params == ["frank", "#room", "Channel is open: JOIN it"]
    assert not [m for m in await sync(alice) if m.command == "710"]


async def test_no_knock_on_a_plus_k_channel(server, clients) -> None:
    alice, bob, carol = await closed(server, clients, "+iK")
    dave = await connected(server, "dave", "#dave")
    clients.append(dave)
    dave.send("KNOCK #room :please")
    assert (await dave.expect("480")).params == ["dave", "#room", "Cannot KNOCK on channel (+K)"]
    assert not [m for m in await sync(alice) if m.command == "710"]
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[2] == "+Kint"
    await op_sets(alice, "MODE #room -K", bob, carol)
    dave.send("KNOCK #room :please")  # the refused knock did not count against the delay
    await dave.expect("711")
    assert (await alice.expect("710")).params[2] == mask("dave")


async def test_one_knock_per_delay_for_each_knocker_and_each_channel(make_server, clients) -> None:
    server = await make_server("limits.knock_delay=600")
    alice, bob, carol = await closed(server, clients, "+i")
    alice.send("JOIN #other")
    await alice.expect("366")
    await op_sets(alice, "MODE #other +i")
    dave = await connected(server, "dave")
    erin = await connected(server, "erin")
    clients.extend([dave, erin])
    dave.send("KNOCK #room :first")
    await dave.expect("711")
    dave.send("KNOCK #room :again")
    refused = await dave.expect("712")
    assert refused.params[1] == "#room" and refused.params[2].startswith("Too many KNOCKs (user): wait ")
    dave.send("KNOCK #other")  # another channel: still one knock per knocker
    assert (await dave.expect("712")).params[1:] == ["#other", "Too many KNOCKs (user): wait 600 seconds"]
    erin.send("KNOCK #room :me too")  # another knocker: one knock per channel
    assert (await erin.expect("712")).params[2].startswith("Too many KNOCKs (channel): wait ")
    erin.send("KNOCK #other")
    await erin.expect("711")
    knocks = [(m.params[2].split("!")[0], m.params[-1]) for m in await sync(alice) if m.command == "710"]
    assert knocks == [("dave", "has asked for an invite: first"), ("erin", "has asked for an invite.")]


async def test_the_server_advertises_knock_and_explains_it(server, clients) -> None:
    dave = await connected(server, "dave")
    clients.append(dave)
    assert "KNOCK" in isupport_tokens(dave.received)
    dave.send("HELP KNOCK")
    help_lines = [m.params[-1] for m in await sync(dave) if m.command in ("704", "705", "706")]
    assert any("KNOCK <channel>" in line for line in help_lines), help_lines
