"""Keeping a connection alive and ending it: PING, PONG, QUIT.

A QUIT's reason reaches every channel one is in: one who may not speak in any of them
(+m, +M, banned, muted) quits without it, or a quit would say what the channel holds back.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message, fit_utf8
from hubbub.server import access
from hubbub.server.commands import command
from hubbub.server.context import Context

QUITLEN = 300  # bytes


@command("PING", before_registration=True)
def handle_ping(ctx: Context, message: Message) -> None:
    token = message.param(0)
    if not token:
        ctx.conn.numeric(n.ERR_NOORIGIN, "No origin specified")
        return
    ctx.conn.server_message("PONG", ctx.name, token)


@command("PONG", before_registration=True)
def handle_pong(ctx: Context, message: Message) -> None:
    """Any line already counts as activity; PONG needs no further work."""


@command("QUIT", before_registration=True)
def handle_quit(ctx: Context, message: Message) -> None:
    text = fit_utf8(message.param(0), QUITLEN)
    user = ctx.user
    if text and any(access.channel_refuses_speech(channel, user) for channel in user.channels.values()):
        text = ""
    ctx.disconnect(f"Quit: {text}" if text else "Quit")
