"""Command handlers, grouped by topic; importing this package registers them all."""

from hubbub.server.handlers import (  # noqa: F401
    channels,
    connection,
    info,
    messaging,
    metadata,
    moderation,
    modes,
    monitor,
    multiline,
    operators,
    queries,
    registration,
    rename,
    serverinfo,
    setname,
    whowas,
)
