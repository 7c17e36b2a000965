"""Telling others about a user: relayed messages from users, and the IRCv3 notices
(extended-join, away-notify, setname, chghost, account-notify) that only clients
which asked for them receive.

Each event is one `Outgoing`, its wire forms shared by every recipient. Who receives
a notice: the clients sharing a channel with the user that negotiated its capability,
the user's extended-monitor watchers that did, and, where the specification says so,
the user itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubbub.irc.message import Message
from hubbub.server import monitor
from hubbub.server.delivery import Outgoing
from hubbub.server.isupport import BOT_MODE

if TYPE_CHECKING:
    from hubbub.server.channel import Channel
    from hubbub.server.client import Client


def from_user(client: Client, message: Message, client_tags: dict[str, str] | None = None) -> Outgoing:
    """A message a user causes, with the tags that describe its sender (account, bot),
    timed by the network's clock (server-time)."""
    return Outgoing(
        message,
        time=client.net.clock(),
        client_tags=client_tags,
        account=client.account,
        bot=BOT_MODE in client.modes,
    )


def tell_with_cap(client: Client, out: Outgoing, cap: str, *, include_self: bool) -> None:
    """Deliver `out` about `client` to whoever negotiated `cap` and should know."""
    recipients = {other for other in client.net.neighbours(client) if cap in other.caps}
    recipients.update(monitor.extended_watchers(client, cap))
    recipients.discard(client)
    if include_self and cap in client.caps:
        client.deliver(out)
    for other in recipients:
        other.deliver(out)


def joined(client: Client, channel: Channel) -> None:
    """Announce a JOIN: `#chan account :realname` to extended-join members, and an
    away joiner's AWAY to away-notify members (away-notify: "when a user joins")."""
    plain = from_user(client, Message("JOIN", [channel.name], client.prefix))
    extended = Outgoing(
        Message("JOIN", [channel.name, client.account or "*", client.realname], client.prefix),
        time=plain.time,
        msgid=plain.msgid,
        account=plain.account,
        bot=plain.bot,
    )
    away = None
    if client.away is not None:
        away = from_user(client, Message("AWAY", [client.away], client.prefix))
    for member in channel.members:
        member.deliver(extended if "extended-join" in member.caps else plain)
        if away is not None and member is not client and "away-notify" in member.caps:
            member.deliver(away)


def away_changed(client: Client) -> None:
    """away-notify: `AWAY :text` when going away, a bare `AWAY` when back."""
    params = [client.away] if client.away is not None else []
    tell_with_cap(client, from_user(client, Message("AWAY", params, client.prefix)), "away-notify", include_self=False)


def realname_changed(client: Client) -> None:
    """setname: the change, confirmed to the user and told to those who share a channel."""
    out = from_user(client, Message("SETNAME", [client.realname], client.prefix))
    tell_with_cap(client, out, "setname", include_self=True)


def change_host(client: Client, username: str, host: str) -> None:
    """Change a user's username and host, telling chghost clients (the user included).

    Nothing changes a host yet (no cloaks, vhosts or ident); this is the one place
    that will. Clients without chghost get no reconnect simulation (the spec's
    optional QUIT/JOIN fallback): they see the new mask on the user's next message.
    """
    if (username, host) == (client.username, client.host):
        return
    out = from_user(client, Message("CHGHOST", [username, host], client.prefix))
    client.username = username
    client.host = host
    tell_with_cap(client, out, "chghost", include_self=True)


def account_changed(client: Client) -> None:
    """account-notify: `ACCOUNT name`, or `ACCOUNT *` on logout.

    There are no accounts yet, so nothing calls this; it is here so that logging in
    only has to set `client.account` and call it.
    """
    out = from_user(client, Message("ACCOUNT", [client.account or "*"], client.prefix))
    tell_with_cap(client, out, "account-notify", include_self=True)
