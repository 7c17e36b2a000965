"""When a server's writes leave, measured from its system calls: how long after reading a
message it sends the first copy, and how far apart the copies go out.

    python bench/sendtimes.py PID [--seconds 3] [--min-writes 90]

Made to split the latency of the fanout at a fixed rate (`hubbub bench fanout -r 200`)
into what comes before the first copy (parsing, checking, relaying: the per-message
cost) and what each further copy adds (the per-delivery cost), for any server, C or
Python, without touching it. It records the entries of the reading and writing system
calls of the process PID with `perf record` (tracepoints: about a microsecond each, no
call stacks), then reads them back: every read followed by at least `--min-writes`
writes before the next read is one message fanned out. Run it while the load runs:

    hubbub bench fanout -n 100 -k 10 -r 200 -d 20 --server-cmd "..." &
    sleep 5; python bench/sendtimes.py $(pgrep -x inspircd)

It needs `perf` (Debian: linux-perf) and root, or a perf_event_paranoid that allows it.
The times are from the calls' entries: "read to the first write" includes the read call
itself and everything the server does before its first write.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

READS = ("read", "recvfrom", "recvmsg")
WRITES = ("write", "sendto", "writev", "sendmsg")


def record(pid: int, seconds: float, out: Path) -> None:
    events: list[str] = []
    for call in READS + WRITES:
        events += ["-e", f"syscalls:sys_enter_{call}"]
    subprocess.run(["perf", "record", "-q", *events, "-p", str(pid), "-o", str(out), "--", "sleep", str(seconds)],
                   check=True, stderr=subprocess.DEVNULL)  # fmt: skip


def recorded(out: Path) -> str:
    """The recording as `perf script` prints it: a time and an event name per line."""
    return subprocess.run(["perf", "script", "-i", str(out), "-F", "time,event"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def bursts(script: str, min_writes: int) -> list[tuple[float, list[float]]]:
    """(time of the read, times of the writes that followed it), for every read followed
    by at least `min_writes` writes, from `perf script`'s lines."""
    found: list[tuple[float, list[float]]] = []
    current: tuple[float, list[float]] | None = None
    for line in script.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        at = float(fields[0].rstrip(":"))
        call = fields[1].rstrip(":").rsplit("sys_enter_", 1)[-1]
        if call in READS:
            if current is not None and len(current[1]) >= min_writes:
                found.append(current)
            current = (at, [])
        elif call in WRITES and current is not None:
            current[1].append(at)
    if current is not None and len(current[1]) >= min_writes:
        found.append(current)
    return found


def summary(found: list[tuple[float, list[float]]]) -> str:
    def median_us(values: list[float]) -> float:
        return statistics.median(values) * 1e6

    first = [writes[0] - read for read, writes in found]
    tenth = [writes[min(9, len(writes) - 1)] - read for read, writes in found]
    last = [writes[-1] - read for read, writes in found]
    apart = [(writes[-1] - writes[0]) / (len(writes) - 1) for _, writes in found if len(writes) > 1]
    return (
        f"{len(found)} messages fanned out (medians): read to the first write {median_us(first):.1f} us, "
        f"to the tenth {median_us(tenth):.1f} us, to the last {median_us(last):.1f} us; "
        f"{median_us(apart):.2f} us between two writes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--min-writes", type=int, default=90, help="writes after a read that make it a fan-out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "perf.data"
        record(args.pid, args.seconds, out)
        found = bursts(recorded(out), args.min_writes)
    if not found:
        sys.exit(f"no read followed by {args.min_writes} writes in {args.seconds:g} s")
    print(summary(found))


if __name__ == "__main__":
    main()
