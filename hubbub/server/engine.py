"""The engine: the order of events, their application, and who hears of them.

Handlers emit events; the engine decides their order, applies each to the state
(apply.py) and hands it, with its outcome, to every subscriber in turn: local
delivery first, then the store's write-behind and metrics. This is the seam between
"what happened" and "where the order comes from": `LocalEngine` orders events as they
are emitted, in this process; a clustered engine takes the order from a shared log
instead, and nothing above the engine changes.

`emit(origin, event, then)`: `origin` is the connection the event comes from (None for
the server's own), and `then`, if given, is called with the outcome once the event is
applied, for
replies that depend on what the network decided (a nick taken meanwhile, a channel
created by this join). Here that is at once; in a cluster, when the event comes back
in the shared order. Handlers therefore never read the effect of their own event
from the state right after emitting it: they read it in `then`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from hubbub.server.apply import APPLIERS, Outcome, ordered
from hubbub.server.events import Event
from hubbub.server.state import ChatState

Subscriber = Callable[[Event, Outcome], None]
Then = Callable[[Outcome], None]
Route = Callable[[Event, Outcome], None]


class Routes(Protocol):
    """A subscriber that says, kind by kind, what to call for each event applied (not
    rejected): the engine keeps the answer, and calls that straight away (one step less
    on every message's path than a subscriber that looks the kind up itself)."""

    def route(self, kind: type[Any]) -> Route | None: ...


class Origin(Protocol):
    """The connection an event came from: a clustered engine holds its input until the
    event is ordered, so that its replies keep their order, tells it when one is
    applied (its labeled reply goes on), and tells it when one could not go out."""

    def hold_input(self) -> None: ...

    def resume_reply(self) -> None: ...

    def release_input(self) -> None: ...

    def fail(self, command: str, code: str, *context_and_text: str) -> None: ...


class Engine(Protocol):
    state: ChatState

    def subscribe(self, subscriber: Subscriber) -> None: ...

    def subscribe_own(self, subscriber: Subscriber) -> None:
        """Hear only the events this node emitted: in a cluster every node applies
        every event, but what is written once to a shared store is written by its node."""

    def emit(self, origin: Origin | None, event: Event, then: Then | None = None) -> None: ...

    def reroute(self) -> None:
        """A subscriber's routes may have changed (a reload): ask it again."""


class LocalEngine:
    """One process is the whole network: events are applied in the order emitted.

    An event emitted while another is being applied or delivered (a K-line that
    disconnects users, a reply that emits) waits until that one has reached every
    subscriber, so that all of them see the same order.
    """

    def __init__(self, state: ChatState) -> None:
        self.state = state
        self._subscribers: list[Subscriber] = []
        # per kind of event: whom to tell, in the subscribers' order, when it is applied,
        # and when it is rejected (subscribers without routes hear of every event)
        self._routes: dict[type[Any], tuple[tuple[Route, ...], tuple[Route, ...]]] = {}
        self._queue: deque[tuple[Event, Then | None]] = deque()
        self._busy = False

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)
        self._routes.clear()

    def subscribe_own(self, subscriber: Subscriber) -> None:
        self.subscribe(subscriber)  # every event here is this node's

    def reroute(self) -> None:
        self._routes.clear()

    def _route(self, kind: type[Any]) -> tuple[tuple[Route, ...], tuple[Route, ...]]:
        applied: list[Route] = []
        rejected: list[Route] = []
        for subscriber in self._subscribers:
            route = getattr(subscriber, "route", None)
            if route is None:
                applied.append(subscriber)
                rejected.append(subscriber)
            else:
                found = route(kind)
                if found is not None:
                    applied.append(found)
        routes = self._routes[kind] = (tuple(applied), tuple(rejected))
        return routes

    def emit(self, origin: Origin | None, event: Event, then: Then | None = None) -> None:
        if self._busy:
            self._queue.append((event, then))
            return
        self._busy = True
        try:
            # applied and delivered here, inline: this is every message's path
            kind = type(event)
            event = ordered(self.state, event, None)
            outcome = APPLIERS[kind](self.state, event)
            routes = self._routes.get(kind) or self._route(kind)
            for route in routes[0] if outcome.rejected is None else routes[1]:
                route(event, outcome)
            if then is not None:
                then(outcome)
            while self._queue:
                self._process(*self._queue.popleft())
        except BaseException:
            self._queue.clear()  # a bug of ours: what was queued behind it is lost with it
            raise
        finally:
            self._busy = False

    def _process(self, event: Event, then: Then | None) -> None:
        kind = type(event)
        event = ordered(self.state, event, None)
        outcome = APPLIERS[kind](self.state, event)
        routes = self._routes.get(kind) or self._route(kind)
        for route in routes[0] if outcome.rejected is None else routes[1]:
            route(event, outcome)
        if then is not None:
            then(outcome)
