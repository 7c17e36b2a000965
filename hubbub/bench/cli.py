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

`add_bench_parser(subparsers)` and `run_bench(args)` plug this into `hubbub`'s own
command line; `python -m hubbub.bench` runs it alone.
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
from hubbub.bench.loops import loop_factory, positive, threading_main
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

DESCRIPTION = (
    "Load generator for IRC servers (hubbub, InspIRCd, ngIRCd, any other): fanout, connect "
    "and pingpong scenarios, with the server's CPU and memory read from /proc."
)






def _common_arguments() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    target = common.add_argument_group("target (default: start a hubbub on a free loopback port)")
    target.add_argument("--connect", metavar="HOST:PORT", help="the server's address (with --server-cmd: "
                        "where the started server listens, when its output does not say)")
    target.add_argument("--server-cmd", metavar="CMD", help="start this server command, find its port, stop it "
                        "at the end (its pid is measured)")
    target.add_argument("--server-pid", type=int, metavar="PID",
                        help="sample this process's CPU time and RSS from /proc")
    target.add_argument("--port-pattern", metavar="REGEX",
                        help="regex with (host) and (port) groups to find the port in the server's output "
                             "(default: hubbub's 'listening irc' line, or 'listening web' with --transport websocket)")
    target.add_argument("--transport", choices=["tcp", "websocket"], default="tcp",
                        help="how the clients connect: IRC over TCP, or IRC over WebSocket (IRCv3) to --ws-path")
    target.add_argument("--ws-path", default="/webirc", metavar="PATH",
                        help="the WebSocket's path on the web listener (default /webirc)")
    target.add_argument("--startup-timeout", type=positive(float), default=20.0, metavar="SECONDS")
    target.add_argument("--server-log", metavar="FILE", help="copy the started server's output here")
    target.add_argument("--allow-remote", action="store_true",
                        help="accept a target that is not a loopback address")
    target.add_argument("--cluster", type=positive(int), metavar="NODES",
                        help="start a redis-server and this many hubbub nodes sharing it (--server-cmd: "
                        "the node command, without --cluster); clients are spread over the nodes")
    out = common.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("--output", "-o", metavar="FILE", help="also write the JSON result to FILE")
    out.add_argument("--label", help="a name for this server in reports (e.g. hubbub-uvloop)")
    out.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                     help="progress bar on stderr (auto: when stderr is a terminal)")
    run = common.add_argument_group("run")
    run.add_argument("--time-limit", type=positive(float), default=900.0, metavar="SECONDS",
                     help="stop the whole run after this long (default 900)")
    run.add_argument("--generator-loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                     help="event loop of the load generator")
    return common


def add_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `bench` and its scenarios to a command line's subcommands."""
    bench: argparse.ArgumentParser = subparsers.add_parser(
        "bench", help="load generator: measure hubbub or any IRC server", description=DESCRIPTION
    )
    configure_parser(bench)
    return bench


def configure_parser(parser: argparse.ArgumentParser) -> None:
    common = _common_arguments()
    sub = parser.add_subparsers(dest="scenario", metavar="SCENARIO")
    sub.required = True

    f = sub.add_parser("fanout", parents=[common], help="N clients in a channel, K senders at a total rate R",
                       description="N clients in one channel; K of them send at a total rate R (open loop) "
                                   "for D seconds. Reports deliveries/s, losses, latency, and the server's "
                                   "CPU seconds per million deliveries.")
    f.add_argument("-n", "--clients", type=positive(int), default=100, help="clients in the channel (N)")
    f.add_argument("-k", "--senders", type=positive(int), default=10, help="clients that send (K)")
    f.add_argument("-r", "--rate", type=positive(float), default=100.0, help="messages/s from all senders (R)")
    f.add_argument("-d", "--duration", type=positive(float), default=10.0, help="seconds of sending (per trial)")
    f.add_argument("--size", type=positive(int), default=64, help="bytes of message text")
    f.add_argument("--samplers", type=int, default=5, help="receivers that measure latency")
    f.add_argument("--stalled", type=int, default=0, metavar="M",
                   help="members that stop reading once set up (not counted): what a stalled reader costs "
                        "the others")
    f.add_argument("--procs", type=positive(int), default=1, help="processes holding the receivers")
    f.add_argument("--concurrency", type=positive(int), default=50, help="registrations in flight during setup")
    f.add_argument("--setup-timeout", type=positive(float), default=120.0, metavar="SECONDS")
    f.add_argument("--drain-timeout", type=positive(float), default=10.0, metavar="SECONDS",
                   help="how long to wait for the last deliveries after sending stops")
    f.add_argument("--max-p99-ms", type=positive(float), default=500.0,
                   help="p99 latency above which a trial does not hold")
    m = f.add_argument_group("find-max")
    m.add_argument("--find-max", action="store_true",
                   help="search the highest rate held with no loss and p99 under --max-p99-ms")
    m.add_argument("--start-rate", type=positive(float), default=50.0)
    m.add_argument("--precision", type=positive(float), default=0.1,
                   help="stop when the lowest failing rate is within this fraction of the best held one")
    m.add_argument("--max-trials", type=positive(int), default=12)
    m.add_argument("--max-time", type=positive(float), default=300.0, metavar="SECONDS",
                   help="time budget of the search's trials (setup not included)")
    m.add_argument("--retries", type=int, default=1,
                   help="re-run a failed trial this many times when other processes disturbed it")

    c = sub.add_parser("connect", parents=[common], help="C clients register and idle",
                       description="C connections register and stay idle: registrations/s, failures, and "
                                   "the server's RSS per client.")
    c.add_argument("-c", "--clients", type=positive(int), default=1000)
    c.add_argument("--concurrency", type=positive(int), default=100, help="registrations in flight at once")
    c.add_argument("--idle", type=float, default=3.0, metavar="SECONDS", help="idle time before measuring memory")
    c.add_argument("--timeout", type=positive(float), default=30.0, metavar="SECONDS", help="per registration")

    p = sub.add_parser("pingpong", parents=[common], help="two clients bounce a PRIVMSG: round-trip times")
    p.add_argument("--rounds", type=positive(int), default=5000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--size", type=positive(int), default=32, help="bytes of message text")
    p.add_argument("--max-time", type=positive(float), default=60.0, metavar="SECONDS")

    history_cli.add_parsers(sub, common)

    s = sub.add_parser("summary", help="Markdown tables from --json result files")
    s.add_argument("files", nargs="+", metavar="RESULT.json")


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




def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubbub bench", description=DESCRIPTION)
    configure_parser(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_bench(args)
