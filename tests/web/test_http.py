"""The web listener's HTTP side: the client's files, /healthz and /metrics.

/metrics is read with prometheus-client's own text parser, as Prometheus would read it.
"""

from __future__ import annotations

import asyncio
import gzip
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from tests.helpers import connected, sync
from tests.services import start_redis
from tests.web.wsclient import WsClient, start_web_server

WEB = Path(__file__).resolve().parents[2] / "hubbub" / "web"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


@pytest.fixture
async def server() -> AsyncIterator[Runtime]:
    runtime = await start_web_server()
    yield runtime
    await runtime.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


# -- the web client's files ----------------------------------------------------------------------


async def test_the_page_and_every_file_of_the_client_are_served_as_they_are(server, http) -> None:
    paths = ["", "index.html"] + sorted(p.relative_to(WEB).as_posix() for p in WEB.rglob("*") if p.is_file())
    for path in paths:
        async with http.get(server.web_url("/" + path), headers={"Accept-Encoding": "identity"}) as response:
            assert response.status == 200, path
            assert await response.read() == (WEB / (path or "index.html")).read_bytes(), path


async def test_every_response_carries_the_security_headers(server, http) -> None:
    for path in ("/", "/js/main.js", "/app.css", "/healthz", "/metrics", "/nothing-here"):
        async with http.get(server.web_url(path)) as response:
            headers = response.headers
            assert headers["Content-Security-Policy"] == CSP, path
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/", "text/html"), ("/js/main.js", "text/javascript"), ("/app.css", "text/css"),
     ("/favicon.svg", "image/svg+xml")],
)  # fmt: skip
async def test_types(server, http, path: str, content_type: str) -> None:
    async with http.get(server.web_url(path)) as response:
        assert response.headers["Content-Type"].split(";")[0] == content_type


async def test_files_are_gzipped_for_browsers_that_accept_it(server, http) -> None:
    async with http.get(server.web_url("/js/state.js"), headers={"Accept-Encoding": "gzip, br"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Vary"] == "Accept-Encoding"
        body = await response.read()
    original = (WEB / "js" / "state.js").read_bytes()
    assert gzip.decompress(body) == original and len(body) < len(original) / 2
    async with http.get(server.web_url("/js/state.js"), headers={"Accept-Encoding": "gzip;q=0"}) as response:
        assert "Content-Encoding" not in response.headers
        assert await response.read() == original


async def test_files_are_revalidated_by_etag(server, http) -> None:
    async with http.get(server.web_url("/")) as response:
        etag = response.headers["ETag"]
        assert response.headers["Cache-Control"] == "no-cache"
    async with http.get(server.web_url("/"), headers={"If-None-Match": etag}) as response:
        assert response.status == 304
        assert await response.read() == b""
    async with http.get(server.web_url("/app.css"), headers={"If-None-Match": etag}) as response:
        assert response.status == 200  # another file, another tag


async def test_nothing_outside_the_client_can_be_reached(server, http) -> None:
    for path in ("/../app.py", "/%2e%2e/app.py", "/js/../../config.py", "/__init__.py", "/web/index.html",
                 "/.hidden"):  # fmt: skip
        async with http.get(server.web_url(path)) as response:
            assert response.status == 404, path


async def test_only_get_and_head(server, http) -> None:
    async with http.head(server.web_url("/")) as response:
        assert response.status == 200
    async with http.post(server.web_url("/"), data=b"x") as response:
        assert response.status == 405


# -- /healthz -----------------------------------------------------------------------------------------


async def test_healthz_is_ok_with_every_listener_up_and_the_store_answering(server, http) -> None:
    async with http.get(server.web_url("/healthz")) as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"store": True}
    host, port = server.irc_address()
    assert body["listeners"][f"irc {host}:{port}"] is True
    assert all(body["listeners"].values()) and len(body["listeners"]) == 2


async def test_healthz_says_degraded_when_the_store_does_not_answer(server, http) -> None:
    """Chat goes on without the store: still ready (200), and the check says what is wrong."""
    store = server.persistence.store
    server.persistence.store = None  # as good as gone
    async with http.get(server.web_url("/healthz")) as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "degraded" and body["checks"] == {"store": False}
    server.persistence.store = store
    async with http.get(server.web_url("/healthz")) as response:
        assert response.status == 200


async def test_a_check_that_hangs_counts_as_failed(server, http) -> None:
    async def never() -> bool:
        await asyncio.Event().wait()
        return True

    server.health_checks["slow"] = never
    async with http.get(server.web_url("/healthz")) as response:
        assert response.status == 503
        assert (await response.json())["checks"] == {"store": True, "slow": False}


async def test_healthz_says_unavailable_when_a_listener_is_down(server, http) -> None:
    server.listeners.accepting[0].close()  # the IRC listener (the first opened)
    async with http.get(server.web_url("/healthz")) as response:
        assert response.status == 503
        body = await response.json()
    host, port = server.irc_address()
    assert body["listeners"][f"irc {host}:{port}"] is False


async def test_healthz_in_a_cluster_says_whether_redis_answers(http) -> None:
    redis = start_redis()
    if isinstance(redis, str):
        pytest.skip(redis)
    try:
        runtime = await start_web_server(f"cluster.url='{redis.url}'", f"cluster.keyspace='t{uuid.uuid4().hex}'")
        try:
            async with http.get(runtime.web_url("/healthz")) as response:
                assert response.status == 200
                assert (await response.json())["checks"] == {"store": True, "cluster": True, "redis": True}
            redis.stop(kill=True)
            # a pause, at first: degraded but ready (the refusal after node_timeout is
            # tests/cluster/test_node_start_and_readiness.py's)
            while True:
                async with http.get(runtime.web_url("/healthz")) as response:
                    body = await response.json()
                    if not body["checks"]["redis"]:
                        break
                    await asyncio.sleep(0.05)
            assert response.status == 200 and body["status"] == "degraded"
            assert body["checks"] == {"store": True, "cluster": True, "redis": False}
            redis.start()
        finally:
            await runtime.stop()
    finally:
        redis.close()


# -- /metrics ---------------------------------------------------------------------------------------


async def scrape(runtime: Runtime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels, read with prometheus-client's parser."""
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/metrics")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_count_users_channels_connections_messages_and_bytes(server) -> None:
    before = await scrape(server)
    assert value(before, "hubbub_users") == 0
    assert value(before, "hubbub_connections", transport="websocket") == 0
    alice = await connected(server, "alice", "#one", "#two")
    bob = await connected(server, "bob", "#one")
    web = await WsClient.connect(server)
    await web.register("carol")
    await web.join("#one")
    for i in range(3):
        alice.send(f"PRIVMSG #one :hello {i}")
    alice.send("PRIVMSG bob :psst")
    alice.send("NOTICE #two :nobody here")
    await web.send("PRIVMSG #one :from the web")
    for _ in range(3):
        await web.expect("PRIVMSG", "#one")
    await sync(alice)
    await web.sync()
    after = await scrape(server)
    assert value(after, "hubbub_users") == 3
    assert value(after, "hubbub_channels") == 2
    assert value(after, "hubbub_connections", transport="tcp") == 2
    assert value(after, "hubbub_connections", transport="websocket") == 1
    assert value(after, "hubbub_connections_accepted_total", transport="websocket") == 1
    assert value(after, "hubbub_connections", transport="http") >= 1  # this scrape's, at least
    assert value(after, "hubbub_connections_accepted_total", transport="http") >= 2  # the WebSocket's, the scrapes'
    assert value(after, "hubbub_events_total", kind="Registered") == 3
    assert value(after, "hubbub_events_total", kind="Joined") == 4
    assert value(after, "hubbub_messages_total", target="channel") == 5
    assert value(after, "hubbub_messages_total", target="user") == 1
    # #one has three members: each of its four messages reached the two others; #two none
    assert value(after, "hubbub_message_deliveries_total") == 4 * 2 + 1
    assert value(after, "hubbub_received_bytes_total", transport="websocket") > 0
    for transport in ("tcp", "websocket"):
        assert value(after, "hubbub_sent_bytes_total", transport=transport) > 0
    assert value(after, "hubbub_event_loop_lag_seconds_count") >= 0
    sent_before = value(after, "hubbub_sent_bytes_total", transport="tcp")
    await bob.close()  # bytes a closed connection sent are still counted
    await sync(alice)
    later = await scrape(server)
    assert value(later, "hubbub_sent_bytes_total", transport="tcp") > sent_before
    assert value(later, "hubbub_connections", transport="tcp") == 1
    await alice.close()
    await web.close()


async def test_sendq_drops_and_flood_delays_are_counted() -> None:
    runtime = await start_web_server("limits.flood_control=true", "limits.flood_burst=2", "limits.flood_rate=50")
    try:
        alice = await connected(runtime, "alice", "#c")
        for i in range(10):
            alice.send(f"PRIVMSG #c :{i}")
        await sync(alice)
        samples = await scrape(runtime)
        assert value(samples, "hubbub_flood_delays_total", transport="tcp") > 0
        assert value(samples, "hubbub_sendq_drops_total", transport="tcp") == 0
        await alice.close()
    finally:
        await runtime.stop()


async def test_history_writes_and_their_latency_are_counted(server) -> None:
    before = await scrape(server)
    assert value(before, "hubbub_history_writes_total") == 0  # there from the start
    assert value(before, "hubbub_history_write_seconds_count") == 0
    alice = await connected(server, "alice", "#kept")
    for i in range(3):
        alice.send(f"PRIVMSG #kept :keep this {i}")
    await sync(alice)  # each line's output left after its batch was committed
    samples = await scrape(server)
    assert value(samples, "hubbub_history_writes_total") == 1 + 3  # the join (history.events) and the messages
    assert 1 <= value(samples, "hubbub_history_write_seconds_count") <= 3
    await alice.close()


async def test_metrics_can_be_turned_off() -> None:
    runtime = await start_web_server("web.metrics=false")
    try:
        async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/metrics")) as response:
            assert response.status == 404
    finally:
        await runtime.stop()


async def test_two_servers_in_one_process_report_their_own_figures() -> None:
    one, two = await start_web_server(), await start_web_server()
    try:
        alice = await connected(one, "alice")
        assert value(await scrape(one), "hubbub_users") == 1
        assert value(await scrape(two), "hubbub_users") == 0
        await alice.close()
    finally:
        await one.stop()
        await two.stop()
