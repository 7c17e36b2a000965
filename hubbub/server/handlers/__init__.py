"""Command handlers, grouped by topic; importing this package registers them all."""

from hubbub.server.handlers import (  # noqa: F401
    channels,
    connection,
    history,
    info,
    messaging,
    moderation,
    modes,
    monitor,
    multiline,
    nickserv,
    operators,
    queries,
    registration,
    sasl,
    serverinfo,
    setname,
    whowas,
)
