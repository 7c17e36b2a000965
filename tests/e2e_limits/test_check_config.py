"""`hubbub serve --check-config`: a file checked before a restart or a REHASH, with
nothing started (no port, no store, no certificate written). Real processes."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.e2e_limits.test_cli import run


def test_a_usable_file_is_said_usable_and_nothing_is_opened_or_made(tmp_path: Path) -> None:
    (tmp_path / "hubbub.toml").write_text(
        '[server]\nname = "irc.example.org"\nmotd_file = "missing-motd.txt"\n[store]\ndb = "chat.db"\n',
        encoding="utf-8",
    )
    with socket.socket() as taken:  # a port in use: checking must not try to listen there
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--config", "hubbub.toml", "--listen", f"127.0.0.1:{port}",
                     "--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true", "--check-config",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr  # a warning leaves it usable
    # what a start would warn of, naming the file where it was looked for, as a line of
    # the check's own, not a log record among them
    assert result.stdout.splitlines() == [
        f"hubbub: warning: cannot read server.motd_file {tmp_path / 'missing-motd.txt'}: "
        "No such file or directory; no MOTD is shown",
        f"hubbub: a self-signed pair will be made at {tmp_path / 'hubbub.crt'} and {tmp_path / 'hubbub.key'}",
        "hubbub: the configuration is usable (hubbub.toml)",
    ]
    assert result.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hubbub.toml"]  # no store, no certificate


def test_a_store_the_server_could_not_write_is_a_mistake(tmp_path: Path) -> None:
    """As a start would refuse it (a systemd unit's working directory, a folder not made)."""
    result = run("serve", "--db", "missing/chat.db", "--no-web", "--check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert f"store.db: cannot write the folder of missing/chat.db ({tmp_path / 'missing'})" in result.stderr
    assert "usable" not in result.stdout


def test_a_motd_file_that_is_not_utf8_is_a_warning_line_too(tmp_path: Path) -> None:
    (tmp_path / "motd.txt").write_bytes(b"caf\xe9\n")
    result = run("serve", "--set", "server.motd_file=motd.txt", "--check-config", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "hubbub: warning: server.motd_file motd.txt is not UTF-8 (byte 3); undecodable bytes are shown as \ufffd",
        "hubbub: the configuration is usable (the defaults and flags)",
    ]


def test_a_cluster_nodes_file_with_its_store_on_the_command_line_is_usable(tmp_path: Path) -> None:
    """docs/cluster.md's node: the network's Redis in the file, the shared store by --db
    (the file alone, with the default SQLite store, is a mistake)."""
    (tmp_path / "node.toml").write_text('[cluster]\nurl = "redis://127.0.0.1:1/0"\n', encoding="utf-8")
    result = run("serve", "--config", "node.toml", "--name", "irc1.example.org", "--no-web",
                 "--db", "postgresql://hubbub@127.0.0.1:1/hubbub", "--check-config", cwd=tmp_path)  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == "hubbub: the configuration is usable (node.toml)"
    alone = run("serve", "--config", "node.toml", "--no-web", "--check-config", cwd=tmp_path)
    assert alone.returncode == 2
    assert "a cluster's nodes must share one store" in alone.stderr


def test_a_mistake_is_named_and_the_status_is_2(tmp_path: Path) -> None:
    (tmp_path / "hubbub.toml").write_text("[limits]\nnicklen = \"twenty\"\n", encoding="utf-8")
    result = run("serve", "--config", "hubbub.toml", "--check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("hubbub: limits.nicklen must be a whole number")
    missing = run("serve", "--tls-listen", "127.0.0.1:0", "--check-config", cwd=tmp_path)
    assert missing.returncode == 2
    assert f"hubbub: cannot read {tmp_path / 'hubbub.crt'}: no such file" in missing.stderr


def test_a_listen_address_a_start_could_not_find_is_a_mistake(tmp_path: Path) -> None:
    """A start resolves each listener's host and fails when it cannot; the check says so too."""
    for flag in ("--listen", "--tls-listen", "--web"):
        result = run("serve", "--no-web" if flag != "--web" else "--listen=127.0.0.1:0", flag, "999.0.0.1:16970",
                     "--set", "tls.self_signed=true", "--check-config", cwd=tmp_path)  # fmt: skip
        assert result.returncode == 2, (flag, result.stdout, result.stderr)
        assert result.stderr.startswith("hubbub: cannot listen on 999.0.0.1:16970 ("), result.stderr
    fine = run("serve", "--listen", "localhost:16970", "--no-web", "--check-config", cwd=tmp_path)
    assert fine.returncode == 0, fine.stderr
