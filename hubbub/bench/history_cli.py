"""`hubbub bench store` and `hubbub bench history`: their command line and their reports.

    hubbub bench store [--find-max] [-n 10] [-k 5] [--db FILE|URL] ...
    hubbub bench history [--messages 1000000] [--queries 200] [--db FILE|URL [--reuse]] ...

Both need the database the server writes: a SQLite file, or a `postgresql://` URL.
Without a target they start a hubbub of their own on it (a temporary file unless `--db`
names one); with `--server-cmd` the command must use the database `--db` names. `store`
counts the messages before and after (the server stopped) and compares the difference
with what was sent; `history` fills the database first (`--reuse` queries an existing
one as it is).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict
from typing import Any

from hubbub import __version__
from hubbub.bench import history, scenarios
from hubbub.bench.loops import loop_factory, threading_main
from hubbub.bench.report import Progress, _ms, _n, _pct, human
from hubbub.bench.serverproc import (
    HUBBUB_BENCH_SETTINGS,
    ServerProcess,
    ServerStartError,
    is_loopback,
    parse_address,
)
from hubbub.bench.worker import WorkerError
from hubbub.store import shown

SCENARIOS = ("store", "history")


def _server_cmd(db: str) -> list[str]:
    """A hubbub that keeps history in `db`, with the limits that would throttle a generator off."""
    cmd = [sys.executable, "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", db,
           "--set", "history.enabled=true"]  # fmt: skip
    for setting in HUBBUB_BENCH_SETTINGS:
        cmd += ["--set", setting]
    return cmd


def run(args: argparse.Namespace) -> int:
    """Run `store` or `history` as `args` say; print the report; 0 when the run completed."""

    refused = _refused(args)
    if refused:
        print(f"hubbub bench {args.scenario}: {refused}", file=sys.stderr)
        return 2
    if threading_main() and hasattr(signal, "alarm"):
        signal.alarm(int(args.time_limit) + 60)  # backstop: the run is bounded even if something hangs
    progress = Progress(args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty() and not args.json))
    temp = None if args.db else tempfile.mkdtemp(prefix="hubbub-bench-")
    db = args.db or os.path.join(temp or "", "history.db")
    if not history.is_postgres(db):
        db = os.path.abspath(db)
    keep = temp is not None and args.scenario == "history" and args.keep
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    server: ServerProcess | None = None
    try:
        server = ServerProcess(args.server_cmd or _server_cmd(db),
                               connect=parse_address(args.connect) if args.connect else None,
                               port_pattern=args.port_pattern, log_path=args.server_log)  # fmt: skip
        result, target = _execute(args, db, server if args.server_cmd or not args.connect else None, progress)
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
        if hasattr(signal, "alarm"):
            signal.alarm(0)
        if temp is not None and not keep:
            shutil.rmtree(temp, ignore_errors=True)
    if keep:
        print(f"hubbub bench: the database is kept in {db}", file=sys.stderr)
    started = server is not None and server.proc is not None
    command = server.command.replace(db, shown(db)) if started and server is not None else None
    result = {**_header(args, target, command, started_at, load_before), **result}
    text = json.dumps(result, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text if args.json else report(result))
    return 0


def _refused(args: argparse.Namespace) -> str | None:
    """Why these arguments cannot be run, if they cannot."""
    if (args.server_cmd or args.connect) and not args.db:
        return "give --db FILE or --db URL, the database the server uses"
    if args.cluster:
        return "--cluster is for fanout, connect and pingpong; give --server-cmd a node's command instead"
    if args.transport != "tcp":
        return "--transport is for fanout, connect and pingpong: these clients speak IRC over TCP"
    if args.connect:
        try:
            host, _ = parse_address(args.connect)
        except ValueError as exc:
            return f"--connect: {exc}"
        if not is_loopback(host) and not args.allow_remote:
            return (f"{host} is not a loopback address; pass --allow-remote if you really mean to load a server "
                    "on another machine")  # fmt: skip
    return None


def _execute(args: argparse.Namespace, db: str, server: ServerProcess | None,
             progress: Progress) -> tuple[dict[str, Any], scenarios.Target]:  # fmt: skip
    """Fill or count the database, start the server (unless it runs already), measure."""

    with asyncio.Runner(loop_factory=loop_factory(args.generator_loop)) as runner:
        result: dict[str, Any] = {}
        if args.scenario == "history":
            opts = history.HistoryOptions(
                messages=args.messages, other_channels=args.others, other_messages=args.other_messages,
                queries=args.queries, warmup=args.warmup, limit=args.limit, batch=args.batch, seed=args.seed,
            )  # fmt: skip
            result["params"] = _params(opts)
            if not args.reuse:
                result["prefill"] = runner.run(asyncio.wait_for(history.prefill(db, opts, progress), args.time_limit))
            count, first, last = runner.run(history.db_facts(db, opts.channel))
            result["database"] = {"path": shown(db), "backend": _backend(db), "bytes": runner.run(history.db_bytes(db)),
                                  "channel": opts.channel, "channel_messages": count,
                                  "all_messages": runner.run(history.count_messages(db))}  # fmt: skip
        else:
            before = runner.run(history.count_messages(db))
        host, port = server.start(args.startup_timeout) if server is not None else parse_address(args.connect)
        if not is_loopback(host) and not args.allow_remote:
            raise ServerStartError(f"{host} is not a loopback address (see --allow-remote)")
        target = scenarios.Target(host, port, args.server_pid or (server.pid if server else None))
        info = runner.run(scenarios.probe_server(target))
        if args.scenario == "history":
            answers = runner.run(asyncio.wait_for(history.history_queries(target, opts, first, last, progress),
                                                  args.time_limit))  # fmt: skip
            result.update(result=answers, warnings=_history_warnings(answers))
        else:
            fan = scenarios.FanoutOptions(
                clients=args.clients, senders=args.senders, rate=args.rate, duration=args.duration, size=args.size,
                samplers=args.samplers, concurrency=args.concurrency, drain_timeout=args.drain_timeout,
                max_p99_ms=args.max_p99_ms, loop=args.generator_loop,
            )  # fmt: skip
            search = scenarios.FindMaxOptions(start_rate=args.start_rate, precision=args.precision,
                                              max_trials=args.max_trials, max_time=args.max_time,
                                              retries=args.retries) if args.find_max else None  # fmt: skip
            result = runner.run(asyncio.wait_for(history.store_run(target, fan, search, progress), args.time_limit))
            if server is not None:
                server.stop()  # once it has exited, everything it was handed is committed
            result = runner.run(history.checked(result, db, before))
            result["stored"]["backend"] = _backend(db)
        result["server"] = info
        result["generator_loop"] = type(runner.get_loop()).__module__.split(".")[0]
    return result, target


def _header(args: argparse.Namespace, target: scenarios.Target, server_cmd: str | None, started_at: str,
            load_before: tuple[float, float, float]) -> dict[str, Any]:  # fmt: skip
    """What every result file starts with (as `hubbub bench`'s other scenarios write it)."""
    return {
        "tool": "hubbub bench",
        "hubbub_version": __version__,
        "scenario": args.scenario,
        "label": args.label,
        "started_at": started_at,
        "target": {"host": target.host, "port": target.port, "pid": target.pid},
        "server_cmd": server_cmd,
        "machine": {
            "cpus": os.cpu_count(),
            "generator_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def _params(opts: history.HistoryOptions) -> dict[str, Any]:
    params = asdict(opts)
    params.pop("plan")
    params["search_ranks"] = list(opts.search_ranks)
    return params


def _backend(db: str) -> str:
    return "postgresql" if history.is_postgres(db) else "sqlite"


def _history_warnings(result: dict[str, Any]) -> list[str]:
    warnings = scenarios.disturbed_warning(result.get("other_processes_util"))
    for kind in ("latest", "before"):
        summary = result[kind]
        if summary["lines_max"] == 0:
            warnings.append(f"every {kind.upper()} answer was empty: is history kept?")
    return warnings


# -- reports ------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    """The result of one `store` or `history` run as a short text report."""
    if result["scenario"] == "store":
        lines = [human({**result, "scenario": "fanout"}).replace("hubbub bench fanout", "hubbub bench store", 1)]
        stored = result.get("stored")
        if stored:
            verdict = "all stored" if stored["all_stored"] else "NOT all stored"
            lines.append(f"  stored: {stored['stored']:,} messages of {stored['sent']:,} sent ({verdict}; "
                         f"read from {stored['db']} after the server stopped)")  # fmt: skip
        per = result.get("server_cpu_us_per_stored_message")
        if result.get("stored_per_s") is not None:
            lines.append(f"  messages stored per second: {_n(result['stored_per_s'])}"
                         + (f" ({per:.1f} us of server CPU per message, delivery included)" if per else ""))
        return "\n".join(lines)
    r = result["result"]
    db = result["database"]
    lines = [f"hubbub bench history: {db['channel_messages']:,} messages in {db['channel']} "
             f"({db['all_messages']:,} in all, {db['bytes'] / 1048576:,.0f} MiB)"]
    fill = result.get("prefill")
    if fill:
        lines.append(f"  filled in {fill['seconds']:g} s; the store wrote {_n(fill['stored_per_s'])} messages/s "
                     f"in batches of {fill['batch']:,}")
    rows = [("LATEST * " + str(result["params"]["limit"]), r["latest"]),
            ("BEFORE at random points", r["before"])]
    rows += [(f"SEARCH {s['kind']} ({s['words']}, ~{s['expected_matches']:,} matches)", s) for s in r["search"]]
    rows.append(("SEARCH, all words", r["search_all"]))
    width = max(len(name) for name, _ in rows)
    for name, t in rows:
        lines.append(f"  {name:<{width}}  p50 {_ms(t['p50_ms'])} ms, p99 {_ms(t['p99_ms'])} ms, "
                     f"max {_ms(t['max_ms'])} ms ({t['samples']} round trips)")
    server = r.get("server")
    if server:
        lines.append(f"  server CPU: {server['cpu_ms_per_query']:.2f} ms per question")
    lines.append(f"  other processes: {_pct(r.get('other_processes_util'))} of a core")
    for warning in result.get("warnings", []):
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
