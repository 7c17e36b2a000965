"""The plain text mode's output form: what the chat sends, as a person reads it.

`PlainOutput` is the output form (server/output.py) of a plain connection: the same
messages an IRC client gets arrive here, and are rendered as human text (`alice: hi`,
`* bob joined #lobby`, numerics as sentences: sentences.py) or left out when they only
matter to IRC software. Everything shown passes `for_terminal` first (view.py), which
shows IRC formatting as terminal attributes and nothing a terminal would act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.modewords import in_words
from hubbub.irc.validate import is_channel_name
from hubbub.plain.sentences import sentence
from hubbub.plain.view import PlainView
from hubbub.server.batch import CONCAT_TAG
from hubbub.server.chanmodes import parse_mode_changes
from hubbub.server.delivery import WANTS_MULTILINE
from hubbub.server.output import Deliverable, Link
from hubbub.server.replay import Replay
from hubbub.server.user import User, host_of

# Numerics that only matter to IRC software: not shown to a person.
_SILENT = frozenset({
    n.RPL_YOURHOST, n.RPL_CREATED, n.RPL_MYINFO, n.RPL_ISUPPORT, n.RPL_LUSERCLIENT,
    n.RPL_LUSEROP, n.RPL_LUSERUNKNOWN, n.RPL_LUSERCHANNELS, n.RPL_LUSERME,
    n.RPL_LOCALUSERS, n.RPL_GLOBALUSERS, n.RPL_MOTDSTART, n.RPL_ENDOFMOTD, n.ERR_NOMOTD,
    n.RPL_ENDOFNAMES, n.RPL_LISTSTART, n.RPL_CREATIONTIME,
    n.RPL_TOPICWHOTIME, n.RPL_ENDOFWHOIS,
})

_CLOSING_LINK = re.compile(r"^Closing Link: \S+ \((.*)\)$")  # the ERROR a disconnect sends
CHANNEL_PREFIXES = ("#", "&")
# The reasons a server gives for a disconnection, in words for a person
_DISCONNECTED = {
    "Excess Flood": "you sent too much too quickly (a long paste?). Connect again, and paste a few "
                    "lines at a time.",
    "SendQ exceeded": "your connection did not take what was sent to you fast enough.",
    "Registration timed out": "no nickname was chosen in time. Connect again and type one.",
}


# The lists of a channel's masks (`/ban`, `/mode #chan +e`): each entry's numeric, and the
# end's, with what to say at the end when the list had entries and when it had none.
_LIST_ENTRIES = frozenset({n.RPL_BANLIST, n.RPL_EXCEPTLIST, n.RPL_INVEXLIST})
_LIST_ENDS = {
    n.RPL_ENDOFBANLIST: ("* End of the bans of {}", "* Nobody is banned from {}."),
    n.RPL_ENDOFEXCEPTLIST: ("* End of the ban exceptions of {}", "* {} has no exceptions to its bans."),
    n.RPL_ENDOFINVEXLIST: ("* End of the invite exceptions of {}", "* {} has no invite exceptions."),
}


def _nick_of(source: str | None) -> str:
    return (source or "").split("!", 1)[0]


def _joined_lines(batch: list[Message]) -> list[Message]:
    """A multiline batch's messages as a person reads them: a `draft/multiline-concat`
    line glued to the one before (its sender wrapped a long line or a URL there), the
    BATCH lines and the blank lines left out."""
    lines: list[Message] = []
    for message in batch:
        if message.command == "BATCH":
            continue
        if CONCAT_TAG in message.tags and lines and len(message.params) > 1:
            last = lines[-1]
            lines[-1] = Message(last.command, [last.params[0], last.params[1] + message.params[1]], last.source)
        else:
            lines.append(message)
    return [line for line in lines if len(line.params) > 1 and line.params[1]]



# The status prefixes, highest rank first (the server's PREFIX: ~&@%+).
RANKS = "~&@%+"


def ranked_names(names: str) -> str:
    """A NAMES line (`@dave ~bob erin`) as a person reads a member list: the highest ranks
    first, then by name (`~bob, @dave, erin`), as IRC clients sort it."""

    def order(name: str) -> tuple[int, str]:
        rank = RANKS.find(name[:1])
        return (rank if rank >= 0 else len(RANKS), name.lstrip(RANKS).lower())

    return ", ".join(sorted(names.split(), key=order))

class PlainOutput:
    """Renders IRC messages for one person (the `Output` of a plain connection)."""

    raw: Link | None = None  # nothing is written as it is: everything is rendered
    answers_pings = False  # a person with netcat cannot answer PING

    def __init__(self, view: PlainView, user: User) -> None:
        self.view = view
        self.user = user
        self._who_lines = 0  # WHO replies since the last end of one: none means nobody matched
        self._list_lines = 0  # ban (or exception) list entries since the last end of a list

    def say(self, text: str) -> None:
        self.view.say(text)

    # -- Output ------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        self.render(message)

    def deliver(self, out: Deliverable, mask: int) -> None:
        # Lines from the history (the replay on joining) are said to be earlier ones: a
        # person would otherwise answer an hour-old question as if it had just been asked
        units = out.units_for(WANTS_MULTILINE)
        earlier = isinstance(out, Replay) and bool(units)
        if earlier:
            assert isinstance(out, Replay)
            self.view.say(f"* Earlier in {out.batch_params[0]}:" if out.batch_params else "* Earlier:")
        # a multiline message comes as its batch, which alone tells which lines are one
        for unit in units:
            for message in _joined_lines(unit) if isinstance(unit, list) else (unit,):
                self.render(message)
        if earlier:
            self.view.say("* (end of the earlier messages; what follows is said now)")

    def send_all(self, messages: list[Message]) -> None:
        for message in messages:
            self.render(message)

    # -- rendering ---------------------------------------------------------------------

    def render(self, message: Message) -> None:
        """Show an IRC message as a person would want to read it (or not at all)."""
        renderer = _RENDERERS.get(message.command)
        if message.command == n.ERR_NICKNAMEINUSE and not self.user.registered and len(message.params) > 1:
            self.say(f"*** The nickname {message.params[1]} is taken. Type another one:")
            return
        if renderer is not None:
            text = renderer(self, message)
        elif message.command.isdigit():
            text = self._numeric(message)
        else:
            text = None
        if text is not None:
            self.say(text)
        if message.command in (n.RPL_ENDOFMOTD, n.ERR_NOMOTD) and not self.view.welcomed:
            self.view.welcomed = True
            self.view.on_welcome()

    def _numeric(self, message: Message) -> str | None:
        code = message.command
        if code in _SILENT:
            return None
        p = message.params
        if code == n.RPL_WHOREPLY:
            self._who_lines += 1
        elif code == n.RPL_ENDOFWHO:
            return self._end_of_who(p)
        elif code in _LIST_ENTRIES:
            self._list_lines += 1
        elif code in _LIST_ENDS:
            return self._end_of_list(code, p)
        special: dict[str, Callable[[], str]] = {
            n.RPL_WELCOME: lambda: f"*** Welcome, {p[0]}! Type /help for commands, /exit to leave.",
            n.RPL_MOTD: lambda: "*** " + p[-1].removeprefix("- "),
            n.RPL_NAMREPLY: lambda: f"* In {p[2]}: {ranked_names(p[3])}",
            n.RPL_TOPIC: lambda: f"* Topic of {p[1]}: {p[2]}",
            n.RPL_NOTOPIC: lambda: f"* {p[1]} has no topic",
            n.RPL_WHOREPLY: lambda: f"* {p[5]} ({p[2]}@{p[3]}){' [away]' if p[6].startswith('G') else ''}: "
            + p[7].partition(" ")[2],
            n.RPL_LIST: lambda: f"* {p[1]} ({p[2]} here){': ' + p[3] if p[3] else ''}",
            n.RPL_LISTEND: lambda: "* End of the channel list",
            n.RPL_AWAY: lambda: f"* {p[1]} is away: {p[2]}",
            n.RPL_VISIBLEHOST: lambda: self._visible_host(p[1]),
        }
        make = special.get(code)
        if make is not None and len(p) >= 2:
            try:
                return make()
            except IndexError:
                pass
        return sentence(code, p)

    def _visible_host(self, host: str) -> str:
        """396: a cloak or a vhost hides the address; the address itself (one exempt from
        cloaks, after a logout from an account's vhost or CHGHOST *) hides nothing."""
        if host == host_of(self.user.ip):
            return f"*** Others see your address as it is: {host}"
        return f"*** Others see your address as {host} (your IP address is hidden)"

    def _end_of_who(self, params: list[str]) -> str | None:
        """Nothing after the WHO lines that were shown; a sentence when there were none,
        or the person's /who would go unanswered."""
        found, self._who_lines = self._who_lines, 0
        if found or len(params) < 2:
            return None
        mask = params[1]
        if is_channel_name(mask):
            return f"* Nobody you can see is in {mask}; there may be no such channel."
        return f"* Nobody you can see matches {mask}."

    def _end_of_list(self, code: str, params: list[str]) -> str:
        """The end of a ban (or exception) list: said as such after its entries, and as
        an empty list when there were none, or `/ban` alone would seem unanswered."""
        found, self._list_lines = self._list_lines, 0
        after_entries, empty = _LIST_ENDS[code]
        channel = params[1] if len(params) > 2 else "the channel"
        return (after_entries if found else empty).format(channel)

    # -- rendering of commands -------------------------------------------------------

    def _is_me(self, source: str | None) -> bool:
        return casefold(_nick_of(source)) == casefold(self.user.nick)

    def _render_privmsg(self, m: Message) -> str | None:
        if len(m.params) < 2:
            return None
        target, text = m.params[0], m.params[1]
        who = _nick_of(m.source)
        where = "" if casefold(target) == casefold(self.view.current or "") else f"[{target}] "
        if not target.lstrip("~&@%+").startswith("#"):  # `@#chan`: to the channel's ops (STATUSMSG)
            where = "[private] "
        if text.startswith("\x01"):
            body = text.strip("\x01")
            kind, _, action = body.partition(" ")
            if kind.upper() != "ACTION":
                if m.command == "PRIVMSG" and casefold(target) == casefold(self.user.nick) and who:  # to the person
                    self.view.on_ctcp(who, body)
                return None  # CTCP requests and answers mean nothing to a person
            return f"{where}* {who} {action}".rstrip(" ")
        if m.command == "NOTICE":
            if "!" not in (m.source or "!"):  # the server's: to a channel, which one (unless shown)
                return f"*** {where if where != '[private] ' else ''}{text}"
            return f"{where}-{who}- {text}"
        return f"{where}{who}: {text}"

    def _render_join(self, m: Message) -> str:
        channel = m.param(0)
        if self._is_me(m.source):
            self.view.current = channel
            return f"* You joined {channel}"
        return f"* {_nick_of(m.source)} joined {channel}"

    def _render_part(self, m: Message) -> str:
        channel = m.param(0)
        reason = f" ({m.params[1]})" if len(m.params) > 1 and m.params[1] else ""
        if self._is_me(m.source):
            text = f"* You left {channel}{reason}"
            if self.view.current and casefold(self.view.current) == casefold(channel):
                others = [c.name for c in self.user.channels.values() if casefold(c.name) != casefold(channel)]
                self.view.current = others[0] if others else None
                text += f"; now talking in {self.view.current}" if self.view.current else "; /join #channel to talk"
            return text
        return f"* {_nick_of(m.source)} left {channel}{reason}"

    def _render_kick(self, m: Message) -> str:
        channel, victim = m.param(0), m.param(1)
        reason = f" ({m.params[2]})" if len(m.params) > 2 and m.params[2] else ""
        if casefold(victim) != casefold(self.user.nick):
            return f"* {victim} was kicked from {channel} by {_nick_of(m.source)}{reason}"
        text = f"* You were kicked from {channel} by {_nick_of(m.source)}{reason}"
        if self.view.current and casefold(self.view.current) == casefold(channel):
            # the membership is removed after this message goes out, so skip it by name
            others = [c.name for c in self.user.channels.values() if casefold(c.name) != casefold(channel)]
            self.view.current = others[0] if others else None
            text += f"; now talking in {self.view.current}" if self.view.current else "; /join #channel to talk"
        return text

    def _render_wallops(self, m: Message) -> str:
        return f"* Wallops from {_nick_of(m.source)}: {m.param(0)}"  # to +w users: they asked for it

    def _render_invite(self, m: Message) -> str:
        return f"* {_nick_of(m.source)} invites you to {m.param(1)}; type /join {m.param(1)} to go there"

    def _render_quit(self, m: Message) -> str:
        return f"* {_nick_of(m.source)} left ({m.param(0)})"

    def _render_nick(self, m: Message) -> str:
        if self._is_me(m.source) or casefold(m.param(0)) == casefold(self.user.nick):
            return f"* You are now known as {m.param(0)}"
        return f"* {_nick_of(m.source)} is now known as {m.param(0)}"

    def _render_topic(self, m: Message) -> str:
        if not m.param(1):  # `TOPIC #chan :` removes the topic
            return f"* {_nick_of(m.source)} cleared the topic of {m.param(0)}"
        return f"* {_nick_of(m.source)} set the topic of {m.param(0)} to: {m.param(1)}"

    def _render_mode(self, m: Message) -> str | None:
        if "!" not in (m.source or ""):
            return None  # the server showing a new channel's modes: IRC detail
        if not m.param(0).startswith(CHANNEL_PREFIXES):  # one's own user modes
            changes = m.param(1)
            if not changes.strip("+-r"):
                return None  # +r/-r: the login or logout was said in words already
            return f"* Your modes changed: {changes}"
        channel, raw = m.param(0), " ".join(m.params[1:])
        said = in_words(parse_mode_changes(m.param(1), m.params[2:]), channel)
        where = "" if channel in said else f" in {channel}"
        return f"* {_nick_of(m.source)} {said}{where} ({raw})"

    def _render_error(self, m: Message) -> str:
        # "Closing Link: 127.0.0.1 (Excess Flood)" is for IRC software; a person wants the why
        closing = _CLOSING_LINK.match(m.param(0))
        reason = closing.group(1) if closing else m.param(0)
        return f"*** Disconnected: {_DISCONNECTED.get(reason, reason)}"

    def _render_fail(self, m: Message) -> str:
        return f"* {m.params[-1] if m.params else 'Failed'}"


_RENDERERS: dict[str, Callable[[PlainOutput, Message], str | None]] = {
    "PRIVMSG": PlainOutput._render_privmsg,
    "NOTICE": PlainOutput._render_privmsg,
    "JOIN": PlainOutput._render_join,
    "PART": PlainOutput._render_part,
    "QUIT": PlainOutput._render_quit,
    "KICK": PlainOutput._render_kick,
    "INVITE": PlainOutput._render_invite,
    "NICK": PlainOutput._render_nick,
    "TOPIC": PlainOutput._render_topic,
    "MODE": PlainOutput._render_mode,
    "ERROR": PlainOutput._render_error,
    "WALLOPS": PlainOutput._render_wallops,
    "FAIL": PlainOutput._render_fail,
    "PING": lambda self, m: None,
    "PONG": lambda self, m: None,
}
