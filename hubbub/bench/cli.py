"""`hubbub bench`: the command line of the load generator.

    hubbub bench fanout  [--find-max] [-n CLIENTS] [-k SENDERS] [-r RATE] [-d SECONDS] ...
    hubbub bench connect [-c CLIENTS] [--concurrency W] [--idle SECONDS]
    hubbub bench pingpong [--rounds N]
    hubbub bench store   [--find-max] [--db FILE]       (history_cli.py)
    hubbub bench history [--messages M] [--queries Q]   (history_cli.py)
    hubbub bench summary RESULT.json...

`--transport websocket` has the clients speak IRC over WebSocket (IRCv3) to the web
listener's `/webirc` instead of IRC over TCP: `--connect` then names the web listener,
and a hubbub started by the benchmark gets one on a free port.

Every scenario takes a target: `--connect HOST:PORT` (a running server; `--server-pid`
to measure it), `--server-cmd "..."` (started, found, measured and stopped by the
benchmark), or nothing, which starts a hubbub with its limits off. Only loopback
targets are accepted unless `--allow-remote` is given: a load generator pointed at
somebody else's server by mistake is an attack.

`add_bench_parser(subparsers)` (bench/parser.py: the arguments alone, which every
`hubbub` command builds) and `run_bench(args)` plug this into `hubbub`'s own command
line; `python -m hubbub.bench` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shlex
import signal
import sys
from typing import Any

from hubbub import __version__
from hubbub.bench import history_cli, procstat, scenarios
from hubbub.bench.cluster import LocalCluster
from hubbub.bench.loops import loop_factory, threading_main
from hubbub.bench.parser import build_parser
from hubbub.bench.report import Progress, human, load_results, summary
from hubbub.bench.serverproc import (
    DEFAULT_PORT_PATTERN,
    WEB_PORT_PATTERN,
    ServerProcess,
    ServerStartError,
    default_server_cmd,
    is_loopback,
    parse_address,
)
from hubbub.bench.worker import WorkerError


async def _run_scenario(args: argparse.Namespace, target: scenarios.Target, progress: Progress) -> dict[str, Any]:
    info = await scenarios.probe_server(target)
    if args.scenario == "fanout":
        opts = scenarios.FanoutOptions(
            clients=args.clients, senders=args.senders, rate=args.rate, duration=args.duration, size=args.size,
            samplers=args.samplers, stalled=args.stalled, procs=args.procs, concurrency=args.concurrency,
            setup_timeout=args.setup_timeout, drain_timeout=args.drain_timeout, max_p99_ms=args.max_p99_ms,
            loop=args.generator_loop,
        )
        if args.find_max:
            search = scenarios.FindMaxOptions(start_rate=args.start_rate, precision=args.precision,
                                              max_trials=args.max_trials, max_time=args.max_time,
                                              retries=args.retries)
            result = await scenarios.fanout_find_max(target, opts, search, progress)
        else:
            result = await scenarios.fanout(target, opts, progress)
    elif args.scenario == "connect":
        opts_c = scenarios.ConnectOptions(clients=args.clients, concurrency=args.concurrency, idle=args.idle,
                                          timeout=args.timeout)
        result = await scenarios.connect_idle(target, opts_c, progress)
    else:
        opts_p = scenarios.PingpongOptions(rounds=args.rounds, warmup=args.warmup, size=args.size,
                                           max_time=args.max_time)
        result = await scenarios.pingpong(target, opts_p, progress)
    loop = asyncio.get_running_loop()
    result["server"] = info
    result["generator_loop"] = type(loop).__module__.split(".")[0]
    return result


def _needed_fds(args: argparse.Namespace) -> int:
    if args.scenario == "fanout":
        return int(args.clients // max(1, args.procs) + args.senders + args.samplers + args.stalled + 64)
    if args.scenario == "connect":
        return int(args.clients + 64)
    return 64


def run_bench(args: argparse.Namespace) -> int:
    """Run the scenario `args` describe; print the report; 0 when the run completed.

    Meant for the command line: it arms SIGALRM as a last-resort bound on the run.
    """
    if args.scenario == "summary":
        print(summary(load_results(args.files)))
        return 0
    if args.scenario in history_cli.SCENARIOS:
        return history_cli.run(args)
    fd_limit = procstat.raise_fd_limit()
    if _needed_fds(args) > fd_limit:
        print(f"hubbub bench: this run needs about {_needed_fds(args)} file descriptors and the limit is "
              f"{fd_limit}; raise it (ulimit -n) or use --procs", file=sys.stderr)
        return 2
    if args.cluster and args.transport != "tcp":
        print("hubbub bench: --cluster runs over TCP only (its nodes listen for IRC, not on the web)",
              file=sys.stderr)
        return 2
    if args.connect:
        try:
            address = parse_address(args.connect)
        except ValueError as exc:
            print(f"hubbub bench: --connect: {exc}", file=sys.stderr)
            return 2
        if not is_loopback(address[0]) and not args.allow_remote:
            print(f"hubbub bench: {address[0]} is not a loopback address; pass --allow-remote if you "
                  "really mean to load a server on another machine", file=sys.stderr)
            return 2
    if threading_main() and hasattr(signal, "alarm"):
        signal.alarm(int(args.time_limit) + 60)  # backstop: the run is bounded even if something hangs
    progress = Progress(args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty()
                                                   and not args.json))
    server: ServerProcess | None = None
    cluster: LocalCluster | None = None
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    try:
        if args.cluster:
            cluster = LocalCluster(args.cluster, shlex.split(args.server_cmd) if args.server_cmd else None,
                                   args.server_log)
            cluster.start(args.startup_timeout)
            host, port = cluster.addresses[0]
        elif args.server_cmd or not args.connect:
            websocket = args.transport == "websocket"
            pattern = args.port_pattern or (WEB_PORT_PATTERN if websocket else DEFAULT_PORT_PATTERN)
            server = ServerProcess(args.server_cmd or default_server_cmd(web=websocket),
                                   connect=parse_address(args.connect) if args.connect else None,
                                   port_pattern=pattern, log_path=args.server_log)
            host, port = server.start(args.startup_timeout)
        else:
            host, port = parse_address(args.connect)
        if not is_loopback(host) and not args.allow_remote:
            raise ServerStartError(f"{host} is not a loopback address (see --allow-remote)")
        pid = args.server_pid or (server.pid if server else None)
        target = scenarios.Target(host, port, pid, args.ws_path if args.transport == "websocket" else None)
        if cluster is not None:
            pids = cluster.pids
            target = scenarios.Target(host, port, pids[0], None, list(cluster.addresses), pids[1:],
                                      cluster.redis.calls, cluster.redis.pid)
        with asyncio.Runner(loop_factory=loop_factory(args.generator_loop)) as runner:
            result = runner.run(asyncio.wait_for(_run_scenario(args, target, progress), args.time_limit))
    except (scenarios.BenchError, ServerStartError, WorkerError, OSError, ConnectionError) as exc:
        progress.done()
        print(f"hubbub bench: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        progress.done()
        print(f"hubbub bench: the run did not finish within --time-limit {args.time_limit:g}s", file=sys.stderr)
        return 1
    finally:
        progress.done()
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.stop()
        if hasattr(signal, "alarm"):
            signal.alarm(0)
    header: dict[str, Any] = {
        "tool": "hubbub bench",
        "hubbub_version": __version__,
        "scenario": args.scenario,
        "label": args.label,
        "started_at": started_at,
        "target": {"host": target.host, "port": target.port, "pid": target.pid, "transport": args.transport,
                   "nodes": target.nodes or None},
        "server_cmd": server.command if server else cluster.command if cluster else None,
        "machine": {
            "cpus": os.cpu_count(),
            "generator_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    result = {**header, **result}
    text = json.dumps(result, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text if args.json else human(result))
    return 0




def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_bench(args)
