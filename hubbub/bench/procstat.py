"""CPU time and memory of a process, read from /proc, and of the generator itself.

The benchmark charges a server for what it spent while under load: the difference of
its CPU time (user + system) between two samples, and its resident memory
(`/proc/PID/statm`). The user and system parts are told apart too, because at everyday
load two servers making the same system calls differ only in their user time: the
split says whether a difference is the server's own code or the kernel's work for it.
Nothing here needs the server's cooperation, so the same numbers come out for hubbub,
InspIRCd, ngIRCd or anything else with a pid.
On systems without /proc the samples are None and the report says "not measured".
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One reading of a process: CPU seconds so far, resident bytes, and when."""

    cpu_s: float
    rss_bytes: int
    at: float  # time.monotonic()
    # the kernel's user and system time so far (`/proc/PID/stat`, whole clock ticks): what
    # says how `cpu_s` divides, not a second measure of it
    user_s: float = 0.0
    system_s: float = 0.0


def sample(pid: int | None) -> ProcSample | None:
    """Read `pid`'s CPU time and RSS now, or None when it cannot be read.

    CPU time is the sum of the on-CPU nanoseconds of the process's threads
    (`/proc/PID/task/*/schedstat`) where the kernel keeps them, which resolves a short
    pingpong run; otherwise utime + stime from `/proc/PID/stat`, in clock ticks.
    """
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            statm = fh.read()
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        cpu = _schedstat_cpu(pid)
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    fields = stat[stat.rfind(b")") + 2 :].split()
    user, system = int(fields[11]) / _CLK_TCK, int(fields[12]) / _CLK_TCK
    rss_pages = int(statm.split()[1])
    return ProcSample(user + system if cpu is None else cpu, rss_pages * _PAGE, time.monotonic(), user, system)


def _schedstat_cpu(pid: int) -> float | None:
    by_thread = threads(pid)
    if by_thread is None or "main" not in by_thread:
        return None  # no schedstat on this kernel
    return sum(by_thread.values())


def threads(pid: int | None) -> dict[str, float] | None:
    """On-CPU seconds so far of each kind of thread of `pid`, by name: "main" for the
    process's first thread, the others by the name the kernel has for them, without a
    trailing number (hubbub's store writer is "hubbub-write"). What history costs the event loop
    and what it costs the writer are different questions on a machine with cores to
    spare: the loop's is the one that caps the chat. None where /proc cannot say."""
    if pid is None:
        return None
    out: dict[str, float] = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as fh:
                ns = int(fh.read().split()[0])
            with open(f"/proc/{pid}/task/{task}/comm", "rb") as fh:
                comm = fh.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        name = "main" if task == str(pid) else comm.rstrip("0123456789").rstrip("_-") or comm
        out[name] = out.get(name, 0.0) + ns / 1e9
    return out or None


def threads_between(start: dict[str, float] | None, end: dict[str, float] | None) -> dict[str, float] | None:
    """What each kind of thread spent between two `threads` readings (a thread that
    ended meanwhile is not counted; one that started counts from zero)."""
    if start is None or end is None:
        return None
    return {name: max(0.0, spent - start.get(name, 0.0)) for name, spent in end.items()}


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"


def self_cpu() -> float:
    """CPU seconds (user + system) this process has used so far, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_between(start: ProcSample | None, end: ProcSample | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, end.cpu_s - start.cpu_s)


def user_system_between(start: ProcSample | None, end: ProcSample | None) -> tuple[float, float] | None:
    """The kernel's user and system seconds between two samples (whole ticks each)."""
    if start is None or end is None:
        return None
    return max(0.0, end.user_s - start.user_s), max(0.0, end.system_s - start.system_s)


def user_share(spent: Sequence[tuple[float, float] | None]) -> float | None:
    """The part of CPU time spent in user mode over some (user, system) pairs, or None when
    a pair is unknown or no tick was counted (a window shorter than a tick: the split
    would be a guess)."""
    known = [pair for pair in spent if pair is not None]
    if len(known) < len(spent):
        return None
    user, system = sum(pair[0] for pair in known), sum(pair[1] for pair in known)
    return user / (user + system) if user + system > 0 else None


def raise_fd_limit(wanted: int | None = None) -> int:
    """Raise this process's open-file limit toward the hard limit; return the new soft limit.

    Ten thousand connections need ten thousand descriptors; the usual soft limit is 1024.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if wanted is None else min(wanted, hard)
    if hard == resource.RLIM_INFINITY and wanted is None:
        target = max(soft, 1 << 20)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def system_busy() -> float | None:
    """CPU seconds all cores together have spent busy since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat", "rb") as fh:
            values = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _CLK_TCK


@dataclass(frozen=True, slots=True)
class WindowResult:
    wall_s: float
    server_cpu_s: float | None
    server_rss_bytes: int | None
    generator_cpu_s: float
    other_cpu_s: float | None  # everything else the machine ran meanwhile
    server_threads: dict[str, float] | None = None  # the server's CPU by thread (`threads`)
    server_user_share: float | None = None  # the part of `server_cpu_s` in user mode (`user_share`)

    def other_util(self) -> float | None:
        if self.other_cpu_s is None or self.wall_s <= 0:
            return None
        return self.other_cpu_s / self.wall_s

    def user_system(self, amount: float | None, digits: int = 3) -> tuple[float | None, float | None]:
        """`amount` of the server's CPU (per delivery, per round trip...) parted into
        user and system time in the proportion the kernel counted over the window; the
        precise total (schedstat's nanoseconds) stays the figure, the ticks only divide it."""
        share = self.server_user_share
        if amount is None or share is None:
            return None, None
        return round(amount * share, digits), round(amount * (1 - share), digits)


class Window:
    """CPU accounting over one measured window: the server's, the generator's, and the
    rest of the machine's. The last one is how a run says it was disturbed: on a busy
    machine the server gets less than the core it was promised and the figures drop."""

    def __init__(self, server_pid: int | None, more: Sequence[int] = ()) -> None:
        """`more`: other processes that serve too (a cluster's other nodes, its Redis),
        their CPU added to the server's."""
        self.pid = server_pid
        self.more = list(more)
        self.server0 = sample(server_pid)
        self.threads0 = threads(server_pid)
        self.more0 = [sample(pid) for pid in self.more]
        self.generator0 = self_cpu()
        self.system0 = system_busy()
        self.t0 = time.monotonic()

    def close(self, extra_generator_cpu: float = 0.0) -> WindowResult:
        """End the window; `extra_generator_cpu` is what helper processes spent meanwhile."""
        server1 = sample(self.pid)
        by_thread = threads_between(self.threads0, threads(self.pid))
        generator = self_cpu() - self.generator0 + extra_generator_cpu
        system1 = system_busy()
        wall = time.monotonic() - self.t0
        server_cpu = cpu_between(self.server0, server1)
        modes = [user_system_between(self.server0, server1)]
        for before, pid in zip(self.more0, self.more, strict=True):
            after = sample(pid)
            spent = cpu_between(before, after)
            modes.append(user_system_between(before, after))
            if server_cpu is not None and spent is not None:
                server_cpu += spent
        other = None
        if self.system0 is not None and system1 is not None:
            other = max(0.0, system1 - self.system0 - generator - (server_cpu or 0.0))
        return WindowResult(wall, server_cpu, server1.rss_bytes if server1 else None, generator, other, by_thread,
                            user_share(modes))
