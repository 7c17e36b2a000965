"""PRIVMSG, NOTICE and TAGMSG to channels and nicks, several targets at once.

Every message is one event (`Outgoing`): one msgid and time, its wire forms shared
by all recipients. Client-only tags (`+name`) ride along to message-tags clients;
other tags a client sends are never relayed. TAGMSG, a message made only of tags,
reaches message-tags clients only.
"""

from __future__ import annotations

from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.message import MAX_LINE_BODY, Message, escape_tag_value, fit_utf8
from hubbub.irc.validate import is_channel_name
from hubbub.server.access import channel_refuses_speech
from hubbub.server.batch import MultilineOutgoing
from hubbub.server.channel import Channel
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.delivery import WANTS_TAGS, Outgoing
from hubbub.server.isupport import BOT_MODE
from hubbub.server.notify import from_user

# message-tags: a client's tag data is at most 4094 bytes. We read lines with more (up
# to 8191, see session.py), but relay client-only tags only within the spec's limit, so
# that with our own tags added every recipient can still read the line.
MAX_CLIENT_TAG_DATA = 4094

Error = Callable[..., None]


def client_only_tags(tags: dict[str, str]) -> dict[str, str] | None:
    """The tags of a client's message that may be relayed (message-tags: `+` ones only)."""
    relayed = {name: value for name, value in tags.items() if name[0] == "+"}
    return relayed or None


def tag_data_size(tags: dict[str, str]) -> int:
    """Bytes of tag data `tags` take on the wire (without '@' and the space)."""
    return len(";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in tags.items()).encode())


def relayable_tags(client: Client, tags: dict[str, str]) -> tuple[bool, dict[str, str] | None]:
    """The client-only tags to relay; (False, None) after a 417 when the message's tag
    data is past the spec's limit for what a client sends."""
    relayed = client_only_tags(tags)
    if relayed is not None and tag_data_size(tags) > MAX_CLIENT_TAG_DATA:
        client.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
        return False, None
    return True, relayed


def fitted(client: Client, command: str, target: str, text: str) -> str:
    """The text, shortened so the relayed line (with our source) stays within 512 bytes."""
    head = len(client.prefix) + len(command) + len(target.encode()) + 5  # ":", 3 spaces, ":"
    return fit_utf8(text, MAX_LINE_BODY - head)


def find_target(client: Client, target: str, error: Error) -> Channel | Client | None:
    """The channel or user a message goes to, or None after telling the sender why not."""
    net = client.net
    if is_channel_name(target):
        channel = net.find_channel(target)
        if channel is None:
            error(n.ERR_NOSUCHCHANNEL, target, "No such channel")
            return None
        refusal = channel_refuses_speech(channel, client)
        if refusal is not None:
            error(n.ERR_CANNOTSENDTOCHAN, channel.name, refusal)
            return None
        return channel
    user = net.find_user(target)
    if user is None:
        error(n.ERR_NOSUCHNICK, target, "No such nick/channel")
    return user


def deliver_message(
    client: Client, target: Channel | Client, out: Outgoing | MultilineOutgoing, *, tags_only: bool = False
) -> None:
    """Deliver to the target and, with echo-message, back to the sender.

    A message to oneself arrives twice with echo-message, as a delivery and as the
    echo; only the echo can carry a label (labeled-response).
    """
    echo = "echo-message" in client.caps and (not tags_only or bool(client.tag_mask & WANTS_TAGS))
    if isinstance(target, Channel):
        if tags_only:
            for member in target.members:
                if member is not client and member.tag_mask & WANTS_TAGS:
                    member.deliver(out)
        else:
            target.broadcast(out, exclude=client)
    elif target is client:
        if not tags_only or client.tag_mask & WANTS_TAGS:
            client.deliver_unlabeled(out)
    elif not tags_only or target.tag_mask & WANTS_TAGS:
        target.deliver(out)
    if echo:
        client.deliver(out)


def _relay(client: Client, message: Message) -> None:
    command = message.command
    notice = command == "NOTICE"
    tagmsg = command == "TAGMSG"

    def error(code: str, *params: str) -> None:
        # RFC 1459: no automatic reply, not even an error, may answer a NOTICE.
        if not notice:
            client.numeric(code, *params)

    if not message.params or not message.params[0]:
        error(n.ERR_NORECIPIENT, f"No recipient given ({command})")
        return
    if not tagmsg and (len(message.params) < 2 or not message.params[1]):
        error(n.ERR_NOTEXTTOSEND, "No text to send")
        return
    targets = [t for t in message.params[0].split(",") if t]
    net = client.net
    limit = net.config.limits.max_targets
    if len(targets) > limit:
        error(n.ERR_TOOMANYTARGETS, message.params[0], f"Too many targets, the limit is {limit}")
        return
    tags = None
    if message.tags:
        ok, tags = relayable_tags(client, message.tags)
        if not ok:
            return
    text = message.param(1)
    if not tagmsg:
        client.last_message = net.clock()  # idle time: typing notifications do not count
    for name in targets:
        target = find_target(client, name, error)
        if target is None:
            continue
        shown = target.name if isinstance(target, Channel) else target.nick
        params = [shown] if tagmsg else [shown, fitted(client, command, shown, text)]
        out = from_user(client, Message(command, params, client.prefix), tags)
        deliver_message(client, target, out, tags_only=tagmsg)
        if isinstance(target, Client) and target.away is not None and command == "PRIVMSG":
            client.numeric(n.RPL_AWAY, target.nick, target.away)


def relay_multiline(client: Client, name: str, lines: list[tuple[str, bool]], tags: dict[str, str] | None) -> None:
    """Deliver a draft/multiline PRIVMSG (see handlers/multiline.py), checked like one line."""
    target = find_target(client, name, client.numeric)
    if target is None:
        return
    shown = target.name if isinstance(target, Channel) else target.nick
    client.last_message = client.net.clock()
    kept = [(fitted(client, "PRIVMSG", shown, text), concat) for text, concat in lines]
    out = MultilineOutgoing(
        client.prefix,
        shown,
        kept,
        time=client.net.clock(),
        client_tags=tags,
        account=client.account,
        bot=BOT_MODE in client.modes,
    )
    deliver_message(client, target, out)
    if isinstance(target, Client) and target.away is not None:
        client.numeric(n.RPL_AWAY, target.nick, target.away)


@command("PRIVMSG")
def handle_privmsg(client: Client, message: Message) -> None:
    _relay(client, message)


@command("NOTICE")
def handle_notice(client: Client, message: Message) -> None:
    _relay(client, message)


@command("TAGMSG")
def handle_tagmsg(client: Client, message: Message) -> None:
    _relay(client, message)
