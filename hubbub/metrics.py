"""Prometheus metrics: what the server is doing, for `/metrics` on the web listener.

Nothing here is called from a command handler. The figures come from three places:

- the event stream: `Metrics.on_event` is a subscriber of the engine, like delivery; it
  counts applied and rejected events by kind, messages by command and target, and
  their local deliveries. Plain integers, one or two additions per event (a Prometheus
  client counter takes a lock on every increment, too dear on the message path);
- the transports' own counters (`TransportCounters`, `OutputQueue.sent`) and the
  connection admission (`Admission`): read when scraped;
- the state (users, channels, operators): read when scraped;
- in a cluster, the node's link to the network (`ClusterStatus`: Redis reachable, sends
  refused, live nodes), read from the cluster I/O when scraped;

plus a timer that measures how late the event loop runs its callbacks (lag), and the
hook the store calls after each batch of history it commits (`history_written`). Every
metric is there from the start, at zero (a missing series would break rates and alerts).

The registry is the server's own, never prometheus_client's global one, so that
several servers in one process (the tests) each report their own figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hubbub import __version__
from hubbub.runtime.listeners import Admission
from hubbub.server.apply import Outcome
from hubbub.server.connection import Connection
from hubbub.server.events import EVENT_TYPES, Event, Said, SaidMultiline
from hubbub.server.state import ChatState
from hubbub.server.storage import Backlog
from hubbub.server.user import User
from hubbub.transport.ports import Counted, TransportCounters

# The page holds the documented metrics and nothing else: no `_created` series beside
# the counters and histograms the client library makes (our own families have none).
disable_created_metrics()  # type: ignore[no-untyped-call]

TRANSPORTS = ("tcp", "tls", "websocket")  # what carries IRC
CONNECTION_KINDS = (*TRANSPORTS, "http")  # and the web listener's connections not (yet) WebSockets
LAG_INTERVAL = 0.5  # seconds between two measurements of the event loop's lag
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
HISTORY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class ClusterStatus(NamedTuple):
    """A clustered node's link to the network, as its cluster I/O last found it."""

    redis_reachable: bool  # the node's last call to Redis succeeded
    refusing: bool  # Redis out of reach longer than cluster.node_timeout: client sends refused
    nodes: int  # live nodes of the network (this one included), as this node's replica knows them
    unpublished: int  # events of this node not in the log yet


class Metrics:
    def __init__(
        self,
        state: ChatState,
        admission: Admission,
        counters: Mapping[str, TransportCounters],
        clock: Callable[[], float] = time.time,
        started: float | None = None,
    ) -> None:
        """`started`: when this node started (the services' own time, which STATS u
        and INFO report too); now by default."""
        self.state = state
        self.admission = admission
        self.counters = counters
        self.started = clock() if started is None else started
        # In a cluster, how the node's link to the network is (set by the runtime): the
        # hubbub_cluster_* gauges. None on a single server, whose page has none of them.
        self.cluster: Callable[[], ClusterStatus] | None = None
        # The store's failed batches and backlog (set by the runtime once the store is open)
        self.store: Callable[[], tuple[int, Backlog]] | None = None
        # connections from listen.proxy_from proxies, by what their PROXY header came to
        self.proxied: Callable[[], Mapping[str, int]] | None = None
        kinds = EVENT_TYPES.values()
        self.applied: dict[type, int] = dict.fromkeys(kinds, 0)  # Said: the three below instead
        self.rejected: dict[type, int] = dict.fromkeys(kinds, 0)
        self.channel_messages = 0  # Said, to a channel
        self.private_messages = 0  # Said, to a user
        self.channel_multiline = 0  # SaidMultiline, to a channel
        self.private_multiline = 0
        self.deliveries = 0  # copies of those messages delivered to other connections here
        self.registry = CollectorRegistry()
        self.registry.register(_Figures(self))
        self.loop_lag = Histogram(
            "hubbub_event_loop_lag_seconds", "How late the event loop ran a timer due now (sampled twice a second)",
            buckets=LAG_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.history_writes = Counter(
            "hubbub_history_writes", "Messages written to the history store", registry=self.registry
        )
        self.history_latency = Histogram(
            "hubbub_history_write_seconds", "Time one batched write of history took",
            buckets=HISTORY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self._lag_timer: asyncio.TimerHandle | None = None

    # -- the event stream (a subscriber of the engine) ------------------------------------

    def on_event(self, event: Event, outcome: Outcome) -> None:
        """Count one event. A message (`Said`) comes first and costs a few additions:
        this runs for every message. It reads what the applier set on the outcome, and
        the count of recipients delivery left there when it chose them one by one
        (`Outcome.delivered`: STATUSMSG, TAGMSG; delivery is subscribed before us)."""
        if isinstance(event, Said):
            if event.to_channel:
                channel = outcome.channel  # None when rejected
                if channel is not None:
                    self.channel_messages += 1
                    copies = outcome.delivered
                    if copies < 0:  # _channel_copies inlined: every message passes here
                        local = channel.local
                        copies = len(local) - (outcome.user.conn in local)  # type: ignore[union-attr,operator]
                    self.deliveries += copies
                    return
            else:
                target = outcome.target
                if target is not None:
                    self.private_messages += 1
                    copies = outcome.delivered  # _private_copies inlined (an int added to an int: no bool)
                    self.deliveries += (1 if target.conn is not None else 0) if copies < 0 else copies
                    return
            self.rejected[Said] += 1
            return
        if outcome.rejected is not None:
            self.rejected[type(event)] += 1
            return
        self.applied[type(event)] += 1
        if type(event) is SaidMultiline:
            channel = outcome.channel
            if channel is not None:
                self.channel_multiline += 1
                self.deliveries += _channel_copies(channel.local, outcome)
            else:
                self.private_multiline += 1
                if outcome.target is not None:
                    self.deliveries += _private_copies(outcome.target, outcome)

    # -- the store's hook ------------------------------------------------------------------

    def history_written(self, messages: int, seconds: float) -> None:
        """The store committed a batch holding `messages` messages of history, in
        `seconds` (batches of other writes only, accounts and the like, are not counted)."""
        if messages == 0:
            return
        self.history_writes.inc(messages)
        self.history_latency.observe(seconds)

    # -- event loop lag ----------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Measure the loop's lag from now on, until `stop`."""
        self._schedule(loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        due = loop.time() + LAG_INTERVAL
        self._lag_timer = loop.call_at(due, self._measure, loop, due)

    def _measure(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self.loop_lag.observe(max(0.0, loop.time() - due))
        self._schedule(loop)

    def stop(self) -> None:
        if self._lag_timer is not None:
            self._lag_timer.cancel()
            self._lag_timer = None

    # -- exposition ----------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Figures(Collector):
    """Everything kept as plain numbers, turned into metric families when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.m
        state = m.state
        info = GaugeMetricFamily("hubbub_info", "This server's version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily("hubbub_start_time_seconds", "When the server started (Unix time)", value=m.started)
        yield GaugeMetricFamily("hubbub_users", "Registered users on the network", value=state.user_count)
        yield GaugeMetricFamily("hubbub_channels", "Channels on the network", value=len(state.channels))
        yield GaugeMetricFamily("hubbub_operators", "Users with operator status (+o)",
                                value=state.mode_counts.get("o", 0))
        yield from self._transport_figures()
        yield from self._event_figures()
        if m.store is not None:
            yield from _store_figures(*m.store())
        if m.cluster is not None:
            yield from _cluster_figures(m.cluster())
        if m.proxied is not None:
            proxied = CounterMetricFamily(
                "hubbub_proxied_connections", "Connections from listen.proxy_from proxies, by their PROXY header's "
                "outcome: client (named one), own (named none, then spoke), check (named none, hung up), refused, "
                "late (not whole in time)", labels=["outcome"],
            )  # fmt: skip
            for outcome, count in sorted(m.proxied().items()):
                proxied.add_metric([outcome], count)
            yield proxied

    def _transport_figures(self) -> Iterator[Metric]:
        m = self.m
        admission = m.admission
        kinds = sorted(set(CONNECTION_KINDS) | set(admission.accepted))
        irc_kinds = sorted(set(TRANSPORTS) | set(m.counters))
        sent_live = _live_bytes_sent(admission.links)
        Families = list[tuple[str, str, Callable[[str], float], type]]
        connections: Families = [
            ("hubbub_connections", "Connections open now, by transport (http: to the web listener, not WebSockets)",
             lambda kind: admission.open[kind], GaugeMetricFamily),
            ("hubbub_connections_accepted", "Connections accepted, by transport (a WebSocket also once as http)",
             lambda kind: admission.accepted[kind], CounterMetricFamily),
            ("hubbub_connections_refused", "Connections refused by a limit or an address K-line, by transport",
             lambda kind: admission.refused[kind], CounterMetricFamily),
        ]  # fmt: skip
        irc: Families = [  # what only IRC connections have
            ("hubbub_received_bytes", "Bytes received from clients (IRC lines; WebSocket framing not counted)",
             lambda kind: _counter(m.counters, kind).bytes_received, CounterMetricFamily),
            ("hubbub_sent_bytes", "Bytes sent to clients (IRC lines, and their WebSocket frame headers)",
             lambda kind: _counter(m.counters, kind).bytes_sent + sent_live.get(kind, 0), CounterMetricFamily),
            ("hubbub_sendq_drops", "Clients dropped for falling behind their sendq",
             lambda kind: _counter(m.counters, kind).sendq_drops, CounterMetricFamily),
            ("hubbub_flood_delays", "Times a client's next line had to wait for flood control",
             lambda kind: _counter(m.counters, kind).flood_delays, CounterMetricFamily),
        ]  # fmt: skip
        for families, labels in ((connections, kinds), (irc, irc_kinds)):
            for name, doc, value, family in families:
                metric = family(name, doc, labels=["transport"])
                for kind in labels:
                    metric.add_metric([kind], value(kind))
                yield metric

    def _event_figures(self) -> Iterator[Metric]:
        m = self.m
        events = CounterMetricFamily("hubbub_events", "State events applied, by kind", labels=["kind"])
        rejected = CounterMetricFamily("hubbub_events_rejected",
                                       "Events the state refused when applied (a nick taken meanwhile...)",
                                       labels=["kind"])  # fmt: skip
        for kind in sorted(m.applied, key=lambda k: k.__name__):
            applied = m.channel_messages + m.private_messages if kind is Said else m.applied[kind]
            events.add_metric([kind.__name__], applied)
            rejected.add_metric([kind.__name__], m.rejected[kind])
        yield events
        yield rejected
        messages = CounterMetricFamily("hubbub_messages", "Messages (PRIVMSG, NOTICE, TAGMSG) sent by users, "
                                       "by target", labels=["target"])  # fmt: skip
        to_channels = m.channel_messages + m.channel_multiline
        to_users = m.private_messages + m.private_multiline
        messages.add_metric(["channel"], to_channels)
        messages.add_metric(["user"], to_users)
        yield messages
        yield CounterMetricFamily("hubbub_message_deliveries",
                                  "Copies of users' messages delivered to other clients of this server",
                                  value=m.deliveries)  # fmt: skip


def _store_figures(failed: int, backlog: Backlog) -> Iterator[Metric]:
    yield CounterMetricFamily("hubbub_store_write_failures", "Batches of writes the store refused (not stored)",
                              value=failed)  # fmt: skip
    yield GaugeMetricFamily("hubbub_store_writes_waiting", "Writes handed to the store and not committed yet "
                            "(kept while PostgreSQL is out of reach)", value=backlog.waiting)  # fmt: skip
    yield GaugeMetricFamily("hubbub_store_behind", "1 while output goes without waiting for the store's commits "
                            "(PostgreSQL out of reach or slow)", value=int(backlog.behind))  # fmt: skip
    yield CounterMetricFamily("hubbub_history_let_go", "Messages of history given up while too many writes "
                              "waited for PostgreSQL", value=backlog.let_go)  # fmt: skip


def _cluster_figures(status: ClusterStatus) -> Iterator[Metric]:
    yield GaugeMetricFamily("hubbub_cluster_redis_reachable",
                            "1 when this node's last call to Redis succeeded, 0 while Redis is out of reach",
                            value=int(status.redis_reachable))  # fmt: skip
    yield GaugeMetricFamily("hubbub_cluster_refusing",
                            "1 while this node refuses what its clients send (Redis out of reach longer "
                            "than cluster.node_timeout)", value=int(status.refusing))  # fmt: skip
    yield GaugeMetricFamily("hubbub_cluster_nodes", "Live nodes of the network, this one included", value=status.nodes)
    yield GaugeMetricFamily("hubbub_cluster_events_unpublished",
                            "Events of this node's clients waiting to go into the network's log (Redis out of "
                            "reach, or a log made again waiting for the others)", value=status.unpublished)  # fmt: skip


def _channel_copies(local: Mapping[Connection, None], outcome: Outcome) -> int:
    """The connections here a channel message reached, echoes aside: those delivery
    counted as it chose them, or else every local member but the sender (who may be
    elsewhere, or no member at all: a -n channel). O(1): no loop over the members."""
    copies = outcome.delivered
    if copies < 0:
        sender = outcome.user
        copies = len(local) - (sender is not None and sender.conn in local)
    return copies


def _private_copies(target: User, outcome: Outcome) -> int:
    """1 when the target is connected here (a user elsewhere is another node's
    delivery), 0 when it is not or delivery left it out (a TAGMSG it cannot read)."""
    copies = outcome.delivered
    return (target.conn is not None) if copies < 0 else copies


def _counter(counters: Mapping[str, TransportCounters], kind: str) -> TransportCounters:
    return counters.get(kind) or TransportCounters()


def _live_bytes_sent(links: Iterable[Counted]) -> dict[str, int]:
    """What the open connections have sent so far (each counts its own, see OutputQueue)."""
    sent: dict[str, int] = {}
    for link in links:
        sent[link.kind] = sent.get(link.kind, 0) + link.bytes_sent
    return sent
