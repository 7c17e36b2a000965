"""The chat core of one node, wired: state, engine, local delivery and the services
handlers use. The runtime builds it this way; so do tests that drive the core without
sockets."""

from __future__ import annotations

import time
from collections.abc import Callable

from hubbub.config import Config
from hubbub.server.announce import Announcer
from hubbub.server.context import Offload, ServerControl, Services, run_inline
from hubbub.server.engine import LocalEngine
from hubbub.server.state import ChatState


def local_core(
    config: Config,
    clock: Callable[[], float] = time.time,
    offload: Offload = run_inline,
    control: ServerControl | None = None,
) -> Services:
    """A single-node core: events ordered in this process (`LocalEngine`)."""
    state = ChatState(clock(), config.limits.whowas_entries)
    engine = LocalEngine(state)
    svc = Services(config, state, engine, clock, offload, control)
    engine.subscribe(
        Announcer(state, svc.monitors, svc.notices, config.server.name, svc.connections, svc.hang_up, svc.disconnect)
    )
    return svc
