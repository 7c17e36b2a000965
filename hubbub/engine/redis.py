"""A clustered node's I/O: the shared log, heartbeats and snapshots in Redis.

Keys, all under `cluster.keyspace` (K below):

- `K:log`, a Redis Stream: the network's events in the network's order. Each entry
  carries its publisher's incarnation (`n`), that node's number for it (`s`), the
  position of the entry before it (`p`) and the event (`e`, JSON). Nodes append
  through one Lua script per loop iteration (every event emitted meanwhile), which
  refuses a node whose epoch is stale or whose heartbeat lapsed.
- `K:epoch`: a random token naming this log. A Redis that comes back empty has none:
  the first node to notice makes a new one and rebuilds the log from its own replica.
- `K:founded`: where the log in force took the one Redis lost up (which old log, the
  last entry of it the founder applied, the first it published again), for the nodes
  that read the old log to go on in the new one. Kept apart from the snapshot, which
  the next one replaces.
- `K:waiting:<epoch>`: while a log made again waits for the nodes its founder knew to
  publish again what they had read of the old log past the founder, their ids. New
  events wait until it is empty or expired (`cluster.node_timeout`): published before,
  they would be ordered before old entries that some nodes applied before them.
- `K:snapshot`: a recent replica (snapshot.py) with the log position it was taken at,
  for nodes that join or that must start again; written every
  `cluster.snapshot_interval` seconds by the oldest node, or at once when a node asks
  (`K:snapshot:wanted`).
- `K:alive:<node>`: a node's heartbeat, expiring after half of `cluster.node_timeout`.
  A node whose key is gone is declared lost (NodeLost) by whoever notices first; its
  own publishes are refused from then on, so nothing it says afterwards counts.

Redis holds nothing that only exists there: the chat state is in every node's replica,
accounts, registered channels and history in the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hubbub.config import ClusterSection
from hubbub.engine.errors import ClusterError
from hubbub.engine.replica import START, Entry, Gap, Replica
from hubbub.server.delivery import new_msgid
from hubbub.server.events import Event, NodeLost, NodeUp, from_record, to_record
from hubbub.server.user import new_node_id

log = logging.getLogger("hubbub.cluster")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
BATCH = 1000  # most events one publish carries; most entries one read returns
READ_BLOCK = 250  # milliseconds a read waits for new entries before asking again

# KEYS: epoch, log, alive, waiting (the log's `waiting` set, see FOUND). ARGV: epoch, maxlen,
# fenced ("1": refuse a node whose heartbeat lapsed), who ("": new events; a node's id: its
# entries of the old log, published again), then (node, seq, payload) triples. Returns the
# last entry's id.
PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('EPOCH the log was reset') end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('LOST this node was declared lost')
end
if ARGV[4] == '' then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    return redis.error_reply('SETTLING the log made again waits for what the others read of the old one')
  end
elseif redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 0 then
  return redis.error_reply('CLOSED the log made again no longer takes entries of the old one')
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local prev = '0-0'
if #last > 0 then prev = last[1][1] end
for i = 5, #ARGV, 3 do
  prev = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
                    'p', prev, 'n', ARGV[i], 's', ARGV[i + 1], 'e', ARGV[i + 2])
end
return prev
"""

# KEYS: epoch, log, snapshot, waiting (of the new epoch), founded. ARGV: the epoch to
# replace ("": none), the new epoch, its snapshot, maxlen, how long the others may take to
# publish again what they read of the old log (ms), their ids (space-separated, "": none),
# where the new log takes the old one up (`founded`), then (node, seq, payload) triples:
# the founder's last entries, first in the new log. Does nothing if another epoch is in
# force; returns the epoch in force.
FOUND = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[5], ARGV[7])
for node in string.gmatch(ARGV[6], '%S+') do redis.call('SADD', KEYS[4], node) end
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
local prev = '0-0'
for i = 8, #ARGV, 3 do
  prev = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',
                    'p', prev, 'n', ARGV[i], 's', ARGV[i + 1], 'e', ARGV[i + 2])
end
return ARGV[2]
"""

# KEYS: epoch, snapshot. ARGV: epoch, snapshot.
SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest


def encode(event: Event) -> str:
    return json.dumps(to_record(event), separators=(",", ":"), ensure_ascii=False)


def decode(entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
    try:
        event: Event | None = from_record(json.loads(fields[b"e"]))
    except (ValueError, TypeError, KeyError) as exc:
        log.error("skipping log entry %s: %s", entry_id.decode(), exc)
        event = None
    return Entry(entry_id.decode(), fields[b"p"].decode(), fields[b"n"].decode(), int(fields[b"s"]), event)


class RedisLog:
    def __init__(
        self,
        settings: ClusterSection,
        replica: Replica,
        name: str,
        clock: Callable[[], float],
        new_node: Callable[[str], None],
        reconcile: Callable[[], None],
    ) -> None:
        """`new_node(id)` makes the services use a new incarnation for new uids;
        `reconcile()` checks local connections against a replica just restored."""
        self.settings = settings
        self.replica = replica
        self.name = name
        self.clock = clock
        self.new_node = new_node
        self.reconcile = reconcile
        k = settings.keyspace
        self.k_epoch, self.k_log, self.k_snapshot = f"{k}:epoch", f"{k}:log", f"{k}:snapshot"
        self.k_wanted = f"{k}:snapshot:wanted"
        self.k_waiting = f"{k}:waiting:"
        self.k_founded = f"{k}:founded"
        self.epoch = ""
        self.ttl = settings.node_timeout / 2  # how long a heartbeat lasts
        self.beat = settings.node_timeout / 10  # how often nodes beat, and look at the others
        self.down_since: float | None = None  # when Redis stopped answering
        self.synced = asyncio.Event()  # cleared while the replica starts again
        self.generation = 0  # bumped when the replica starts again: reads begun before are dropped
        self.publishes = 0  # publish round trips, for the benchmark's Redis cost
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._registering = asyncio.Lock()  # one heartbeat SET at a time (see _register)
        self._claimed = ""  # the incarnation whose heartbeat key we took (NX); refreshed since
        self._reported: set[str] = set()  # nodes we declared lost, not yet gone from the state
        self._grace_until = 0.0  # no node is declared lost before: they may be re-registering
        self._last_snapshot = 0.0
        self._loaded: str | None = None  # the token of the snapshot this replica last started from
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._in_read = False  # the reader waits in XREAD: a stop may cancel it there
        self._settling = False  # our last publish was refused: a log made again waits (SETTLING)
        self._told_waiting = False  # the log said a stop waits for that
        # the server is stopping (its clients are let go before `stop`): a loss read
        # meanwhile is not a reason to join again as a new incarnation
        self.leaving = False
        url = settings.url
        timeout = max(1.0, settings.node_timeout / 4)
        self.r = client_of(url, timeout, timeout)
        # The two hot paths get a connection each, without a pool: taking a connection from
        # redis-py's pool and giving it back costs about twice the call itself. The reader
        # blocks on XREAD (a longer timeout); the publisher sends one batch at a time.
        self.rr = client_of(url, timeout, timeout + 2, single=True)
        self.rp = client_of(url, timeout, timeout, single=True)
        self._publish = self.rp.register_script(PUBLISH)
        self._found = self.r.register_script(FOUND)
        self._snapshot = self.r.register_script(SNAPSHOT)
        replica.wake = self._wake.set
        replica.lost = self._lost

    def alive_key(self, node: str) -> str:
        return f"{self.settings.keyspace}:alive:{node}"

    # -- joining and leaving -------------------------------------------------------------

    async def start(self) -> None:
        """Join the network: found it, or start from its snapshot; announce this node and
        wait until the log has ordered that. Raises ClusterError."""
        where = safe_url(self.settings.url)
        try:
            await self.r.ping()
        except UNREACHABLE as exc:
            raise ClusterError(f"cannot reach Redis at {where}: {exc}") from None
        except ResponseError as exc:
            raise ClusterError(f"Redis at {where} refused us: {exc}") from None
        try:
            await self._warn_of_eviction(where)
            await self._wait_for_namesake(where)
            founded = await self._join()
            await self._register()
        except UNREACHABLE as exc:
            raise ClusterError(f"lost Redis at {where} while joining: {exc}") from None
        self.synced.set()
        self._tasks = [asyncio.create_task(job()) for job in (self._read_forever, self._publish_forever,
                                                              self._beat_forever)]  # fmt: skip
        joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def arrived(outcome: object) -> None:
            if not joined.done():
                joined.set_result(None)

        self.replica.emit(None, NodeUp(self.replica.node, self.name, self.clock()), arrived)
        try:
            await asyncio.wait_for(joined, self.settings.node_timeout)
        except TimeoutError:
            await self.stop()
            raise ClusterError(f"joined {where}, but our arrival did not come back through the log") from None
        # Each name once, not ours: a node restarted after a crash finds its earlier
        # incarnation (and maybe others') still listed until they are declared lost.
        others = sorted({name for node, name in self.replica.state.nodes.items() if name != self.name})
        log.info("cluster %s: %s as node %s; %s", where, "founded the network" if founded else "joined the network",
                 self.replica.node, f"other nodes: {', '.join(others)}" if others else "no other node")  # fmt: skip

    async def _warn_of_eviction(self, where: str) -> None:
        """Say so when Redis may evict keys: an evicted heartbeat looks like a lost node
        (its users quit), an evicted log or epoch like a Redis that lost its data. Said,
        not refused: a Redis far from its maxmemory evicts nothing, and the operator may
        know it. A Redis that will not tell (managed services, an ACL without CONFIG)
        is taken on trust."""
        try:
            reply = await self.r.config_get("maxmemory*")
        except ResponseError:
            return
        settings = {text(key): text(value) for key, value in reply.items()}
        policy, limit = settings.get("maxmemory-policy"), settings.get("maxmemory")
        if policy and policy != "noeviction" and limit not in (None, "0"):
            log.warning("Redis at %s may evict keys (maxmemory %s, maxmemory-policy %s): an evicted key looks like "
                        "a lost node or a lost log; set maxmemory-policy noeviction", where, limit, policy)  # fmt: skip

    async def _wait_for_namesake(self, where: str) -> None:
        """Refuse to join a network where a live node has our server name: LINKS would
        list one name for two nodes and DIGEST answer twice for it (linked IRC servers
        refuse a second server of one name too). A node restarted at once after a crash
        finds its old incarnation's heartbeat still there, for half of `node_timeout` at
        most: it waits for it to expire. A heartbeat that is refreshed meanwhile (its
        time to live goes up) is a live node's."""
        keys = await self._namesakes()
        if not keys:
            return
        log.info("a node named %s has a heartbeat in Redis (this node before a crash?): waiting for it to expire",
                 self.name)  # fmt: skip
        left: dict[str, int] = {}  # heartbeat key -> its time to live when last read (ms)
        deadline = time.monotonic() + self.settings.node_timeout
        while keys:
            ttls = dict(zip(keys, await asyncio.gather(*(self.r.pttl(key) for key in keys)), strict=True))
            beating = any(key in left and ttl > left[key] for key, ttl in ttls.items())
            if beating or time.monotonic() >= deadline:
                raise ClusterError(f"a node named {self.name} is running in the network at {where}: "
                                   "give this one another --name (server.name)")  # fmt: skip
            left = {key: ttl for key, ttl in ttls.items() if ttl != -2}  # -2: expired
            keys = list(left)
            if keys:
                await asyncio.sleep(self.beat / 2)

    async def _namesakes(self) -> list[str]:
        """The heartbeat keys of the nodes named as we are (a heartbeat holds its node's name)."""
        keys = [key async for key in self.r.scan_iter(match=self._alive_pattern(), count=1000)]
        names = await self.r.mget(keys) if keys else []
        return [text(key) or "" for key, name in zip(keys, names, strict=True) if text(name) == self.name]

    async def _join(self) -> bool:
        """Found the network's log, or load its snapshot; True when we founded it."""
        epoch = text(await self.r.get(self.k_epoch))
        if epoch is None or not await self._anyone_alive():
            # No network, or one whose nodes have all stopped: its state went with them
            # (their users quit), and what outlives them is in the store, which our replica
            # starts from (accounts changed offline with `hubbub account` among it).
            epoch = await self._found_new_log(epoch or "", waiting_for=())
            if epoch == self.epoch:
                return True
        else:
            # someone is alive: maybe a node that started with us and founded a new log
            # since we read the epoch (it registers only after founding): read it again
            epoch = text(await self.r.get(self.k_epoch))
            if epoch is None:  # gone meanwhile (Redis lost its data): start over
                return await self._join()
        assert epoch is not None
        data = await self._snapshot_of(epoch, fresh=False)
        self.replica.restore(data)
        self.epoch = epoch
        return False

    async def _anyone_alive(self) -> bool:
        """Whether any node's heartbeat is in Redis."""
        async for _ in self.r.scan_iter(match=self._alive_pattern(), count=1000):
            return True
        return False

    def _alive_pattern(self) -> str:
        """The SCAN pattern of every node's heartbeat key (the keyspace taken literally)."""
        return re.sub(r"([\\*?\[\]])", r"\\\1", self.settings.keyspace) + ":alive:*"

    async def _found_new_log(self, replacing: str, waiting_for: tuple[str, ...]) -> str | None:
        """Make a new log, unless another epoch than `replacing` ("": none) is in force: it
        starts with the entries this replica applied lately (for nodes that had not read
        them), and a snapshot of this replica for nodes too far behind. The nodes
        `waiting_for` may publish again what they read of the old log past ours before
        anyone's new events, for `node_timeout` at most. Returns the epoch in force; ours
        if we made it."""
        replica = self.replica
        proposal = new_token()
        tail = list(replica.recent)
        kept_from = tail[0].prev if tail else replica.last_id
        founded = {"old_epoch": self.epoch, "old_last": replica.last_id, "kept_from": kept_from}
        blob = self._snapshot_blob(proposal, START, founded)  # `founded` there too, for nodes of the version before
        args: list[Any] = [replacing, proposal, blob, self.settings.log_length, int(self.settings.node_timeout * 1000),
                           " ".join(waiting_for), json.dumps({"epoch": proposal, **founded})]  # fmt: skip
        for entry in tail:
            if entry.event is not None:
                args += [entry.node, entry.seq, encode(entry.event)]
        keys = [self.k_epoch, self.k_log, self.k_snapshot, self.k_waiting + proposal, self.k_founded]
        epoch = text(await self._found(keys=keys, args=args))
        if epoch == proposal:
            replica.new_log()
            self.epoch = proposal
        return epoch

    async def _register(self) -> None:
        """Set our heartbeat.

        An incarnation's key is taken once, with NX (a key someone holds already is
        another node's: we draw another incarnation), and only refreshed afterwards. After
        a loss, the rejoin, the heartbeat and a publish refused for want of the key all
        want the new incarnation's key: whichever comes first takes it, the others find
        it ours and refresh it. Were each to claim it, the second would find it taken,
        abandon an incarnation that is ours, and refuse what its clients sent (the
        arrival of a client connecting meanwhile: "The network is out of reach")."""
        async with self._registering:
            while True:
                node = self.replica.node
                claiming = node != self._claimed
                if claiming and node in self.replica.departed:
                    # drawn again after it left (ids are short): its arrival would be ignored
                    self._take_node(new_node_id(), announce=self._claimed != "")
                    continue
                done = await self.r.set(self.alive_key(node), self.name, px=int(self.ttl * 1000), nx=claiming)
                if node != self.replica.node:
                    continue  # we took another incarnation meanwhile: that one needs its key
                if done or not claiming:
                    break
                self._take_node(new_node_id(), announce=self._claimed != "")  # that incarnation is someone else's
            self._claimed = node
        self._grace_until = time.monotonic() + self.ttl + self.beat

    def _take_node(self, node: str, announce: bool) -> None:
        """Go on as incarnation `node`; `announce`: tell the network at once (NodeUp).

        The NodeUp is emitted here, before any event of a client of the new
        incarnation, so that it is that incarnation's first entry in the log: replicas
        ignore the entries of a node they do not know, and a client's arrival ordered
        before its node's would be lost, its client waiting for ever."""
        self.replica.rejoin(node)
        self.new_node(node)
        if announce:
            self.replica.emit(None, NodeUp(node, self.name, self.clock()))

    async def stop(self, reason: str = "", seen: float = 0.0, unseen: tuple[str, ...] = ()) -> None:
        """Leave: what waits to be published goes out (for a second at most), then our
        users quit for everyone (one NodeLost) and our heartbeat goes. `seen`: the time
        until which our users were shown everything (NodeLost.seen), 0 if unknown;
        `unseen`: those of them it is not true of (their output was cut)."""
        if self._stopping:
            return
        self._stopping = True
        # The reader is cancelled only while it waits in XREAD (below): its connection is
        # its own (no pool to give it back to), and is closed at the end of the stop.
        reader, publisher, beater = self._tasks or (None, None, None)
        if beater is not None:
            beater.cancel()
        # A log made again refuses new events (SETTLING) until the others have published
        # what they read of the old one, for `node_timeout` at most: what waits to go out,
        # and our departure, wait that long rather than a second (else our users would
        # quit for everyone as "lost contact", once our heartbeat lapses).
        started = time.monotonic()
        while publisher is not None and self.replica.unsent(1):
            if self._settling:
                self._leaving_waits()
            if time.monotonic() - started >= (self.settings.node_timeout if self._settling else 1.0):
                break
            await asyncio.sleep(0.01)
        if publisher is not None:
            publisher.cancel()
        if reader is not None and self._in_read:
            # Blocked in XREAD for up to READ_BLOCK: nothing of what it would return is
            # applied yet (`_read_our_departure` reads it again, from the replica's last
            # id), and its connection is closed below, so waiting for the read to end
            # would only hold the stop up. Elsewhere (applying entries, making the
            # replica again) it is left to finish.
            reader.cancel()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=READ_BLOCK / 1000 + 1)
            for task in late:
                task.cancel()
        if reason and self.synced.is_set():
            event = NodeLost(self.replica.node, reason, self.clock(), new_msgid(), seen, unseen)
            try:
                await self._send_departure(event, started + self.settings.node_timeout)
            except (*UNREACHABLE, ResponseError) as exc:
                # the others will find our heartbeat gone, and the one that says so records the quits
                log.warning("could not tell the network we are leaving: %s", exc)
            else:
                await self._read_our_departure()
                try:
                    await self.r.delete(self.alive_key(self.replica.node))
                except (*UNREACHABLE, ResponseError) as exc:
                    log.warning("could not tell the network we are leaving: %s", exc)
        await self.r.aclose()
        await self.rr.aclose()
        await self.rp.aclose()

    async def _send_departure(self, event: NodeLost, deadline: float) -> None:
        """Publish our NodeLost, waiting while a log made again settles (until `deadline`)."""
        while True:
            try:
                await self._send([(self.replica.seq + 1, event)], fenced=False)
                return
            except ResponseError as exc:
                if not str(exc).startswith("SETTLING") or time.monotonic() >= deadline:
                    raise
                self._leaving_waits()
                await asyncio.sleep(min(0.05, self.beat))

    def _leaving_waits(self) -> None:
        if not self._told_waiting:
            self._told_waiting = True
            log.info("leaving: waiting until the log made again has the others' old entries")

    async def _read_our_departure(self) -> None:
        """Apply the log up to our own NodeLost, the reader being stopped: our users' quits
        are then applied here as our own events, so the store records them (no other node
        does: the entry is ours), on a replica that has every entry before them (whether a
        closed channel ended with them, say, is decided on what the network knows)."""
        replica = self.replica
        deadline = time.monotonic() + 1.0
        try:
            while replica.node in replica.state.nodes and time.monotonic() < deadline:
                reply: Any = await self.r.xread({self.k_log: replica.last_id}, count=BATCH)
                if not reply:
                    break
                replica.receive([decode(entry_id, fields) for entry_id, fields in reply[0][1]])
        except (*UNREACHABLE, ResponseError, Gap) as exc:
            log.warning("could not read the log up to our departure (our users' quits are not in the history): %s", exc)

    # -- publishing ----------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        replica = self.replica
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                await self.synced.wait()
                batch = replica.unsent(BATCH)
                if not batch:
                    break
                try:
                    await self._send(batch, fenced=True)
                except UNREACHABLE as exc:
                    self._unreachable(exc)
                    await asyncio.sleep(self.beat)
                    continue
                except ResponseError as exc:
                    await self._refused(str(exc))
                    continue
                self._reachable()
                self._settling = False
                replica.published(batch[-1][0])

    async def _send(self, batch: list[tuple[int, Event]], fenced: bool) -> None:
        node = self.replica.node
        args: list[Any] = [self.epoch, self.settings.log_length, "1" if fenced else "0", ""]
        for seq, event in batch:
            args += [node, seq, encode(event)]
        self.publishes += 1
        keys = [self.k_epoch, self.k_log, self.alive_key(node), self.k_waiting + self.epoch]
        await self._publish(keys=keys, args=args)

    async def _republish(self, entries: list[Entry]) -> None:
        """Entries of a lost log, as they were (their node, their seq), into the new one;
        then new events may go out as far as this node is concerned. ResponseError
        (CLOSED) when the new log no longer waits for us: too late, or unknown to its
        founder."""
        node = self.replica.node
        keys = [self.k_epoch, self.k_log, self.alive_key(node), self.k_waiting + self.epoch]
        entries = [entry for entry in entries if entry.event is not None]
        for start in range(0, len(entries), BATCH):
            args: list[Any] = [self.epoch, self.settings.log_length, "0", node]
            for entry in entries[start : start + BATCH]:
                assert entry.event is not None
                args += [entry.node, entry.seq, encode(entry.event)]
            await self._publish(keys=keys, args=args)
        await self._settled(self.epoch)

    async def _settled(self, epoch: str) -> None:
        """Nothing of ours from the old log is still to come into log `epoch`."""
        await self.r.srem(self.k_waiting + epoch, self.replica.node)

    async def _refused(self, error: str) -> None:
        if error.startswith("LOST"):  # our heartbeat lapsed (Redis was away): take it up again
            await self._register()
        elif error.startswith("SETTLING"):  # a log made again waits for the others' old entries
            self._settling = True
            await asyncio.sleep(min(0.05, self.beat))
        else:
            await self._resync("the log was reset")

    # -- reading -------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        while not self._stopping:
            await self.synced.wait()
            generation = self.generation
            self._in_read = True
            try:
                reply: Any = await self.rr.xread({self.k_log: self.replica.last_id}, count=BATCH, block=READ_BLOCK)
            except UNREACHABLE as exc:
                self._in_read = False  # waiting out a heartbeat now, not a read
                self._unreachable(exc)
                await asyncio.sleep(self.beat)
                continue
            finally:
                self._in_read = False
            self._reachable()
            if generation != self.generation or not reply or self._stopping:
                continue
            entries = [decode(entry_id, fields) for entry_id, fields in reply[0][1]]
            try:
                self.replica.receive(entries)
            except Gap as gap:
                await self._resync(str(gap))

    # -- heartbeats, lost nodes, snapshots -----------------------------------------------

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.beat)
            try:
                await self._beat()
            except UNREACHABLE as exc:
                self._unreachable(exc)
            except Exception:
                log.exception("cluster heartbeat failed")

    async def _beat(self) -> None:
        if not self.synced.is_set():
            return
        replica = self.replica
        kept = await self.r.set(self.alive_key(replica.node), self.name, px=int(self.ttl * 1000), xx=True)
        self._reachable()
        if not kept:  # lapsed: Redis lost its data, or was out of reach too long
            if text(await self.r.get(self.k_epoch)) != self.epoch:
                await self._resync("the log was reset")
            else:
                # Beat again. If another node declared us lost meanwhile, that NodeLost is
                # in the log: reading it, we quit our users and join again (`_lost`).
                await self._register()
            return
        others = [node for node in replica.state.nodes if node != replica.node]
        self._reported &= set(others)
        if others and time.monotonic() >= self._grace_until:
            alive = await self.r.mget([self.alive_key(node) for node in others])
            for node, beat in zip(others, alive, strict=True):
                name = replica.state.nodes.get(node)  # None: it left while we asked Redis
                if beat is None and name is not None and node not in self._reported:
                    self._reported.add(node)
                    log.warning("node %s (%s) missed its heartbeats: its users quit", name, node)
                    replica.emit(None, NodeLost(node, f"{name} lost contact with the network", self.clock(),
                                                new_msgid()))  # fmt: skip
        await self._maybe_snapshot()

    async def _maybe_snapshot(self) -> None:
        replica = self.replica
        wanted = await self.r.get(self.k_wanted)
        oldest = min(replica.state.nodes, default=None) == replica.node
        due = oldest and time.monotonic() - self._last_snapshot >= self.settings.snapshot_interval
        if not (wanted or due):
            return
        if wanted:
            await self.r.delete(self.k_wanted)
        self._last_snapshot = time.monotonic()
        await self._snapshot(keys=[self.k_epoch, self.k_snapshot],
                             args=[self.epoch, self._snapshot_blob(self.epoch, replica.last_id)])  # fmt: skip

    def _snapshot_blob(self, epoch: str, position: str, extra: dict[str, str] | None = None) -> str:
        data = self.replica.snapshot()
        data.update(extra or {})
        data["epoch"] = epoch
        data["id"] = position
        data["token"] = new_token()
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    # -- when things go wrong ------------------------------------------------------------

    def _unreachable(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            log.warning("Redis is out of reach (%s): events wait", exc)
        elif self.replica.refusing is None and now - self.down_since >= self.settings.node_timeout:
            log.error("Redis out of reach for %.0f seconds: refusing what clients send", now - self.down_since)
            self.replica.refusing = "Not sent: the network is out of reach, try again soon"
            self.replica.refuse_waiting(self.replica.refusing)

    def _reachable(self) -> None:
        if self.down_since is not None:
            log.info("Redis answers again after %.1f seconds", time.monotonic() - self.down_since)
            self.down_since = None
            # the others were cut off too: give them a heartbeat's time to take theirs up
            # again (or longer, where a log made again meanwhile gave them more: _back_on_a_log)
            self._grace_until = max(self._grace_until, time.monotonic() + self.ttl + self.beat)
            self.replica.refusing = None
            self._wake.set()

    def _lost(self) -> None:
        """The log says this node was lost (its users have quit for everyone, and here):
        go on as a new incarnation."""
        if self._stopping or self.leaving:
            return
        log.warning("the network declared this node lost; its users were disconnected; joining again")
        self._take_node(new_node_id(), announce=True)
        asyncio.ensure_future(self._rejoin())

    async def _rejoin(self) -> None:
        """Take the new incarnation's key without waiting for the next heartbeat (the
        NodeUp waiting to be published needs it; a publish refused for want of it
        takes it too)."""
        try:
            await self._register()
        except UNREACHABLE as exc:
            self._unreachable(exc)

    async def _resync(self, why: str) -> None:
        """Put the replica back on the network's log after a gap or a lost log.

        - Redis lost the log (no epoch, or the log went back in time): the first node to
          get there founds a new log from its replica, publishing first the entries it
          applied lately; every other node that was reading the old log keeps its replica,
          publishes the entries it applied past the founder's, and reads the new log from
          its start: each entry is applied once on every node, in the old log's order, so
          nothing one node had applied is missing elsewhere.
        - A node that cannot go on that way (too far behind, a newer log) starts from the
          snapshot, and its connections are checked against it (`reconcile`).
        """
        if self._lock.locked():
            return
        async with self._lock:
            self.synced.clear()
            self.generation += 1
            log.warning("the replica leaves the log: %s", why)
            while not self._stopping:
                try:
                    await self._back_on_a_log()
                    break
                except UNREACHABLE as exc:
                    self._unreachable(exc)
                    await asyncio.sleep(self.beat)
                except TimeoutError:
                    log.warning("no snapshot to start from yet; asking again")

            self._reachable()
            self.synced.set()
            self._wake.set()

    async def _back_on_a_log(self) -> None:
        replica = self.replica
        epoch = text(await self.r.get(self.k_epoch))
        if epoch is None or (epoch == self.epoch and await self._log_went_back()):
            others = tuple(node for node in replica.state.nodes if node != replica.node)
            founded = await self._found_new_log(epoch or "", waiting_for=others)
            if founded == self.epoch:
                log.warning("Redis had lost the network's log: made a new one from this node's replica")
                await self._register()
                # the others' heartbeats come back as they find the new log, meanwhile awaited
                self._grace_until += self.settings.node_timeout
                return
            epoch = founded
        assert epoch is not None
        if epoch != self.epoch:
            data = await self._snapshot_of(epoch, fresh=False)
            taken_up: dict[str, Any] = json.loads(text(await self.r.get(self.k_founded)) or "{}")
            if taken_up.get("epoch") != epoch:
                taken_up = data  # founded by a node of the version before, which says it there only
            if self._covered_by(taken_up):
                tail = replica.new_log()
                self.epoch = epoch
                try:
                    await self._republish([e for e in tail if position(e.id) > position(taken_up["old_last"])])
                except ResponseError as exc:
                    log.warning("the log made again no longer waits for this node (%s)", exc)
                else:
                    log.warning("Redis had lost the network's log: this node follows the one made again")
                    await self._register()
                    return
            skipped = True  # a log we did not read: what it holds past our replica, we never applied
        else:
            data = await self._snapshot_of(epoch, fresh=True)
            skipped = position(data["id"]) > position(replica.last_id)
        replica.restore(data, skipped)
        self.epoch = epoch
        await self._settled(epoch)  # what we read of the old log, the network goes on without
        self.reconcile()
        if skipped:
            log.warning("the replica started again from a snapshot past entries it never applied: "
                        "its clients, who missed them, were disconnected")  # fmt: skip
        else:
            log.warning("the replica started again from a snapshot")
        if replica.node not in replica.state.nodes:
            self._lost()  # the network went on without us
        else:
            await self._register()

    def _covered_by(self, data: dict[str, Any]) -> bool:
        """Whether this replica can go on in the new log `data` begins: it read the same
        old log, from no earlier than where the founder's republished entries start, and
        whatever it read past the founder it can publish again itself."""
        if data.get("old_epoch") != self.epoch or "kept_from" not in data:
            return False
        mine = position(self.replica.last_id)
        if mine < position(data["kept_from"]):
            return False
        recent = self.replica.recent
        kept_from = position(recent[0].prev) if recent else mine
        return mine <= position(data["old_last"]) or kept_from <= position(data["old_last"])

    async def _log_went_back(self) -> bool:
        """The log ends before where this replica stands (a Redis restored from an older save)."""
        last: Any = await self.r.xrevrange(self.k_log, count=1)
        end = last[0][0].decode() if last else START
        return position(end) < position(self.replica.last_id)

    async def _snapshot_of(self, epoch: str, fresh: bool) -> dict[str, Any]:
        """The snapshot of log `epoch`; when `fresh`, one this replica has not started from
        already (asking for a new one if need be). TimeoutError when none comes."""
        deadline = time.monotonic() + self.settings.node_timeout
        asked = False
        while time.monotonic() < deadline:
            blob = await self.r.get(self.k_snapshot)
            if blob is not None:
                data: dict[str, Any] = json.loads(blob)
                if data["epoch"] == epoch and not (fresh and data["token"] == self._loaded):
                    self._loaded = data["token"]
                    return data
            if fresh and not asked:
                await self.r.set(self.k_wanted, "1", px=int(self.settings.node_timeout * 1000))
                asked = True
            await asyncio.sleep(0.05)
        raise TimeoutError


def client_of(url: str, connect_timeout: float, timeout: float, single: bool = False) -> aioredis.Redis:
    """A Redis client that sends a command once more, at once, on a new connection when
    its connection turns out broken.

    A Redis that restarts closes every connection, and an idle one is found closed only
    when next used: the publisher's, idle until a client speaks, or one the pool kept.
    Without the retry that command failed ("Connection closed by server.") although
    Redis was up, was reported as Redis out of reach, and its events waited a heartbeat
    before going out. A command sent twice is harmless here: a publish is applied once
    (each entry's seq), a new log is founded once (the epoch), the rest are reads or
    SETs. Timeouts are not retried: a Redis that does not answer is slow or away, and
    the callers wait and try again themselves."""
    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=connect_timeout, retry=retry,
                             single_connection_client=single)  # fmt: skip


def position(entry_id: str) -> tuple[int, int]:
    """A log position, comparable ("1700000000000-3" -> (1700000000000, 3))."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def text(value: Any) -> str | None:
    """A Redis reply as text (replies come as bytes)."""
    return value.decode() if isinstance(value, bytes) else value


def new_token() -> str:
    return os.urandom(8).hex()

