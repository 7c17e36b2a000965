"""An operator's view of clients behind a PROXY protocol proxy (listen.proxy_from)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e_limits.test_proxy_protocol import PROXY, V1, Make, hung_up, proxied, whois_address
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import connected_from, oper_up
from tests.e2e_opers.test_more_admin import rehash
from tests.helpers import sync


async def test_a_kline_on_the_address_a_header_names_refuses_that_client(make_oper_server: Make, clients) -> None:
    runtime = await make_oper_server(*PROXY)
    ircop = await connected_from(runtime, "127.0.0.2", "ircop")  # not the proxy: no header
    await oper_up(ircop)
    victim = await proxied(runtime, V1.format("203.0.113.7"), "victim")
    bystander = await proxied(runtime, V1.format("198.51.100.4"), "bystander")
    clients.extend([ircop, victim, bystander])
    shown, _ = await whois_address(victim)  # its cloak
    ircop.send("KLINE *@203.0.113.7 :go away")  # the address the header named, as an operator sees it
    await ircop.expect("NOTICE", "ircop")
    assert (await victim.expect("ERROR")).params == [f"Closing Link: {shown} (K-Lined: go away)"]
    again = await proxied(runtime, V1.format("203.0.113.7"))
    clients.append(again)
    assert (await hung_up(again))[-1].startswith("ERROR :Closing Link: 203.0.113.7 (K-Lined")
    assert "ERROR" not in {m.command for m in await sync(bystander)}


async def test_a_reload_that_lists_the_proxy_applies_to_its_next_connections(
    make_oper_server: Make, clients, tmp_path: Path, oper_hash: str
) -> None:
    runtime = await make_oper_server()
    ircop = await connected_from(runtime, "127.0.0.2", "ircop")
    await oper_up(ircop)
    clients.append(ircop)
    stays = await connected_from(runtime, "127.0.0.2", "stays")
    clients.append(stays)
    before = await proxied(runtime, V1.format("203.0.113.7"))
    clients.append(before)
    assert await hung_up(before) == ["ERROR :Closing Link: 127.0.0.1 (PROXY header from an address not in "
                                     "listen.proxy_from)"]  # fmt: skip
    await rehash(ircop, tmp_path / "hubbub0.toml", '[listen]\nproxy_from = ["127.0.0.1"]\n' + oper_toml(oper_hash))
    after = await proxied(runtime, V1.format("203.0.113.7"), "after")
    clients.append(after)
    assert (await whois_address(after))[1] == "203.0.113.7"
    assert "ERROR" not in {m.command for m in await sync(stays)}  # those already in stay as they were
