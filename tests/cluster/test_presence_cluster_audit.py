"""Presence across nodes: MONITOR, extended-monitor, away-notify, setname, account-notify,
draft/metadata-2 and the queries (WHOIS, WHO, WHOX, ISON, USERHOST) about a user on
another node of one network.

A black-box audit. Every test but the last runs twice: on one plain server (the
reference: what a single process does) and on a two-node cluster with the users on
different nodes (`here` and `there`); both must answer alike. The last adds a third
node (from a snapshot), compares its answers, then kills it. Each network is shared by the module's
tests (each test with nicks of its own); after the changes on the cluster, every node's
digest of its replica must agree. Waits are for replies, never for time:
`caught_up(client)` proves the client's node has applied everything logged before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
import pytest_asyncio

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message
from tests.cluster.support import NODE_TIMEOUT, Cluster, caught_up, digests, oper_up
from tests.helpers import LineClient, cap_ls, isupport_tokens, sync
from tests.services import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

# small limits, so that the limits are quick to reach; no flood control and no
# registration limit (every account here comes from 127.0.0.1)
LIMITS = ("limits.monitor=4", "limits.metadata_max_keys=3", "limits.metadata_max_subs=4",
          "limits.metadata_max_value_bytes=40", "accounts.register_limit=0")  # fmt: skip
EXTENDED = ("extended-monitor", "away-notify", "setname", "account-notify", "chghost")
META = ("draft/metadata-2", "batch")
NS = "NickServ!NickServ@services"
NO_SET = "You may not set metadata on this target"


# -- the networks ---------------------------------------------------------------------------


class Networks:
    def __init__(self, single: Runtime, cluster: Cluster) -> None:
        self.single = single
        self.cluster = cluster


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def networks(redis_server: RedisServer, cluster_config: str) -> AsyncIterator[Networks]:
    # the reference: one plain server, with the same limits and operators as the nodes
    config = load(cluster_config, ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                                   "store.db=':memory:'", *LIMITS])  # fmt: skip
    single = Runtime(config)
    await single.start()
    cluster = Cluster(redis_server.url, cluster_config)
    try:
        # a longer node timeout than the support's: on a loaded machine a shared node must
        # not be declared lost in the middle of another test (node3, lost on purpose, keeps 2 s)
        await cluster.start(2, *LIMITS, "cluster.node_timeout=6")
        yield Networks(single, cluster)
    finally:
        await cluster.close()
        await single.stop()


class Net:
    """One network as a test sees it: `here` and `there` are one server, or two nodes."""

    def __init__(self, kind: str, networks: Networks) -> None:
        self.kind = kind
        self.networks = networks
        self.clients: list[LineClient] = []
        if kind == "single":
            address = networks.single.irc_address()
            self.addresses = {"here": address, "there": address}
        else:
            n1, n2 = networks.cluster.nodes[:2]
            assert n1.address is not None and n2.address is not None
            self.addresses = {"here": n1.address, "there": n2.address}

    @property
    def clustered(self) -> bool:
        return self.kind == "cluster"

    async def connect(self, where: str, caps: Sequence[str] = ()) -> LineClient:
        client = await LineClient.connect_to(*self.addresses[where])
        self.clients.append(client)
        if caps:
            client.send("CAP LS 302")
            client.send(f"CAP REQ :{' '.join(caps)}")
            await client.expect("CAP", "*", "ACK")
        return client

    async def client(self, where: str, nick: str, *channels: str, caps: Sequence[str] = (),
                     realname: str = "Real Name") -> LineClient:  # fmt: skip
        client = await self.connect(where, caps)
        if caps:
            client.send("CAP END")
        await client.register(nick, realname=realname)
        for channel in channels:
            await client.join(channel)
        return client

    async def oper(self, where: str, nick: str, *channels: str, caps: Sequence[str] = ()) -> LineClient:
        client = await self.client(where, nick, *channels, caps=caps)
        await oper_up(client)
        return client

    async def agree(self, nick: str) -> None:
        """On the cluster: every node's replica is the same (a new operator asks)."""
        if not self.clustered:
            return
        oper = await self.client("here", nick)
        await oper_up(oper)
        found = await digests(oper, 2)
        assert len(set(found.values())) == 1, found

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest_asyncio.fixture(params=["single", "cluster"], loop_scope="module")
async def net(request: pytest.FixtureRequest, networks: Networks) -> AsyncIterator[Net]:
    found = Net(request.param, networks)
    yield found
    await found.close()


# -- reading replies ------------------------------------------------------------------------


def numeric_params(messages: list[Message]) -> list[list[str]]:
    """Numerics (without the recipient) and standard replies, as [command, params...]."""
    return [[m.command, *m.params[1:]] if m.command.isdigit() else [m.command, *m.params] for m in messages
            if m.command.isdigit() or m.command in ("FAIL", "WARN", "NOTE", "METADATA")]  # fmt: skip


async def ask(client: LineClient, line: str, end: str | Callable[[Message], bool]) -> list[list[str]]:
    client.send(line)
    return numeric_params(await client.collect_until(end))


def batch_end(m: Message) -> bool:
    return m.command == "BATCH" and m.params[0].startswith("-")


async def in_batch(client: LineClient, line: str) -> tuple[list[str], list[list[str]]]:
    """Send a METADATA command answered by a batch: the batch's opening params and the
    lines inside it (each tagged with the batch)."""
    client.send(line)
    opening = await client.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+")
                                  or m.command == "FAIL")  # fmt: skip
    if opening.command == "FAIL":
        return ["FAIL"], numeric_params([opening])
    ref = opening.params[0][1:]
    start = len(client.received)
    await client.expect(lambda m: m.command == "BATCH" and m.params[0] == f"-{ref}")
    inside = client.received[start:-1]
    assert all(m.tags.get("batch") == ref for m in inside), client.raw[-10:]
    return opening.params[1:], numeric_params(inside)


async def quiet(client: LineClient, *commands: str) -> list[Message]:
    """The lines of these commands the client was sent and not yet read, up to now: once
    `caught_up` is back, its node has delivered everything logged before, and `sync`
    reads to the end of what it sent."""
    start = len(client.received)
    await caught_up(client)
    await sync(client)
    return [m for m in client.received[start:] if m.command in commands]


def mask_nick(mask: str) -> str:
    return mask.split("!", 1)[0]


# -- MONITOR --------------------------------------------------------------------------------


async def test_monitor_numerics_for_users_on_another_node(net: Net) -> None:
    there = await net.client("there", "mnT1", realname="T one")
    watcher = await net.client("here", "mnW")
    watcher.send("MONITOR + mnT1,mnAbsent,#chan,bad*mask")  # a channel and a mask: skipped
    online = await watcher.expect("730")
    assert online.params[0] == "mnW"
    assert online.params[-1] == "mnT1!~u@127.0.0.1"
    offline = await watcher.expect("731")
    assert offline.params[-1] == "mnAbsent"
    assert await ask(watcher, "MONITOR + MNT1", "730") == [["730", "mnT1!~u@127.0.0.1"]]  # already there
    assert await ask(watcher, "MONITOR L", "733") == [["732", "mnT1,mnAbsent"], ["733", "End of MONITOR list"]]
    assert await ask(watcher, "MONITOR S", "731") == [["730", "mnT1!~u@127.0.0.1"], ["731", "mnAbsent"]]
    # the limit (4): two more fit, the rest is refused with the limit and the nicks as sent
    watcher.send("MONITOR + mnA,mnB,mnC,mnD")
    assert sorted(numeric_params(await sync(watcher))) == [
        ["731", "mnA,mnB"], ["734", "4", "mnC,mnD", "Monitor list is full."]]  # fmt: skip
    watcher.send("MONITOR - mnA,mnB,mnAbsent")
    assert await ask(watcher, "MONITOR L", "733") == [["732", "mnT1"], ["733", "End of MONITOR list"]]
    assert await ask(watcher, "MONITOR X", lambda m: m.command == "FAIL") == [
        ["FAIL", "MONITOR", "INVALID_PARAMS", "X", "Unknown MONITOR subcommand"]]  # fmt: skip
    # MONITOR - then the nick leaves: no news
    watcher.send("MONITOR - mnT1")
    there.send("QUIT :bye")
    await there.closed()
    assert await quiet(watcher, "730", "731") == []
    watcher.send("MONITOR C")
    assert await ask(watcher, "MONITOR L", "733") == [["733", "End of MONITOR list"]]
    await net.agree("mnOper")


async def test_monitor_sees_nicks_come_and_go_on_another_node(net: Net) -> None:
    watcher = await net.client("here", "mcW")
    neighbour = await net.client("there", "mcW2")  # a watcher on the other node too
    for client in (watcher, neighbour):
        client.send("MONITOR + mcT,mcNew")
        await client.expect("731")
    target = await net.client("there", "mcT")
    for client in (watcher, neighbour):
        assert (await client.expect("730")).params[-1] == "mcT!~u@127.0.0.1"
    target.send("NICK mcNew")
    await target.expect("NICK")
    for client in (watcher, neighbour):
        assert (await client.expect("731")).params[-1] == "mcT"
        assert (await client.expect("730")).params[-1] == "mcNew!~u@127.0.0.1"
    target.send("NICK MCNEW")  # a change of case only: neither
    await target.expect("NICK")
    target.send("QUIT :gone")
    await target.closed()
    for client in (watcher, neighbour):
        lines = [m for m in await client.collect_until("731") if m.command in ("730", "731")]
        assert [(m.command, m.params[-1]) for m in lines] == [("731", "MCNEW")]
        assert await quiet(client, "730", "731") == []  # once, not once per node
    await net.agree("mcOper")


async def test_monitor_of_a_nick_freed_and_taken_by_someone_on_the_other_node(net: Net) -> None:
    watcher = await net.client("here", "mfW")
    first = await net.client("here", "mfX")
    second = await net.client("there", "mfY")
    watcher.send("MONITOR + mfX")
    await watcher.expect("730")
    first.send("NICK mfZ")
    await first.expect("NICK")
    assert (await watcher.expect("731")).params[-1] == "mfX"
    await caught_up(second)  # its node knows the nick is free (a node checks NICK on its replica first)
    second.send("NICK mfX")
    await second.expect("NICK")
    assert (await watcher.expect("730")).params[-1] == "mfX!~u@127.0.0.1"
    assert await ask(watcher, "MONITOR S", "730") == [["730", "mfX!~u@127.0.0.1"]]
    await net.agree("mfOper")


def monitor_states(messages: list[Message], nicks: Sequence[str]) -> dict[str, bool]:
    """Replay 730/731 lines from all-offline: each must change its nick's state."""
    online = {nick.lower(): False for nick in nicks}
    for m in messages:
        if m.command not in ("730", "731"):
            continue
        for item in m.params[-1].split(","):
            nick = mask_nick(item).lower()
            assert online[nick] != (m.command == "730"), f"{m.command} {item} without a change: {m}"
            online[nick] = m.command == "730"
    return online


def mover_nick(client: LineClient) -> str:
    """The client's nick now, from its own NICK lines (433s change nothing)."""
    nick = client.nick
    for m in client.received:
        if m.command == "NICK" and mask_nick(m.source) == nick:
            nick = m.params[0]
    return nick


async def test_racing_nick_changes_on_two_nodes_keep_every_watcher_right(net: Net) -> None:
    nicks = ["rnA", "rnB", "rnC", "rnD"]
    watchers = [await net.client(where, f"rnW{i}") for i, where in enumerate(("here", "there"))]
    starts = []
    for watcher in watchers:
        watcher.send(f"MONITOR + {','.join(nicks)}")
        await watcher.expect("731")
        starts.append(len(watcher.received))
    movers = [await net.client(where, f"rnM{i}") for i, where in enumerate(("here", "there"))]
    for round_ in range(16):  # the two often want one nick at once: one of them gets 433
        movers[0].send(f"NICK {nicks[round_ % 4]}")
        movers[1].send(f"NICK {nicks[(round_ // 2 + 1) % 4]}")
    await asyncio.gather(*(caught_up(mover) for mover in movers))
    finals = []
    for watcher, start in zip(watchers, starts, strict=True):
        await caught_up(watcher)
        await sync(watcher)
        states = monitor_states(watcher.received[start:], nicks)
        watcher.send("MONITOR S")
        replies = await sync(watcher)
        now = {mask_nick(item).lower(): m.command == "730" for m in replies if m.command in ("730", "731")
               for item in m.params[-1].split(",")}  # fmt: skip
        assert states == now, (states, now)
        finals.append(now)
    assert finals[0] == finals[1]
    held = [nick.lower() for nick in nicks if nick.lower() in {mover_nick(m).lower() for m in movers}]
    assert sorted(nick for nick, on in finals[0].items() if on) == sorted(held)
    await net.agree("rnOper")


# -- extended-monitor, away-notify, setname, account-notify --------------------------------------


async def ns_register(client: LineClient, password: str = "correct-horse") -> None:
    client.send(f"NICKSERV REGISTER {password}")
    notice = await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert notice.params[-1] == "Account created", notice


async def test_extended_monitor_tells_away_setname_and_account_of_a_user_on_another_node(net: Net) -> None:
    watcher = await net.client("here", "xmW", caps=EXTENDED)
    plain = await net.client("here", "xmP", caps=EXTENDED[1:])  # MONITOR without extended-monitor
    drafted = await net.client("here", "xmD", caps=("draft/extended-monitor", "away-notify"))  # the draft's name
    target = await net.client("there", "xmT")
    for client in (watcher, plain, drafted):
        client.send("MONITOR + xmT")
        await client.expect("730")
    target.send("AWAY :lunch")
    await target.expect("306")
    away = await watcher.expect("AWAY")
    assert away.source == "xmT!~u@127.0.0.1" and away.params == ["lunch"]
    assert (await drafted.expect("AWAY")).params == ["lunch"]
    target.send("AWAY")
    await target.expect("305")
    assert (await watcher.expect("AWAY")).params == []
    target.send("SETNAME :New Name")  # without setname: no reply to wait for
    setname = await watcher.expect("SETNAME")
    assert setname.source == "xmT!~u@127.0.0.1" and setname.params == ["New Name"]
    await ns_register(target)
    account = await watcher.expect("ACCOUNT")
    assert account.source == "xmT!~u@127.0.0.1" and account.params == ["xmT"]
    target.send("NICKSERV LOGOUT")
    assert (await watcher.expect("ACCOUNT")).params == ["*"]
    await caught_up(target)
    # without extended-monitor: none of it
    assert await quiet(plain, "AWAY", "SETNAME", "ACCOUNT", "CHGHOST") == []
    await net.agree("xmOper")


async def test_extended_monitor_needs_the_notice_capability_and_tells_once(net: Net) -> None:
    only_ext = await net.client("here", "xoE", caps=("extended-monitor",))  # no away-notify
    both = await net.client("here", "xoB", "#xo", caps=("extended-monitor", "away-notify"))
    target = await net.client("there", "xoT", "#xo")
    await both.expect(lambda m: m.command == "JOIN" and m.source.startswith("xoT!"))
    for client in (only_ext, both):
        client.send("MONITOR + xoT")
        await client.expect("730")
    target.send("AWAY :away")
    await target.expect("306")
    assert (await both.expect("AWAY")).params == ["away"]
    assert await quiet(both, "AWAY") == []  # a channel and MONITOR: once
    assert await quiet(only_ext, "AWAY") == []
    await net.agree("xoOper")


async def test_channel_neighbours_on_another_node_hear_away_setname_and_account(net: Net) -> None:
    caps = ("away-notify", "setname", "account-notify")
    seer = await net.client("here", "cnS", "#cn", caps=caps)
    blind = await net.client("here", "cnB", "#cn")  # no capability: none of it
    target = await net.client("there", "cnT", "#cn", caps=("setname", "account-notify"))
    await seer.expect(lambda m: m.command == "JOIN" and m.source.startswith("cnT!"))
    target.send("AWAY :brb")
    await target.expect("306")
    assert (await seer.expect("AWAY")).params == ["brb"]
    target.send("SETNAME :Renamed Person")
    mine = await target.expect("SETNAME")  # the confirmation to itself, with setname
    assert mine.params == ["Renamed Person"] and mine.source.startswith("cnT!")
    seen = await seer.expect("SETNAME")
    assert seen.source == mine.source and seen.params == ["Renamed Person"]
    assert seen.tags.get("msgid") == mine.tags.get("msgid")
    await ns_register(target)
    await target.expect("MODE", "cnT", "+r")  # after the login's answer, with its own ACCOUNT line
    assert [m.params for m in target.received if m.command == "ACCOUNT"] == [["cnT"]]  # account-notify: itself too
    assert (await seer.expect("ACCOUNT")).params == ["cnT"]
    # one who joins later is not sent the members' away states (WHO tells them), only changes
    late = await net.client("here", "cnL", caps=caps)
    await late.join("#cn")
    assert await quiet(late, "AWAY") == []
    target.send("AWAY")
    await target.expect("305")
    assert (await late.expect("AWAY")).params == []
    assert await quiet(blind, "AWAY", "SETNAME", "ACCOUNT") == []
    await net.agree("cnOper")


async def test_a_dropped_account_logs_out_for_neighbours_and_watchers_on_another_node(net: Net) -> None:
    watcher = await net.client("here", "dpW", caps=EXTENDED)
    neighbour = await net.client("here", "dpN", "#dp", caps=("account-notify",))
    target = await net.client("there", "dpT", "#dp")
    watcher.send("MONITOR + dpT")
    await watcher.expect("730")
    await ns_register(target)
    for client in (watcher, neighbour):
        assert (await client.expect("ACCOUNT")).params == ["dpT"]
    target.send("NICKSERV DROP")
    while "To confirm" not in (notice := (await target.expect(lambda m: m.command == "NOTICE")).params[-1]):
        pass
    target.send(f"NICKSERV DROP dpT {notice.split()[-1]}")
    await target.expect("901")
    for client in (watcher, neighbour):
        told = await client.expect("ACCOUNT")
        assert told.source == "dpT!~u@127.0.0.1" and told.params == ["*"]
    await caught_up(neighbour)
    whois = await ask(neighbour, "WHOIS dpT", "318")
    assert [line for line in whois if line[0] == "330"] == []
    assert await ask(neighbour, "WHO dpT %tna,3", "315") == [
        ["354", "3", "dpT", "0"],
        ["315", "dpT", "End of WHO list"],
    ]
    await net.agree("dpOper")


# -- the queries about a user on another node ------------------------------------------------


async def test_queries_about_a_user_on_another_node_show_away_account_and_realname(net: Net) -> None:
    target = await net.client("there", "qT", "#q", caps=META, realname="First Name")
    asker = await net.client("here", "qA", "#q")
    neighbour = await net.client("there", "qN", "#q")
    await ns_register(target)
    target.send("AWAY :gone fishing")
    await target.expect("306")
    target.send("SETNAME :Second Name")
    target.send("METADATA * SET display-name :Q the Target")
    await target.expect("761")
    target.send("METADATA * SET homepage :not shown in whois")
    await target.expect("761")
    await caught_up(asker)
    await caught_up(neighbour)
    node = {"here": "", "there": ""}
    seen: dict[str, list[list[list[str]]]] = {}
    for name, client in (("asker", asker), ("neighbour", neighbour)):
        whois = await ask(client, "WHOIS qT", "318")
        who = await ask(client, "WHO qT", "315")
        whox = await ask(client, "WHO #q %tnfar,42", "315")
        ison = await ask(client, "ISON qT qNobody QT", "303")
        userhost = await ask(client, "USERHOST qT", "302")
        # 312's text is the node's description where it is known (the user's own node), by design
        # and 317's idle seconds are of the moment asked
        shown_whois = [line[:3] if line[0] == "312" else [*line[:2], *line[3:]] if line[0] == "317" else line
                       for line in whois]  # fmt: skip
        seen[name] = [shown_whois, who, whox, ison, userhost]
        by_code = {line[0]: line for line in whois}
        assert by_code["311"] == ["311", "qT", "~u", "127.0.0.1", "*", "Second Name"]
        assert by_code["301"] == ["301", "qT", "gone fishing"]
        assert by_code["330"] == ["330", "qT", "qT", "is logged in as"]
        assert [line for line in whois if line[0] == "760"] == [["760", "qT", "display-name", "*", "Q the Target"]]
        node["there"] = by_code["312"][2]
        assert who == [["352", "*", "~u", "127.0.0.1", node["there"], "qT", "G", "0 Second Name"],
                       ["315", "qT", "End of WHO list"]], who  # fmt: skip
        assert ["354", "42", "qT", "G@", "qT", "Second Name"] in whox, whox
        assert ["354", "42", "qA", "H", "0", "Real Name"] in whox, whox
        assert len(ison) == 1 and {nick.lower() for nick in ison[0][1].split()} == {"qt"}, ison
        assert userhost == [["302", "qT=-~u@127.0.0.1"]], userhost
    if net.clustered:
        assert node["there"] == "node2.test"
        assert seen["asker"] == seen["neighbour"]
    # an operator and a bot: WHO's flags, WHOIS's lines, from both nodes alike
    await oper_up(target)
    target.send("MODE qT +B")
    await target.expect(lambda m: m.command == "MODE" and m.params[-1] == "+B")
    await caught_up(asker)
    await caught_up(neighbour)
    flags = []
    for client in (asker, neighbour):
        whois = await ask(client, "WHOIS qT", "318")
        assert ["313", "qT", "is an IRC operator"] in whois, whois
        assert [line[:2] for line in whois if line[0] == "335"] == [["335", "qT"]], whois
        flags.append((await ask(client, "WHO qT", "315"))[0][6])
        flags.append([line[3] for line in await ask(client, "WHO #q %tnf,1", "315") if line[2:3] == ["qT"]][0])
    assert flags == ["G*B", "G*@B"] * 2, flags
    await net.agree("qOper")


# -- draft/metadata-2 ---------------------------------------------------------------------------


async def test_metadata_set_on_one_node_is_read_on_another(net: Net) -> None:
    owner = await net.client("there", "mdO", caps=META)
    reader = await net.client("here", "mdR", caps=META)
    owner.send("METADATA * SET status :at work")
    assert numeric_params([await owner.expect("761")]) == [["761", "mdO", "status", "*", "at work"]]
    owner.send("METADATA * SET avatar :https://example.org/a.png")
    await owner.expect("761")
    await caught_up(reader)
    assert await in_batch(reader, "METADATA mdO GET status nothing BAD!KEY avatar") == (
        ["metadata", "mdO"],
        [["761", "mdO", "status", "*", "at work"], ["766", "mdO", "nothing", "Key not set"],
         ["WARN", "METADATA", "INVALID_KEY", "BAD!KEY", "Invalid key"],
         ["761", "mdO", "avatar", "*", "https://example.org/a.png"]])  # fmt: skip
    opening, lines = await in_batch(reader, "METADATA MDO LIST")
    assert opening == ["metadata", "mdO"]
    assert sorted(lines) == [["761", "mdO", "avatar", "*", "https://example.org/a.png"],
                             ["761", "mdO", "status", "*", "at work"]]  # fmt: skip
    # not the reader's to change
    assert await ask(reader, "METADATA mdO SET status :hacked", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "KEY_NO_PERMISSION", "mdO", "status", NO_SET]]  # fmt: skip
    # the key goes: 766 to its owner, 766 to the reader's GET
    owner.send("METADATA * SET status")
    assert numeric_params([await owner.expect("766")]) == [["766", "mdO", "status", "Key not set"]]
    await caught_up(reader)
    assert (await in_batch(reader, "METADATA mdO GET status"))[1] == [["766", "mdO", "status", "Key not set"]]
    # a nick change keeps the keys; the old nick is no target any more
    owner.send("NICK mdO2")
    await owner.expect("NICK")
    await caught_up(reader)
    assert (await in_batch(reader, "METADATA mdO2 LIST"))[1] == [
        ["761", "mdO2", "avatar", "*", "https://example.org/a.png"]]  # fmt: skip
    assert await ask(reader, "METADATA mdO LIST", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "INVALID_TARGET", "mdO", "Invalid metadata target"]]  # fmt: skip
    await net.agree("mdOper")


async def test_channel_metadata_across_nodes(net: Net) -> None:
    op = await net.client("there", "chO", "#chm", caps=META)
    member = await net.client("here", "chM", "#chm", caps=META)
    outsider = await net.client("here", "chX", caps=META)
    op.send("METADATA #chm SET url :https://example.org")
    assert numeric_params([await op.expect("761")]) == [["761", "#chm", "url", "*", "https://example.org"]]
    await caught_up(member)
    assert (await in_batch(member, "METADATA #CHM GET url"))[1] == [["761", "#chm", "url", "*", "https://example.org"]]
    assert await ask(member, "METADATA #chm SET url :mine", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "KEY_NO_PERMISSION", "#chm", "url", NO_SET]]  # fmt: skip
    # a halfop on the other node may
    op.send("MODE #chm +h chM")
    await member.expect(lambda m: m.command == "MODE" and m.params[-1] == "chM")
    member.send("METADATA #chm SET topic-image :x.png")
    await member.expect("761")
    await caught_up(op)
    assert sorted((await in_batch(op, "METADATA #chm LIST"))[1]) == [
        ["761", "#chm", "topic-image", "*", "x.png"], ["761", "#chm", "url", "*", "https://example.org"]]  # fmt: skip
    # secret: hidden from the outsider, whichever node it is on
    op.send("MODE #chm +s")
    await member.expect(lambda m: m.command == "MODE" and m.params[1:] == ["+s"])
    await caught_up(outsider)
    assert await ask(outsider, "METADATA #chm LIST", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "INVALID_TARGET", "#chm", "Invalid metadata target"]]  # fmt: skip
    # CLEAR by the op: one 766 per key, in a batch
    opening, lines = await in_batch(op, "METADATA #chm CLEAR")
    assert opening == ["metadata", "#chm"]
    assert sorted(lines) == [["766", "#chm", "topic-image", "Key not set"], ["766", "#chm", "url", "Key not set"]]
    await caught_up(member)
    assert (await in_batch(member, "METADATA #chm LIST"))[1] == []
    await net.agree("chOper")


async def test_metadata_subscribers_on_another_node_are_notified(net: Net) -> None:
    sub = await net.client("here", "nsS", "#ns", caps=META)
    target = await net.client("there", "nsT", "#ns", caps=META)
    watcher = await net.client("here", "nsW", caps=META)  # no channel: MONITOR only
    stranger = await net.client("here", "nsX", caps=META)  # subscribed, but neither
    for client in (sub, watcher, stranger):
        assert await ask(client, "METADATA * SUB status display-name", lambda m: m.params[1:2] == ["display-name"]) \
            == [["770", "status"], ["770", "display-name"]]  # fmt: skip
    watcher.send("MONITOR + nsT")
    await watcher.expect("730")
    target.send("METADATA * SET status :busy")
    assert numeric_params([await target.expect("761")]) == [["761", "nsT", "status", "*", "busy"]]
    for client in (sub, watcher):
        told = await client.expect("METADATA")
        assert told.source == net_server(client) and told.params == ["nsT", "status", "*", "busy"]
    target.send("METADATA * SET pronouns :they")  # nobody subscribed
    await target.expect("761")
    target.send("METADATA #ns SET topic-image :c.png")  # not an op: refused
    await target.expect("FAIL")
    sub.send("MODE #ns +o nsT")  # sub founded #ns
    await target.expect(lambda m: m.command == "MODE" and m.params[-1] == "nsT")
    target.send("METADATA #ns SET display-name :The NS channel")
    await target.expect("761")
    assert (await sub.expect("METADATA")).params == ["#ns", "display-name", "*", "The NS channel"]
    target.send("METADATA * SET status")
    await target.expect("766")
    for client in (sub, watcher):
        assert (await client.expect("METADATA")).params == ["nsT", "status", "*"]
    await caught_up(target)
    assert await quiet(stranger, "METADATA") == []
    assert await quiet(sub, "METADATA") == []  # nothing of pronouns
    assert await quiet(target, "METADATA") == []  # the setter has its replies instead
    # UNSUB and SUBS
    assert await ask(sub, "METADATA * UNSUB status", "771") == [["771", "status"]]
    assert (await in_batch(sub, "METADATA * SUBS")) == (["metadata-subs"], [["772", "display-name"]])
    target.send("METADATA * SET status :again")
    await target.expect("761")
    assert (await watcher.expect("METADATA")).params == ["nsT", "status", "*", "again"]
    assert await quiet(sub, "METADATA") == []
    await net.agree("nsOper")


def net_server(client: LineClient) -> str:
    """The name of the client's server, from its welcome."""
    return next(m.source for m in client.received if m.command == "001")


async def test_metadata_synchronised_on_join_monitor_and_sub_across_nodes(net: Net) -> None:
    target = await net.client("there", "syT", "#sy", caps=META)
    target.send("METADATA * SET status :here")
    await target.expect("761")
    target.send("METADATA #sy SET url :https://sy.example")
    await target.expect("761")
    joiner = await net.connect("here", META)
    joiner.send("METADATA * SUB status url")
    joiner.send("CAP END")
    await joiner.register("syJ")
    await caught_up(joiner)
    joiner.send("JOIN #sy")
    opening = await joiner.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"))
    assert opening.params[1:] == ["metadata", "#sy"]
    lines = [m for m in await joiner.collect_until(batch_end) if m.command == "METADATA"]
    assert sorted(m.params for m in lines) == [["#sy", "url", "*", "https://sy.example"],
                                               ["syT", "status", "*", "here"]]  # fmt: skip
    # MONITOR of an online user with keys: its keys, in a batch named after it
    watcher = await net.client("here", "syW", caps=META)
    watcher.send("METADATA * SUB status")
    await watcher.expect("770")
    watcher.send("MONITOR + syT,syLater")
    await watcher.expect("730")
    assert await in_batch_already(watcher) == (["metadata", "syT"], [["METADATA", "syT", "status", "*", "here"]])
    # a monitored user coming online on the other node with keys set before registering
    later = await net.connect("there", META)
    later.send("METADATA * SET status :early")
    assert numeric_params([await later.expect("761")]) == [["761", "*", "status", "*", "early"]]
    later.send("CAP END")
    later.send("NICK syLater")
    later.send("USER u 0 * :Later")
    own = await later.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"))
    assert own.params[1:] == ["metadata", "syLater"]
    assert (await watcher.expect("730")).params[-1] == "syLater!~u@127.0.0.1"
    assert await in_batch_already(watcher) == (["metadata", "syLater"],
                                               [["METADATA", "syLater", "status", "*", "early"]])  # fmt: skip
    # SUB of a new key: the current values of what one sees, as `*ALL`
    watcher.send("METADATA * SUB url")
    await watcher.expect("770")
    await caught_up(watcher)
    assert [m for m in await sync(watcher) if m.command == "METADATA"] == []  # no url on users it sees
    joiner.send("METADATA * SUB display-name")
    await joiner.expect("770")
    target.send("METADATA * SET display-name :Sy")
    await target.expect("761")
    assert (await joiner.expect("METADATA")).params == ["syT", "display-name", "*", "Sy"]
    opening_params, sync_lines = await in_batch(joiner, "METADATA #sy SYNC")
    assert opening_params == ["metadata", "#sy"]
    assert sorted(sync_lines) == [["METADATA", "#sy", "url", "*", "https://sy.example"],
                                  ["METADATA", "syT", "display-name", "*", "Sy"],
                                  ["METADATA", "syT", "status", "*", "here"]]  # fmt: skip
    await net.agree("syOper")


async def in_batch_already(client: LineClient) -> tuple[list[str], list[list[str]]]:
    """The next batch the client is sent unasked: its opening params and its lines."""
    opening = await client.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"))
    ref = opening.params[0][1:]
    start = len(client.received)
    await client.expect(lambda m: m.command == "BATCH" and m.params[0] == f"-{ref}")
    return opening.params[1:], numeric_params(client.received[start:-1])


async def test_every_node_advertises_the_same_presence_limits(net: Net) -> None:
    seen = []
    for where in ("here", "there"):
        client = await net.connect(where)
        _, offered = await cap_ls(client)
        client.send("CAP END")
        await client.register(f"adv{where}")
        tokens = isupport_tokens(client.received)
        seen.append((offered.get("draft/metadata-2"), tokens.get("MONITOR"), tokens.get("WHOX", "absent"),
                     "extended-monitor" in offered, "away-notify" in offered, "account-notify" in offered,
                     "setname" in offered))  # fmt: skip
    assert seen[0] == seen[1]
    value, monitor, whox, *presence_caps = seen[0]
    assert value is not None and {"max-keys=3", "max-subs=4", "max-value-bytes=40"} <= set(value.split(","))
    assert monitor == "4" and whox is None and all(presence_caps)


async def test_metadata_limits_hold_for_users_on_every_node(net: Net) -> None:
    owner = await net.client("there", "lmO", caps=META)
    for key in ("a", "b", "c"):
        owner.send(f"METADATA * SET {key} :{key}")
        await owner.expect("761")
    assert await ask(owner, "METADATA * SET d :d", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "LIMIT_REACHED", "lmO", "Metadata limit reached (at most 3 keys)"]]  # fmt: skip
    owner.send("METADATA * SET a :changed")  # a key already set is no new key
    assert numeric_params([await owner.expect("761")]) == [["761", "lmO", "a", "*", "changed"]]
    assert await ask(owner, "METADATA * SET e :" + "x" * 41, lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "VALUE_INVALID", "e", "The value is too long (at most 40 bytes)"]]  # fmt: skip
    assert await ask(owner, "METADATA * SET BAD!KEY :v", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "INVALID_KEY", "BAD!KEY", "Invalid key"]]  # fmt: skip
    reader = await net.client("here", "lmR", caps=META)
    lines = await ask(reader, "METADATA * SUB k1 k2 k3 k4 k5 k6", lambda m: m.command == "FAIL")
    assert lines == [["770", "k1"], ["770", "k2"], ["770", "k3"], ["770", "k4"],
                     ["FAIL", "METADATA", "TOO_MANY_SUBS", "k5", "Too many subscriptions (at most 4)"]]  # fmt: skip
    assert await in_batch_already(reader) == (["metadata", "*ALL"], [])  # the values of k1-k4: none
    assert sorted((await in_batch(reader, "METADATA lmO LIST"))[1]) == [
        ["761", "lmO", "a", "*", "changed"], ["761", "lmO", "b", "*", "b"], ["761", "lmO", "c", "*", "c"]]  # fmt: skip
    await net.agree("lmOper")


async def test_racing_metadata_from_two_nodes_never_passes_the_key_limit(net: Net) -> None:
    """Two ops of one channel, one on each node, add keys at the same moment: the limit
    (3 keys) is the network's, decided in the log's order, not each node's guess."""
    first = await net.client("here", "rcA", "#rc", caps=META)
    second = await net.client("there", "rcB", "#rc", caps=META)
    await caught_up(first)  # its node has seen rcB join
    first.send("MODE #rc +o rcB")
    await second.expect(lambda m: m.command == "MODE" and m.params[-1] == "rcB")
    for round_ in range(6):
        first.send("METADATA #rc SET base :x")
        await first.expect("761")
        await caught_up(second)
        first.send(f"METADATA #rc SET a{round_} :1")
        first.send(f"METADATA #rc SET c{round_} :3")
        second.send(f"METADATA #rc SET b{round_} :2")
        second.send(f"METADATA #rc SET d{round_} :4")
        answers = []
        for client in (first, second):
            for _ in range(2):
                answers.append(await client.expect(lambda m: m.command in ("761", "FAIL")))
        accepted = [m for m in answers if m.command == "761"]
        assert len(accepted) == 2, [m.params for m in answers]
        await caught_up(first)
        await caught_up(second)
        lists = [sorted((await in_batch(client, "METADATA #rc LIST"))[1]) for client in (first, second)]
        assert lists[0] == lists[1] and len(lists[0]) == 3, lists
        first.send("METADATA #rc CLEAR")
        await first.expect(batch_end)
    await caught_up(second)  # its node has applied the CLEAR (a node checks the limit on its replica first)
    # two nodes setting one key at once: one value, everywhere
    first.send("METADATA #rc SET same :from-here")
    second.send("METADATA #rc SET same :from-there")
    await first.expect("761")
    await second.expect("761")
    await caught_up(first)
    await caught_up(second)
    values = [(await in_batch(client, "METADATA #rc GET same"))[1] for client in (first, second)]
    assert values[0] == values[1], values
    await net.agree("rcOper")


async def test_pre_away_user_registering_on_another_node(net: Net) -> None:
    """draft/pre-away: nothing is told of a user before it is online; then it is away."""
    watcher = await net.client("here", "paW", "#pa", caps=EXTENDED)
    watcher.send("MONITOR + paT")
    await watcher.expect("731")
    early = await net.connect("there", ("draft/pre-away",))
    early.send("AWAY :not here yet")
    early.send("CAP END")
    await early.register("paT")
    online = await watcher.expect("730")
    assert online.params[-1] == "paT!~u@127.0.0.1"
    assert [m for m in watcher.received if m.command == "AWAY"] == []  # nothing before it was online
    await early.join("#pa")
    await watcher.expect(lambda m: m.command == "JOIN" and m.source.startswith("paT!"))
    assert (await watcher.expect("AWAY")).params == ["not here yet"]
    whois = await ask(watcher, "WHOIS paT", "318")
    assert ["301", "paT", "not here yet"] in whois, whois
    assert await ask(watcher, "USERHOST paT", "302") == [["302", "paT=-~u@127.0.0.1"]]
    await net.agree("paOper")


async def test_metadata_and_extended_monitor_follow_the_monitored_nick(net: Net) -> None:
    watcher = await net.client("here", "fnW", caps=(*EXTENDED, *META))
    old_watcher = await net.client("here", "fnV", caps=(*EXTENDED, *META))
    for client, nick in ((watcher, "fnNew"), (old_watcher, "fnOld")):
        client.send("METADATA * SUB status")
        await client.expect("770")
        client.send(f"MONITOR + {nick}")
        await client.expect("731")
    target = await net.client("there", "fnOld", caps=META)
    await old_watcher.expect("730")
    target.send("METADATA * SET status :moving")
    await target.expect("761")
    assert (await old_watcher.expect("METADATA")).params == ["fnOld", "status", "*", "moving"]
    target.send("NICK fnNew")
    await target.expect("NICK")
    assert (await old_watcher.expect("731")).params[-1] == "fnOld"
    assert (await watcher.expect("730")).params[-1] == "fnNew!~u@127.0.0.1"
    # the nick it watches came online: its keys (as for one connecting)
    assert await in_batch_already(watcher) == (["metadata", "fnNew"], [["METADATA", "fnNew", "status", "*", "moving"]])
    target.send("AWAY :moved")
    await target.expect("306")
    assert (await watcher.expect("AWAY")).params == ["moved"]
    target.send("METADATA * SET status :moved")
    await target.expect("761")
    assert (await watcher.expect("METADATA")).params == ["fnNew", "status", "*", "moved"]
    await caught_up(target)
    assert await quiet(old_watcher, "METADATA", "AWAY") == []
    await net.agree("fnOper")


async def test_an_operator_on_one_node_changes_the_keys_of_a_user_on_another(net: Net) -> None:
    oper = await net.oper("here", "opO", caps=META)
    target = await net.client("there", "opT", caps=META)
    target.send("METADATA * SUB status")
    await target.expect("770")
    await caught_up(oper)
    oper.send("METADATA opT SET status :set by staff")
    assert numeric_params([await oper.expect("761")]) == [["761", "opT", "status", "*", "set by staff"]]
    told = await target.expect("METADATA")  # a change on itself made by someone else
    assert told.params == ["opT", "status", "*", "set by staff"]
    oper.send("METADATA opT SET other :x")
    await oper.expect("761")
    opening, lines = await in_batch(oper, "METADATA opT CLEAR")
    assert opening == ["metadata", "opT"]
    assert sorted(lines) == [["766", "opT", "other", "Key not set"], ["766", "opT", "status", "Key not set"]]
    assert (await target.expect("METADATA")).params == ["opT", "status", "*"]
    assert await quiet(target, "METADATA") == []  # nothing of `other`: not subscribed
    await net.agree("opOper")


async def test_metadata_lives_as_long_as_its_user_and_channel(net: Net) -> None:
    owner = await net.client("there", "lvO", "#lv", caps=META)
    other = await net.client("here", "lvX", caps=META)
    other.send("MONITOR + lvO")
    await other.expect("730")
    owner.send("METADATA * SET status :mine")
    await owner.expect("761")
    owner.send("METADATA #lv SET url :https://lv.example")
    await owner.expect("761")
    owner.send("QUIT :bye")
    await owner.closed()
    await other.expect("731")  # its node has applied the QUIT: the nick is free there
    again = await net.client("here", "lvO", "#lv", caps=META)  # the nick and the channel, new
    assert (await in_batch(again, "METADATA * LIST"))[1] == []
    assert (await in_batch(again, "METADATA #lv LIST"))[1] == []
    assert (await in_batch(other, "METADATA lvO LIST"))[1] == []
    await net.agree("lvOper")


async def test_a_nick_taken_by_a_connection_not_yet_registered_is_not_online(net: Net) -> None:
    """A connection on the other node that sent NICK but not USER holds the nick, but
    is nobody yet: not online for MONITOR, ISON, WHOIS, USERHOST or METADATA."""
    watcher = await net.client("here", "urW", caps=META)
    pending = await net.connect("there")
    pending.send("NICK urP")
    pending.send("METADATA * SET status :pending")
    await pending.expect("761")
    await caught_up(watcher)
    assert await ask(watcher, "MONITOR + urP", "731") == [["731", "urP"]]
    assert await ask(watcher, "ISON urP", "303") == [["303", ""]]
    assert (await ask(watcher, "WHOIS urP", "318"))[0][0] == "401"
    assert await ask(watcher, "USERHOST urP", "302") == [["302", ""]]
    assert await ask(watcher, "METADATA urP LIST", lambda m: m.command == "FAIL") == [
        ["FAIL", "METADATA", "INVALID_TARGET", "urP", "Invalid metadata target"]]  # fmt: skip
    pending.send("USER u 0 * :Pending")
    await pending.expect("001")
    assert (await watcher.expect("730")).params[-1] == "urP!~u@127.0.0.1"
    await net.agree("urOper")


# -- a node lost --------------------------------------------------------------------------------


async def presence_answers(client: LineClient) -> list[list[list[str]]]:
    """What a client is told of lnA and #ln: WHOIS, WHOX, ISON, USERHOST, METADATA."""
    await caught_up(client)
    whois = [line[:3] if line[0] == "312" else line for line in await ask(client, "WHOIS lnA", "318")]
    return [
        [line for line in whois if line[0] != "317"],  # idle time: of the moment
        await ask(client, "WHO #ln %tnfar,9", "315"),
        await ask(client, "ISON lnA lnNobody", "303"),
        await ask(client, "USERHOST lnA", "302"),
        sorted((await in_batch(client, "METADATA lnA LIST"))[1]),
        sorted((await in_batch(client, "METADATA #ln LIST"))[1]),
    ]


async def test_a_node_joining_later_sees_presence_and_a_lost_nodes_users_go_offline(networks: Networks) -> None:
    """A node that joins from a snapshot answers about away, realname, account and
    metadata as the others do; when it is lost, its users go offline everywhere."""
    cluster = networks.cluster
    n1, n2 = cluster.nodes[:2]
    subject = await cluster.client(n1, "lnA", "#ln", caps=META)
    await ns_register(subject)
    subject.send("AWAY :away since before node3")
    await subject.expect("306")
    subject.send("SETNAME :Set Before Node3")
    subject.send("METADATA * SET display-name :Ln A")
    await subject.expect("761")
    subject.send("METADATA #ln SET url :https://ln.example")
    await subject.expect("761")
    watchers = [await cluster.client(node, f"lnW{i}", "#ln", caps=(*EXTENDED, *META)) for i, node in
                enumerate((n1, n2))]  # fmt: skip
    reference = await presence_answers(watchers[1])
    assert ["301", "lnA", "away since before node3"] in reference[0], reference
    assert ["330", "lnA", "lnA", "is logged in as"] in reference[0], reference
    assert ["354", "9", "lnA", "G@", "lnA", "Set Before Node3"] in reference[1], reference
    assert reference[4] == [["761", "lnA", "display-name", "*", "Ln A"]]
    assert reference[5] == [["761", "#ln", "url", "*", "https://ln.example"]]
    third = await cluster.add(*LIMITS, name="node3.test")
    newcomer = await cluster.client(third, "lnQ", caps=META)
    seen_there = await presence_answers(newcomer)
    await oper_up(watchers[0])
    found = await digests(watchers[0], 3)
    assert seen_there == reference, (found, cluster.logs())
    newcomer.send("METADATA * SUB display-name")
    await in_batch_already(newcomer)  # the `*ALL` batch: it sees nobody yet
    assert await ask(newcomer, "MONITOR + lnA", "730") == [["730", "lnA!~u@127.0.0.1"]]
    assert await in_batch_already(newcomer) == (["metadata", "lnA"], [["METADATA", "lnA", "display-name", "*", "Ln A"]])
    found = await digests(watchers[0], 3)
    assert len(set(found.values())) == 1, found

    # a user of node3, watched from node1 and node2; then node3 is lost
    for watcher in watchers:
        watcher.send("METADATA * SUB status url")
        await watcher.expect(batch_end)  # 770s, then the `*ALL` batch
    victim = await cluster.client(third, "lnV", "#ln", caps=META)
    victim.send("METADATA * SET status :on node3")
    await victim.expect("761")
    victim.send("AWAY :soon gone")
    await victim.expect("306")
    await victim.join("#lnv")  # a channel of its own, with metadata: it goes with its last member
    victim.send("METADATA #lnv SET url :https://lnv.example")
    await victim.expect("761")
    pending = await cluster.client(third)  # a nick held by a connection not registered yet
    pending.send("NICK lnU")
    pending.send("METADATA * SET status :pending")
    await pending.expect("761")
    for watcher in watchers:
        await caught_up(watcher)
        watcher.send("MONITOR + lnV,lnU")
        assert (await watcher.expect("730")).params[-1] == "lnV!~u@127.0.0.1"
        assert (await watcher.expect("731")).params[-1] == "lnU"
    third.kill()
    for watcher in watchers:
        lines = await watcher.collect_until(lambda m: m.command == "731", timeout=NODE_TIMEOUT * 6)
        assert lines[-1].params[-1] == "lnV"
        if not any(m.command == "QUIT" and m.source.startswith("lnV!") for m in lines):
            await watcher.expect(lambda m: m.command == "QUIT" and m.source.startswith("lnV!"))
        assert [m for m in await sync(watcher) if m.command in ("QUIT", "731")] == []  # once
        assert await ask(watcher, "ISON lnV lnQ", "303") == [["303", ""]]
        assert await ask(watcher, "MONITOR S", "731") == [["731", "lnV,lnU"]]
        assert (await ask(watcher, "WHOIS lnV", "318"))[0][0] == "401"
        assert (await in_batch(watcher, "METADATA #ln SYNC"))[1] == [
            ["METADATA", "#ln", "url", "*", "https://ln.example"]
        ]
    await watchers[1].join("#lnv")  # a new channel: founded again, with nothing of the old one
    assert (await in_batch(watchers[1], "METADATA #lnv LIST"))[1] == []
    # the nicks are free again, and the watchers see them come back
    back = await cluster.client(n2, "lnV")
    held = await cluster.client(n1, "lnU")
    for watcher in watchers:
        assert (await watcher.expect("730")).params[-1] == "lnV!~u@127.0.0.1"
        assert (await watcher.expect("730")).params[-1] == "lnU!~u@127.0.0.1"
    await back.close()
    await held.close()
    found = await digests(watchers[0], 2)
    assert len(set(found.values())) == 1, found
    await asyncio.gather(*(c.close() for c in (*watchers, subject)))
