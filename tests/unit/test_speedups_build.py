"""The compiled module is used only when it was built from the source beside it: after a
`git pull` on an editable install (scripts/serve), an old build whose functions take
other arguments would make every message fail; the server runs the Python code instead
and its log says to rebuild. And the Python code alone (HUBBUB_PURE=1) carries the
common messages end to end, as it does where no C compiler was at hand."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubbub import speedups
from tests.helpers import LineClient

try:
    from hubbub import _speedups as built
except ImportError:
    built = None

pytestmark = pytest.mark.skipif(built is None, reason="hubbub._speedups is not built")

STARTUP = 15.0  # bound on `hubbub serve` coming up on a loaded machine


def test_the_build_in_use_is_the_one_made_from_the_source_beside_it() -> None:
    """Fails in a checkout whose _speedups.c changed since the last build: rebuild it
    (`pip install -e .`), or the C twins' tests would test the old build, or none."""
    assert built is not None
    assert speedups.built_from(built, speedups.SOURCE)
    assert speedups.compiled is built or os.environ.get("HUBBUB_PURE", "") not in ("", "0")


def test_a_source_that_is_not_there_leaves_the_build_trusted(tmp_path: Path) -> None:
    """An install from a wheel has the build and not its source."""
    assert built is not None
    assert speedups.built_from(built, tmp_path / "_speedups.c")


@contextlib.asynccontextmanager
async def serving(cwd: Path, env: dict[str, str]) -> AsyncIterator[tuple[int, list[str]]]:
    """`hubbub serve` started in `cwd` with `env`, once ready: its IRC port, and the lines
    it logged until then. Stopped on the way out."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:",
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []
    try:
        while not any("ready as" in line for line in log):
            raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            assert raw, f"hubbub exited before it was ready: {log}"
            log.append(raw.decode(errors="replace").rstrip("\n"))
        yield next(int(m.group(1)) for line in log if (m := re.search(r"listening irc 127\.0\.0\.1:(\d+)$", line))), log
    finally:
        proc.terminate()
        await proc.wait()


async def test_a_build_older_than_its_source_is_left_out_and_the_server_says_so(tmp_path: Path) -> None:
    package = tmp_path / "hubbub"
    shutil.copytree(Path(speedups.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    with (package / "_speedups.c").open("a") as source:  # as a `git pull` changes it, the build left as it was
        source.write("/* a newer revision */\n")
    env = {key: value for key, value in os.environ.items() if key != "HUBBUB_PURE"}
    env["PYTHONPATH"] = str(tmp_path)
    async with serving(tmp_path, env) as (port, log):
        warned = [line for line in log if "WARNING" in line]
        assert len(warned) == 1, log
        assert warned[0].endswith(
            f"WARNING {package / '_speedups.c'} changed since {Path(built.__file__ or '').name} was built from "
            "it: running the Python code instead; rebuild it with `pip install -e .` in the checkout (or "
            "`python setup.py build_ext --inplace`)"
        )
        client = await LineClient.connect_to("127.0.0.1", port)
        try:
            await client.register("alice")  # the Python code serves
            client.send("PRIVMSG alice :hello")
            assert (await client.expect("PRIVMSG")).params == ["alice", "hello"]
        finally:
            await client.close()


async def test_the_python_code_alone_carries_channel_and_private_messages(tmp_path: Path) -> None:
    """With HUBBUB_PURE=1 every compiled twin is left out (the message's event made by
    tuple.__new__, the channel's copies by to_members, the queues and the flusher in
    Python): a channel message reaches the other member and not its sender, a private
    one its target."""
    clients: list[LineClient] = []
    async with serving(tmp_path, {**os.environ, "HUBBUB_PURE": "1"}) as (port, _):
        try:
            for nick in ("alice", "bob"):
                client = await LineClient.connect_to("127.0.0.1", port)
                clients.append(client)
                await client.register(nick)
                client.send("JOIN #c")
                await client.expect("366")
            alice, bob = clients
            alice.send("PRIVMSG #c :to the channel")
            assert (await bob.expect("PRIVMSG")).params == ["#c", "to the channel"]
            bob.send("PRIVMSG alice :to you")
            # the first PRIVMSG alice gets is bob's: her own line to the channel did not come back
            assert (await alice.expect("PRIVMSG")).params == ["alice", "to you"]
        finally:
            for client in clients:
                await client.close()
