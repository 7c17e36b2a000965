"""draft/pre-away: AWAY before registration completes, `AWAY *` for "not present"."""

from __future__ import annotations

from tests.e2e_caps.support import capped
from tests.helpers import LineClient, commands, connected, sync


async def negotiating(server, *caps: str) -> LineClient:
    """A client in the middle of CAP negotiation, `caps` acknowledged, not registered."""
    client = await LineClient.connect(server)
    await client.expect("NOTICE", "*")
    client.send("CAP LS 302")
    await client.expect("CAP")
    if caps:
        client.send("CAP REQ :" + " ".join(caps))
        await client.expect("CAP", "*", "ACK")
    return client


async def test_away_before_registration_is_kept_and_seen_once_registered(server, clients) -> None:
    watcher = await capped(server, "watcher", "away-notify", channels=("#room",))
    early = await negotiating(server, "draft/pre-away")
    clients.extend([watcher, early])
    early.send("AWAY :connected by a script")
    assert (await early.expect("306")).params == ["*", "You have been marked as being away"]
    early.send("NICK early")
    early.send("USER e 0 * :Early")
    early.send("CAP END")
    await early.expect("376")
    early.send("JOIN #room")
    await watcher.expect("JOIN")
    assert (await watcher.expect("AWAY")).params == ["connected by a script"]
    watcher.send("WHOIS early")
    assert (await watcher.expect("301")).params == ["watcher", "early", "connected by a script"]


async def test_away_star_means_not_present_and_plain_away_means_back(server, clients) -> None:
    early = await negotiating(server, "draft/pre-away")
    clients.append(early)
    early.send("AWAY *")
    await early.expect("306")
    early.send("AWAY")
    await early.expect("305")
    early.send("AWAY *")
    await early.expect("306")
    early.send("NICK early")
    early.send("USER e 0 * :Early")
    early.send("CAP END")
    await early.expect("376")
    other = await connected(server, "other")
    clients.append(other)
    other.send("PRIVMSG early :are you there?")
    assert (await other.expect("301")).params == ["other", "early", "*"]


async def test_away_before_registration_needs_the_capability(server, clients) -> None:
    plain = await negotiating(server)
    clients.append(plain)
    plain.send("AWAY :too early")
    assert (await plain.expect("451")).params == ["*", "You have not registered"]
    plain.send("NICK late")
    plain.send("USER l 0 * :Late")
    plain.send("CAP END")
    await plain.expect("376")
    plain.send("WHOIS late")
    assert "301" not in commands(await plain.collect_until("318"))


async def test_pre_registration_away_tells_no_monitor_before_the_user_is_online(server, clients) -> None:
    watcher = await capped(server, "watcher", "away-notify", "extended-monitor")
    clients.append(watcher)
    watcher.send("MONITOR + early")
    await watcher.expect("731")
    early = await negotiating(server, "draft/pre-away")
    clients.append(early)
    early.send("NICK early")
    early.send("AWAY :not yet")
    await early.expect("306")
    assert commands(await sync(watcher)) == []  # not online yet: nothing about it
    early.send("USER e 0 * :Early")
    early.send("CAP END")
    assert (await watcher.expect("730")).params[1].startswith("early!")
