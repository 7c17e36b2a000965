"""Timeouts: registration deadline, keepalive PING, and ping timeout.

One sweep over all clients every few seconds replaces a timer per connection, which
would have to be re-armed on every line received.
"""

from __future__ import annotations

from hubbub.server.network import Network


def sweep(net: Network, now: float) -> None:
    lim = net.config.limits
    for client in list(net.clients):
        if client.gone:
            continue
        if not client.registered:
            if now - client.connected_at >= lim.registration_timeout:
                net.disconnect(client, "Registration timed out")
            continue
        if client.plain is not None:
            continue  # a person with netcat cannot answer PING; TCP keepalive covers them
        idle = now - client.last_activity
        if idle >= lim.ping_interval + lim.ping_timeout:
            net.disconnect(client, f"Ping timeout: {_seconds(idle)} seconds")
        elif idle >= lim.ping_interval and not client.ping_sent:
            client.ping_sent = True
            client.server_message("PING", net.name)


def _seconds(duration: float) -> str:
    """Whole seconds as ircds show them; a tenth when short (sub-second test timeouts read 0)."""
    return str(int(duration)) if duration >= 10 else f"{duration:.1f}"


def sweep_interval(net: Network) -> float:
    """Often enough that no timeout is overshot by more than a quarter of itself."""
    lim = net.config.limits
    shortest = min(lim.registration_timeout, lim.ping_interval, lim.ping_timeout)
    return max(0.05, min(5.0, shortest / 4))
