"""CAP negotiation of the IRCv3 capabilities: what is offered, with which values, and
what may be requested."""

from __future__ import annotations

from hubbub.server import caps
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, connected, isupport_tokens, sync

# Ours; other capabilities (invite-notify, ...) are tested where they are implemented.
OFFERED = {
    "account-notify", "account-tag", "away-notify", "batch", "cap-notify", "chghost",
    "draft/extended-monitor", "draft/multiline", "echo-message", "extended-join",
    "extended-monitor", "labeled-response", "message-tags", "multi-prefix", "server-time",
    "setname", "standard-replies", "userhost-in-names",
}


async def cap_ls(client: LineClient, version: str = "302") -> dict[str, str]:
    client.send(f"CAP LS {version}".strip())
    tokens: dict[str, str] = {}
    while True:
        ls = await client.expect("CAP")
        for token in ls.params[-1].split():
            name, _, value = token.partition("=")
            tokens[name] = value
        if ls.params[2] != "*":
            return tokens


async def test_cap_ls_302_offers_every_implemented_capability_with_values(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    offered = await cap_ls(client)
    assert set(offered) == set(caps.SUPPORTED) and OFFERED <= set(offered)
    assert offered["draft/multiline"] == "max-bytes=4096,max-lines=100"
    assert all(offered[name] == "" for name in OFFERED - {"draft/multiline"})


async def test_sasl_is_offered_with_its_mechanisms_and_sts_not_without_tls(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    offered = await cap_ls(client)
    assert "sts" not in offered
    assert offered["sasl"] == "PLAIN,SCRAM-SHA-256"  # no EXTERNAL without a client certificate
    client.send("CAP REQ sts")
    assert (await client.expect("CAP")).params[1:] == ["NAK", "sts"]


async def test_cap_ls_without_302_is_one_line_without_values(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP LS")
    ls = await client.expect("CAP")
    assert ls.params[:2] == ["*", "LS"] and len(ls.params) == 3
    assert set(ls.params[2].split()) == set(caps.SUPPORTED)


async def test_multiline_limits_are_advertised_from_the_configuration(make_server, clients) -> None:
    server = await make_server("limits.multiline_max_bytes=1000", "limits.multiline_max_lines=7")
    client = await LineClient.connect(server)
    clients.append(client)
    assert (await cap_ls(client))["draft/multiline"] == "max-bytes=1000,max-lines=7"


async def test_every_offered_capability_can_be_requested_and_is_listed(server, clients) -> None:
    client = await capped(server, "alice", *sorted(caps.SUPPORTED))
    clients.append(client)
    client.send("CAP LIST")
    listed = await client.expect("CAP")
    assert set(listed.params[2].split()) == set(caps.SUPPORTED)


async def test_capabilities_can_be_turned_off_again(server, clients) -> None:
    alice = await capped(server, "alice", "server-time", "message-tags")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("PRIVMSG alice :tagged")
    assert set((await alice.expect("PRIVMSG")).tags) == {"time", "msgid"}
    alice.send("CAP REQ :-server-time -message-tags")
    assert (await alice.expect("CAP")).params[1:] == ["ACK", "-server-time -message-tags"]
    bob.send("PRIVMSG alice :bare")
    assert (await alice.expect("PRIVMSG")).tags == {}


async def test_a_request_with_one_unknown_capability_is_refused_whole(server, clients) -> None:
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP REQ :batch labeled-response draft/nonsense")
    assert (await client.expect("CAP")).params[1:] == ["NAK", "batch labeled-response draft/nonsense"]
    client.send("CAP LIST")
    assert (await client.expect("CAP")).params[1:] == ["LIST", ""]


async def test_isupport_advertises_bot_monitor_namelen_and_whox(make_server, clients) -> None:
    server = await make_server("limits.monitor=25", "limits.namelen=80")
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("NICK alice")
    client.send("USER u 0 * :Alice")
    burst = await client.collect_until("376")
    tokens = isupport_tokens(burst)
    assert tokens["BOT"] == "B"
    assert tokens["MONITOR"] == "25"
    assert tokens["NAMELEN"] == "80"
    assert "WHOX" in tokens and tokens["WHOX"] is None
    assert "UTF8ONLY" in tokens
    myinfo = next(m for m in burst if m.command == "004")
    assert "B" in myinfo.params[3]


async def test_untagged_replies_stay_untagged_without_tag_capabilities(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("PRIVMSG #room :plain")
    message = await alice.expect("PRIVMSG")
    assert message.tags == {}
    assert all(not line.startswith("@") for line in alice.raw)
    await sync(bob)
