"""What the server refuses, and a nick taken at connection, in the web client.

In Chromium against real servers: a clustered hubbub whose Redis is gone for longer
than `node_timeout` (it refuses what clients send with `FAIL <command>
TEMPORARILY_UNAVAILABLE`), a moderated channel (404), and a nick held by someone else
when the page connects. And, without a browser, that the cluster names the command of
every event a client's command makes when it refuses it (engine/replica.py COMMANDS).
"""

from __future__ import annotations

import ast
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

import hubbub
from hubbub.engine.replica import COMMANDS
from hubbub.server import events
from hubbub.server.apply import APPLIERS
from hubbub.server.commands import COMMANDS as HANDLERS
from tests.cluster.support import Node
from tests.services import RedisServer, start_redis

in_session_loop = pytest.mark.asyncio(loop_scope="session")  # the browser tests (fixtures.py)

OUT_OF_REACH = "the network is out of reach, try again soon"

# -- COMMANDS: the command named when the cluster refuses an event ----------------------------

# Events more than one command makes: refused as `FAIL *` (see COMMANDS in replica.py).
AMBIGUOUS = {
    "Registered",  # NICK, USER or CAP END ends registration
    "LoggedIn", "LoggedOut",  # AUTHENTICATE, NickServ (by PRIVMSG, NICKSERV or NS)
    "AccountRegistered", "AccountCredentialsSet", "AccountCertSet", "AccountDropped",  # NickServ, REGISTER
    "ChannelRegistered", "ChannelAccessSet", "ChannelFounderSet", "ChannelDropped",  # ChanServ
    "AccountVhostSet",  # HostServ (by PRIVMSG, HOSTSERV or HS)
}  # fmt: skip


def _emits_for_its_connection(call: ast.Call) -> bool:
    """`ctx.emit(...)`, or `ctx.engine.emit(...)` with an origin or a continuation: an
    event a cluster may refuse to the client. `ctx.engine.emit(None, event)` has neither:
    it waits in the outbox until the log answers, and nobody is told (a failed login's count)."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "emit"):
        return False
    owner = ast.unparse(call.func.value)
    if owner == "ctx":
        return True
    detached = len(call.args) == 2 and isinstance(call.args[0], ast.Constant) and call.args[0].value is None
    return owner == "ctx.engine" and not detached


def emitted_for_clients() -> dict[str, set[str]]:
    """Event class -> where it is made in a function that emits for its connection
    (`ctx.emit`, `ctx.engine.emit`), across hubbub/server."""
    names = {name for name, value in vars(events).items() if isinstance(value, type) and value in APPLIERS}
    found: dict[str, set[str]] = {}
    root = Path(hubbub.__path__[0]) / "server"
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            calls = [node for node in ast.walk(fn) if isinstance(node, ast.Call)]
            if not any(_emits_for_its_connection(c) for c in calls):
                continue
            for call in calls:
                if isinstance(call.func, ast.Name) and call.func.id in names:
                    found.setdefault(call.func.id, set()).add(f"{path.relative_to(root)}:{fn.name}")
    return found


def test_every_event_a_client_command_makes_names_its_command_when_refused() -> None:
    found = emitted_for_clients()
    assert {"MarkerSet", "Redacted", "Joined", "NickSet"} <= set(found)  # the scan sees them
    # Said and SaidMultiline carry their command (PRIVMSG, NOTICE, TAGMSG): command_of reads it there
    named = {cls.__name__ for cls in COMMANDS} | {"Said", "SaidMultiline"}
    missing = {name: sorted(where) for name, where in found.items() if name not in named and name not in AMBIGUOUS}
    assert not missing, f"refused as `FAIL *`: {missing}"
    assert COMMANDS[events.MarkerSet] == "MARKREAD"  # the read marker: what the web client sends in the background
    unknown = {cls.__name__: command for cls, command in COMMANDS.items() if command not in HANDLERS}
    assert not unknown, f"not commands: {unknown}"


# -- a cluster whose Redis is out of reach ------------------------------------------------------

@pytest_asyncio.fixture(loop_scope="session")
async def clustered(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Node, RedisServer]]:
    """One node of a cluster with its web listener, on a redis-server of its own (killed)."""
    redis = start_redis()
    if isinstance(redis, str):
        pytest.skip(redis)
    config = tmp_path_factory.mktemp("faults") / "hubbub.toml"
    config.write_text("")
    node = Node(redis.url, f"t{uuid.uuid4().hex[:12]}", "node1.test", str(config), "listen.web='127.0.0.1:0'")
    try:
        await node.start()
        yield node, redis
    finally:
        if redis.process is None or redis.process.poll() is not None:
            redis.start()  # so that the node stops at once
        await node.stop()
        redis.close()


@in_session_loop
async def test_a_message_refused_while_the_network_is_out_of_reach_comes_back_in_one_line(
    clustered: tuple[Node, RedisServer], open_page
) -> None:
    node, redis = clustered
    registrar = await node.client("erin")
    registrar.send("PRIVMSG NickServ :REGISTER sesame")
    await registrar.expect("900")
    await registrar.close()
    probe = await node.client("probe")
    await probe.join("#lobby")
    erin = await open_page(node.web_url)
    erin.allowed_errors.append(r"WebSocket")  # should the node drop it at the end
    await erin.connect("erin", "#lobby", password="sesame")
    page = erin.page
    await page.wait_for_function("() => window.hubbub.client.account === 'erin'")
    assert await page.evaluate("window.hubbub.client.has('draft/read-marker')")

    redis.stop(kill=True)
    probe.send("PRIVMSG #lobby :are we cut off?")  # waits, then is refused once the node refuses
    assert (await probe.expect("FAIL", timeout=15)).params[:2] == ["PRIVMSG", "TEMPORARILY_UNAVAILABLE"]

    # One Enter: a typing notification, the message, and a read marker in the background
    await page.click("#input")
    await page.keyboard.type("is anyone there?")
    await page.evaluate("window.hubbub.client.markRead('#lobby', Date.now())")
    await page.press("#input", "Enter")
    refused = erin.messages().locator(".row.error")
    await expect(refused).to_have_count(1)
    await expect(refused).to_contain_text("Not sent to #lobby: “is anyone there?”. The network is out of reach")
    await expect(refused).to_contain_text("It is back in the message box")
    await expect(page.locator("#input")).to_have_value("is anyone there?")
    await page.wait_for_timeout(1500)  # what else the node refuses meanwhile (MARKREAD, TAGMSG) has come
    await expect(refused).to_have_count(1)
    text = await erin.messages().inner_text()
    for shown in ("*: Not sent", "TAGMSG:", "MARKREAD:", "PRIVMSG: Not sent"):
        assert shown not in text
    await probe.close()


# -- a moderated channel ------------------------------------------------------------------------


@in_session_loop
async def test_a_message_a_channel_refuses_is_put_back_and_sent_once_allowed(open_user, irc_user) -> None:
    op = await irc_user("opal", "#hushed")
    op.send("MODE #hushed +m")
    await op.expect("MODE")
    dana = await open_user()
    await dana.connect("dana", "#hushed")
    await op.expect("JOIN")
    await dana.say("may I speak?")
    refused = dana.messages().locator(".row.error")
    await expect(refused).to_have_count(1)
    await expect(refused).to_contain_text("Not sent to #hushed: “may I speak?”. Cannot send to channel")
    await expect(dana.page.locator("#input")).to_have_value("may I speak?")
    op.send("MODE #hushed +v dana")
    await op.expect("MODE")
    await expect(dana.messages()).to_contain_text("+v dana")
    await dana.page.press("#input", "Enter")
    said = await op.expect("PRIVMSG")
    assert said.params == ["#hushed", "may I speak?"]
    await expect(dana.page.locator("#input")).to_have_value("")
    await expect(refused).to_have_count(1)


# -- the nick wanted, taken back ------------------------------------------------------------------


@in_session_loop
async def test_a_nick_taken_at_connection_is_taken_back_once_free(open_user, irc_user) -> None:
    holder = await irc_user("erin")
    watcher = await irc_user("walt", "#lobby")
    erin = await open_user()
    page = erin.page
    await page.clock.install()  # the wait for the nick to stay free runs when the test says
    await erin.connect("erin", "#lobby")
    await page.wait_for_function("() => window.hubbub.client.nick === 'erin_'")
    await watcher.expect("JOIN")
    holder.send("QUIT :bye")
    # a page that did not hold the nick last waits for it to stay free (another tab of the
    # same person may be reloading): the 731 starts that wait
    await page.wait_for_function("() => window.hubbub.client.timers.reclaim !== null")
    await page.clock.run_for(15_000)
    changed = await watcher.expect("NICK", timeout=10)
    assert (changed.source or "").startswith("erin_!") and changed.params[0] == "erin"
    await page.wait_for_function("() => window.hubbub.client.nick === 'erin'")
    await expect(page.locator("#member-list").get_by_role("button", name="erin", exact=True)).to_have_count(1)
    settings = await page.evaluate("JSON.parse(localStorage.getItem('hubbub.settings'))")
    assert settings["nick"] == "erin"
    errors = erin.messages().locator(".row.error")
    await expect(errors).to_have_count(0)
