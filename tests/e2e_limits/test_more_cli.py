"""More of the `hubbub` command line, as an administrator meets it: config files with
mistakes, `--set` edge cases, `--print-config` as a starting file, `account` and
`hash-password` edge cases. Real processes; servers on 127.0.0.1 port 0.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
from pathlib import Path

import pytest
from argon2 import extract_parameters

from hubbub.passwords import DECOY_HASH, verify_password
from tests.e2e_limits.test_cli import BASE, MODULE, STARTUP, _env, run
from tests.helpers import LineClient


class Started:
    """A `hubbub serve` that either exited (`code`) or logged its IRC address."""

    def __init__(self, proc: asyncio.subprocess.Process, log: list[str], address: tuple[str, int] | None) -> None:
        self.proc = proc
        self.log = log
        self.address = address

    @property
    def code(self) -> int | None:
        return self.proc.returncode

    async def client(self) -> LineClient:
        assert self.address is not None
        return await LineClient.connect_to(*self.address)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def start(tmp_path: Path, *args: str) -> Started:
    """Run `hubbub serve` with the usual test flags: until it exits or listens."""
    proc = await asyncio.create_subprocess_exec(
        *MODULE, "serve", *BASE, *args,
        cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []
    while True:
        raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
        if not raw:
            await proc.wait()
            return Started(proc, log, None)
        line = raw.decode(errors="replace").rstrip("\n")
        log.append(line)
        if found := re.search(r"listening irc (\S+):(\d+)$", line):
            return Started(proc, log, (found.group(1), int(found.group(2))))


@pytest.fixture
async def servers():
    started: list[Started] = []
    yield started
    for one in started:
        await one.stop()


def one_clear_line(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert re.search(r"^hubbub: .*" + pattern, result.stderr, re.MULTILINE), result.stderr


# -- config files with mistakes -----------------------------------------------------------------


def test_a_config_file_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[server]\nmotd = "caf\xe9"\n')
    one_clear_line(run("serve", *BASE, "--config", str(path), cwd=tmp_path), r"latin1\.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[limits]\nnicklenn = 5\n", r"unknown setting limits\.nicklenn"),
        ("[limit]\nnicklen = 5\n", r"unknown section"),
        ('[limits]\nsendq = "64k"\n', r"limits\.sendq must be a whole number"),
        ('[limits]\nflood_control = "no"\n', r"limits\.flood_control must be true or false"),
        ("[limits]\nsendq = 0\n", r"limits\.sendq must be at least 1"),
        ('[server]\nname = "two words"\n', r"server\.name must be a non-empty word"),
        ('[accounts]\nenforce = "kick"\n', r"accounts\.enforce must be"),
        ('[[opers]]\nname = "root"\n', r"needs name and password_hash"),
        ('[[opers]]\nname = "root"\npassword_hash = "x"\nhosts = ["10.0.0.1"]\n', r"user@host"),
        ('[opers]\nname = "root"\n', r"array of tables"),
        ('[server]\ndefault_channel = "lobby"\n', r"default_channel"),
        ('[listen]\nirc = ["127.0.0.1:99999"]\n', r"port must be a number"),
    ],
)
def test_config_file_mistakes_stop_the_server_with_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text(text, encoding="utf-8")
    result = run("serve", "--config", str(path), "--no-web", "--db", ":memory:", cwd=tmp_path)
    one_clear_line(result, message)


async def test_an_oper_block_with_a_password_instead_of_a_hash_is_refused_at_start(tmp_path: Path, servers) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text('[[opers]]\nname = "root"\npassword_hash = "hunter2"\n', encoding="utf-8")
    served = await start(tmp_path, "--config", str(path))
    servers.append(served)
    assert served.code not in (None, 0), served.log
    assert any("password_hash" in line for line in served.log), served.log


async def test_an_oper_block_with_an_impossible_host_mask_is_refused_at_start(tmp_path: Path, servers) -> None:
    path = tmp_path / "hubbub.toml"
    path.write_text(
        f'[[opers]]\nname = "root"\npassword_hash = "{DECOY_HASH}"\nhosts = ["*@10.0.0.0/99"]\n',
        encoding="utf-8",
    )
    served = await start(tmp_path, "--config", str(path))
    servers.append(served)
    assert served.code not in (None, 0), served.log
    assert any("hosts" in line for line in served.log), served.log


async def test_a_motd_file_that_cannot_be_read_is_at_least_logged(tmp_path: Path, servers) -> None:
    missing = tmp_path / "motd-typo.txt"
    served = await start(tmp_path, "--set", f"server.motd_file='{missing}'")
    servers.append(served)
    if served.code is None:
        client = await served.client()
        client.send("NICK alice")
        client.send("USER a 0 * :A")
        await client.expect(lambda m: m.command in ("376", "422"))
        await client.close()
        served.proc.terminate()  # the rest of the log, warnings after `listening` included
        assert served.proc.stderr is not None
        rest = await asyncio.wait_for(served.proc.stderr.read(), STARTUP)
        served.log += rest.decode(errors="replace").splitlines()
        await served.proc.wait()
    assert any("motd-typo.txt" in line for line in served.log), served.log


# -- --set ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("limits.flood_control=yes", r"limits\.flood_control must be true or false"),
        ("limits.sendq=1.5", r"limits\.sendq must be a whole number"),
        ("limits.max_clients=-1", r"limits\.max_clients cannot be negative"),
        ("limits.ping_timeout=nan", r"limits\.ping_timeout must be positive"),
        ("history.max_age_days=nan", r"history\.max_age_days cannot be negative"),
        ("history.max_age_days=-1", r"history\.max_age_days cannot be negative"),  # the key given is the key named
        ("history.max_per_target=-1", r"history\.max_per_target cannot be negative"),
        ("history.autoreplay_lines=-1", r"history\.autoreplay_lines cannot be negative"),
        ("history.chathistory_max=0", r"history\.chathistory_max must be at least 1"),
        ("store.output_wait=-1", r"store\.output_wait cannot be negative"),
        ("store.output_wait=nan", r"store\.output_wait cannot be negative"),
        ("server.name=", r"server\.name must be a non-empty word"),
        ("tls.sts_duration=-1", r"tls\.sts_duration cannot be negative"),
        ("limits.join_lock=-1", r"limits\.join_lock cannot be negative"),
        ("limits.join_lock=inf", r"limits\.join_lock"),
        ("limits.join_lock=nan", r"limits\.join_lock cannot be negative"),
        ("limits.knock_delay=nan", r"limits\.knock_delay cannot be negative"),
        ("opers.name=root", r"unknown section"),
        ("LIMITS.nicklen=5", r"unknown section"),
        ("limits.nicklen.x=5", r"unknown setting limits\.nicklen\.x"),
        ("=5", r"SECTION\.KEY=VALUE"),
        ("accounts.enforce=kick", r"accounts\.enforce must be"),
        ("accounts.ghost_timeout=-1", r"accounts\.ghost_timeout cannot be negative"),
        ("accounts.ghost_timeout=nan", r"accounts\.ghost_timeout cannot be negative"),
        ("server.default_channel=lobby", r"default_channel"),
        ("listen.proxy_from=['haproxy.example.org']", r"listen\.proxy_from: 'haproxy\.example\.org' is not an address"),
        ("limits.proxy_header_timeout=0", r"limits\.proxy_header_timeout must be positive"),
    ],
)
def test_more_bad_set_values_exit_with_one_clear_line(tmp_path: Path, override: str, message: str) -> None:
    one_clear_line(run("serve", *BASE, "--set", override, cwd=tmp_path), message)


def test_bad_listen_flag_is_one_clear_line(tmp_path: Path) -> None:
    for flag in ("127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:port"):
        result = run("serve", "--listen", flag, "--no-web", "--db", ":memory:", cwd=tmp_path)
        one_clear_line(result, re.escape(flag))


async def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        port = busy.getsockname()[1]
        result = run("serve", "--listen", f"127.0.0.1:{port}", "--no-web", "--db", ":memory:", cwd=tmp_path)
        one_clear_line(result, r"cannot listen")
    finally:
        busy.close()


async def test_the_last_of_repeated_sets_wins_and_a_number_can_be_a_password(tmp_path: Path, servers) -> None:
    served = await start(tmp_path, "--set", "limits.nicklen=9", "--set", "limits.nicklen=5",
                         "--set", "server.password=0123")  # fmt: skip
    servers.append(served)
    assert served.code is None, served.log
    client = await served.client()
    client.send("PASS 0123")  # the text, leading zero kept: not the number 83 or 123
    client.send("NICK abcdef")
    await client.expect("432")
    client.send("NICK abcde")
    client.send("USER a 0 * :A")
    await client.expect("001")
    await client.close()


async def test_an_empty_motd_set_on_the_command_line_gives_422(tmp_path: Path, servers) -> None:
    served = await start(tmp_path, "--set", "server.motd=")
    servers.append(served)
    client = await served.client()
    client.send("NICK alice")
    client.send("USER a 0 * :A")
    await client.expect("422")
    await client.close()


# -- --print-config -------------------------------------------------------------------------------


async def test_the_printed_config_as_is_starts_a_server_with_the_defaults(tmp_path: Path, servers) -> None:
    printed = run("serve", "--print-config", cwd=tmp_path)
    assert printed.returncode == 0 and printed.stderr == ""
    path = tmp_path / "hubbub.toml"
    path.write_text(printed.stdout, encoding="utf-8")
    served = await start(tmp_path, "--config", str(path))
    servers.append(served)
    assert served.code is None, served.log
    client = await served.client()
    client.send("NICK alice")
    client.send("USER a 0 * :A")
    motd = await client.expect("372")
    assert motd.params[-1] == "- Welcome to hubbub. Be kind."
    await client.close()


def test_print_config_needs_no_valid_config_and_exits_zero(tmp_path: Path) -> None:
    result = run("serve", "--print-config", "--set", "limits.nicklen=0", cwd=tmp_path)
    assert result.returncode == 0 and "[limits]" in result.stdout


def test_print_config_lists_every_contract_key(tmp_path: Path) -> None:
    text = run("serve", "--print-config", cwd=tmp_path).stdout
    for section, key in (("server", "name"), ("server", "password"), ("server", "motd"),
                         ("limits", "flood_control"), ("limits", "sendq"), ("limits", "max_clients_per_ip"),
                         ("limits", "max_clients"), ("accounts", "enforce"), ("accounts", "enforce_after"),
                         ("history", "autoreplay_lines"), ("cluster", "node_timeout")):  # fmt: skip
        block = text.split(f"\n[{section}]\n", 1)[1].split("\n[", 1)[0]
        assert re.search(rf"^# {key} = ", block, re.MULTILINE), (section, key)
    assert "# [[opers]]" in text and "# password_hash = " in text


# -- hubbub account --------------------------------------------------------------------------------


def account(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODULE, "account", *args], input=stdin, cwd=tmp_path, env=_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_account_add_list_passwd_del_round_trip_on_a_file(tmp_path: Path) -> None:
    db = str(tmp_path / "hubbub.db")
    assert account(tmp_path, "--db", db, "add", "Alice", "--email", "a@example.org", stdin="pw1\n").returncode == 0
    listed = account(tmp_path, "--db", db, "list")
    assert (
        listed.returncode == 0 and listed.stdout.startswith("Alice\tregistered ") and "a@example.org" in listed.stdout
    )
    dup = account(tmp_path, "--db", db, "add", "ALICE", stdin="pw2\n")  # casemapped: the same account
    assert dup.returncode == 1 and "exists already" in dup.stderr and "Traceback" not in dup.stderr
    assert account(tmp_path, "--db", db, "passwd", "alice", stdin="pw3\r\n").returncode == 0
    gone = account(tmp_path, "--db", db, "del", "aLiCe")
    assert gone.returncode == 0 and gone.stdout.strip() == f"account Alice deleted from {db}"
    assert account(tmp_path, "--db", db, "list").stdout.strip() == f"no accounts in {db}"


def test_account_takes_the_store_after_the_action_too(tmp_path: Path) -> None:
    """`hubbub account add erin --db x.db`, as people type it: the same as before the action."""
    db = str(tmp_path / "after.db")
    assert account(tmp_path, "add", "erin", "--db", db, stdin="pw\n").returncode == 0
    assert account(tmp_path, "list", "--db", db).stdout.startswith("erin\t")
    assert account(tmp_path, "--db", db, "list").stdout.startswith("erin\t")
    assert not (tmp_path / "hubbub.db").exists()


def test_account_edge_cases_are_one_clear_line(tmp_path: Path) -> None:
    db = str(tmp_path / "hubbub.db")
    assert account(tmp_path, "--db", db, "add", "alice", stdin="pw\n").returncode == 0  # a store to work on
    for args, stdin, message in (
        (("add", "bob"), "\n", "empty password"),
        (("add", "bob"), "", "empty password"),
        (("add", "a" * 31), "pw\n", "cannot be an account name"),
        (("add", "#chan"), "pw\n", "cannot be an account name"),
        (("passwd", "nobody"), "pw\n", "there is no account nobody"),
        (("del", "nobody"), "", "there is no account nobody"),
        # NickServ's rules for a password and a name, the same from the shell
        (("add", "bob"), "x" * 301 + "\n", "that password is too long (at most 300 bytes)"),
        (("add", "bob"), "BOB\n", "the password cannot be the account name"),
        (("passwd", "alice"), "Alice\n", "the password cannot be the account name"),
        (("add", "Guest555"), "pw\n", "it is a guest nickname"),
        (("add", "guest1"), "pw\n", "it is a guest nickname"),
        (("add", "bob", "--email", "notanemail"), "pw\n", "'notanemail' is not an e-mail address"),
    ):
        result = account(tmp_path, "--db", db, *args, stdin=stdin)
        assert result.returncode == 1, args
        assert result.stderr.startswith("hubbub: ") and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert account(tmp_path, "--db", db, "add", "Guest5x", stdin="x" * 300 + "\n").returncode == 0  # within both
    assert any(line.startswith("Guest5x\t") for line in account(tmp_path, "--db", db, "list").stdout.splitlines())


def test_account_reads_store_db_from_the_config_file(tmp_path: Path) -> None:
    db = tmp_path / "from-config.db"
    path = tmp_path / "hubbub.toml"
    path.write_text(f'[store]\ndb = "{db}"\n', encoding="utf-8")
    assert account(tmp_path, "--config", str(path), "add", "carol", stdin="pw\n").returncode == 0
    assert db.exists()
    assert account(tmp_path, "--db", str(db), "list").stdout.startswith("carol\t")
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\n", encoding="utf-8")
    one_clear_line(account(tmp_path, "--config", str(broken), "list"), r"broken\.toml")


async def test_account_add_while_a_server_holds_the_file_is_refused_clearly(tmp_path: Path, servers) -> None:
    db = str(tmp_path / "hubbub.db")
    served = await start(tmp_path, "--db", db)
    servers.append(served)
    assert served.code is None, served.log
    result = await asyncio.to_thread(account, tmp_path, "--db", db, "add", "dave", stdin="pw\n")
    one_clear_line(result, r"in use")


def test_account_list_on_a_missing_store_does_not_create_one(tmp_path: Path) -> None:
    typo = tmp_path / "hubub.db"
    result = account(tmp_path, "--db", str(typo), "list")
    assert not typo.exists()
    assert result.returncode != 0


def test_account_named_after_a_service_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "hubbub.db")
    result = account(tmp_path, "--db", db, "add", "NickServ", stdin="pw\n")
    assert result.returncode == 1 and "hubbub: " in result.stderr


# -- hubbub hash-password --------------------------------------------------------------------------


def test_hash_password_takes_the_first_line_without_its_crlf_and_keeps_inner_spaces(tmp_path: Path) -> None:
    result = subprocess.run(
        [*MODULE, "hash-password"], input=" two words \r\nsecond line\n", cwd=tmp_path, env=_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    assert verify_password(printed, " two words ")
    assert not verify_password(printed, " two words \r")


def test_hash_password_hashes_at_the_cost_asked_and_refuses_one_argon2_cannot_take(tmp_path: Path) -> None:
    def hashed(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*MODULE, "hash-password", *flags], input="secret\n", cwd=tmp_path, env=_env(),
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    small = hashed("--time-cost", "2", "--memory-kib", "1024", "--parallelism", "1")
    assert small.returncode == 0, small.stderr
    found = extract_parameters(small.stdout.strip())
    assert (found.time_cost, found.memory_cost, found.parallelism) == (2, 1024, 1)
    assert verify_password(small.stdout.strip(), "secret")
    for flags in (("--time-cost", "0"), ("--parallelism", "256"), ("--parallelism", "4", "--memory-kib", "31")):
        refused = hashed(*flags)
        assert (refused.returncode, refused.stdout) == (2, ""), flags
        assert refused.stderr.count("\n") == 1 and "at least 8 per lane" in refused.stderr, flags
