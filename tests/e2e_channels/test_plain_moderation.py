"""Plain-mode (netcat) users meet channel modes and moderation in words they can read."""

from __future__ import annotations

from tests.e2e_channels.common import op_sets
from tests.helpers import LOBBY_CREATOR_OP, connect_plain, connected


async def test_plain_user_joins_a_keyed_channel_with_its_key(server, clients) -> None:
    alice = await connected(server, "alice", "#club")
    clients.append(alice)
    await op_sets(alice, "MODE #club +k sesame")
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    bob.send("/join #club")
    await bob.expect_text(r"^\* You can't join #club without its key: type /join #club KEY\.$")
    bob.send("/join #club sesame")
    await bob.expect_text(r"^\* You joined #club")
    await alice.expect("JOIN", "#club")


async def test_plain_user_reads_a_kick_and_a_mute(make_server, clients) -> None:
    server = await make_server(LOBBY_CREATOR_OP)  # alice creates the lobby and runs it
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    await alice.expect("JOIN", "#lobby")
    await op_sets(alice, "MODE #lobby +b m:bob")
    bob.send("hello?")
    await bob.expect_text(r"^\* Your message was not sent: you are muted in #lobby\.$")
    alice.send("KICK #lobby bob :enough")
    await bob.expect_text(r"^\* You were kicked from #lobby by alice \(enough\)")
