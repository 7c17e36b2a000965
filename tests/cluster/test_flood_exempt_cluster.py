"""Flood control's exemptions on a cluster of two nodes: a login (or OPER) is an event
every node applies, but the gate that paces a connection's lines is on its own node,
and that is where the exemption must take hold; a member on the other node hears the
whole paste, in order."""

from __future__ import annotations

from tests.cluster.support import Cluster, Node
from tests.cluster.test_opers_cluster_audit import T, caught_up, oper_up, user
from tests.helpers import LineClient, sync

SETTINGS = ("limits.flood_control=true", "limits.flood_exempt_accounts=['buildbot']")
LINES = 100


def paste(tag: str) -> tuple[bytes, list[str]]:
    """100 PRIVMSGs to #c of 300 bytes each, in one write; their texts."""
    texts = [f"{tag} line {i:03} ".ljust(300 - len("PRIVMSG #c :\r\n"), "x") for i in range(LINES)]
    return "".join(f"PRIVMSG #c :{text}\r\n" for text in texts).encode(), texts


async def heard(reader: LineClient, count: int) -> list[str]:
    texts = []
    while len(texts) < count:
        message = await reader.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == "#c", timeout=T)
        texts.append(message.params[1])
    return texts


async def logged_in(cluster: Cluster, node: Node, nick: str) -> LineClient:
    """`nick`, on `node`, in #c, logged in to an account of its name it registered."""
    client = await user(cluster, node, nick, "#c")
    client.send("PRIVMSG NickServ :REGISTER correct-horse")
    await client.expect("900", timeout=T)
    await sync(client)
    return client


async def test_a_listed_bot_on_one_node_pastes_whole_to_a_member_on_the_other(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, *SETTINGS)
    reader = await user(cluster, n1, "reader", "#c")
    bot = await logged_in(cluster, n2, "buildbot")
    await caught_up(reader)
    data, texts = paste("log")
    bot.send(data)
    assert await heard(reader, LINES) == texts
    assert not [m for m in await sync(bot) if m.command == "ERROR"]

    other = await logged_in(cluster, n2, "otherbot")  # not listed: cut, as on one node
    await caught_up(reader)
    data, _ = paste("other")
    other.send(data)
    lines = await other.closed(timeout=T)
    assert lines and lines[-1].endswith("(Excess Flood)"), lines


async def test_an_operator_on_one_node_pastes_whole_to_a_member_on_the_other(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, *SETTINGS)
    reader = await user(cluster, n2, "reader", "#c")
    oper = await user(cluster, n1, "ircop", "#c")
    await oper_up(oper)
    await caught_up(reader)
    data, texts = paste("oper")
    oper.send(data)
    assert await heard(reader, LINES) == texts
    assert not [m for m in await sync(oper) if m.command == "ERROR"]
