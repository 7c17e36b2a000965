"""Operators may change anyone's metadata (draft/metadata-2): a user's, or a channel's
they are not even in; the user hears of it when subscribed."""

from __future__ import annotations

from tests.e2e_caps.support import capped
from tests.e2e_opers.support import an_oper
from tests.helpers import sync


async def test_an_operator_sets_and_clears_another_users_keys(oper_server, clients) -> None:
    alice = await capped(oper_server, "alice", "draft/metadata-2", "batch", channels=("#room",))
    oper = await an_oper(oper_server)
    clients.extend([alice, oper])
    alice.send("METADATA * SUB display-name")
    alice.send("METADATA * SET display-name :something rude")
    await sync(alice)
    oper.send("METADATA alice SET display-name :Alice")
    assert (await oper.expect("761")).params == ["ircop", "alice", "display-name", "*", "Alice"]
    assert (await alice.expect("METADATA")).params == ["alice", "display-name", "*", "Alice"]
    oper.send("METADATA #room SET url :https://example.org")
    assert (await oper.expect("761")).params[1] == "#room"
    oper.send("METADATA alice CLEAR")
    assert (await oper.expect("766")).params[1:3] == ["alice", "display-name"]
    assert (await alice.expect("METADATA")).params == ["alice", "display-name", "*"]
