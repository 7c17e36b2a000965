"""KNOCK and IRC operators: an operator's knock waits for no delay."""

from __future__ import annotations

from tests.e2e_opers.support import oper_up
from tests.helpers import connected, sync


async def test_an_irc_operator_knocks_without_waiting(make_oper_server, clients) -> None:
    server = await make_oper_server("limits.knock_delay=600")
    alice = await connected(server, "alice", "#room")
    dave = await connected(server, "dave")
    clients.extend([alice, dave])
    alice.send("MODE #room +i")
    await alice.expect("MODE")
    dave.send("KNOCK #room")
    await dave.expect("711")
    dave.send("KNOCK #room :again")
    await dave.expect("712")
    await oper_up(dave)
    dave.send("KNOCK #room :again, as an operator")
    await dave.expect("711")
    assert [m.params[-1] for m in await sync(alice) if m.command == "710"] == [
        "has asked for an invite.", "has asked for an invite: again, as an operator",
    ]  # fmt: skip
