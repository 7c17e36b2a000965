"""The history scenarios, run briefly against real hubbub processes: do they count what
was stored, fill what they say, and time every question? (Never how fast: see the
benchmark's own figures.)"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hubbub.bench import procstat
from hubbub.bench.corpus import Corpus, Plan, schedule
from hubbub.bench.history import checked, count_messages
from hubbub.bench.history_cli import report
from hubbub.bench.report import summary


def _bench(*args: str, timeout: float = 120) -> dict:
    proc = subprocess.run([sys.executable, "-m", "hubbub.bench", *args, "--json", "--time-limit", "100"],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_store_counts_every_message_sent_in_the_database_after_the_server_stopped(tmp_path: Path) -> None:
    db = str(tmp_path / "history.db")
    result = _bench("store", "-n", "4", "-k", "2", "-r", "40", "-d", "0.5", "--db", db, "--label", "hubbub-history")
    trial = result["result"]
    assert trial["sent"] == 20 and trial["delivered"] == trial["expected"] == 20 * 3
    assert result["stored"] == {"db": db, "before": 0, "after": 20, "stored": 20, "sent": 20, "all_stored": True,
                                "backend": "sqlite"}
    assert result["stored_per_s"] == trial["offered_msgs_per_s"]
    threads = trial["server"]["threads"]  # the loop's CPU apart from the store writer's
    assert threads["main"]["cpu_s"] > 0 and threads["hubbub-write"]["cpu_s"] > 0
    assert "by thread" in report(result)
    assert asyncio.run(count_messages(db)) == 20  # the file outlives the run when --db names it
    assert not procstat.alive(result["target"]["pid"])
    assert "20 messages of 20 sent (all stored" in report(result)
    table = summary([result])
    assert "### Messages stored per second" in table and "| hubbub-history | 4 | 2 |" in table


def test_store_reports_messages_missing_from_the_database(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE messages (command TEXT)")
    conn.executemany("INSERT INTO messages VALUES (?)", [("PRIVMSG",)] * 7 + [("JOIN",)])
    conn.commit()
    conn.close()
    result = asyncio.run(checked({"sent_total": 10}, str(db), before=0))
    assert result["stored"]["stored"] == 7 and not result["stored"]["all_stored"]
    assert "10 messages were sent but the database holds 7" in result["warnings"][0]


def test_history_fills_a_database_and_times_every_question(tmp_path: Path) -> None:
    db = str(tmp_path / "big.db")
    result = _bench("history", "--messages", "3000", "--others", "1", "--other-messages", "200", "--queries", "3",
                    "--warmup", "1", "--batch", "1000", "--db", db, "--label", "hubbub-history")  # fmt: skip
    assert result["prefill"]["messages"] == 3200 and result["prefill"]["batch"] == 1000
    assert result["database"]["channel_messages"] == 3000 and result["database"]["all_messages"] == 3200
    q = result["result"]
    assert q["latest"]["samples"] == 3 and q["latest"]["lines_min"] == q["latest"]["lines_max"] == 100
    assert q["before"]["samples"] == 3 and q["before"]["lines_max"] <= 100
    kinds = {s["kind"]: s for s in q["search"]}
    assert kinds["rank 1"]["lines_min"] == 100  # the commonest word is in about half the messages
    assert kinds["absent"]["lines_max"] == 0
    assert q["search_all"]["samples"] == 3 * len(q["search"])
    assert q["server"]["cpu_ms_per_query"] > 0
    text = report(result)
    assert "3,000 messages in #big" in text and "SEARCH rank 1 " in text
    assert "### History queries" in summary([result])
    # the same file again, as it is
    again = _bench("history", "--reuse", "--db", db, "--queries", "2", "--warmup", "0")
    assert "prefill" not in again and again["database"]["channel_messages"] == 3000


def test_store_and_history_on_postgresql(postgres_url: str) -> None:
    result = _bench("store", "-n", "3", "-k", "1", "-r", "20", "-d", "0.5", "--db", postgres_url)
    assert result["stored"]["stored"] == result["stored"]["sent"] == 10 and result["stored"]["all_stored"]
    assert result["stored"]["backend"] == "postgresql"
    assert "hubbub-secret" not in json.dumps(result)  # the URL's password is never shown
    with pytest.raises(AssertionError, match="holds messages already"):  # not an empty database
        _bench("history", "--db", postgres_url, "--messages", "10")
    assert asyncio.run(count_messages(postgres_url)) == 10


def test_history_fills_and_queries_a_postgresql_database(postgres_url: str) -> None:
    result = _bench("history", "--messages", "2000", "--others", "1", "--other-messages", "100", "--queries", "2",
                    "--warmup", "0", "--batch", "500", "--db", postgres_url)  # fmt: skip
    assert result["prefill"]["messages"] == 2100
    assert result["database"]["backend"] == "postgresql" and result["database"]["channel_messages"] == 2000
    q = result["result"]
    assert q["latest"]["lines_min"] == 100 and q["before"]["samples"] == 2
    kinds = {s["kind"]: s for s in q["search"]}
    assert kinds["rank 1"]["lines_min"] == 100 and kinds["absent"]["lines_max"] == 0
    assert "hubbub-secret" not in json.dumps(result)


def test_history_refuses_to_overwrite_a_database(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    db.write_bytes(b"precious")
    proc = subprocess.run([sys.executable, "-m", "hubbub.bench", "history", "--db", str(db), "--messages", "10"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1 and "exists" in proc.stderr
    assert db.read_bytes() == b"precious"
    proc = subprocess.run([sys.executable, "-m", "hubbub.bench", "history", "--cluster", "2"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "--cluster is for fanout" in proc.stderr


def test_the_corpus_is_the_same_every_time_and_zipf_shaped() -> None:
    corpus = Corpus.make(size=5000, seed=3)
    assert Corpus.make(size=5000, seed=3).words == corpus.words and len(set(corpus.words)) == 5000
    texts = corpus.texts(4000, random.Random(1))
    assert texts == corpus.texts(4000, random.Random(1))
    containing = [sum(1 for text in texts if word in text.split()) / len(texts) for word in corpus.words[:3]]
    assert containing[0] > containing[1] > containing[2]
    assert abs(containing[0] - corpus.share(1)) < 0.05
    assert corpus.absent_word() not in corpus.words


def test_the_schedule_interleaves_the_channels_oldest_first() -> None:
    plan = Plan(big_messages=500, other_channels=2, other_messages=50)
    batches = list(schedule(plan, end=1_000_000.0, batch=128))
    assert [len(b) for b in batches] == [128, 128, 128, 128, 88]
    rows = [row for batch in batches for row in batch]
    assert [sum(1 for c, _, _ in rows if c == name) for name in plan.channels()] == [500, 50, 50]
    times = [t for _, _, t in rows]
    assert times == sorted(times) and times[-1] < 1_000_000.0
