"""Keeping a connection alive and ending it: PING, PONG, QUIT."""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.client import Client
from hubbub.server.commands import command

QUITLEN = 300


@command("PING", before_registration=True)
def handle_ping(client: Client, message: Message) -> None:
    token = message.param(0)
    if not token:
        client.numeric(n.ERR_NOORIGIN, "No origin specified")
        return
    client.server_message("PONG", client.net.name, token)


@command("PONG", before_registration=True)
def handle_pong(client: Client, message: Message) -> None:
    """Any line already counts as activity; PONG needs no further work."""


@command("QUIT", before_registration=True)
def handle_quit(client: Client, message: Message) -> None:
    text = message.param(0)[:QUITLEN]
    client.net.disconnect(client, f"Quit: {text}" if text else "Quit")
