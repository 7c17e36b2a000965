"""MODE: the command, and channel modes; user modes live in usermodes.py.

A mode string is read letter by letter with the table of chanmodes.py: each letter's
kind says whether it takes a parameter, its rank who may change it. Unknown letters
get 472, missing privileges one 482, bad parameters 696, a full list 478; what was
applied is announced to the channel in one MODE line (more only if it would not fit
in 512 bytes). At most MODES parameters are used per command; the rest is ignored.
A list mode without a parameter (`MODE #c b`, `MODE #c +e`) is a query of that list,
which needs no privileges.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name
from hubbub.server import access, bans
from hubbub.server.chanmodes import (
    CHANNEL_MODES,
    FLAG,
    LIST,
    PREFIX,
    SETTING,
    BadParam,
    ModeSpec,
    check_key,
    parse_limit,
)
from hubbub.server.channel import Channel
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.handlers.replies import LINE_BUDGET, shown
from hubbub.server.handlers.usermodes import format_changes, user_mode
from hubbub.server.notify import from_user

# list letter -> (entry numeric, end numeric, end text)
LIST_REPLIES = {
    "b": (n.RPL_BANLIST, n.RPL_ENDOFBANLIST, "End of channel ban list"),
    "e": (n.RPL_EXCEPTLIST, n.RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
    "I": (n.RPL_INVEXLIST, n.RPL_ENDOFINVEXLIST, "End of channel invite exception list"),
}

Change = tuple[bool, str, str | None]  # (adding, letter, parameter)


def send_channel_modes(client: Client, channel: Channel) -> None:
    """324 and 329; the key's value only to members."""
    client.numeric(n.RPL_CHANNELMODEIS, channel.name, *channel.mode_params(show_key=client in channel.members))
    client.numeric(n.RPL_CREATIONTIME, channel.name, str(int(channel.created)))


def send_mode_list(client: Client, channel: Channel, letter: str) -> None:
    entry_code, end_code, end_text = LIST_REPLIES[letter]
    if access.sees_lists(channel, client):
        for entry in channel.lists[letter].entries:
            client.numeric(entry_code, channel.name, entry.mask, entry.set_by, str(entry.set_at))
    client.numeric(end_code, channel.name, end_text)


def announce(client: Client, channel: Channel, changes: list[Change]) -> None:
    """Tell the channel what changed: one MODE line, split only where 512 bytes demand it."""
    head = len(f":{client.prefix} MODE {channel.name} +".encode())
    batch: list[Change] = []
    size = head
    for change in changes:
        cost = 2 + (len(change[2].encode()) + 2 if change[2] is not None else 0)  # sign, letter, " :arg"
        if batch and size + cost > LINE_BUDGET:
            _announce_batch(client, channel, batch)
            batch, size = [], head
        batch.append(change)
        size += cost
    if batch:
        _announce_batch(client, channel, batch)


def _announce_batch(client: Client, channel: Channel, batch: list[Change]) -> None:
    letters = format_changes([(adding, letter) for adding, letter, _ in batch])
    args = [arg for _, _, arg in batch if arg is not None]
    channel.broadcast(from_user(client, Message("MODE", [channel.name, letters, *args], client.prefix)))


class _ModeRequest:
    """One MODE command on a channel, applied letter by letter."""

    def __init__(self, client: Client, channel: Channel, args: list[str]) -> None:
        self.client = client
        self.channel = channel
        self.args = args
        self.used = 0  # parameters consumed, at most MODES
        self.limits = client.net.config.limits
        self.applied: list[Change] = []
        self.denied = False
        self.listed: set[str] = set()

    def run(self, modestring: str) -> None:
        adding = True
        for letter in modestring:
            if letter in "+-":
                adding = letter == "+"
                continue
            spec = CHANNEL_MODES.get(letter)
            if spec is None:
                self.client.numeric(n.ERR_UNKNOWNMODE, shown(letter), "is unknown mode char to me")
                continue
            self.one(spec, adding)
        if self.denied:
            self.client.numeric(n.ERR_CHANOPRIVSNEEDED, self.channel.name, "You're not channel operator")
        if self.applied:
            announce(self.client, self.channel, self.applied)

    def one(self, spec: ModeSpec, adding: bool) -> None:
        arg: str | None = None
        if spec.takes_param(adding):
            if self.used < len(self.args):
                if self.used >= self.limits.max_modes:
                    return  # past MODES: ignored, as the limit promises
                arg = self.args[self.used]
                self.used += 1
            elif spec.kind == LIST:
                self._query(spec.letter)
                return
            elif not (spec.kind == SETTING and not adding):
                return  # a parameter is needed and there is none: ignore the letter
        if spec.kind == PREFIX:
            self._status(spec, adding, arg or "")
            return
        if not access.may_change_mode(self.channel, self.client, spec):
            self.denied = True
            return
        if spec.kind == FLAG:
            self._flag(spec.letter, adding)
        elif spec.kind == LIST:
            self._list(spec.letter, adding, arg or "")
        elif spec.letter == "k":
            self._key(adding, arg)
        elif spec.letter == "l":
            self._limit(adding, arg)

    # -- each kind ------------------------------------------------------------------

    def _query(self, letter: str) -> None:
        if letter not in self.listed:
            self.listed.add(letter)
            send_mode_list(self.client, self.channel, letter)

    def _flag(self, letter: str, adding: bool) -> None:
        modes = self.channel.modes
        if adding != (letter in modes):
            modes.add(letter) if adding else modes.discard(letter)
            self.applied.append((adding, letter, None))

    def _invalid(self, letter: str, shown_param: str, reason: str) -> None:
        self.client.numeric(n.ERR_INVALIDMODEPARAM, self.channel.name, letter, shown_param, reason)

    def _list(self, letter: str, adding: bool, text: str) -> None:
        try:
            mask = bans.normalize(text)
        except bans.BadMask as exc:
            self._invalid(letter, shown(text), str(exc))
            return
        if letter == "I" and mask.startswith(bans.MUTE + ":"):
            self._invalid(letter, shown(text), "a mute has no meaning on the invite exception list")
            return
        entries = self.channel.lists[letter]
        if not adding:
            removed = entries.remove(mask)
            if removed is not None:
                self.applied.append((False, letter, removed.mask))
            return
        if entries.find(mask) is not None:
            return
        if len(entries) >= self.limits.max_list_entries:
            self.client.numeric(n.ERR_BANLISTFULL, self.channel.name, letter, "Channel list is full")
            return
        entries.add(mask, self.client.prefix, int(self.client.net.clock()))
        self.applied.append((True, letter, mask))

    def _key(self, adding: bool, text: str | None) -> None:
        channel = self.channel
        if not adding:
            if channel.join_key is not None:
                channel.join_key = None
                self.applied.append((False, "k", "*"))
            return
        try:
            key = check_key(text or "", self.limits.keylen)
        except BadParam as exc:
            self._invalid("k", "*", str(exc))  # a key is never echoed back
            return
        if key != channel.join_key:
            channel.join_key = key
            self.applied.append((True, "k", key))

    def _limit(self, adding: bool, text: str | None) -> None:
        channel = self.channel
        if not adding:
            if channel.limit is not None:
                channel.limit = None
                self.applied.append((False, "l", None))
            return
        try:
            limit = parse_limit(text or "")
        except BadParam as exc:
            self._invalid("l", shown(text or ""), str(exc))
            return
        if limit != channel.limit:
            channel.limit = limit
            self.applied.append((True, "l", str(limit)))

    def _status(self, spec: ModeSpec, adding: bool, nick: str) -> None:
        client, channel = self.client, self.channel
        target = client.net.find_user(nick)
        dropping_own = not adding and target is client
        if not dropping_own and not access.may_change_mode(channel, client, spec):
            self.denied = True
            return
        if target is None:
            client.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
            return
        if target not in channel.members:
            client.numeric(n.ERR_USERNOTINCHANNEL, target.nick, channel.name, "They aren't on that channel")
            return
        if channel.set_status(target, spec.letter, adding):
            self.applied.append((adding, spec.letter, target.nick))


def channel_mode(client: Client, channel: Channel, message: Message) -> None:
    if len(message.params) < 2:
        send_channel_modes(client, channel)
        return
    _ModeRequest(client, channel, message.params[2:]).run(message.params[1])


@command("MODE", min_params=1)
def handle_mode(client: Client, message: Message) -> None:
    target = message.params[0]
    net = client.net
    if is_channel_name(target):
        channel = net.find_channel(target)
        if channel is None or channel.hidden_from(client):  # a secret channel does not exist outside
            client.numeric(n.ERR_NOSUCHCHANNEL, shown(target), "No such channel")
        else:
            channel_mode(client, channel, message)
        return
    user = net.find_user(target)
    if user is None:
        client.numeric(n.ERR_NOSUCHNICK, shown(target), "No such nick/channel")
    else:
        user_mode(client, user, message)
