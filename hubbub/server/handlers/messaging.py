"""PRIVMSG and NOTICE to channels and nicks, several targets at once."""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message, fit_utf8
from hubbub.irc.validate import is_channel_name
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.delivery import Outgoing


MAX_LINE_BODY = 510  # 512 bytes with CRLF, tags not counted


def _fitted(client: Client, command: str, target: str, text: str) -> str:
    """The text, shortened so the relayed line (with our source) stays within 512 bytes."""
    head = len(client.prefix) + len(command) + len(target.encode()) + 5  # ":", 3 spaces, ":"
    return fit_utf8(text, MAX_LINE_BODY - head)


def _relay(client: Client, message: Message) -> None:
    notice = message.command == "NOTICE"

    def error(code: str, *params: str) -> None:
        # RFC 1459: no automatic reply, not even an error, may answer a NOTICE.
        if not notice:
            client.numeric(code, *params)

    if not message.params or not message.params[0]:
        error(n.ERR_NORECIPIENT, f"No recipient given ({message.command})")
        return
    if len(message.params) < 2 or not message.params[1]:
        error(n.ERR_NOTEXTTOSEND, "No text to send")
        return
    targets = [t for t in message.params[0].split(",") if t]
    net = client.net
    limit = net.config.limits.max_targets
    if len(targets) > limit:
        error(n.ERR_TOOMANYTARGETS, message.params[0], f"Too many targets, the limit is {limit}")
        return
    text = message.params[1]
    client.last_message = net.clock()
    echo = "echo-message" in client.caps
    for target in targets:
        if is_channel_name(target):
            channel = net.find_channel(target)
            if channel is None:
                error(n.ERR_NOSUCHCHANNEL, target, "No such channel")
                continue
            if "n" in channel.modes and client not in channel.members:
                error(n.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel (no external messages)")
                continue
            fitted = _fitted(client, message.command, channel.name, text)
            out = Outgoing(Message(message.command, [channel.name, fitted], client.prefix))
            channel.broadcast(out, exclude=None if echo else client)
            if echo and client not in channel.members:
                client.deliver(out)
        else:
            user = net.find_user(target)
            if user is None:
                error(n.ERR_NOSUCHNICK, target, "No such nick/channel")
                continue
            fitted = _fitted(client, message.command, user.nick, text)
            out = Outgoing(Message(message.command, [user.nick, fitted], client.prefix))
            user.deliver(out)
            if echo and user is not client:  # to oneself, the delivery is the echo
                client.deliver(out)
            if user.away is not None and not notice:
                client.numeric(n.RPL_AWAY, user.nick, user.away)


@command("PRIVMSG")
def handle_privmsg(client: Client, message: Message) -> None:
    _relay(client, message)


@command("NOTICE")
def handle_notice(client: Client, message: Message) -> None:
    _relay(client, message)
