"""The history scenarios: how many messages a hubbub stores per second, and how fast it
answers questions about a large history.

- store: the fanout scenario (usually its --find-max search) against a hubbub keeping
  history (a SQLite file, or a PostgreSQL database); every message sent is stored, so
  the highest rate held is the messages stored per second. Afterwards the database
  itself is read, once the server has stopped, to check that it holds exactly as many
  more messages as were sent.
- history: a database is filled with a chat-like corpus (corpus.py) through the store's
  own write path, in big batches; then a hubbub started on it is asked, one question at
  a time by one client, `CHATHISTORY LATEST <channel> * 100`, `CHATHISTORY BEFORE` at
  random points of the past, and `SEARCH` for words of very different frequencies, and
  every round trip (from sending the line to the end of the answer's batch) is timed.

Filling the database is the only part of the benchmark that runs hubbub's own code (the
store), so that what the server reads is exactly what it would have written. A
PostgreSQL database is then vacuumed and analysed, as autovacuum would long since have
done on a server that has been running: without statistics, the planner's first
guesses about a table of a million rows are not what a user would meet.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hubbub.bench import procstat
from hubbub.bench.corpus import Corpus, Plan, schedule
from hubbub.bench.scenarios import (
    BenchError,
    FanoutOptions,
    FindMaxOptions,
    Target,
    fanout,
    fanout_find_max,
    new_tag,
    no_progress,
)
from hubbub.bench.stats import latency_ms
from hubbub.irc.casemap import casefold
from hubbub.store import POSTGRESQL_SCHEMES, shown

Progress = Callable[[float, str], None]

# -- store: messages stored per second ---------------------------------------------------------


def is_postgres(db: str) -> bool:
    return db.startswith(POSTGRESQL_SCHEMES)


async def _fetchrow(db: str, sql: str, *args: Any) -> tuple[Any, ...] | None:
    """One row of a read-only question to a hubbub database, read behind the server's back
    (`?` placeholders); None when it has no messages table yet (a new database)."""
    if is_postgres(db):
        import asyncpg

        numbered = sql.split("?")
        sql = numbered[0] + "".join(f"${i}{part}" for i, part in enumerate(numbered[1:], 1))
        try:
            conn = await asyncpg.connect(db)
        except (OSError, asyncpg.PostgresError) as exc:
            raise BenchError(f"cannot connect to the PostgreSQL database: {exc}") from None
        try:
            row = await conn.fetchrow(sql, *args)
        except asyncpg.UndefinedTableError:
            return None
        except asyncpg.PostgresError as exc:
            raise BenchError(f"the PostgreSQL database is not a hubbub database ({exc})") from None
        finally:
            await conn.close()
        return None if row is None else tuple(row)
    if not os.path.exists(db):
        return None
    lite = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = lite.execute(sql, args).fetchone()
        return None if found is None else tuple(found)
    except sqlite3.OperationalError as exc:
        raise BenchError(f"{db} is not a hubbub database ({exc})") from None
    finally:
        lite.close()


async def count_messages(db: str) -> int:
    """PRIVMSGs in a hubbub database (0 when it has none yet)."""
    row = await _fetchrow(db, "SELECT COUNT(*) FROM messages WHERE command = 'PRIVMSG'")
    return int(row[0]) if row else 0


async def db_bytes(db: str) -> int:
    """The size of the database on disk (with a SQLite file's log)."""
    if is_postgres(db):
        row = await _fetchrow(db, "SELECT pg_database_size(current_database())")
        return int(row[0]) if row else 0
    return sum(os.path.getsize(path) for path in (db, db + "-wal") if os.path.exists(path))


async def store_run(target: Target, opts: FanoutOptions, search: FindMaxOptions | None,
                    progress: Progress = no_progress) -> dict[str, Any]:
    """The fanout (or its search) whose messages are all stored; counted afterwards by `checked`."""
    if search is not None:
        result = await fanout_find_max(target, opts, search, progress)
        trials = result["trials"]
        best = result.get("best")
    else:
        result = await fanout(target, opts, progress)
        trials = [result["result"]]
        best = trials[0] if trials[0]["ok"] else None
    result["sent_total"] = sum(t["sent"] for t in trials)
    result["stored_per_s"] = best["offered_msgs_per_s"] if best else None
    server = (best or {}).get("server") or {}
    result["server_cpu_us_per_stored_message"] = (
        round(server["cpu_s"] / best["sent"] * 1e6, 2) if best and server.get("cpu_s") is not None else None
    )
    return result


async def checked(result: dict[str, Any], db: str, before: int) -> dict[str, Any]:
    """Add what the database holds now (the server stopped) to a `store_run` result."""
    after = await count_messages(db)
    stored = after - before
    sent = result["sent_total"]
    result["stored"] = {"db": shown(db), "before": before, "after": after, "stored": stored, "sent": sent,
                        "all_stored": stored == sent}  # fmt: skip
    if stored != sent:
        result.setdefault("warnings", []).append(
            f"{sent:,} messages were sent but the database holds {stored:,} more than before the run"
        )
    return result


# -- history: answering from a big database ---------------------------------------------------


@dataclass
class HistoryOptions:
    messages: int = 1_000_000  # in the big channel
    other_channels: int = 3
    other_messages: int = 10_000  # in each of the others
    queries: int = 200  # of each kind (LATEST, BEFORE, each searched word)
    warmup: int = 10  # of each kind, not measured
    limit: int = 100
    batch: int = 10_000  # messages per store.write while filling
    seed: int = 1
    channel: str = "#big"
    search_ranks: tuple[int, ...] = (1, 10, 100, 1000, 10000)
    timeout: float = 30.0  # per question
    plan: Plan = field(init=False)

    def __post_init__(self) -> None:
        self.plan = Plan(self.channel, self.messages, self.other_channels, self.other_messages, seed=self.seed)


async def prefill(db: str, opts: HistoryOptions, progress: Progress = no_progress) -> dict[str, Any]:
    """Fill a new database at `db` with `opts.plan`'s messages, through the store's write()."""
    from hubbub.server.storage import AddMessage, StoredMessage
    from hubbub.store import open_store

    if is_postgres(db):
        if await count_messages(db):
            raise BenchError("the PostgreSQL database holds messages already: give an empty one, or pass --reuse "
                             "to query it as it is")  # fmt: skip
    elif os.path.exists(db):
        raise BenchError(f"{db} exists: remove it, or pass --reuse to query it as it is")
    corpus = Corpus.make(seed=opts.seed)
    rng = random.Random(opts.seed)
    nicks = [f"talker{i}" for i in range(opts.plan.senders)]
    store = open_store(db)
    await store.open()
    total = opts.plan.total
    written = 0
    writing = 0.0
    started = time.monotonic()
    try:
        for part in schedule(opts.plan, time.time() - 60, opts.batch):
            texts = corpus.texts(len(part), rng)
            batch = [
                AddMessage(StoredMessage(channel, f"fill{written + i:x}", at, "PRIVMSG", f"{nicks[who]}!u@bench",
                                         None, (channel, text), None, text))  # fmt: skip
                for i, ((channel, who, at), text) in enumerate(zip(part, texts, strict=True))
            ]
            t0 = time.monotonic()
            await store.write(batch)
            writing += time.monotonic() - t0
            written += len(batch)
            progress(0.5 * written / total, f"filling: {written:,}/{total:,} messages")
    finally:
        await store.close()  # indexes the rest for search
    if is_postgres(db):
        await _vacuum(db)
    seconds = time.monotonic() - started
    return {"messages": written, "seconds": round(seconds, 1), "store_write_s": round(writing, 1),
            "stored_per_s": round(written / writing) if writing else None, "batch": opts.batch}  # fmt: skip


async def _vacuum(db: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(db)
    try:
        await conn.execute("VACUUM ANALYZE messages")
    finally:
        await conn.close()


class QueryClient:
    """One registered client asking one question at a time and timing each answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self._buf = b""

    @classmethod
    async def open(cls, host: str, port: int, channel: str, timeout: float) -> QueryClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        client = cls(reader, writer, timeout)
        nick = "q" + new_tag()
        writer.write(f"CAP REQ :batch draft/chathistory message-tags server-time soju.im/search\r\n"
                     f"NICK {nick}\r\nUSER {nick} 0 * :hubbub bench\r\nCAP END\r\n".encode())  # fmt: skip
        await client._until(lambda line: b" 376 " in line or b" 422 " in line, "registration")
        writer.write(f"JOIN {channel}\r\n".encode())
        await client._until(lambda line: b" 366 " in line, f"joining {channel}")
        return client

    async def _until(self, wanted: Callable[[bytes], bool], what: str) -> bytes:
        """Read lines until one is wanted (answering PINGs); a FAIL or ERROR ends the run."""
        deadline = time.monotonic() + self.timeout
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"no answer within {self.timeout:g}s while {what}")
                chunk = await asyncio.wait_for(self.reader.read(262144), left)
                if not chunk:
                    raise BenchError(f"the server closed the connection while {what}")
                self._buf += chunk
                continue
            line, self._buf = self._buf[:end].rstrip(b"\r"), self._buf[end + 1 :]
            if line.startswith(b"PING "):
                self.writer.write(b"PONG " + line[5:] + b"\r\n")
            elif _is_error(line):
                raise BenchError(f"the server refused while {what}: {line.decode('utf-8', 'replace')}")
            if wanted(line):
                return line

    async def ask(self, line: str) -> tuple[int, int]:
        """Send a question; (nanoseconds until its whole batch arrived, lines in the batch)."""
        t0 = time.perf_counter_ns()
        self.writer.write(line.encode() + b"\r\n")
        opening = await self._until(lambda text: b" BATCH +" in text, line)
        ref = opening.split(b" BATCH +", 1)[1].split(b" ", 1)[0]
        closing = b" BATCH -" + ref
        count = 0
        while True:
            text = await self._until(lambda _: True, line)
            if text.endswith(closing):
                return time.perf_counter_ns() - t0, count
            count += 1

    async def close(self) -> None:
        self.writer.write(b"QUIT :done\r\n")
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (TimeoutError, OSError):
            pass


def _is_error(line: bytes) -> bool:
    """A FAIL, an ERROR, or an error numeric (4xx, 5xx) addressed to us."""
    words = line.split(b" ", 3)
    at = 1 if words and words[0].startswith(b"@") else 0
    if at < len(words) and words[at].startswith(b":"):
        at += 1
    command = words[at] if at < len(words) else b""
    return command in (b"FAIL", b"ERROR") or (len(command) == 3 and command[:1] in (b"4", b"5") and command.isdigit())


async def _timed(client: QueryClient, lines: list[str], warmup: list[str], progress: Progress,
                 span: tuple[float, float], what: str, times: list[int]) -> dict[str, Any]:  # fmt: skip
    """Ask `warmup`, then `lines` one at a time; their round trips (also appended to `times`)."""
    for line in warmup:
        await client.ask(line)
    mine: list[int] = []
    answered: list[int] = []
    lo, hi = span
    for i, line in enumerate(lines):
        took, count = await client.ask(line)
        mine.append(took)
        answered.append(count)
        if i % 20 == 0:
            progress(lo + (hi - lo) * i / len(lines), f"{what}: {i}/{len(lines)}")
    times.extend(mine)
    summary = latency_ms(mine)
    summary["lines_min"] = min(answered, default=0)
    summary["lines_max"] = max(answered, default=0)
    return summary


async def db_facts(db: str, channel: str) -> tuple[int, float, float]:
    """(messages, first time, last time) of a channel in a hubbub database, read-only."""
    row = await _fetchrow(db, "SELECT COUNT(*), MIN(time_ms), MAX(time_ms) FROM messages "
                              "WHERE target = ? AND command = 'PRIVMSG'", casefold(channel))  # fmt: skip
    if not row or not row[0]:
        raise BenchError(f"{shown(db)} holds no messages in {channel}")
    count, first, last = row
    return int(count), first / 1000, last / 1000


async def history_queries(target: Target, opts: HistoryOptions, first: float, last: float,
                          progress: Progress = no_progress) -> dict[str, Any]:  # fmt: skip
    """Time LATEST, BEFORE and SEARCH round trips against a server holding `opts.plan`'s history
    (its big channel's messages between the times `first` and `last`)."""
    client = await QueryClient.open(target.host, target.port, opts.channel, opts.timeout)
    rng = random.Random(opts.seed + 7)
    corpus = Corpus.make(seed=opts.seed)
    limit = opts.limit
    chan = opts.channel
    window = procstat.Window(target.pid)
    asked = 0
    try:
        latest = [f"CHATHISTORY LATEST {chan} * {limit}"] * opts.queries
        result: dict[str, Any] = {}
        result["latest"] = await _timed(client, latest, latest[: opts.warmup], progress, (0.5, 0.6), "LATEST", [])
        asked += len(latest) + opts.warmup

        def before() -> str:
            moment = first + rng.random() * (last - first)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment * 1000) % 1000:03d}Z"
            return f"CHATHISTORY BEFORE {chan} timestamp={stamp} {limit}"

        earlier = [before() for _ in range(opts.queries)]
        warm = [before() for _ in range(opts.warmup)]
        result["before"] = await _timed(client, earlier, warm, progress, (0.6, 0.7), "BEFORE", [])
        asked += len(earlier) + opts.warmup
        words: list[tuple[str, str, float]] = [
            (corpus.words[rank - 1], f"rank {rank}", corpus.share(rank))
            for rank in opts.search_ranks
            if rank <= len(corpus.words)
        ]
        if len(corpus.words) >= 1000:
            both = corpus.words[9] + " " + corpus.words[999]
            words.append((both, "ranks 10 and 1000", corpus.share(10) * corpus.share(1000)))
        words.append((corpus.absent_word(), "absent", 0.0))
        searches = []
        every: list[int] = []
        step = 0.3 / len(words)
        for i, (text, kind, share) in enumerate(words):
            escaped = text.replace(" ", "\\s")  # attribute values are escaped as tag values are
            line = f"SEARCH in={chan};text={escaped}"
            one = await _timed(client, [line] * opts.queries, [line] * opts.warmup, progress,
                               (0.7 + i * step, 0.7 + (i + 1) * step), f"SEARCH {kind}", every)  # fmt: skip
            asked += opts.queries + opts.warmup
            one.update(words=text, kind=kind, share=round(share, 6),
                       expected_matches=round(share * opts.plan.big_messages))  # fmt: skip
            searches.append(one)
        result["search"] = searches
        result["search_all"] = latency_ms(every)
    finally:
        await client.close()
    measured = window.close()
    server = None
    if measured.server_cpu_s is not None:
        server = {"cpu_s": round(measured.server_cpu_s, 3),
                  "cpu_ms_per_query": round(measured.server_cpu_s / asked * 1e3, 3) if asked else None,
                  "rss_bytes": measured.server_rss_bytes}  # fmt: skip
    result["server"] = server
    other = measured.other_util()
    result["other_processes_util"] = None if other is None else round(other, 3)
    return result
