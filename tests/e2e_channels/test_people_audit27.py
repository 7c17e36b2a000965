"""A community's day on hubbub, walked through with irssi (1.4, no SASL at first, then with
it) and a raw second participant, then replayed here over real sockets: NickServ REGISTER,
LOGOUT, reconnecting and IDENTIFY, a second person on the registered nick; ChanServ
REGISTER and AMODE, topic, +i +k +l +f +m, KNOCK, INVITE, bans, the m: mute and
exceptions; leaving and coming back (autoreplay); RENAME seen by a client without
draft/channel-rename; a restart on the same store; the slips a person makes.

Compared with what people used to ergo or InspIRCd with Anope expect. A test marked
xfail(strict=True) asserts the right behaviour where hubbub does not have it yet.
"""

from __future__ import annotations

from tests.e2e_accounts.support import NS, registered_account
from tests.e2e_channels.common import SERVER
from tests.helpers import LineClient, connected, sync

PW = "correct-horse"
CS = "ChanServ!ChanServ@services"


async def cs(client: LineClient, line: str) -> str:
    """Say `line` to ChanServ; its first answer."""
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def identify(client: LineClient) -> None:
    """`/msg NickServ IDENTIFY <password>`, as typed in irssi, and its answers."""
    client.send(f"PRIVMSG NickServ :IDENTIFY {PW}")
    await client.expect("900")
    await client.expect(lambda m: m.command == "NOTICE" and m.source == NS and "now logged in" in m.params[-1])


async def names(client: LineClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    return (await client.expect("353")).params[-1].split()


def status_given(channel: str, letter: str, nick: str):
    """A predicate: the MODE line that gives `nick` the status `letter` in `channel`,
    whoever sends it (the server, as on a join, or ChanServ)."""
    return lambda m: m.command == "MODE" and m.params[:3] == [channel, f"+{letter}", nick]


# -- NickServ and ChanServ: identifying after joining ------------------------------------------------


async def test_identifying_while_in_a_registered_channel_gives_the_status_owed(server, clients) -> None:
    """irssi without SASL (its default) rejoins its channels before the user gets to type
    `/msg NickServ IDENTIFY`: after a reconnection, or after the server restarts, the
    founder sits in her own channel with no status, and the access list's ops and voices
    without theirs, until each asks ChanServ (`OP #c`) or parts and joins again. Anope
    gives what is owed at the identify itself (NickServ's `modeonid`, on by default: every
    channel the user is in gets its correct modes), as hubbub does for a JOIN, a
    REGISTER, an AMODE and a SET FOUNDER; so hubbub does at any login (logins.give_owed_status)."""
    alice = await registered_account(server, "alice", PW, "#garden")
    bob = await registered_account(server, "bob", PW)
    clients.extend([alice, bob])
    assert await cs(alice, "REGISTER #garden") == "Channel #garden successfully registered"
    assert await cs(alice, "AMODE #garden +o bob") == "Successfully set persistent mode +o on bob"
    carol = await connected(server, "carol", "#garden")  # stays in the channel, and watches
    clients.append(carol)
    for client in (alice, bob):
        client.send("QUIT :reconnecting")
        await client.closed()
    alice = await connected(server, "alice", "#garden")  # back, joined before identifying
    bob = await connected(server, "bob", "#garden")
    clients.extend([alice, bob])
    await sync(carol)
    assert sorted(await names(carol, "#garden")) == ["alice", "bob", "carol"]  # no status yet: right
    await identify(alice)
    await carol.expect(status_given("#garden", "q", "alice"))
    await identify(bob)
    await carol.expect(status_given("#garden", "o", "bob"))
    assert sorted(await names(carol, "#garden")) == ["@bob", "carol", "~alice"]


# -- what irssi sends, answered right ----------------------------------------------------------------


async def test_irssi_s_kick_without_a_reason_is_an_empty_trailing_one_and_reads_as_the_kickers_nick(
    server, clients
) -> None:
    """irssi's `/kick bob` sends `KICK #c bob :` (an empty trailing parameter, not none):
    the reason shown is the kicker's nick, as for a KICK without one, never an empty one."""
    alice = await connected(server, "alice", "#garden")
    bob = await connected(server, "bob", "#garden")
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("KICK #garden bob :")
    assert (await bob.expect("KICK")).params == ["#garden", "bob", "alice"]
    assert (await alice.expect("KICK")).params == ["#garden", "bob", "alice"]


async def test_a_knock_on_a_channel_open_to_the_knocker_says_join_it_even_while_the_channel_waits(
    make_server, clients
) -> None:
    """A knock on an invite-only channel starts its knock delay; one who is on its +I list
    and knocks meanwhile is told the door is open (713), not to wait (712): a JOIN would
    have let it in, so there is nothing to wait for."""
    server = await make_server("limits.knock_delay=600")
    alice = await connected(server, "alice", "#garden")
    clients.append(alice)
    alice.send("MODE #garden +iI carol")
    await alice.expect("MODE")
    kim = await connected(server, "kim")
    carol = await connected(server, "carol")
    clients.extend([kim, carol])
    kim.send("KNOCK #garden :first")
    await kim.expect("711")
    assert (await alice.expect("710")).source == SERVER
    carol.send("KNOCK #garden")
    reply = await carol.expect(lambda m: m.command in ("711", "712", "713"))
    assert reply.command == "713" and reply.params[1] == "#garden"
    carol.send("JOIN #garden")
    await carol.expect("366")
