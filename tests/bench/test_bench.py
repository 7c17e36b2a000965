"""The load generator, run briefly against a real hubbub: are its counts and reports right?

These tests check what the benchmark counts and how it reports it, never how fast
anything is: speed belongs in the benchmark's own figures, not in assertions.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from hubbub.bench import procstat
from hubbub.bench.cli import main as bench_main
from hubbub.bench.cluster import RedisProcess, _complete
from hubbub.bench.load import Sampler, WebSocketLoadConnection, _client_frame, _command
from hubbub.bench.report import human, summary
from hubbub.bench.scenarios import (
    BenchError,
    ConnectOptions,
    FanoutOptions,
    FindMaxOptions,
    PingpongOptions,
    RateSearch,
    Target,
    connect_idle,
    ends_search,
    fanout,
    fanout_find_max,
    pingpong,
)
from hubbub.bench.serverproc import ServerProcess, default_server_cmd, is_loopback
from hubbub.bench.stats import latency_ms, percentile
from hubbub.runtime.threadnames import name_this_thread

BENCH_LIMITS = ("limits.max_clients_per_ip=0", "limits.max_clients=0", "limits.sendq=16777216")


@pytest.fixture
async def target(make_server) -> Target:
    """An in-process hubbub (its CPU is ours, so no pid: the server figures are not measured)."""
    runtime = await make_server(*BENCH_LIMITS)
    host, port = runtime.irc_address()
    return Target(host, port)


@pytest.fixture
async def ws_target(make_server) -> Target:
    """The same, its clients speaking IRC over WebSocket to the web listener."""
    runtime = await make_server(*BENCH_LIMITS, "listen.web='127.0.0.1:0'")
    host, port = runtime.listeners.address("web")
    return Target(host, port, path="/webirc")


@pytest.fixture
def server_process():
    """A hubbub in its own process, started the way `hubbub bench` starts it, with a pid to measure."""
    server = ServerProcess(default_server_cmd("asyncio"))
    host, port = server.start(timeout=30)
    yield Target(host, port, server.pid)
    server.stop()


def _wrap(scenario: str, result: dict, target: Target) -> dict:
    """What the command line adds around a scenario's result, for the report functions."""
    return {"scenario": scenario, "label": "hubbub-test", "server": {"name": "t", "version": "v"},
            "target": {"host": target.host, "port": target.port, "pid": target.pid}, **result}


async def test_fanout_counts_every_delivery_to_every_other_member(target: Target) -> None:
    opts = FanoutOptions(clients=6, senders=2, rate=40, duration=0.5, samplers=2, drain_timeout=10)
    out = await fanout(target, opts)
    trial = out["result"]
    assert trial["sent"] == 20
    assert trial["expected"] == 20 * 5  # each message reaches the N-1 other members
    assert trial["delivered"] == trial["expected"]
    assert (trial["lost"], trial["extra_lines"], trial["disconnects"]) == (0, 0, 0)
    # The two samplers are not senders: each sees all 20 messages, in order.
    latency = trial["latency"]
    assert latency["samples"] == 40
    assert 0 <= latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert (trial["sampler_gaps"], trial["sampler_reordered"]) == (0, 0)
    assert trial["server"] is None  # no pid: not measured, and the report says so
    text = human(_wrap("fanout", out, target))
    assert "20 messages" in text and "100 of 100" in text and "not measured" in text


async def test_fanout_with_stalled_members_counts_only_those_that_read(target: Target) -> None:
    """Stalled members join, then read nothing: they are left out of what is expected,
    the others still get everything, and the report says how many there were."""
    opts = FanoutOptions(clients=8, senders=2, rate=40, duration=0.5, samplers=1, stalled=2, drain_timeout=10)
    out = await fanout(target, opts)
    trial = out["result"]
    assert trial["sent"] == 20
    assert trial["expected"] == 20 * 5  # 7 others, 2 of them stalled
    assert trial["delivered"] == trial["expected"]
    assert (trial["lost"], trial["extra_lines"], trial["disconnects"]) == (0, 0, 0)
    assert (trial["stalled"], trial["stalled_dropped"]) == (2, 0)
    text = human(_wrap("fanout", out, target))
    assert "2 stalled" in text and "2 members read nothing" in text
    with pytest.raises(BenchError):
        await fanout(target, FanoutOptions(clients=4, senders=2, stalled=2))


async def test_fanout_over_websocket_counts_every_delivery_too(ws_target: Target) -> None:
    opts = FanoutOptions(clients=6, senders=2, rate=40, duration=0.5, samplers=2, drain_timeout=10, procs=2)
    trial = (await fanout(ws_target, opts))["result"]
    assert trial["sent"] == 20
    assert trial["delivered"] == trial["expected"] == 20 * 5
    assert (trial["lost"], trial["extra_lines"], trial["disconnects"]) == (0, 0, 0)
    assert trial["latency"]["samples"] == 40
    assert (trial["sampler_gaps"], trial["sampler_reordered"]) == (0, 0)


async def test_pingpong_and_connect_over_websocket(ws_target: Target) -> None:
    assert (await pingpong(ws_target, PingpongOptions(rounds=50, warmup=5)))["result"]["round_trips"] == 50
    result = (await connect_idle(ws_target, ConnectOptions(clients=20, concurrency=5, idle=0.1)))["result"]
    assert (result["registered"], result["failed"]) == (20, 0)


async def test_websocket_frames_come_back_as_lines_split_anywhere() -> None:
    """The generator's framing: frames cut at any byte by the network still give whole
    lines, in order; a ping frame is answered; lines go out as masked frames."""
    conn = WebSocketLoadConnection("n")
    conn.opened.set_result(None)
    got: list[bytes] = []
    conn.on_line = got.append
    sent: list[bytes] = []

    class Sink:
        def write(self, data: bytes) -> None:
            sent.append(data)

    conn.transport = Sink()  # type: ignore[assignment]
    long = b"x" * 300
    stream = b"\x81\x05hello" + b"\x89\x02hi" + b"\x81\x7e\x01\x2c" + long + b"\x82\x03bye"
    for i in range(len(stream)):  # one byte at a time: the worst a network can do
        conn.data_received(stream[i : i + 1])
    assert got == [b"hello", long, b"bye"]
    assert sent == [_client_frame(0xA, b"hi")]
    conn.send(b"NICK a\r\nUSER a 0 * :A\r\n")
    assert sent[-1] == b"\x81\x86\0\0\0\0NICK a" + b"\x81\x8d\0\0\0\0USER a 0 * :A"


async def test_fanout_splits_receivers_over_worker_processes(target: Target) -> None:
    opts = FanoutOptions(clients=9, senders=2, rate=20, duration=0.3, samplers=1, procs=2, drain_timeout=10)
    trial = (await fanout(target, opts))["result"]
    assert trial["sent"] == 6
    assert trial["delivered"] == trial["expected"] == 6 * 8
    assert trial["disconnects"] == 0
    assert trial["generator"]["cpu_s"] >= 0


async def test_find_max_doubles_or_halves_and_reports_every_trial(target: Target) -> None:
    opts = FanoutOptions(clients=4, senders=2, duration=0.3, samplers=1, drain_timeout=5)
    search = FindMaxOptions(start_rate=20, max_trials=2, max_time=60, retries=0)
    out = await fanout_find_max(target, opts, search)
    trials = out["trials"]
    assert 1 <= len(trials) <= 2 and trials[0]["rate"] == 20
    if len(trials) == 2:
        assert trials[1]["rate"] == (40 if trials[0]["ok"] else 10)
    for trial in trials:
        assert trial["expected"] == trial["sent"] * 3
        assert trial["delivered"] + trial["lost"] - trial["extra_lines"] == trial["expected"]
    held = [t for t in trials if t["ok"]]
    assert out["max_rate"] == (max(t["rate"] for t in held) if held else None)
    assert out["best"] == (max(held, key=lambda t: t["rate"]) if held else None)
    assert "rate" in human(_wrap("fanout", out, target))


async def test_the_trial_after_a_failed_one_runs_on_new_connections(target: Target) -> None:
    # A failure can leave lines queued in the server for the old connections; delivered
    # into the next trial, they would fail it too (InspIRCd did, all the way down).
    failing = FanoutOptions(clients=4, senders=2, duration=0.3, samplers=1, drain_timeout=5, max_p99_ms=0.0)
    search = FindMaxOptions(start_rate=20, max_trials=3, max_time=60, retries=0)
    out = await fanout_find_max(target, failing, search)
    assert [t["ok"] for t in out["trials"]] == [False, False, False]
    assert [t["rate"] for t in out["trials"]] == [20, 10, 5]
    assert out["rooms_reopened"] == 3
    holding = FanoutOptions(clients=4, senders=2, duration=0.3, samplers=1, drain_timeout=5)
    held = await fanout_find_max(target, holding, FindMaxOptions(start_rate=5, max_trials=2, max_time=60, retries=0))
    assert [t["ok"] for t in held["trials"]] == [True, True]
    assert held["rooms_reopened"] == 0  # a held trial leaves nothing behind: the same connections go on


def test_find_max_doubles_until_a_rate_fails_then_bisects_to_the_precision() -> None:
    capacity = 1234.0  # a server that holds any rate up to this one
    search = RateSearch(50.0, precision=0.1)
    tried = []
    while True:
        tried.append(search.rate)
        if search.record(search.rate <= capacity) is None:
            break
    assert tried[:6] == [50, 100, 200, 400, 800, 1600]  # doubling until 1600 fails
    assert tried[6] == 1200  # then halfway between 800 and 1600, and so on
    assert search.held is not None and search.failed is not None
    assert search.held <= capacity < search.failed <= search.held * 1.1
    assert len(tried) <= 12 and search.stopped == ""


def test_find_max_halves_from_a_start_rate_that_fails_and_gives_up_below_one() -> None:
    search = RateSearch(50.0, precision=0.1)
    assert search.record(False) == 25.0
    assert search.record(True) == 37.5  # now between the held 25 and the failed 50
    never = RateSearch(4.0, precision=0.1)
    assert [never.record(False) for _ in range(3)] == [2.0, 1.0, None]
    assert never.stopped == "even 1 msg/s did not hold" and never.held is None


@pytest.mark.parametrize(
    ("trial", "ends"),
    [
        ({"ok": True, "generator_limited": False, "generator_fell_short": False}, False),
        ({"ok": False, "generator_limited": False, "generator_fell_short": False}, False),  # the server's limit
        ({"ok": False, "generator_limited": True, "generator_fell_short": True}, True),  # could not offer it
        # it offered the rate, busy or lagging (a server falling behind answers in bursts): bisect on
        ({"ok": False, "generator_limited": True, "generator_fell_short": False}, False),
    ],
)
def test_only_a_generator_that_fell_short_ends_the_search(trial: dict[str, Any], ends: bool) -> None:
    assert ends_search(trial) is ends


async def test_the_find_max_flag_runs_the_search(target: Target) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hubbub.bench", "fanout", "--find-max", "--connect", f"{target.host}:{target.port}",
        "-n", "4", "-k", "2", "-d", "0.3", "--samplers", "1", "--start-rate", "20", "--max-trials", "1",
        "--drain-timeout", "5", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["search"]["start_rate"] == 20 and result["search"]["max_trials"] == 1
    # one trial at the start rate; a failure while other processes kept the machine busy is
    # tried again at the same rate (`retried`: a run at -n 4 had one), and does not count
    trials = result["trials"]
    assert {trial["rate"] for trial in trials} == {20}
    assert [trial for trial in trials if not trial.get("retried")] == trials[-1:]


async def test_pingpong_times_every_round_trip(target: Target) -> None:
    out = await pingpong(target, PingpongOptions(rounds=100, warmup=10))
    result = out["result"]
    assert result["round_trips"] == 100
    rtt = result["rtt"]
    assert rtt["samples"] == 100
    assert 0 < rtt["p50_ms"] <= rtt["p99_ms"] <= rtt["max_ms"]


async def test_connect_registers_everyone_and_measures_the_server_process(server_process: Target) -> None:
    out = await connect_idle(server_process, ConnectOptions(clients=30, concurrency=10, idle=0.2))
    result = out["result"]
    assert (result["registered"], result["failed"], result["failures"]) == (30, 0, {})
    assert result["registration"]["samples"] == 30
    assert result["lost_while_idle"] == 0
    server = result["server"]
    assert server["rss_before_bytes"] > 0 and server["rss_after_bytes"] > 0
    assert isinstance(server["rss_per_client_bytes"], int)
    assert server["cpu_s"] >= 0
    assert "30 of 30" in human(_wrap("connect", out, server_process))


def test_command_line_starts_measures_and_stops_a_server() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hubbub.bench", "pingpong", "--rounds", "50", "--warmup", "5", "--json",
         "--label", "hubbub-asyncio", "--time-limit", "60",
         "--server-cmd", " ".join(default_server_cmd("asyncio"))],
        capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["scenario"] == "pingpong" and result["label"] == "hubbub-asyncio"
    assert result["server"]["version"].startswith("hubbub")
    assert result["result"]["round_trips"] == 50
    server = result["result"]["server"]
    assert server["cpu_s"] >= 0  # measured: the benchmark knew the pid
    # parted into user and system time when the kernel counted a tick of it (50 round trips may not)
    user, system = server["user_us_per_round_trip"], server["system_us_per_round_trip"]
    assert (user is None) == (system is None)
    if user is not None:
        assert user + system == pytest.approx(server["cpu_us_per_round_trip"], abs=0.02)
    pid = result["target"]["pid"]
    assert pid and not procstat.alive(pid)  # and stopped the server afterwards
    assert "| hubbub-asyncio | 50 |" in summary([result])  # the pingpong table row


FLOOR = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "floor.py")


@pytest.fixture
def floor_process():
    """bench/floor.py, the yardstick run-figures.sh runs as the server `floor`."""
    server = ServerProcess([sys.executable, FLOOR])
    host, port = server.start(timeout=30)
    yield Target(host, port, server.pid)
    server.stop()


async def test_the_floor_relays_to_a_channel_and_to_a_nick_as_the_scenarios_need(floor_process: Target) -> None:
    out = await fanout(floor_process, FanoutOptions(clients=6, senders=2, rate=40, duration=0.5, samplers=2,
                                                    drain_timeout=10))
    trial = out["result"]
    assert (trial["sent"], trial["delivered"], trial["lost"], trial["extra_lines"]) == (20, 100, 0, 0)
    assert (trial["sampler_gaps"], trial["sampler_reordered"]) == (0, 0)
    out = await pingpong(floor_process, PingpongOptions(rounds=50, warmup=5))
    assert out["result"]["round_trips"] == 50


def test_a_remote_target_is_refused_without_allow_remote(capsys) -> None:
    assert bench_main(["pingpong", "--connect", "192.0.2.1:6667"]) == 2
    assert "not a loopback address" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("192.0.2.1")


def test_a_cluster_over_websocket_is_refused_before_anything_starts(capsys) -> None:
    assert bench_main(["pingpong", "--cluster", "2", "--transport", "websocket"]) == 2
    assert "--cluster runs over TCP only" in capsys.readouterr().err
    assert bench_main(["store", "--transport", "websocket"]) == 2
    assert "--transport is for fanout, connect and pingpong" in capsys.readouterr().err


def test_sampler_reads_send_times_and_spots_gaps_and_reordering() -> None:
    sampler = Sampler(b"tagx")

    def line(sender: int, seq: int, sent_ns: int) -> bytes:
        return b":n!u@h PRIVMSG #c :tagx %d %d %d xxxx\r\n" % (sender, seq, sent_ns)

    data = line(0, 0, 1_000) + line(0, 1, 2_000) + line(0, 4, 3_000) + line(1, 7, 4_000)
    sampler.feed(data[:50], 10_000)  # a read may end in the middle of a line
    sampler.feed(data[50:] + line(0, 2, 5_000), 10_000)
    assert sampler.messages == 5
    assert sampler.gaps == 2 and sampler.reordered == 1
    assert sorted(sampler.latencies_ns) == [5_000, 6_000, 7_000, 8_000, 9_000]


def test_command_is_read_after_tags_and_source() -> None:
    assert _command(b":irc.example 376 nick :End of MOTD") == b"376"
    assert _command(b"@time=x :irc.example 366 nick #c :End") == b"366"
    assert _command(b"ERROR :Closing link") == b"ERROR"
    assert _command(b":s 251 nick :There are 433 users") == b"251"


def test_percentiles_and_latency_summary() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile(values, 100) == 100
    summary_ = latency_ms([1_000_000, 2_000_000, 3_000_000])
    assert summary_["samples"] == 3 and summary_["p50_ms"] == 2.0 and summary_["max_ms"] == 3.0
    assert latency_ms([])["p99_ms"] is None


def test_procstat_reads_a_live_process_and_not_a_missing_one() -> None:
    me = procstat.sample(os.getpid())
    assert me is not None and me.cpu_s > 0 and me.rss_bytes > 0
    assert procstat.sample(2**22 + 12345) is None
    assert procstat.alive(os.getpid())


# A child that waits for a line, spends 0.4 s of CPU one way, says so and waits to be let go.
_SPEND = """
import os, sys, time
work = sys.argv[1]
fd = os.open("/dev/zero", os.O_RDONLY)
buf = bytearray(1 << 20)
sys.stdin.readline()
end = time.process_time() + 0.4
while time.process_time() < end:  # a system call itself: asked once per batch
    for _ in range(20 if work == "system" else 20000):
        if work == "system":
            os.readv(fd, [buf])  # the kernel zeroes a MiB: system time
print("spent", flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize("work", ["user", "system"])
def test_a_window_parts_the_servers_cpu_into_user_and_system_time(work: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", _SPEND, work], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    try:
        window = procstat.Window(child.pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "spent\n"
        measured = window.close()
    finally:
        child.communicate("\n", timeout=10)
    assert measured.server_cpu_s is not None and measured.server_cpu_s >= 0.35
    share = measured.server_user_share
    assert share is not None
    if work == "user":
        assert share > 0.8
    else:
        assert share < 0.5
    user, system = measured.user_system(10.0)
    assert user is not None and system is not None and user + system == pytest.approx(10.0)
    assert measured.user_system(None) == (None, None)


def test_user_and_system_time_are_shown_where_they_were_measured() -> None:
    server = {"cpu_s": 2.0, "cpu_util": 0.5, "cpu_us_per_round_trip": 100.0, "user_us_per_round_trip": 40.0,
              "system_us_per_round_trip": 60.0, "rss_bytes": 1 << 20}
    result = {"scenario": "pingpong", "label": "x", "server": {"name": "t", "version": "v"},
              "target": {"host": "127.0.0.1", "port": 1, "pid": 2}, "params": {"warmup": 1},
              "result": {"round_trips": 10, "round_trips_per_s": 5.0, "server": server,
                         "rtt": {"p50_ms": 0.1, "p99_ms": 0.2, "max_ms": 0.3, "mean_ms": 0.1, "samples": 10},
                         "generator": {"cpu_s": 1.0, "util": 0.5}, "other_processes_util": 0.0}}
    assert "100.0 us per round trip (user 40.0, system 60.0)" in human(result)
    assert "| 100.0 | 40.0 / 60.0 |" in summary([result])
    server["user_us_per_round_trip"] = server["system_us_per_round_trip"] = None  # too short to tell
    assert "100.0 us per round trip\n" in human(result) and "(user" not in human(result)
    assert "| 100.0 | - |" in summary([result])


def test_procstat_tells_the_threads_of_a_process_apart_by_the_names_the_kernel_has() -> None:
    def spin(name: str | None = None) -> None:
        if name:
            name_this_thread(name)
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass

    before = procstat.threads(os.getpid())
    done = threading.Event()
    named = threading.Event()
    worker = threading.Thread(target=lambda: (spin("hubbub-write"), named.set(), done.wait(5)))
    worker.start()
    try:
        spin()
        assert named.wait(5)
        spent = procstat.threads_between(before, procstat.threads(os.getpid()))
    finally:
        done.set()
        worker.join()
    assert spent is not None
    assert spent["main"] >= 0.04 and spent["hubbub-write"] >= 0.04
    assert procstat.threads(2**22 + 12345) is None


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_cluster_run_spreads_clients_over_its_nodes_and_counts_redis_calls() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hubbub.bench", "fanout", "--cluster", "2", "-n", "12", "-k", "2", "-r", "40",
         "-d", "1", "--json", "--time-limit", "90"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    nodes = result["target"]["nodes"]
    assert len(nodes) == 2 and nodes[0] != nodes[1]
    trial = result["result"]
    assert trial["lost"] == 0 and trial["delivered"] == trial["expected"]  # across nodes, nothing lost
    redis = trial["redis"]
    assert redis["calls"].get("evalsha", 0) > 0 and redis["calls"].get("xread", 0) > 0
    assert redis["calls_per_message"] > 0
    assert redis["cpu_s"] > 0 and redis["cpu_us_per_message"] > 0
    assert not any(procstat.alive(pid) for pid in [result["target"]["pid"]])


def test_a_redis_reply_is_whole_when_resp_says_so() -> None:
    """The generator reads Redis's replies to their end as RESP frames them (never until
    a timeout: a read that waited would hold up the sending around it)."""
    assert _complete(b"+PONG\r\n") and _complete(b"-ERR no\r\n") and _complete(b":12\r\n")
    assert not _complete(b"+PON") and not _complete(b"")
    assert not _complete(b"$10\r\n12345") and not _complete(b"$10\r\n1234567890")
    assert _complete(b"$10\r\n1234567890\r\n") and _complete(b"$-1\r\n")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_the_bench_redis_answers_info_in_full() -> None:
    redis = RedisProcess()
    redis.start()
    try:
        reply = redis.command("INFO", "commandstats")
        head, _, body = reply.partition("\r\n")
        assert head.startswith("$") and len(body.encode()) == int(head[1:]) + 2
        assert "cmdstat_info" in redis.command("INFO", "commandstats")
        assert redis.calls()["info"] >= 2
    finally:
        redis.stop()
