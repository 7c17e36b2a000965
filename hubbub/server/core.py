"""The chat core of one node, wired: state, engine, local delivery and the services
handlers use. The runtime builds it this way; so do tests that drive the core without
sockets."""

from __future__ import annotations

import time
from collections.abc import Callable

from hubbub.config import Config
from hubbub.server import metadata as md
from hubbub.server.announce import Announcer
from hubbub.server.context import Offload, ServerControl, Services, run_inline
from hubbub.server.engine import Engine, LocalEngine
from hubbub.server.floodexempt import FloodExemptions
from hubbub.server.ghosts import Ghosts
from hubbub.server.state import ChatState


def new_state(config: Config, clock: Callable[[], float] = time.time) -> ChatState:
    state = ChatState(clock(), config.limits.whowas_entries)
    state.login_failures.limit = config.accounts.login_failures
    state.login_failures.window = config.accounts.login_window
    state.registrations.limit = config.accounts.register_limit
    state.registrations.window = config.accounts.register_window
    state.connects.window = config.limits.connect_window
    return state


def build_core(
    config: Config,
    engine: Engine,
    clock: Callable[[], float] = time.time,
    offload: Offload = run_inline,
    control: ServerControl | None = None,
    node_id: str | None = None,
) -> Services:
    """The services around `engine` (and its state), with local delivery subscribed (and
    the departures autoreplay reads, who flood control leaves alone, and the holders of
    a login's nick asked whether they are still there)."""
    svc = Services(config, engine.state, engine, clock, offload, control, node_id)
    engine.subscribe(svc.departures)  # before delivery, which lets a quitting user's connection go
    engine.subscribe(
        Announcer(svc.state, svc.monitors, svc.notices, config.server.name, svc.connections, svc.hang_up,
                  svc.disconnect, lambda event: engine.emit(None, event), svc.audit,
                  lambda: md.sync_budget(svc.config.limits.sendq), svc.recall_markers)  # fmt: skip
    )
    engine.subscribe(FloodExemptions(lambda: svc.config.limits))  # this node's connections' gates
    svc.ghosts = Ghosts(svc)  # a login's nick held by a connection of its account that may be gone
    engine.subscribe(svc.ghosts)
    return svc


def local_core(
    config: Config,
    clock: Callable[[], float] = time.time,
    offload: Offload = run_inline,
    control: ServerControl | None = None,
) -> Services:
    """A single-node core: events ordered in this process (`LocalEngine`)."""
    return build_core(config, LocalEngine(new_state(config, clock)), clock, offload, control)
