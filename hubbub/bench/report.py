"""Showing results: a table for people, a progress bar on long runs, and a Markdown
summary of several `--json` result files (what `bench/run-figures.sh` puts in the docs).

The JSON written by `--json` is the result dict itself; everything here only reads it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO


def _n(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 1048576:,.1f} MiB"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _user_system(server: dict[str, Any], unit: str, digits: int) -> tuple[str, str] | None:
    """`server`'s CPU per `unit` in user and in system mode, shown; None when not measured.
    At everyday load the user part is where two servers differ."""
    user, system = server.get(f"user_{unit}"), server.get(f"system_{unit}")
    return None if user is None or system is None else (_n(user, digits), _n(system, digits))


def _pair(server: dict[str, Any], unit: str, digits: int) -> str:
    """For a table: "user / system", or "-"."""
    shown = _user_system(server, unit, digits)
    return "-" if shown is None else f"{shown[0]} / {shown[1]}"


def _modes(server: dict[str, Any], unit: str, digits: int) -> str:
    """For a line of the report: " (user U, system S)", or nothing."""
    shown = _user_system(server, unit, digits)
    return "" if shown is None else f" (user {shown[0]}, system {shown[1]})"


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, enabled: bool, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.enabled = enabled
        self.stream = stream
        self.width = width
        self._last = 0.0
        self._shown = False

    def __call__(self, fraction: float, text: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and fraction < 1.0:
            return
        self._last = now
        fraction = min(1.0, max(0.0, fraction))
        filled = int(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {fraction * 100:3.0f}% {text[:60]:<60}")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * (self.width + 70) + "\r")
            self.stream.flush()
            self._shown = False


# -- the human table -------------------------------------------------------------------------------


def _rows(rows: Iterable[tuple[str, str]]) -> list[str]:
    rows = list(rows)
    width = max((len(k) for k, _ in rows), default=0)
    return [f"  {k:<{width}}  {v}" for k, v in rows]


def _trial_rows(trial: dict[str, Any], clients: int) -> list[tuple[str, str]]:
    lat = trial["latency"]
    server = trial.get("server")
    gen = trial["generator"]
    rows = [
        ("offered", f"{_n(trial['offered_msgs_per_s'], 1)} msg/s ({_n(trial['sent'])} messages "
                    f"in {trial['duration_s']:g} s, to {clients - 1 - trial.get('stalled', 0):,} counted "
                    "receivers each)"),
        ("delivered", f"{_n(trial['delivered_lines_per_s'])} lines/s ({_n(trial['delivered'])} of "
                      f"{_n(trial['expected'])}; lost {_n(trial['lost'])}, disconnected {trial['disconnects']})"),
        ("latency", f"p50 {_ms(lat['p50_ms'])} ms, p99 {_ms(lat['p99_ms'])} ms, max {_ms(lat['max_ms'])} ms "
                    f"({_n(lat['samples'])} samples)"),
    ]
    if server:
        rows.append(("server CPU", f"{server['cpu_s']:.2f} s ({_pct(server['cpu_util'])} of a core), "
                                   f"{_n(server['cpu_s_per_million'], 2)} s per million deliveries"
                                   f"{_modes(server, 's_per_million', 2)}, RSS {_mib(server['rss_bytes'])}"))
        by_thread = server.get("threads") or {}
        if len(by_thread) > 1:
            rows.append(("by thread", ", ".join(
                f"{name} {_n(t['cpu_s_per_million'], 2)}" for name, t in by_thread.items()
            ) + " s per million deliveries"))
    else:
        rows.append(("server CPU", "not measured (give --server-pid, or start it with --server-cmd)"))
    if trial.get("stalled"):
        rows.append(("stalled", f"{trial['stalled']} members read nothing; the server dropped "
                                f"{trial['stalled_dropped']} of them"))
    redis = trial.get("redis")
    if redis:
        rows.append(("redis", f"{_n(redis['calls_per_message'], 2)} commands per message, "
                              f"{_n(redis.get('cpu_us_per_message'), 1)} µs of Redis CPU per message"))
    rows.append(("generator CPU", f"{gen['cpu_s']:.2f} s (main process {_pct(gen['main_process_util'])} "
                                  f"of a core; send lag p99 {_ms(gen['send_lag_ms_p99'])} ms)"))
    rows.append(("other processes", f"{_pct(trial.get('other_processes_util'))} of a core"))
    rows.append(("verdict", "held" if trial["ok"] else f"did not hold: {trial['why']}"))
    return rows


def _trials_table(trials: list[dict[str, Any]]) -> list[str]:
    head = ("rate", "offered", "deliveries/s", "lost", "p50 ms", "p99 ms", "max ms", "srv CPU", "CPU s/M",
            "gen CPU", "others", "verdict")
    rows = [head]
    for t in trials:
        if t.get("retried"):
            t = {**t, "why": "retried (disturbed): " + t["why"]}
        server = t.get("server") or {}
        rows.append((
            f"{t['rate']:g}", _n(t["offered_msgs_per_s"]), _n(t["delivered_lines_per_s"]), _n(t["lost"]),
            _ms(t["latency"]["p50_ms"]), _ms(t["latency"]["p99_ms"]), _ms(t["latency"]["max_ms"]),
            _pct(server.get("cpu_util")), _n(server.get("cpu_s_per_million"), 2),
            _pct(t["generator"]["main_process_util"]), _pct(t.get("other_processes_util")),
            "held" if t["ok"] else t["why"][:40],
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i < len(head) - 1 else c for i, (c, w) in enumerate(zip(r, widths, strict=False))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def human(result: dict[str, Any]) -> str:
    """The result of one run as a short text report."""
    scenario = result["scenario"]
    server = result.get("server") or {}
    target = result["target"]
    who = " ".join(x for x in (server.get("name"), server.get("version")) if x) or "server"
    label = f" [{result['label']}]" if result.get("label") else ""
    pid = f", pid {target['pid']}" if target.get("pid") else ""
    over = " over WebSocket" if target.get("transport") == "websocket" else ""
    lines = [f"hubbub bench {scenario}{label}: {who} at {target['host']}:{target['port']}{pid}{over}"]
    params = result.get("params", {})
    if scenario == "fanout":
        stalled = params.get("stalled") or 0
        lines.append(f"  {params['clients']:,} clients in one channel, {params['senders']} senders, "
                     + (f"{stalled} stalled (reading nothing), " if stalled else "")
                     + f"{params['size']}-byte messages, setup {result['setup_s']:.1f} s")
        if "trials" in result:
            lines.extend(_trials_table(result["trials"]))
            if result["best"]:
                best = result["best"]
                lines.append(f"  max sustained: {best['rate']:g} msg/s = {_n(result['max_deliveries_per_s'])} "
                             f"deliveries/s (p99 {_ms(best['latency']['p99_ms'])} ms, "
                             f"{_n((best.get('server') or {}).get('cpu_s_per_million'), 2)} CPU s per million)")
            else:
                lines.append("  no rate held")
            others = result.get("max_other_processes_util")
            if others is not None and others > 0.25:
                lines.append(f"  note: other processes used up to {others * 100:.0f}% of a core during these trials "
                             "(column 'others'): the machine was not quiet")
        else:
            lines.extend(_rows(_trial_rows(result["result"], params["clients"])))
    elif scenario == "connect":
        r = result["result"]
        reg = r["registration"]
        rows = [
            ("registered", f"{_n(r['registered'])} of {_n(r['clients'])} ({_n(r['failed'])} failed"
                           + (f": {r['failures']}" if r["failures"] else "") + f") in {r['seconds']:.2f} s"),
            ("rate", f"{_n(r['registrations_per_s'])} registrations/s ({params['concurrency']} in flight)"),
            ("registration", f"p50 {_ms(reg['p50_ms'])} ms, p99 {_ms(reg['p99_ms'])} ms, max {_ms(reg['max_ms'])} ms"),
        ]
        s = r.get("server")
        if s:
            per = s["rss_per_client_bytes"]
            rows.append(("server RSS", f"{_mib(s['rss_before_bytes'])} -> {_mib(s['rss_after_bytes'])} after "
                                       f"{params['idle']:g} s idle: "
                                       f"{'-' if per is None else f'{per / 1024:.1f} KiB'} per client"))
            rows.append(("server CPU", f"{s['cpu_s']:.2f} s ({_pct(s['cpu_util'])} of a core), "
                                       f"{_n(s['cpu_ms_per_registration'], 3)} ms per registration"))
        else:
            rows.append(("server", "RSS and CPU not measured (give --server-pid, or start it with --server-cmd)"))
        rows.append(("lost while idle", _n(r["lost_while_idle"])))
        rows.append(("generator CPU", f"{r['generator']['cpu_s']:.2f} s ({_pct(r['generator']['util'])} of a core)"))
        rows.append(("other processes", f"{_pct(r.get('other_processes_util'))} of a core"))
        lines.extend(_rows(rows))
    elif scenario == "pingpong":
        r = result["result"]
        rtt = r["rtt"]
        rows = [
            ("round trips", f"{_n(r['round_trips'])} ({_n(r['round_trips_per_s'])}/s), after "
                            f"{params['warmup']} to warm up"),
            ("RTT", f"p50 {_ms(rtt['p50_ms'])} ms, p99 {_ms(rtt['p99_ms'])} ms, max {_ms(rtt['max_ms'])} ms, "
                    f"mean {_ms(rtt['mean_ms'])} ms"),
        ]
        s = r.get("server")
        if s:
            rows.append(("server CPU", f"{s['cpu_s']:.2f} s ({_pct(s['cpu_util'])} of a core), "
                                       f"{_n(s['cpu_us_per_round_trip'], 1)} us per round trip"
                                       f"{_modes(s, 'us_per_round_trip', 1)}"))
        rows.append(("generator CPU", f"{r['generator']['cpu_s']:.2f} s ({_pct(r['generator']['util'])} of a core)"))
        rows.append(("other processes", f"{_pct(r.get('other_processes_util'))} of a core"))
        lines.extend(_rows(rows))
    for warning in result.get("warnings", []):
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


# -- the Markdown summary of several runs ----------------------------------------------------------


def _label(result: dict[str, Any]) -> str:
    label = result.get("label") or (result.get("server") or {}).get("version") or "?"
    websocket = (result.get("target") or {}).get("transport") == "websocket"
    return f"{label} (WebSocket)" if websocket else label


def _notes(result: dict[str, Any]) -> list[str]:
    """Warnings worth a table cell (the disturbance by other processes has its own column)."""
    return [w for w in result.get("warnings", []) if "other processes used" not in w]


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def summary(results: list[dict[str, Any]]) -> str:
    """Markdown tables of the headline figures of many runs, grouped by scenario."""
    out: list[str] = []
    finds = [r for r in results if r.get("scenario") == "fanout" and "trials" in r]
    if finds:
        rows = []
        for r in sorted(finds, key=lambda r: (r["params"]["clients"], _label(r))):
            best = r.get("best") or {}
            server = best.get("server") or {}
            failed = [t for t in r["trials"] if not t["ok"] and not t.get("retried")]
            first_fail = min(failed, key=lambda t: t["rate"]) if failed else None
            rows.append([_label(r), _n(r["params"]["clients"]), _n(r["params"]["senders"]),
                         _n(r.get("max_rate"), 1), _n(r.get("max_deliveries_per_s")),
                         _ms((best.get("latency") or {}).get("p99_ms")),
                         _n(server.get("cpu_s_per_million"), 2), _pct(server.get("cpu_util")),
                         _pct((best.get("generator") or {}).get("main_process_util")),
                         _pct(r.get("max_other_processes_util")),
                         f"{first_fail['rate']:g}: {first_fail['why']}" if first_fail else "-",
                         "; ".join([str(len(r["trials"]))] + _notes(r))])
        out += ["### Fanout, highest rate held (no loss, p99 < 500 ms)", ""]
        out += _md_table(["server", "N", "K", "max msg/s", "deliveries/s", "p99 ms at max", "CPU s per M",
                          "server CPU", "generator CPU", "others (max)", "lowest failed rate: why",
                          "trials; notes"], rows)
        out.append("")
    fixed = [r for r in results if r.get("scenario") == "fanout" and "result" in r]
    if fixed:
        rows = []
        for r in sorted(fixed, key=lambda r: (r["params"]["clients"], r["params"]["rate"], r["params"].get("size", 64),
                                              r["params"].get("stalled") or 0, _label(r))):
            t = r["result"]
            server = t.get("server") or {}
            stalled, size = r["params"].get("stalled") or 0, r["params"].get("size", 64)
            notes = ([f"{size} B"] if size != 64 else []) + ([f"{stalled} stalled"] if stalled else [])
            n = _n(r["params"]["clients"]) + (f" ({', '.join(notes)})" if notes else "")
            rows.append([_label(r), n, _n(t["rate"], 0), _n(t["delivered_lines_per_s"]),
                         _n(t["lost"]), _ms(t["latency"]["p50_ms"]), _ms(t["latency"]["p99_ms"]),
                         _ms(t["latency"]["max_ms"]), _n(server.get("cpu_s_per_million"), 2),
                         _pair(server, "s_per_million", 2),
                         _pct(server.get("cpu_util")), _pct(t["generator"]["main_process_util"]),
                         _pct(t.get("other_processes_util")), "held" if t["ok"] else t["why"]])
        out += ["### Fanout at a fixed rate", ""]
        out += _md_table(["server", "N", "msg/s", "deliveries/s", "lost", "p50 ms", "p99 ms", "max ms",
                          "CPU s per M", "user / system", "server CPU", "generator CPU", "others", "verdict"],
                         rows)
        out.append("")
    conns = [r for r in results if r.get("scenario") == "connect"]
    if conns:
        rows = []
        for r in sorted(conns, key=lambda r: (r["params"]["clients"], _label(r))):
            t = r["result"]
            server = t.get("server") or {}
            per = server.get("rss_per_client_bytes")
            rows.append([_label(r), _n(t["clients"]), _n(r["params"]["concurrency"]), _n(t["registered"]),
                         _n(t["failed"]), _n(t["registrations_per_s"]), _ms(t["registration"]["p50_ms"]),
                         _ms(t["registration"]["p99_ms"]), "-" if per is None else f"{per / 1024:.1f}",
                         _mib(server.get("rss_after_bytes")), _n(server.get("cpu_ms_per_registration"), 3),
                         _pct(t.get("other_processes_util"))])
        out += ["### Connect and idle", ""]
        out += _md_table(["server", "clients", "in flight", "registered", "failed", "registrations/s",
                          "p50 ms", "p99 ms", "RSS KiB per client", "RSS after", "CPU ms per registration",
                          "others"], rows)
        out.append("")
    pings = [r for r in results if r.get("scenario") == "pingpong"]
    if pings:
        rows = []
        for r in sorted(pings, key=_label):
            t = r["result"]
            server = t.get("server") or {}
            rows.append([_label(r), _n(t["round_trips"]), _n(t["round_trips_per_s"]), _ms(t["rtt"]["p50_ms"]),
                         _ms(t["rtt"]["p99_ms"]), _ms(t["rtt"]["max_ms"]),
                         _n(server.get("cpu_us_per_round_trip"), 1), _pair(server, "us_per_round_trip", 1),
                         _pct(t.get("other_processes_util"))])
        out += ["### Pingpong", ""]
        out += _md_table(["server", "round trips", "per s", "RTT p50 ms", "RTT p99 ms", "RTT max ms",
                          "server CPU us per round trip", "user / system", "others"], rows)
        out.append("")
    out += summary_tables(results, _label)
    return "\n".join(out)


def summary_tables(results: list[dict[str, Any]], label: Any) -> list[str]:
    """Markdown tables of `store` and `history` results (for `hubbub bench summary`)."""
    out: list[str] = []
    stores = [r for r in results if r.get("scenario") == "store"]
    if stores:
        rows = []
        for r in sorted(stores, key=label):
            best = r.get("best") or r.get("result") or {}
            stored = r.get("stored") or {}
            rows.append([label(r), _n(r["params"]["clients"]), _n(r["params"]["senders"]), _n(r.get("stored_per_s")),
                         _ms((best.get("latency") or {}).get("p99_ms")),
                         _n(r.get("server_cpu_us_per_stored_message"), 1), _n(stored.get("sent")),
                         _n(stored.get("stored")), "yes" if stored.get("all_stored") else "NO",
                         _pct(r.get("max_other_processes_util", (best.get("other_processes_util"))))])  # fmt: skip
        out += ["### Messages stored per second (history on, one core)", ""]
        out += _md_table(["server", "N", "K", "stored msg/s (max held)", "p99 ms at max", "server CPU us per message",
                          "sent", "stored", "all stored", "others (max)"], rows)  # fmt: skip
        out.append("")
    queries = [r for r in results if r.get("scenario") == "history"]
    if queries:
        rows = []
        for r in sorted(queries, key=label):
            q = r["result"]
            worst = max(q["search"], key=lambda s: s["p99_ms"] or 0.0)
            fill = r.get("prefill") or {}
            rows.append([label(r), _n(r["database"]["channel_messages"]), _ms(q["latest"]["p50_ms"]),
                         _ms(q["latest"]["p99_ms"]), _ms(q["before"]["p50_ms"]), _ms(q["before"]["p99_ms"]),
                         _ms(q["search_all"]["p50_ms"]), _ms(q["search_all"]["p99_ms"]),
                         f"{_ms(worst['p99_ms'])} ({worst['kind']})", _n(fill.get("stored_per_s")),
                         _pct(q.get("other_processes_util"))])  # fmt: skip
        out += ["### History queries (one client, one question at a time)", ""]
        out += _md_table(["server", "messages in the channel", "LATEST p50 ms", "LATEST p99 ms", "BEFORE p50 ms",
                          "BEFORE p99 ms", "SEARCH p50 ms", "SEARCH p99 ms", "slowest word p99 ms",
                          "fill: stored msg/s", "others"], rows)  # fmt: skip
        out.append("")
    return out


def load_results(paths: Iterable[str]) -> list[dict[str, Any]]:
    results = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            results.append(json.load(fh))
    return results
