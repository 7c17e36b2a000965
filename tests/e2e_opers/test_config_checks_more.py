"""Mistakes `serve --check-config` used to call usable, which a start then refused with
a traceback, took for something else, or did not refuse at all: the Redis URL, the
PostgreSQL URL, the server name. Each is refused when the configuration is read, so the
check and a start say the same line, status 2 (docs/operators.md). Real processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e_limits.test_cli import BASE, MODULE, STARTUP, _env, run
from tests.services import RedisServer

NAME_RULE = "is not a server name: letters, digits, '-' and '_' in parts joined by dots (irc.example.org)"


def started(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A real start with these flags, which must end by itself (a refusal)."""
    proc = subprocess.Popen([*MODULE, "serve", *BASE, *args], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=STARTUP)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"started instead of refusing {args}: {err}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def refused_alike(*args: str, cwd: Path) -> str:
    """The one line both `--check-config` and a start refuse `args` with, status 2."""
    check = run("serve", *BASE, *args, "--check-config", cwd=cwd)
    start = started(*args, cwd=cwd)
    assert (check.returncode, start.returncode) == (2, 2), (check.stderr, start.stderr)
    assert check.stdout == "" and "Traceback" not in start.stderr
    assert check.stderr.splitlines() == start.stderr.splitlines(), (check.stderr, start.stderr)
    (line,) = check.stderr.splitlines()
    return line


HERE = "127.0.0.1:{port}"  # a real Redis: a URL let through would join it
REDIS_URLS = {
    "redis://127.0.0.1:99999/0": "hubbub: cluster.url: the port must be a number from 1 to 65535, not 127.0.0.1:99999",
    f"redis://{HERE}/abc": "hubbub: cluster.url: the database after the host must be a number (redis://HOST:PORT/0), "
                           "not 'abc'",
    f"redis://{HERE}/0?ssl_cert_reqs=required": "hubbub: cluster.url: ssl_cert_reqs= is not an option of a redis:// "
                                                "URL (TLS options need rediss://)",
    f"redis://{HERE}/0?colour=blue": "hubbub: cluster.url: colour= is not an option of a redis:// URL",
    f"rediss://{HERE}/0?ssl_ca_certs={{tmp}}/no-ca.pem": "hubbub: cluster.url: cannot read ssl_ca_certs "
                                                         "{tmp}/no-ca.pem: No such file or directory",
}  # fmt: skip


@pytest.mark.parametrize("url", list(REDIS_URLS))
def test_a_redis_url_started_with_a_traceback_or_read_otherwise_is_refused(
    url: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    """Each used to be `usable`; a start then failed with a traceback (the port), joined
    database 0 (`/abc`), or named no file (`Error 2 connecting to ...`)."""
    expected = REDIS_URLS[url].format(tmp=tmp_path)
    given = url.format(port=redis_server.port, tmp=tmp_path)
    assert refused_alike("--cluster", given, cwd=tmp_path) == expected


def test_a_redis_url_option_redis_py_cannot_read_is_refused_without_the_password(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    here = HERE.format(port=redis_server.port)
    bogus = refused_alike("--set", f"cluster.url='rediss://{here}/0?ssl_cert_reqs=bogus'", cwd=tmp_path)
    assert bogus.startswith("hubbub: cluster.url: ") and "bogus" in bogus, bogus
    password = refused_alike("--cluster", f"redis://:hunter2@{here[:-1]}x/0", cwd=tmp_path)
    assert "port must be a number" in password and "hunter2" not in password


def test_a_postgresql_url_the_store_cannot_read_is_a_configuration_error(tmp_path: Path) -> None:
    """A start exited 1, as if PostgreSQL had failed; --check-config said usable."""
    line = refused_alike("--db", "postgresql://hubbub@127.0.0.1:abc/hubbub", cwd=tmp_path)
    assert line == "hubbub: store.db: the PostgreSQL port is not a port number (1 to 65535): 127.0.0.1:abc"
    cluster = refused_alike("--cluster", "redis://127.0.0.1:6379/0", "--db",
                            "postgresql://hubbub:secret@db.example.org:5432/hubbub?connect_timeout=soon",
                            cwd=tmp_path)  # fmt: skip
    assert cluster.startswith("hubbub: store.db: connect_timeout") and "secret" not in cluster


@pytest.mark.parametrize("name", ["a*b", "irc?.example.org", "nick!user@host", "irc..example.org", "irc.été.fr"])
def test_a_server_name_with_characters_no_server_name_has_is_refused(name: str, tmp_path: Path) -> None:
    """A wildcard would make the name match masks it is not (LINKS, WHO); '!' and '@'
    would make it read as a user's source."""
    assert refused_alike(f"--name={name}", cwd=tmp_path) == f"hubbub: server.name {name!r} {NAME_RULE}"


def test_a_server_name_in_the_file_is_checked_and_host_names_stay_usable(tmp_path: Path) -> None:
    (tmp_path / "hubbub.toml").write_text('[server]\nname = "irc.*"\n', encoding="utf-8")
    assert refused_alike("--config", "hubbub.toml", cwd=tmp_path) == f"hubbub: server.name 'irc.*' {NAME_RULE}"
    for name in ("irc_1.Example-Net.org", "hubbub"):  # names in use stay usable
        usable = run("serve", *BASE, "--name", name, "--check-config", cwd=tmp_path)
        assert usable.returncode == 0, usable.stderr
