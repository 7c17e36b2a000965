"""`hubbub bench`'s command line, without what runs it.

Every `hubbub` command builds this parser (`hubbub --help` lists `bench`), and a server
started with `hubbub serve` never runs a benchmark: so the arguments are here, needing
only argparse (and bench/loops.py's check of positive numbers), and the scenarios, their
reports and their processes are loaded by `hubbub.bench.cli` when a benchmark runs.
"""

from __future__ import annotations

import argparse

from hubbub.bench.loops import positive

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
    _load_arguments(f, clients=100, senders=10, rate=100.0)
    f.add_argument("--stalled", type=int, default=0, metavar="M",
                   help="members that stop reading once set up (not counted): what a stalled reader costs "
                        "the others")
    f.add_argument("--procs", type=positive(int), default=1, help="processes holding the receivers")
    f.add_argument("--setup-timeout", type=positive(float), default=120.0, metavar="SECONDS")
    _find_max_arguments(f, "find-max", start_rate=50.0)

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

    _add_history_parsers(sub, common)

    s = sub.add_parser("summary", help="Markdown tables from --json result files")
    s.add_argument("files", nargs="+", metavar="RESULT.json")


def _load_arguments(parser: argparse.ArgumentParser, *, clients: int, senders: int, rate: float) -> None:
    """The room and the load of `fanout` and of `store` (the fanout against a stored history)."""
    parser.add_argument("-n", "--clients", type=positive(int), default=clients, help="clients in the channel (N)")
    parser.add_argument("-k", "--senders", type=positive(int), default=senders, help="clients that send (K)")
    parser.add_argument("-r", "--rate", type=positive(float), default=rate, help="messages/s from all senders (R)")
    parser.add_argument("-d", "--duration", type=positive(float), default=10.0, help="seconds of sending (per trial)")
    parser.add_argument("--size", type=positive(int), default=64, help="bytes of message text")
    parser.add_argument("--samplers", type=int, default=5, help="receivers that measure latency")
    parser.add_argument("--concurrency", type=positive(int), default=50, help="registrations in flight during setup")
    parser.add_argument("--drain-timeout", type=positive(float), default=10.0, metavar="SECONDS",
                        help="how long to wait for the last deliveries after sending stops")
    parser.add_argument("--max-p99-ms", type=positive(float), default=500.0,
                        help="p99 latency above which a trial does not hold")


def _find_max_arguments(parser: argparse.ArgumentParser, title: str, *, start_rate: float) -> None:
    m = parser.add_argument_group(title)
    m.add_argument("--find-max", action="store_true",
                   help="search the highest rate held with no loss and p99 under --max-p99-ms")
    m.add_argument("--start-rate", type=positive(float), default=start_rate)
    m.add_argument("--precision", type=positive(float), default=0.1,
                   help="stop when the lowest failing rate is within this fraction of the best held one")
    m.add_argument("--max-trials", type=positive(int), default=12)
    m.add_argument("--max-time", type=positive(float), default=300.0, metavar="SECONDS",
                   help="time budget of the search's trials (setup not included)")
    m.add_argument("--retries", type=int, default=1,
                   help="re-run a failed trial this many times when other processes disturbed it")


def _add_history_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """`store` and `history` (run by history_cli.py)."""
    s = sub.add_parser("store", parents=[common], help="messages stored per second, each one counted in the database",
                       description="The fanout scenario against a hubbub keeping history in a SQLite file (every "
                                   "message is stored); afterwards the file is read to check that it holds every "
                                   "message sent. With --find-max: the highest rate held is the messages stored "
                                   "per second.")  # fmt: skip
    s.add_argument("--db", metavar="FILE|URL", help="the server's database, a SQLite file or a postgresql:// URL "
                   "(default: a temporary file; required with --server-cmd or --connect)")
    _load_arguments(s, clients=10, senders=5, rate=1000.0)
    _find_max_arguments(s, "find-max (as for fanout)", start_rate=1250.0)

    h = sub.add_parser("history", parents=[common], help="CHATHISTORY and SEARCH round trips on a big history",
                       description="Fills a database with a chat-like history through hubbub's store (one channel "
                                   "of --messages, a few smaller ones), starts a hubbub on it, and times "
                                   "CHATHISTORY LATEST, CHATHISTORY BEFORE at random points, and SEARCH for words "
                                   "of various frequencies, one question at a time.")  # fmt: skip
    h.add_argument("--db", metavar="FILE|URL", help="the database to fill: a SQLite file that must not exist, or "
                   "a postgresql:// URL of a database without messages; with --reuse, the database to query as it "
                   "is (default: a temporary file)")
    h.add_argument("--reuse", action="store_true", help="query --db as it is, without filling it")
    h.add_argument("--keep", action="store_true", help="keep the temporary database (its path is printed)")
    h.add_argument("--messages", type=positive(int), default=1_000_000, help="messages in the big channel")
    h.add_argument("--others", type=int, default=3, help="smaller channels")
    h.add_argument("--other-messages", type=int, default=10_000, help="messages in each smaller channel")
    h.add_argument("--queries", type=positive(int), default=200, help="measured questions of each kind")
    h.add_argument("--warmup", type=int, default=10, help="questions of each kind asked first, not measured")
    h.add_argument("--limit", type=positive(int), default=100, help="messages asked for per question")
    h.add_argument("--batch", type=positive(int), default=10_000, help="messages per store write while filling")
    h.add_argument("--seed", type=int, default=1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubbub bench", description=DESCRIPTION)
    configure_parser(parser)
    return parser
