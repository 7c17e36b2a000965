"""Password checks run on a few worker threads, with a bounded queue: a login refused
because the queue is full (many checks at once, a guessing swarm) says the server is
busy, never that the credentials are invalid (they were not even looked at), and is
not counted as a failure: the owner's client tries again instead of giving up."""

from __future__ import annotations

from tests.e2e_accounts.support import NS, registered_account, sasl_plain
from tests.helpers import LineClient


async def test_a_login_refused_for_want_of_workers_says_busy_not_invalid(server, clients: list[LineClient]) -> None:
    owner = await registered_account(server, "legit", "right-password")
    await owner.close()
    server.workers.max_pending = 0  # every worker taken, the queue full
    client, numeric = await sasl_plain(server, "legit", "legit", "right-password")
    clients.append(client)
    assert numeric == "904"
    failure = next(m for m in client.received if m.command == "904")
    assert "busy" in failure.params[-1] and "invalid" not in failure.params[-1]

    identify = await LineClient.connect(server)
    clients.append(identify)
    await identify.register("someone")
    identify.send("PRIVMSG NickServ :IDENTIFY legit right-password")
    said = await identify.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert "busy" in said.params[-1]

    server.workers.max_pending = 10  # free again: the same password logs in, nothing was counted against it
    client, numeric = await sasl_plain(server, "legit2", "legit", "right-password")
    clients.append(client)
    assert numeric == "903"
