"""The default channel (`server.default_channel`, #lobby) is everyone's: whoever creates
it, an IRC client or a person typing a nickname, is not its op, unless
`server.default_channel_creator_op` says so. Registered with ChanServ, its founder and
access list get their status as in any registered channel, after a restart too.
Transcripts over real sockets."""

from __future__ import annotations

from pathlib import Path

from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.helpers import LOBBY_CREATOR_OP, LineClient, connect_plain, connected, start_server, sync

CS = "ChanServ!ChanServ@services"


async def names(client: LineClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    found = (await client.expect("353")).params[-1].split()
    await client.expect("366")
    return found


async def test_whoever_creates_the_default_channel_is_not_its_op(server, clients) -> None:
    alice = await LineClient.connect(server)
    clients.append(alice)
    await alice.register("alice")
    alice.send("JOIN #lobby")
    await alice.expect("JOIN", "#lobby")
    created = await alice.expect("MODE")  # a new channel still: its modes are shown to its creator
    assert created.params == ["#lobby", "+nt"]
    assert (await alice.expect("353")).params[-1].split() == ["alice"]
    alice.send("MODE #lobby +m")
    assert (await alice.expect("482")).params[1] == "#lobby"
    alice.send("TOPIC #lobby :mine now")  # +t, as any new channel: nobody below halfop sets it
    assert (await alice.expect("482")).params[1] == "#lobby"
    bob = await connected(server, "bob", "#lobby")
    clients.append(bob)
    assert await names(bob, "#lobby") == ["alice", "bob"]
    await alice.join("#room")  # any other channel: its creator is its op, as ever
    assert await names(alice, "#room") == ["@alice"]


async def test_a_person_typing_a_nickname_first_is_not_the_lobbys_op(server, clients) -> None:
    person = await connect_plain(server, "bob")
    clients.append(person)
    await person.expect_text(r"^\* In #lobby: bob$")
    person.send("/mode +i")
    await person.expect_text(r"^\* Only operators of #lobby can do that\.$")
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    assert await names(alice, "#lobby") == ["bob", "alice"]


async def test_the_default_channel_is_named_by_the_configuration_in_any_case(make_server, clients) -> None:
    server = await make_server("server.default_channel='#Welcome'")
    alice = await connected(server, "alice", "#WELCOME", "#lobby")
    clients.append(alice)
    assert await names(alice, "#welcome") == ["alice"]
    assert await names(alice, "#lobby") == ["@alice"]  # an ordinary channel on this server


async def test_the_old_rule_when_the_configuration_asks_for_it(make_server, clients) -> None:
    server = await make_server(LOBBY_CREATOR_OP)
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    assert await names(alice, "#lobby") == ["@alice"]


async def test_a_registered_lobby_gives_its_founder_and_access_list_their_status_after_a_restart(
    tmp_path: Path, clients
) -> None:
    """Registered (here on a first start that let its creator op it), the lobby is there
    empty after a restart: a stranger who comes first gets nothing, the founder `~`, an
    account on its access list `@`."""
    db = f"store.db='{tmp_path / 'hubbub.db'}'"
    first = await start_server(db, LOBBY_CREATOR_OP)
    try:
        alice = await registered_account(first, "alice", "correct-horse", "#lobby")
        helper = await registered_account(first, "helper", "helper-pass")
        for client in (alice, helper):
            await sync(client)
        alice.send("PRIVMSG ChanServ :REGISTER #lobby")
        await alice.expect("MODE", "#lobby", "+q", "alice")
        alice.send("PRIVMSG ChanServ :AMODE #lobby +o helper")
        await alice.expect(lambda m: m.source == CS and "helper" in m.params[-1])
        await alice.close()
        await helper.close()
    finally:
        await first.stop()
    again = await start_server(db)
    try:
        stranger = await connected(again, "stranger", "#lobby")
        clients.append(stranger)
        assert await names(stranger, "#lobby") == ["stranger"]
        for nick, password in (("alice", "correct-horse"), ("helper", "helper-pass")):
            client, result = await sasl_plain(again, nick, nick, password)
            clients.append(client)
            assert result == "903"
            await client.join("#lobby")
        assert await names(stranger, "#lobby") == ["stranger", "~alice", "@helper"]
    finally:
        await again.stop()


async def test_no_channel_is_renamed_to_the_default_channel(server, clients) -> None:
    """A way around the rule above: make #mine (its op), rename it #lobby while nobody is
    there. Refused; the lobby itself may still change case."""
    alice = await LineClient.connect(server)
    clients.append(alice)
    alice.send("CAP REQ :draft/channel-rename")
    alice.send("CAP END")
    await alice.register("alice")
    await alice.join("#mine")
    alice.send("RENAME #mine #Lobby :mine now")
    refused = await alice.expect("FAIL")
    assert refused.params[:4] == ["RENAME", "CANNOT_RENAME", "#mine", "#Lobby"], refused
    assert await names(alice, "#mine") == ["@alice"]
    alice.send("JOIN #lobby")
    await alice.expect("366")
    assert await names(alice, "#lobby") == ["alice"]  # made by this join, nobody's op
