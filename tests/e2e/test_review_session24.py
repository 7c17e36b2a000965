"""Review of session 24's changes: bugs shown over real sockets (a real cluster of
`hubbub serve` processes on a real redis-server and a real PostgreSQL)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from hubbub.passwords import hash_password
from tests.cluster.support import OPER_PASSWORD, Cluster, caught_up
from tests.services import RedisServer

HISTORY_CAPS = ["draft/chathistory", "batch", "server-time", "message-tags"]


@pytest.fixture
def review_config(tmp_path: Path) -> str:
    path = tmp_path / "hubbub.toml"
    path.write_text(f'[[opers]]\nname = "admin"\npassword_hash = "{hash_password(OPER_PASSWORD)}"\n')
    return str(path)


async def test_a_forgotten_channel_s_last_line_does_not_stall_history_reads_elsewhere(
    redis_server: RedisServer, review_config: str, postgres_url: str
) -> None:
    cluster = Cluster(redis_server.url, review_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2)
        alice = await cluster.client(n1, "alice", "#open", caps=HISTORY_CAPS)
        bob = await cluster.client(n2, "bob", "#sec")
        bob.send("MODE #sec +i")  # a closed channel: its history ends with it
        await bob.expect("MODE")
        bob.send("PRIVMSG #sec :said just before leaving")
        bob.send("PART #sec")
        await bob.expect("PART")  # #sec empties: node 2 forgets its history
        await caught_up(alice)  # node 1 applied the line and the part
        alice.send("CHATHISTORY LATEST #open * 10")  # nothing to do with #sec
        await alice.expect(lambda m: m.command in ("BATCH", "FAIL"), timeout=15)
        # it did not wait for the line #sec took along (a wait would end in this warning)
        assert not any("history read went ahead" in line for line in n1.log), "".join(n1.log[-10:])
    finally:
        await cluster.close()


async def _scram_salt(cluster: Cluster, node: object, name: str) -> str:
    client = await cluster.client(node)  # type: ignore[arg-type]
    client.send("CAP LS 302")
    client.send("CAP REQ :sasl")
    await client.expect("CAP", "*", "ACK")
    client.send("AUTHENTICATE SCRAM-SHA-256")
    await client.expect("AUTHENTICATE", "+")
    client.send(f"AUTHENTICATE {base64.b64encode(f'n,,n={name},r=clientnonce'.encode()).decode()}")
    first = await client.expect("AUTHENTICATE")
    fields = dict(part.split("=", 1) for part in base64.b64decode(first.params[0]).decode().split(","))
    return fields["s"]


async def test_an_unknown_name_s_scram_salt_is_the_same_on_every_node(
    redis_server: RedisServer, review_config: str, postgres_url: str
) -> None:
    """A cluster shares its PostgreSQL store, and the store's secret (the salt of a real
    account is the same on every node: so must a made-up one be)."""
    cluster = Cluster(redis_server.url, review_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2)
        assert await _scram_salt(cluster, n1, "ghost") == await _scram_salt(cluster, n2, "ghost")
    finally:
        await cluster.close()
