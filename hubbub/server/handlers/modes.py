"""MODE: the command, and channel modes; user modes live in usermodes.py.

A mode string is read letter by letter with the table of chanmodes.py: each letter's
kind says whether it takes a parameter, its rank who may change it. Unknown letters
get 472, missing privileges one 482, bad parameters 696, a full list 478; the changes
that pass are emitted as one event, and applying it keeps those that still change
something, which the channel is then told in one MODE line (more only if it would not
fit in 512 bytes). At most MODES parameters are used per command; the rest is ignored.
A list mode without a parameter (`MODE #c b`, `MODE #c +e`) is a query of that list,
which needs no privileges. SAMODE is MODE for an IRC operator with no rank in the
channel.
"""

from __future__ import annotations

import logging

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name
from hubbub.server import access, bans, chanflood, joinflood
from hubbub.server.apply import Outcome
from hubbub.server.chanmodes import (
    CHANNEL_MODES,
    FLAG,
    LIST,
    PREFIX,
    SETTING,
    BadParam,
    ModeSpec,
    check_key,
    mode_params,
    parse_limit,
    shown_changes,
)
from hubbub.server.channel import OP, STATUS_MODES, Channel
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.engine import Then
from hubbub.server.events import ChannelModesSet, ModeChange
from hubbub.server.handlers.operators import refused
from hubbub.server.handlers.replies import refused_when_applied, send_paced, shown
from hubbub.server.handlers.usermodes import user_mode
from hubbub.server.services import find_service

log = logging.getLogger("hubbub.opers")

# list letter -> (entry numeric, end numeric, end text)
LIST_REPLIES = {
    "b": (n.RPL_BANLIST, n.RPL_ENDOFBANLIST, "End of channel ban list"),
    "e": (n.RPL_EXCEPTLIST, n.RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
    "I": (n.RPL_INVEXLIST, n.RPL_ENDOFINVEXLIST, "End of channel invite exception list"),
}


def send_channel_modes(ctx: Context, channel: Channel) -> None:
    """324 and 329; the key's value only to members."""
    conn = ctx.conn
    conn.numeric(n.RPL_CHANNELMODEIS, channel.name, *channel.mode_params(show_key=ctx.user in channel.members))
    conn.numeric(n.RPL_CREATIONTIME, channel.name, str(int(channel.created)))


def send_mode_list(ctx: Context, channel: Channel, letter: str, alone: bool = False) -> None:
    """367s and 368 (or the +e, +I forms). `alone`: the MODE line asks nothing else, so its
    reply may be paced (a list at MAXLIST of long masks can pass the sendq); otherwise
    it is written at once, in its place among the line's other replies."""
    entry_code, end_code, end_text = LIST_REPLIES[letter]
    rows = []
    if access.sees_lists(channel, ctx.user):
        rows = [ctx.conn.numeric_row(entry_code, channel.name, entry.mask, entry.set_by, str(entry.set_at))
                for entry in channel.lists[letter].entries]
    rows.append(ctx.conn.numeric_row(end_code, channel.name, end_text))
    if alone:
        send_paced(ctx, rows)
        return
    for row in rows:
        ctx.conn.send(row)


class _ModeRequest:
    """One MODE command on a channel, checked letter by letter."""

    def __init__(self, ctx: Context, channel: Channel, args: list[str], override: bool = False) -> None:
        self.ctx = ctx
        self.override = override  # SAMODE: no rank needed, nobody's status protected
        self.channel = channel
        self.args = args
        self.used = 0  # parameters consumed, at most MODES
        self.limits = ctx.config.limits
        self.changes: list[ModeChange] = []
        self.denied = False
        self.listed: set[str] = set()
        self.alone = False  # the line asks one list and nothing else (run)
        self.list_adds: dict[str, set[str]] = {}  # masks this request adds, per list
        self.list_removes: dict[str, set[str]] = {}  # entries it removes, per list

    def run(self, modestring: str, then: Then | None = None) -> None:
        # `MODE #c b`, `MODE #c +b`: a list asked alone, whose reply may be paced
        self.alone = not self.args and len(modestring.lstrip("+-")) == 1
        adding = True
        for letter in modestring:
            if letter in "+-":
                adding = letter == "+"
                continue
            spec = CHANNEL_MODES.get(letter)
            if spec is None:
                self.ctx.conn.numeric(n.ERR_UNKNOWNMODE, shown(letter), "is unknown mode char to me")
                continue
            self.one(spec, adding)
        if self.denied:
            # an operator refused a mode for higher ranks (+q, +a, or against the protected) is told so
            ranked = self.channel.rank(self.ctx.user) >= OP
            why = "Your channel rank is too low for that" if ranked else "You're not channel operator"
            self.ctx.conn.numeric(n.ERR_CHANOPRIVSNEEDED, self.channel.name, why)
        if self.changes:
            ctx = self.ctx
            event = ChannelModesSet(ctx.user.uid, self.channel.name, tuple(self.changes), ctx.now(), new_msgid(),
                                    override=self.override)  # fmt: skip
            ctx.emit(event, refused_when_applied(ctx.conn, self.channel.name, _hinting(ctx, self.channel, then),
                                                 told=self.denied))  # fmt: skip

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
        if not self.override and not access.may_change_mode(self.channel, self.ctx.user, spec):
            self.denied = True
            return
        if spec.kind == FLAG:
            self.changes.append(ModeChange(adding, spec.letter))
        elif spec.kind == LIST:
            self._list(spec.letter, adding, arg or "")
        elif spec.letter == "k":
            self._key(adding, arg)
        elif spec.letter == "l":
            self._limit(adding, arg)
        elif spec.letter == "f":
            self._flood(adding, arg)
        elif spec.letter == "j":
            self._join_flood(adding, arg)

    # -- each kind ------------------------------------------------------------------

    def _query(self, letter: str) -> None:
        if letter not in self.listed:
            self.listed.add(letter)
            send_mode_list(self.ctx, self.channel, letter, self.alone)

    def _invalid(self, letter: str, shown_param: str, reason: str) -> None:
        self.ctx.conn.numeric(n.ERR_INVALIDMODEPARAM, self.channel.name, letter, shown_param, reason)

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
        adds = self.list_adds.setdefault(letter, set())
        removes = self.list_removes.setdefault(letter, set())
        folded = casefold(mask)
        if not adding:
            if folded in adds:  # added by this same command: the two cancel out, nothing to say
                adds.discard(folded)
                self._cancel(letter, True, folded)
                return
            if entries.find(mask) is None:
                return
            removes.add(folded)
        else:
            if (entries.find(mask) is not None and folded not in removes) or folded in adds:
                return
            if len(entries) - len(removes) + len(adds) >= self.limits.max_list_entries:
                self.ctx.conn.numeric(n.ERR_BANLISTFULL, self.channel.name, letter, "Channel list is full")
                return
            if folded in removes:  # removed by this same command, and back: no change
                removes.discard(folded)
                self._cancel(letter, False, folded)
                return
            adds.add(folded)
        self.changes.append(ModeChange(adding, letter, mask))

    def _cancel(self, letter: str, adding: bool, folded: str) -> None:
        """Forget this command's earlier change of `folded` on list `letter`, undone by a
        later one: neither is applied nor announced."""
        for i, change in enumerate(self.changes):
            if change.adding is adding and change.letter == letter and casefold(change.param or "") == folded:
                del self.changes[i]
                return

    def _key(self, adding: bool, text: str | None) -> None:
        if not adding:
            self.changes.append(ModeChange(False, "k", "*"))
            return
        try:
            key = check_key(text or "", self.limits.keylen)
        except BadParam as exc:
            self._invalid("k", "*", str(exc))  # a key is never echoed back
            return
        self.changes.append(ModeChange(True, "k", key))

    def _limit(self, adding: bool, text: str | None) -> None:
        if not adding:
            self.changes.append(ModeChange(False, "l"))
            return
        try:
            limit = parse_limit(text or "")
        except BadParam as exc:
            self._invalid("l", shown(text or ""), str(exc))
            return
        self.changes.append(ModeChange(True, "l", str(limit)))

    def _flood(self, adding: bool, text: str | None) -> None:
        if not adding:
            self.changes.append(ModeChange(False, "f"))
            return
        try:
            rule = chanflood.parse(text or "")
        except BadParam as exc:
            self._invalid("f", shown(text or ""), str(exc))
            return
        self.changes.append(ModeChange(True, "f", rule.param()))

    def _join_flood(self, adding: bool, text: str | None) -> None:
        if not adding:
            self.changes.append(ModeChange(False, "j"))
            return
        try:
            rule = joinflood.parse(text or "")
        except BadParam as exc:
            self._invalid("j", shown(text or ""), str(exc))
            return
        self.changes.append(ModeChange(True, "j", rule.param()))

    def _status(self, spec: ModeSpec, adding: bool, nick: str) -> None:
        ctx, channel = self.ctx, self.channel
        user = ctx.user
        target = ctx.state.find_user(nick)
        unchecked = (not adding and target is user) or self.override  # dropping one's own status; SAMODE
        if not unchecked and not access.may_change_mode(channel, user, spec):
            self.denied = True
            return
        if target is None:
            ctx.conn.numeric(n.ERR_NOSUCHNICK, shown(nick), "No such nick/channel")
            return
        if target not in channel.members:
            ctx.conn.numeric(n.ERR_USERNOTINCHANNEL, target.nick, channel.name, "They aren't on that channel")
            return
        if not adding and not unchecked and not access.outranks(channel, user, target):
            self.denied = True  # the protected and the founder keep their status against ops
            return
        self.changes.append(ModeChange(adding, spec.letter, target.uid))


def _hinting(ctx: Context, channel: Channel, then: Then | None) -> Then:
    """`then`, after telling a registered channel's founder who gave an account holder a
    status by hand that it lasts only while they stay (a restart, a netsplit or a /part
    takes it), and how to make it last: ChanServ's AMODE, which only the founder can
    use. Without the hint a founder finds their helpers plain members the next day."""

    def applied(outcome: Outcome) -> None:
        user, chanserv = ctx.user, find_service("ChanServ")
        founding = user.account is not None and casefold(user.account) == channel.founder
        if outcome.rejected is None and founding and chanserv is not None and not ctx.conn.gone:
            for change in outcome.changes:
                member = ctx.state.users.get(change.param) if change.adding and change.param else None
                if member is None or member is user or member.account is None or change.letter not in STATUS_MODES:
                    continue
                if change.letter not in channel.registered_status(member):
                    mode = f"+{change.letter}"
                    chanserv.reply(ctx, f"{member.nick}'s {mode} in {channel.name} lasts until they leave it. "
                                        f"To give it at every join: /msg ChanServ AMODE {channel.name} {mode} "
                                        f"{member.account}")  # fmt: skip
        if then is not None:
            then(outcome)

    return applied


def channel_mode(ctx: Context, channel: Channel, message: Message) -> None:
    if len(message.params) < 2 or not message.params[1]:  # `MODE #c :` asks too
        send_channel_modes(ctx, channel)
        return
    _ModeRequest(ctx, channel, message.params[2:]).run(message.params[1])


@command("MODE", min_params=1)
def handle_mode(ctx: Context, message: Message) -> None:
    target = message.params[0]
    if is_channel_name(target):
        channel = ctx.state.find_channel(target)
        if channel is None or channel.hidden_from(ctx.user):  # a secret channel does not exist outside
            ctx.conn.numeric(n.ERR_NOSUCHCHANNEL, shown(target), "No such channel")
        else:
            channel_mode(ctx, channel, message)
        return
    user = ctx.state.find_user(target)
    if user is None:
        ctx.conn.numeric(n.ERR_NOSUCHNICK, shown(target), "No such nick/channel")
    else:
        user_mode(ctx, user, message)


@command("SAMODE", min_params=2)
def handle_samode(ctx: Context, message: Message) -> None:
    """`SAMODE <channel> <modes> [<params>]`: an IRC operator changes a channel's modes
    with no rank in it, as ergo's and InspIRCd's SAMODE do: for a channel whose
    operators left or turned on its users, or a spam channel to lock. Checked as MODE
    is, but for rank; members see the change come from the operator. Logged and told
    to the operators watching server notices; the operator is told what changed (it
    need not be a member, so it may not see the MODE line), once: not by a server
    notice as well when it watches them too."""
    if refused(ctx):
        return
    name = message.params[0]
    channel = ctx.state.find_channel(name) if is_channel_name(name) else None
    if channel is None:
        ctx.conn.numeric(n.ERR_NOSUCHCHANNEL, shown(name), "No such channel")
        return
    oper = ctx.user

    def applied(outcome: Outcome) -> None:
        changes = shown_changes(ctx.state.users, outcome.changes)
        if outcome.rejected is not None or not changes:
            return
        told = [(adding, letter, "*" if letter == "k" and adding else param) for adding, letter, param in changes]
        text = " ".join(mode_params(channel.name, told))
        log.info("%s used SAMODE %s", oper.prefix, text)
        ctx.notices.send(f"{oper.nick} used SAMODE {text}", exclude=ctx.conn)
        if not ctx.conn.gone:
            ctx.conn.server_message("NOTICE", ctx.conn.nick, f"*** SAMODE {text}")

    _ModeRequest(ctx, channel, message.params[2:], override=True).run(message.params[1], applied)
