"""Who may read /metrics: the addresses `web.metrics_from` lists (loopback by default),
judged on the TCP peer and on every address a proxy's headers name; anyone else gets
the 404 of a path that does not exist.

Over real sockets: a client "from elsewhere" binds its socket to 127.0.0.2 while the
list allows 127.0.0.1 alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from hubbub.app import Runtime

ELSEWHERE = "127.0.0.2"


async def fetch(runtime: Runtime, path: str = "/metrics", source: str = "127.0.0.1",
                **headers: str) -> tuple[int, str]:  # fmt: skip
    """Status and body of a GET of `path` from a socket bound to `source`."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http, \
            http.get(runtime.web_url(path), headers=headers) as response:  # fmt: skip
        return response.status, await response.text()


async def test_loopback_reads_the_metrics_by_default(make_web_server: Callable[..., Awaitable[Runtime]]) -> None:
    server = await make_web_server()
    for source in ("127.0.0.1", ELSEWHERE):  # the whole of 127.0.0.0/8 is this machine
        status, body = await fetch(server, source=source)
        assert status == 200, source
        assert "hubbub_users 0.0" in body


async def test_an_address_not_listed_gets_the_404_of_nothing_here(make_web_server) -> None:
    server = await make_web_server("web.metrics_from=['127.0.0.1/32']")
    assert (await fetch(server))[0] == 200
    refused = await fetch(server, source=ELSEWHERE)
    assert refused == await fetch(server, "/no-such-page", source=ELSEWHERE)  # nothing tells it apart
    assert refused[0] == 404
    assert (await fetch(server, "/healthz", source=ELSEWHERE))[0] == 200  # the rest of the listener is as it was


async def test_an_empty_list_or_metrics_off_serve_nobody(make_web_server) -> None:
    for setting in ("web.metrics_from=[]", "web.metrics=false"):
        server = await make_web_server(setting)
        assert (await fetch(server))[0] == 404, setting


async def test_a_request_through_a_proxy_is_judged_on_whom_the_proxy_names(make_web_server) -> None:
    """A reverse proxy on the same machine connects from loopback: what it says of the
    request's origin must be allowed too, whether the proxy is trusted or not, and in
    whichever header it says it."""
    for trusted in ("[]", "['127.0.0.1']"):
        server = await make_web_server(f"web.trusted_proxies={trusted}")
        for header, value in (("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "127.0.0.1, 203.0.113.9"),
                              ("X-Real-IP", "203.0.113.9"), ("Forwarded", 'for="[2001:db8::9]:4711";proto=https'),
                              ("Forwarded", "for=unknown")):  # fmt: skip
            assert (await fetch(server, **{header: value}))[0] == 404, (trusted, header, value)
        assert (await fetch(server, **{"X-Forwarded-For": "127.0.0.5", "Forwarded": "for=::1"}))[0] == 200


async def test_the_peer_decides_even_when_a_trusted_proxy_names_a_listed_client(make_web_server) -> None:
    """A trusted proxy's word makes nobody a scraper: its own address must be listed."""
    server = await make_web_server("web.metrics_from=['127.0.0.1/32']", f"web.trusted_proxies=['{ELSEWHERE}']")
    assert (await fetch(server, source=ELSEWHERE, **{"X-Forwarded-For": "127.0.0.1"}))[0] == 404
