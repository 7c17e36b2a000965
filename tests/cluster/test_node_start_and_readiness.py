"""What a node of a cluster says about itself.

- `003`, `INFO` and `STATS u` report the node's own start, not the network's founding
  (which a node that joins takes from the snapshot with the rest of the state):
  operators check a rolling restart with STATS u.
- `/healthz` is about whether this node can serve its clients: a Redis pause shorter
  than `cluster.node_timeout` is "degraded" with 200 (every node would fail at once
  otherwise); 503 only once the node refuses what its clients send. `/metrics` shows
  Redis's reachability, the refusing, and the live nodes.
"""

from __future__ import annotations

import asyncio
import calendar
import os
import re
import signal
import time
import uuid

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from hubbub.app import Runtime
from tests.cluster.support import Cluster
from tests.helpers import LineClient
from tests.services import RedisServer
from tests.web.wsclient import start_web_server

STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


def unix(text: str) -> int:
    found = STAMP.search(text)
    assert found is not None, text
    return calendar.timegm(time.strptime(found.group(1), "%Y-%m-%d %H:%M:%S"))


async def created_info_stats(client: LineClient) -> tuple[int, int, int, float]:
    """The 003 time, INFO's "up since" time, STATS u's uptime in seconds, and the time
    right after STATS u answered."""
    welcome = next(m for m in client.received if m.command == "003")
    client.send("INFO")
    lines = []
    while (message := await client.expect(lambda m: m.command in ("371", "374"))).command == "371":
        lines.append(message.params[-1])
    up_since = next(line for line in lines if line.startswith("up since"))
    client.send("STATS u")
    uptime = await client.expect("242")
    answered = time.time()
    await client.expect("219")
    days, hours, minutes, seconds = map(int, re.findall(r"\d+", uptime.params[-1]))
    return unix(welcome.params[-1]), unix(up_since), ((days * 24 + hours) * 60 + minutes) * 60 + seconds, answered


async def test_a_node_started_later_reports_its_own_start_not_the_networks(cluster: Cluster) -> None:
    first = await cluster.add()
    await asyncio.sleep(2)  # the second node starts seconds later (the replies have 1 s resolution)
    before_second = time.time()
    second = await cluster.add()  # joins: its state comes from the network's snapshot
    alice = await cluster.client(first, "alice")
    bob = await cluster.client(second, "bob")

    created, up_since, uptime, answered = await created_info_stats(bob)
    assert created >= int(before_second), cluster.logs()  # 003: this node's start
    assert up_since == created  # INFO says the same time
    # STATS u: the start it implies is no earlier than the node's (uptime is whole seconds, cut)
    assert answered - uptime >= before_second

    first_created, first_up_since, _, _ = await created_info_stats(alice)
    assert first_created == first_up_since < int(before_second) <= created  # the first node: its own, earlier


# -- readiness and metrics in a cluster ------------------------------------------------------------


async def healthz(runtime: Runtime) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/healthz")) as response:
        return response.status, await response.json()


async def cluster_gauges(runtime: Runtime) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(runtime.web_url("/metrics")) as response:
        text = await response.text()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name.startswith("hubbub_cluster_")}  # fmt: skip


async def until(runtime: Runtime, done, timeout: float = 20) -> tuple[int, dict]:
    """Ask /healthz until `done(status, body)`; the last answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status, body = await healthz(runtime)
        if done(status, body) or loop.time() > deadline:
            return status, body
        await asyncio.sleep(0.05)


async def test_a_redis_pause_is_degraded_not_unavailable_until_the_node_refuses(own_redis: RedisServer) -> None:
    runtime = await start_web_server(f"cluster.url='{own_redis.url}'", f"cluster.keyspace='t{uuid.uuid4().hex}'",
                                     "cluster.node_timeout=2")  # fmt: skip
    assert own_redis.process is not None
    pid = own_redis.process.pid
    try:
        status, body = await healthz(runtime)
        assert (status, body["status"]) == (200, "ok"), body
        assert body["checks"] == {"store": True, "redis": True, "cluster": True}
        assert await cluster_gauges(runtime) == {
            "hubbub_cluster_redis_reachable": 1.0, "hubbub_cluster_refusing": 0.0, "hubbub_cluster_nodes": 1.0,
            "hubbub_cluster_events_unpublished": 0.0,
        }  # fmt: skip

        os.kill(pid, signal.SIGSTOP)  # Redis stops answering, its data kept: a pause
        try:
            # the node's own calls find Redis out of reach: degraded, still serving
            status, body = await until(runtime, lambda s, b: b["checks"].get("redis") is False or s != 200)
            assert status == 200, body
            assert body["status"] == "degraded"
            assert body["checks"]["redis"] is False and body["checks"]["cluster"] is True
            assert (await cluster_gauges(runtime))["hubbub_cluster_redis_reachable"] == 0

            # past node_timeout the node refuses what its clients send: now it cannot serve them
            status, body = await until(runtime, lambda s, b: s == 503)
            assert status == 503, body
            assert body["status"] == "unavailable" and body["checks"]["cluster"] is False
            gauges = await cluster_gauges(runtime)
            assert gauges["hubbub_cluster_refusing"] == 1 and gauges["hubbub_cluster_redis_reachable"] == 0
        finally:
            os.kill(pid, signal.SIGCONT)

        status, body = await until(runtime, lambda s, b: b["status"] == "ok")
        assert status == 200 and body["checks"] == {"store": True, "redis": True, "cluster": True}, body
        gauges = await cluster_gauges(runtime)
        assert gauges["hubbub_cluster_refusing"] == 0 and gauges["hubbub_cluster_redis_reachable"] == 1
    finally:
        await runtime.stop()
