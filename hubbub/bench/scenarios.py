"""The benchmark scenarios: fanout (and its --find-max search), connect, pingpong.

Each takes a `Target` (where the server listens and, when known, its pid) and returns a
plain dict: the `--json` output, and what the human table is printed from. Every wait
is bounded; a run that cannot be carried out raises `BenchError` saying why.

What is measured, and how:

- fanout: N clients in one channel, K of them sending, open loop, at a total rate R
  for D seconds. Every message carries its sender, sequence number and send time.
  Deliveries are counted as newlines on every receiver (see load.py), so the count is
  exact and cheap; latency and ordering are read on a few sampler receivers. The
  server's CPU seconds over the window, divided by the deliveries, give its cost per
  million deliveries. A trial "holds" when nothing is lost, nobody is disconnected and
  the p99 latency stays under the bound (500 ms).
- find-max: trials at doubling rates until one fails, then bisection between the best
  held rate and the lowest failed one, within a time budget. The trial after a failed
  one starts on new connections, so that no backlog of the failure is in it.
- connect: C connections register (connect to end of MOTD) at most W at a time, then
  idle; registrations per second and the server's RSS growth per client.
- pingpong: two clients bounce one PRIVMSG; round-trip time percentiles.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hubbub.bench import procstat
from hubbub.bench.load import (
    LoadConnection,
    Sampler,
    connect,
    connect_many,
    join_all,
    start_counting,
    totals,
)
from hubbub.bench.stats import latency_ms, percentile, rate, seconds_ms
from hubbub.bench.worker import WorkerProcess

_now = time.monotonic
_now_ns = time.monotonic_ns

Progress = Callable[[float, str], None]


def no_progress(fraction: float, text: str) -> None:
    pass


class BenchError(RuntimeError):
    """The run could not be carried out (setup failed, the server died...); says why."""


@dataclass
class Target:
    host: str
    port: int
    pid: int | None = None  # the server's pid, for CPU and memory; None when unknown
    path: str | None = None  # IRC over WebSocket to this path (host:port is then the web listener)
    # a cluster (--cluster): every node's address, clients spread over them in turn, and
    # the other processes (nodes, Redis) whose CPU counts as the server's
    nodes: list[tuple[str, int]] = field(default_factory=list)
    more_pids: list[int] = field(default_factory=list)
    redis_calls: Callable[[], dict[str, int]] | None = None  # a cluster's Redis: commands run so far
    redis_pid: int | None = None  # a cluster's Redis, whose own CPU tells how far one Redis goes

    def address(self, index: int) -> tuple[str, int]:
        """Where client `index` connects."""
        return self.nodes[index % len(self.nodes)] if self.nodes else (self.host, self.port)

    def window(self) -> procstat.Window:
        return procstat.Window(self.pid, self.more_pids)


def new_tag() -> str:
    """Four random letters naming one run's nicks, channel and messages."""
    return "".join(random.choices(string.ascii_lowercase, k=4))


def _base36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def nicks_for(tag: str, count: int) -> list[str]:
    """Short nicks (tag + base-36 index, at most 8 characters for 1.6 M clients): NICKLEN 9 is common."""
    return [tag + _base36(i) for i in range(count)]


async def probe_server(target: Target, timeout: float = 10.0) -> dict[str, Any]:
    """Register once and read the server's name and version from its 004 reply."""
    conn = await connect(target.host, target.port, "p" + new_tag(), timeout, capture=True, path=target.path)
    info: dict[str, Any] = {"name": None, "version": None}
    for line in conn.captured or []:
        words = line.decode("utf-8", "replace").split(" ")
        if len(words) >= 5 and words[1] == "004":
            info["name"], info["version"] = words[3], words[4]
            break
    conn.send(b"QUIT :probe done\r\n")
    conn.close()
    return info


# -- fanout -------------------------------------------------------------------------------------


@dataclass
class FanoutOptions:
    clients: int = 100  # N, senders included
    senders: int = 10  # K
    rate: float = 100.0  # R, messages per second from all senders together
    duration: float = 10.0  # D, seconds of sending per trial
    size: int = 64  # bytes of message text
    samplers: int = 5  # receivers that read send times for latency
    stalled: int = 0  # members that stop reading once the room is set up (not counted)
    procs: int = 1  # processes holding receivers
    concurrency: int = 50  # registrations and joins in flight at once
    setup_timeout: float = 120.0
    drain_timeout: float = 10.0  # seconds to wait for the last deliveries after sending
    max_p99_ms: float = 500.0  # latency bound for a trial to hold
    loop: str = "auto"  # event loop of worker processes


class Room:
    """N registered clients in one channel, counting what they receive."""

    def __init__(self, target: Target, opts: FanoutOptions) -> None:
        self.target = target
        self.opts = opts
        self.tag = new_tag()
        self.channel = "#b" + self.tag
        self.local: list[LoadConnection] = []
        self.senders: list[LoadConnection] = []
        self.samplers: list[Sampler] = []
        self.stalled: list[LoadConnection] = []  # members that stopped reading
        self.workers: list[WorkerProcess] = []
        self.seq: list[int] = []
        self.setup_seconds = 0.0

    async def open(self, progress: Progress = no_progress) -> None:
        opts, target = self.opts, self.target
        n = opts.clients
        if n < 2:
            raise BenchError("fanout needs at least 2 clients")
        k = max(1, min(opts.senders, n))
        m = max(0, opts.stalled)
        if m and k + m >= n:
            raise BenchError("fanout needs a receiver that reads besides the senders and the stalled members")
        s = max(0, min(opts.samplers, n - k - m))
        names = nicks_for(self.tag, n)
        rest = names[k + s + m :]
        procs = max(1, opts.procs)
        shares = [rest[i::procs] for i in range(procs)]
        local_names = names[: k + s + m] + shares[0]
        started = _now()
        try:
            self.workers = list(await asyncio.gather(
                *(WorkerProcess.start(opts.loop) for share in shares[1:] if share)))
            timeout = opts.setup_timeout

            def connected(done: int, total: int) -> None:
                progress(0.5 * done / total, f"registering {done}/{total}")

            async def open_local() -> None:
                got = await connect_many(target.host, target.port, local_names, opts.concurrency,
                                         timeout, on_done=connected, path=target.path, nodes=target.nodes)
                self.local = got.ok
                if got.failures:
                    raise BenchError(f"{sum(got.failures.values())} of {len(local_names)} clients could not "
                                     f"register: {dict(got.failures)}")
                progress(0.6, f"joining {self.channel}")
                await join_all(self.local, self.channel, opts.concurrency, timeout)

            await asyncio.wait_for(asyncio.gather(
                open_local(),
                *(w.call("open", timeout, host=target.host, port=target.port, path=target.path, nicks=share,
                         channel=self.channel, concurrency=opts.concurrency, timeout=timeout,
                         nodes=target.nodes)
                  for w, share in zip(self.workers, [sh for sh in shares[1:] if sh], strict=False))
            ), timeout)
            progress(0.9, "synchronising")
            token = f"sync-{self.tag}"
            ordered = bool(target.nodes)  # a cluster: the barrier goes through the log
            await asyncio.wait_for(asyncio.gather(
                start_counting(self.local, token.encode(), timeout, ordered),
                *(w.call("count", timeout, token=token, timeout=timeout, ordered=ordered) for w in self.workers),
            ), timeout)
        except TimeoutError:
            await self.close()
            raise BenchError(f"setting up {n} clients took longer than {opts.setup_timeout:g}s") from None
        except BaseException:
            await self.close()
            raise
        self.senders = self.local[:k]
        for conn in self.local[k : k + s]:
            conn.sampler = Sampler(self.tag.encode())
            self.samplers.append(conn.sampler)
        # A stalled member stays in the channel but reads nothing more: the server's
        # buffers for it fill, and whether the others notice is what this measures.
        self.stalled = self.local[k + s : k + s + m]
        del self.local[k + s : k + s + m]
        for conn in self.stalled:
            if conn.transport is not None:
                conn.transport.pause_reading()
        self.seq = [0] * k
        self.setup_seconds = _now() - started

    async def counts(self) -> tuple[int, float, int, float]:
        """(lines delivered so far, latest read time, clients lost, workers' CPU seconds)."""
        lines, last, lost = totals(self.local)
        cpu = 0.0
        for worker in self.workers:
            stats = await worker.call("stats")
            lines += stats["lines"]
            last = max(last, stats["last_rx"])
            lost += stats["lost"]
            cpu += stats["cpu"]
        return lines, last, lost, cpu

    async def settle(self, quiet: float = 0.3, limit: float = 30.0) -> bool:
        """Wait until nothing has arrived for `quiet` seconds (the server's backlog is gone)."""
        start = _now()
        last, since = -1, start
        while _now() - start < limit:
            lines, _, _, _ = await self.counts()
            if lines != last:
                last, since = lines, _now()
            elif _now() - since >= quiet:
                return True
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        for conn in self.local + self.stalled:
            conn.abort()
        await asyncio.gather(*(w.close() for w in self.workers), return_exceptions=True)
        self.workers = []

    async def trial(self, rate_per_s: float, progress: Progress = no_progress,
                    progress_span: tuple[float, float] = (0.0, 1.0)) -> dict[str, Any]:
        """Send at `rate_per_s` for the configured duration; count, time and judge the result."""
        opts = self.opts
        n, k = opts.clients, len(self.senders)
        duration = opts.duration
        for sampler in self.samplers:
            sampler.reset()
        lines0, _, lost0, wcpu0 = await self.counts()
        tag = self.tag.encode()
        heads = [b"PRIVMSG " + self.channel.encode() + b" :" + tag + b" %d " % i for i in range(k)]
        pad = b"x" * max(1, opts.size - len(tag) - 34)
        total = max(1, round(rate_per_s * duration))
        lags: list[float] = []
        senders, seq = self.senders, self.seq
        lo, hi = progress_span
        # Redis is asked before the clock starts: however long asking takes, it does not
        # eat into the sending schedule (a late start sends a burst, and bursts queue).
        calls0 = self.target.redis_calls() if self.target.redis_calls else None
        redis_cpu0 = procstat.sample(self.target.redis_pid) if self.target.redis_pid else None
        window = self.target.window()
        t0 = window.t0
        next_report = t0
        sent = 0
        pending: list[list[bytes]] = [[] for _ in range(k)]
        while sent < total:
            now = _now()
            due = min(total, int((now - t0) * rate_per_s) + 1)
            while sent < due:
                s = sent % k
                number = seq[s]
                seq[s] = number + 1
                pending[s].append(heads[s] + b"%d %d " % (number, _now_ns()) + pad + b"\r\n")
                lags.append(now - t0 - sent / rate_per_s)
                sent += 1
            # What one sender has due in this tick leaves in one write, as its TCP stack
            # would coalesce it anyway; at high rates this halves the generator's work.
            for s, batch in enumerate(pending):
                if batch:
                    senders[s].send(batch[0] if len(batch) == 1 else b"".join(batch))
                    batch.clear()
            if now >= next_report:
                next_report = now + 0.2
                progress(lo + (hi - lo) * (now - t0) / duration, f"{rate_per_s:g} msg/s: sent {sent}/{total}")
            if sent >= total:
                break
            delay = t0 + sent / rate_per_s - _now()
            await asyncio.sleep(delay if delay > 0 else 0)
        t_sent = _now()
        expected = total * (n - 1 - len(self.stalled))  # the stalled read nothing
        deadline = t_sent + opts.drain_timeout
        seen, seen_at = -1, t_sent
        while True:
            lines, last_rx, lost, wcpu = await self.counts()
            delivered = lines - lines0
            now = _now()
            if delivered >= expected or now >= deadline:
                break
            if delivered != seen:
                seen, seen_at = delivered, now
            elif now - seen_at >= 2.0:
                break  # nothing more is coming
            await asyncio.sleep(0.02)
        measured = window.close(wcpu - wcpu0)
        redis = None
        if calls0 is not None and self.target.redis_calls is not None:
            calls1 = self.target.redis_calls()
            spent = {name: calls1[name] - calls0.get(name, 0) for name in calls1 if calls1[name] > calls0.get(name, 0)}
            spent.pop("info", None)  # our own asking
            redis_cpu = procstat.cpu_between(redis_cpu0, procstat.sample(self.target.redis_pid))
            # Commands run inside the publishing script count too: this is Redis's work, not
            # its round trips (one EVALSHA per batch a node publishes, one XREAD per read).
            redis = {
                "calls": spent,
                "calls_per_message": round(sum(spent.values()) / sent, 3) if sent else None,
                "cpu_s": None if redis_cpu is None else round(redis_cpu, 3),
                "cpu_us_per_message": None if redis_cpu is None or not sent else round(redis_cpu / sent * 1e6, 1),
            }
        active = max(last_rx, t_sent) - t0
        wall = measured.wall_s
        latencies: list[int] = []
        for sampler in self.samplers:
            latencies.extend(sampler.latencies_ns)
        latency = latency_ms(latencies)
        missing = max(0, expected - delivered)
        disconnects = lost - lost0
        offered = sent / (t_sent - t0) if t_sent > t0 else float(sent)
        main_util = (measured.generator_cpu_s - (wcpu - wcpu0)) / wall
        lags.sort()
        lag_p99 = percentile(lags, 99) if lags else 0.0
        other_util = measured.other_util()
        why = []
        if disconnects:
            why.append(f"{disconnects} clients disconnected")
        if missing:
            why.append(f"{missing} deliveries lost")
        if latency["p99_ms"] is not None and latency["p99_ms"] > opts.max_p99_ms:
            why.append(f"p99 {latency['p99_ms']:.0f} ms > {opts.max_p99_ms:g} ms")
        # The generator was the limit if it could not keep its own schedule, or failed
        # the trial while busy itself.
        generator_limited = offered < 0.9 * rate_per_s or (bool(why) and (main_util > 0.9 or lag_p99 > 0.1))
        # It certainly was when it could not even offer the rate; busy or lagging, it may
        # be the server's doing (a server that falls behind answers in bursts, which keep
        # the generator busy reading them).
        generator_fell_short = offered < 0.9 * rate_per_s
        if generator_fell_short:
            why.append(f"the generator offered only {offered:.0f} msg/s")
        server = None
        if measured.server_cpu_s is not None:
            cpu = measured.server_cpu_s
            per_million = cpu / delivered * 1e6 if delivered else None
            user, system = measured.user_system(per_million)
            server = {
                "cpu_s": round(cpu, 3),
                "cpu_util": round(cpu / wall, 3),
                "cpu_s_per_million": None if per_million is None else round(per_million, 3),
                # the same in user and in system mode: the server's own code, the kernel's work for it
                "user_s_per_million": user,
                "system_s_per_million": system,
                "rss_bytes": measured.server_rss_bytes,
                # by thread, each with its CPU seconds per million deliveries: the event
                # loop's ("main") against the store writer's
                "threads": None if measured.server_threads is None else {
                    name: {"cpu_s": round(spent, 3),
                           "cpu_s_per_million": round(spent / delivered * 1e6, 3) if delivered else None}
                    for name, spent in sorted(measured.server_threads.items()) if spent >= 0.001
                },
            }
        return {
            "rate": rate_per_s,
            "duration_s": duration,
            "sent": sent,
            "offered_msgs_per_s": round(offered, 1),
            "expected": expected,
            "delivered": delivered,
            "lost": missing,
            "loss_ratio": round(missing / expected, 6) if expected else 0.0,
            "extra_lines": max(0, delivered - expected),
            "disconnects": disconnects,
            "delivered_lines_per_s": rate(delivered, active),
            "wall_s": round(wall, 3),
            "drain_s": round(max(0.0, last_rx - t_sent), 3),
            "latency": latency,
            "sampler_gaps": sum(s.gaps for s in self.samplers),
            "sampler_reordered": sum(s.reordered for s in self.samplers),
            "stalled": len(self.stalled),
            # the server may rightly drop a stalled member whose send queue overflowed
            "stalled_dropped": sum(conn.lost for conn in self.stalled),
            "server": server,
            "redis": redis,
            "generator": {
                "cpu_s": round(measured.generator_cpu_s, 3),
                "main_process_util": round(main_util, 3),
                "send_lag_ms_p99": round(lag_p99 * 1e3, 3),
                "send_lag_ms_max": round(lags[-1] * 1e3, 3) if lags else None,
            },
            "other_processes_util": None if other_util is None else round(other_util, 3),
            "ok": not why,
            "why": "; ".join(why),
            "generator_limited": generator_limited,
            "generator_fell_short": generator_fell_short,
        }

    @property
    def broken(self) -> bool:
        return any(conn.lost for conn in self.local)


async def fanout(target: Target, opts: FanoutOptions, progress: Progress = no_progress) -> dict[str, Any]:
    """One fanout run at the configured rate."""
    room = Room(target, opts)
    await room.open(lambda f, t: progress(0.1 * f, t))
    try:
        result = await room.trial(opts.rate, progress, (0.1, 1.0))
    finally:
        await room.close()
    warnings = disturbed_warning(result["other_processes_util"])
    if result["generator_limited"]:
        warnings.append(_generator_warning(result))
    return {"params": asdict(opts), "setup_s": round(room.setup_seconds, 3), "result": result,
            "warnings": warnings}


def _generator_warning(trial: dict[str, Any]) -> str:
    gen = trial["generator"]
    other = trial.get("other_processes_util") or 0.0
    why = (f"main process {gen['main_process_util'] * 100:.0f}% of a core, send lag p99 "
           f"{gen['send_lag_ms_p99']:.0f} ms, offered {trial['offered_msgs_per_s']:g} msg/s")
    hint = ("other processes used " + f"{other * 100:.0f}% of a core: run it on a quieter machine"
            if other > 0.25 else "use --procs, or a faster core for the generator")
    return f"at {trial['rate']:g} msg/s the load generator could not keep up ({why}); {hint}"


@dataclass
class FindMaxOptions:
    start_rate: float = 50.0
    precision: float = 0.1  # stop when the failed rate is within this fraction of the held one
    max_trials: int = 12
    max_time: float = 300.0  # seconds of trials (setup not included)
    retries: int = 1  # re-runs of a failed trial disturbed by other processes


class RateSearch:
    """Where the next trial of a --find-max search goes: double from the start rate until
    a rate fails (or halve until one holds), then bisect between the best held rate and
    the lowest failed one until they are within `precision` of each other."""

    def __init__(self, start: float, precision: float) -> None:
        self.rate = start  # of the next trial
        self.precision = precision
        self.held: float | None = None
        self.failed: float | None = None
        self.stopped = ""  # why the search gave up, when it did before converging

    def record(self, ok: bool) -> float | None:
        """The trial at `self.rate` held (or not): the next rate, or None when done."""
        if ok:
            self.held = self.rate if self.held is None else max(self.held, self.rate)
        else:
            self.failed = self.rate if self.failed is None else min(self.failed, self.rate)
        if self.failed is None:
            self.rate = self.rate * 2
        elif self.held is None:
            self.rate = self.rate / 2
            if self.rate < 1.0:
                self.stopped = "even 1 msg/s did not hold"
                return None
        else:
            if self.failed <= self.held * (1 + self.precision):
                return None
            self.rate = round((self.held + self.failed) / 2, 1)
        return self.rate


def ends_search(trial: dict[str, Any]) -> bool:
    """Whether a failed trial ends a --find-max search: when the generator could not
    even offer the rate. A failure with the generator busy or lagging goes on with the
    bisection: a server that falls behind (history waiting for its commits) answers in
    bursts that keep the generator busy too, and stopping there reported as little as
    half the server's real maximum."""
    return not trial["ok"] and bool(trial["generator_fell_short"])


async def fanout_find_max(target: Target, opts: FanoutOptions, search: FindMaxOptions,
                          progress: Progress = no_progress) -> dict[str, Any]:
    """The highest rate held (no loss, no disconnect, p99 under the bound), by doubling and bisection."""
    room = Room(target, opts)
    await room.open(lambda f, t: progress(0.1 * f, t))
    setup_s = room.setup_seconds
    started = _now()
    deadline = started + search.max_time
    trials: list[dict[str, Any]] = []
    warnings: list[str] = []
    best: dict[str, Any] | None = None
    rates = RateSearch(search.start_rate, search.precision)
    reopened = 0
    retries = 0

    def span() -> tuple[float, float]:
        elapsed = _now() - started
        return (min(1.0, 0.1 + 0.9 * elapsed / search.max_time),
                min(1.0, 0.1 + 0.9 * (elapsed + opts.duration) / search.max_time))

    async def afresh() -> Room:
        """The room on new connections: the old ones closed, and with them whatever the
        server still held for them."""
        nonlocal reopened
        await room.close()
        reopened += 1
        fresh = Room(target, opts)
        await fresh.open()
        return fresh

    try:
        while len(trials) - retries < search.max_trials:
            if _now() + opts.duration + 2.0 > deadline:
                warnings.append(f"stopped after {len(trials)} trials: the {search.max_time:g}s budget is spent")
                break
            trial = await room.trial(rates.rate, progress, span())
            trials.append(trial)
            # A failed trial can leave a backlog queued in the server for these connections,
            # delivered into the next trials, which then fail too: InspIRCd, after one rate
            # it could not hold, failed every lower one (seconds of p99, lines lost) until the
            # search ended at half what it holds from a fresh start. So the trial after a
            # failure starts on new connections.
            other = trial["other_processes_util"]
            disturbed = other is not None and other > 0.25
            if not trial["ok"] and disturbed and retries < search.retries:
                # A failure on a busy machine says little about the server: once more.
                retries += 1
                trial["retried"] = True
                room = await afresh()
                continue
            if trial["ok"] and (best is None or trial["rate"] > best["rate"]):
                best = trial
            if not trial["ok"] and trial["generator_limited"]:
                if ends_search(trial):
                    warnings.append(_generator_warning(trial) + "; the maximum found is a lower bound")
                    break
                warnings.append(_generator_warning(trial) + "; it offered the rate: searching on below it")
            if rates.record(trial["ok"]) is None:
                if rates.stopped:
                    warnings.append(rates.stopped)
                break
            if room.broken or not trial["ok"]:
                room = await afresh()
            elif not await room.settle():
                warnings.append("the server was still delivering 30 s after a trial")
    finally:
        await room.close()
    return {
        "params": asdict(opts),
        "search": asdict(search),
        "setup_s": round(setup_s, 3),
        "trials": trials,
        "best": best,
        "max_rate": rates.held,
        "max_deliveries_per_s": best["delivered_lines_per_s"] if best else None,
        "rooms_reopened": reopened,
        "retried_trials": retries,
        "max_other_processes_util": max((t["other_processes_util"] or 0.0 for t in trials), default=None),
        "seconds": round(_now() - started, 1),
        "warnings": warnings,
    }


# -- connect ------------------------------------------------------------------------------------


@dataclass
class ConnectOptions:
    clients: int = 1000  # C
    concurrency: int = 100  # registrations in flight at once
    idle: float = 3.0  # seconds to stay connected before measuring memory
    timeout: float = 30.0  # per registration


async def connect_idle(target: Target, opts: ConnectOptions, progress: Progress = no_progress) -> dict[str, Any]:
    """C clients register and stay idle; registrations/s, failures, server RSS per client."""
    names = nicks_for(new_tag(), opts.clients)
    before = procstat.sample(target.pid)
    window = target.window()
    t0 = window.t0

    def done(count: int, total: int) -> None:
        if count % 50 == 0 or count == total:
            progress(0.8 * count / total, f"registered {count}/{total}")

    got = await connect_many(target.host, target.port, names, opts.concurrency, opts.timeout, on_done=done,
                             path=target.path, nodes=target.nodes)
    measured = window.close()
    registered = got.ok
    reg_window = (got.last_ok_at - t0) if registered else 0.0
    idle_end = _now() + opts.idle
    while _now() < idle_end:
        progress(0.8 + 0.2 * (1 - (idle_end - _now()) / max(opts.idle, 1e-9)), "idle")
        await asyncio.sleep(min(0.25, max(0.0, idle_end - _now())))
    after_idle = procstat.sample(target.pid)
    lost_idle = sum(1 for c in registered if c.lost)
    for conn in registered:
        conn.abort()
    server: dict[str, Any] | None = None
    if before is not None and after_idle is not None and measured.server_cpu_s is not None:
        cpu = measured.server_cpu_s
        server = {
            "rss_before_bytes": before.rss_bytes,
            "rss_after_bytes": after_idle.rss_bytes,
            "rss_per_client_bytes": round((after_idle.rss_bytes - before.rss_bytes) / len(registered))
            if registered else None,
            "cpu_s": round(cpu, 3),
            "cpu_ms_per_registration": round(cpu / len(registered) * 1e3, 4) if registered else None,
            "cpu_util": round(cpu / measured.wall_s, 3),
        }
    other = measured.other_util()
    return {
        "params": asdict(opts),
        "result": {
            "clients": opts.clients,
            "registered": len(registered),
            "failed": sum(got.failures.values()),
            "failures": dict(got.failures),
            "seconds": round(reg_window, 3),
            "registrations_per_s": rate(len(registered), reg_window),
            "registration": seconds_ms(got.durations),
            "lost_while_idle": lost_idle,
            "server": server,
            "generator": {"cpu_s": round(measured.generator_cpu_s, 3),
                          "util": round(measured.generator_cpu_s / measured.wall_s, 3)},
            "other_processes_util": None if other is None else round(other, 3),
        },
        "warnings": disturbed_warning(other),
    }


# -- pingpong -----------------------------------------------------------------------------------


@dataclass
class PingpongOptions:
    rounds: int = 5000  # measured round trips
    warmup: int = 200  # round trips before measuring
    size: int = 32  # bytes of message text
    max_time: float = 60.0


async def pingpong(target: Target, opts: PingpongOptions, progress: Progress = no_progress) -> dict[str, Any]:
    """Two clients bounce one PRIVMSG back and forth; RTT percentiles."""
    tag = new_tag()
    nick_a, nick_b = tag + "a", tag + "b"
    a = await connect(*target.address(0), nick_a, 10.0, path=target.path)
    b = await connect(*target.address(1), nick_b, 10.0, path=target.path)  # on another node, in a cluster
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    marker = b" :" + tag.encode() + b" "
    to_b = b"PRIVMSG " + nick_b.encode() + marker
    to_a = b"PRIVMSG " + nick_a.encode() + b" :"
    pad = b"x" * max(1, opts.size - 30)
    rtts: list[int] = []
    state: dict[str, Any] = {"count": 0, "window": None}
    goal = opts.warmup + opts.rounds

    def send_next() -> None:
        a.send(to_b + b"%d %d " % (state["count"], _now_ns()) + pad + b"\r\n")

    def on_b(line: bytes) -> None:
        at = line.find(marker)
        if at >= 0:
            b.send(to_a + line[at + 2 :] + b"\r\n")

    def on_a(line: bytes) -> None:
        at = line.find(marker)
        if at < 0:
            return
        fields = line[at + len(marker) :].split(b" ", 2)
        rtt = _now_ns() - int(fields[1])
        count = state["count"]
        if count >= opts.warmup:
            rtts.append(rtt)
        count += 1
        state["count"] = count
        if count == opts.warmup:
            state["window"] = target.window()
        if count % 500 == 0:
            progress(count / goal, f"{count}/{goal} round trips")
        if count >= goal:
            if not finished.done():
                finished.set_result(None)
        else:
            send_next()

    def lost(conn: LoadConnection) -> None:
        if not finished.done():
            finished.set_exception(BenchError(f"{conn.nick} lost its connection ({conn.lost_reason})"))

    a.on_line, b.on_line = on_a, on_b
    a.on_lost = b.on_lost = lost
    warnings = []
    if opts.warmup == 0:
        state["window"] = target.window()
    send_next()
    try:
        await asyncio.wait_for(asyncio.shield(finished), opts.max_time)
    except TimeoutError:
        warnings.append(f"stopped after {opts.max_time:g}s with {len(rtts)} of {opts.rounds} round trips")
    finally:
        for conn in (a, b):
            conn.on_line = conn.on_lost = None
            conn.abort()
    window: procstat.Window | None = state["window"]
    if window is None:
        raise BenchError(f"no round trip completed within {opts.max_time:g}s")
    measured = window.close()
    server = None
    if measured.server_cpu_s is not None:
        per_round_trip = measured.server_cpu_s / len(rtts) * 1e6 if rtts else None
        user, system = measured.user_system(per_round_trip, 2)
        server = {
            "cpu_s": round(measured.server_cpu_s, 3),
            "cpu_util": round(measured.server_cpu_s / measured.wall_s, 3),
            "cpu_us_per_round_trip": None if per_round_trip is None else round(per_round_trip, 2),
            "user_us_per_round_trip": user,
            "system_us_per_round_trip": system,
            "rss_bytes": measured.server_rss_bytes,
        }
    other = measured.other_util()
    return {
        "params": asdict(opts),
        "result": {
            "round_trips": len(rtts),
            "round_trips_per_s": rate(len(rtts), measured.wall_s),
            "rtt": latency_ms(rtts),
            "server": server,
            "generator": {"cpu_s": round(measured.generator_cpu_s, 3),
                          "util": round(measured.generator_cpu_s / measured.wall_s, 3)},
            "other_processes_util": None if other is None else round(other, 3),
        },
        "warnings": warnings + disturbed_warning(other),
    }


def disturbed_warning(other_util: float | None, limit: float = 0.25) -> list[str]:
    """A warning when other processes used more than `limit` of a core during a measurement."""
    if other_util is None or other_util <= limit:
        return []
    return [f"other processes used {other_util * 100:.0f}% of a core meanwhile: the machine was not quiet, "
            "so these figures may understate what the server can do"]
