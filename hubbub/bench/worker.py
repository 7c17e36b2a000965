"""A helper process holding a share of the fanout receivers (`hubbub bench fanout --procs N`).

One Python process can count a few hundred thousand lines a second; when that is
not enough the receivers are split over several processes. The coordinator talks to
each worker over its stdin and stdout, one JSON object a line:

    {"op": "open", "host", "port", "path", "nicks", "channel", "concurrency", "timeout"}
    {"op": "count", "token", "timeout", "ordered"}   join the counting barrier (see load.start_counting)
    {"op": "stats"}                       -> {"lines", "last_rx", "lost", "cpu"}
    {"op": "close"}

Every answer is `{"ok": true, ...}` or `{"error": "..."}`. A worker exits when its
stdin closes, so it never outlives the coordinator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from hubbub.bench.load import (
    LoadConnection,
    connect_many,
    join_all,
    start_counting,
    totals,
)
from hubbub.bench.loops import loop_factory
from hubbub.bench.procstat import raise_fd_limit, self_cpu


class WorkerError(RuntimeError):
    """A worker process reported a failure, or stopped answering."""


class WorkerProcess:
    """The coordinator's handle on one worker process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, loop: str = "auto") -> WorkerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hubbub.bench.worker", "--loop", loop,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def call(self, op: str, wait: float = 30.0, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        async with self._lock:
            self.proc.stdin.write((json.dumps({"op": op, **fields}) + "\n").encode())
            await self.proc.stdin.drain()
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), wait)
            except TimeoutError:
                raise WorkerError(f"worker {self.proc.pid} did not answer {op!r} within {wait:g}s") from None
        if not raw:
            raise WorkerError(f"worker {self.proc.pid} exited (status {self.proc.returncode})")
        answer: dict[str, Any] = json.loads(raw)
        if "error" in answer:
            raise WorkerError(f"worker {self.proc.pid}: {answer['error']}")
        return answer

    async def close(self) -> None:
        try:
            if self.proc.returncode is None:
                await self.call("close", wait=5.0)
        except (WorkerError, ConnectionError, OSError):
            pass
        finally:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5.0)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    conns: list[LoadConnection] = []

    def reply(payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    while True:
        raw = await reader.readline()
        if not raw:
            break
        request = json.loads(raw)
        op = request.get("op")
        try:
            if op == "open":
                got = await connect_many(
                    request["host"], request["port"], request["nicks"],
                    request["concurrency"], request["timeout"], path=request.get("path"),
                    nodes=request.get("nodes") or (),
                )
                conns = got.ok
                if got.failures:
                    raise RuntimeError(f"{sum(got.failures.values())} clients could not register: "
                                       f"{dict(got.failures)}")
                await join_all(conns, request["channel"], request["concurrency"], request["timeout"])
                reply({"ok": True, "connected": len(conns)})
            elif op == "count":
                await start_counting(conns, request["token"].encode(), request["timeout"], bool(request.get("ordered")))
                reply({"ok": True})
            elif op == "stats":
                lines, last_rx, lost = totals(conns)
                reply({"ok": True, "lines": lines, "last_rx": last_rx, "lost": lost, "cpu": self_cpu()})
            elif op == "close":
                for conn in conns:
                    conn.abort()
                reply({"ok": True})
                break
            else:
                reply({"error": f"unknown op {op!r}"})
        except Exception as exc:  # reported to the coordinator, which stops the run
            reply({"error": f"{type(exc).__name__}: {exc}"})
    for conn in conns:
        conn.abort()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubbub.bench.worker")
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    args = parser.parse_args(argv)
    raise_fd_limit()

    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(_serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
