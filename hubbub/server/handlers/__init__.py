"""Command handlers, grouped by topic; importing this package registers them all."""

from hubbub.server.handlers import (  # noqa: F401
    channels,
    chanserv,
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
    reading,
    registration,
    sasl,
    serverinfo,
    setname,
    whowas,
)
