"""Servers with operators: a real server on port 0, configured from a TOML file.

Operator blocks cannot be given with `--set`, so these servers read a file, which
also makes REHASH meaningful: a test rewrites the file and asks for a reload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.config import load
from tests.helpers import CHEAP_HASH, cheap_hash

OPER_NAME = "admin"
OPER_PASSWORD = "operpass"


@pytest.fixture(scope="session")
def oper_hash() -> str:
    """One argon2id hash for the whole run, at the suite's cheap cost: every OPER checks it."""
    return cheap_hash(OPER_PASSWORD)


def oper_toml(password_hash: str, name: str = OPER_NAME, hosts: list[str] | None = None) -> str:
    block = f'[[opers]]\nname = "{name}"\npassword_hash = "{password_hash}"\n'
    if hosts is not None:
        block += "hosts = [" + ", ".join(f'"{h}"' for h in hosts) + "]\n"
    return block


class ConfiguredServer:
    """Writes the config file and starts a Runtime that reloads from it."""

    def __init__(self, path: Path, overrides: list[str]) -> None:
        self.path = path
        self.overrides = overrides
        self.runtime: Runtime | None = None

    def write(self, text: str) -> None:
        self.path.write_text(text, encoding="utf-8")

    async def start(self) -> Runtime:
        config = load(str(self.path), self.overrides)
        self.runtime = Runtime(config, loader=lambda: load(str(self.path), self.overrides), config_name=str(self.path))
        await self.runtime.start()
        return self.runtime


@pytest.fixture
async def make_oper_server(
    tmp_path: Path, oper_hash: str
) -> AsyncIterator[Callable[..., Awaitable[Runtime]]]:
    """`await make_oper_server(toml="...", *overrides)`: a server with the `admin` oper
    block (password `operpass`) plus `toml`; stopped at the end of the test."""
    started: list[ConfiguredServer] = []

    async def make(*overrides: str, toml: str | None = None) -> Runtime:
        # the suite's cheap password hashes, unless the file has accounts settings of its own
        cheap = CHEAP_HASH if toml is None or "[accounts]" not in toml else ()
        served = ConfiguredServer(tmp_path / f"hubbub{len(started)}.toml", [
            "listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false", "store.db=':memory:'",
            *cheap, *overrides,
        ])  # fmt: skip
        served.write(oper_toml(oper_hash) if toml is None else toml)
        started.append(served)
        return await served.start()

    yield make
    for served in started:
        if served.runtime is not None:
            await served.runtime.stop()


@pytest.fixture
async def oper_server(make_oper_server: Callable[..., Awaitable[Runtime]]) -> Runtime:
    return await make_oper_server()
