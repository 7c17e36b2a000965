"""`hubbub hash-password`: a password on standard input, its argon2id hash on output,
usable as is in an [[opers]] block."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hubbub.config import load
from hubbub.passwords import verify_password
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import hubbub_env


def hash_password_cli(stdin: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubbub", "hash-password"],
        input=stdin, cwd=cwd, env=hubbub_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_hash_password_prints_an_argon2id_hash_of_the_line_read(tmp_path: Path) -> None:
    result = hash_password_cli("correct horse battery staple\n", tmp_path)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    assert result.stdout.count("\n") == 1 and printed.startswith("$argon2id$")
    assert verify_password(printed, "correct horse battery staple")
    assert not verify_password(printed, "correct horse battery staple\n")


def test_hash_password_refuses_an_empty_password(tmp_path: Path) -> None:
    result = hash_password_cli("\n", tmp_path)
    assert result.returncode == 1
    assert result.stdout == "" and "empty password" in result.stderr


def test_the_printed_hash_works_in_an_opers_block(tmp_path: Path) -> None:
    printed = hash_password_cli("s3cret\n", tmp_path).stdout.strip()
    path = tmp_path / "hubbub.toml"
    path.write_text(oper_toml(printed, "root"), encoding="utf-8")
    (block,) = load(str(path)).opers
    assert block.name == "root" and verify_password(block.password_hash, "s3cret")
