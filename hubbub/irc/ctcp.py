"""The answers a client gives to the common CTCP queries (VERSION, PING, TIME,
CLIENTINFO), for those the server answers for: its services, and a person connected
with netcat or telnet, who cannot (IRC users' clients ask, and otherwise wait in vain)."""

from __future__ import annotations

import time

ANSWERED = ("CLIENTINFO", "PING", "TIME", "VERSION")


def answer(body: str, version: str, now: float) -> str | None:
    """The answer to the CTCP query `body` (what is between the \\x01s), without its
    \\x01s; None for ACTION and whatever is not a query answered here. `version`: what
    VERSION says the client is."""
    kind, _, arg = body.partition(" ")
    kind = kind.upper()
    if kind == "VERSION":
        return f"VERSION {version}"
    if kind == "PING":
        return f"PING {arg}" if arg else "PING"
    if kind == "TIME":
        return "TIME " + time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(now))
    if kind == "CLIENTINFO":
        return "CLIENTINFO ACTION " + " ".join(ANSWERED)
    return None
