"""The plain text mode: chat with nothing but netcat or telnet.

A person's lines are translated into the IRC commands they mean (a line of text is a
PRIVMSG to the current channel; `/join #x` is JOIN) and run through the same command
handlers as any IRC client, and the IRC messages sent back are rendered as human
text (`alice: hello`, `* bob joined #lobby`). Plain users and IRC users therefore
share channels with no special case anywhere else in the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import nick_problem
from hubbub.server.commands import dispatch
from hubbub.server.handlers.registration import try_complete_registration

if TYPE_CHECKING:
    from hubbub.server.client import Client

REGISTRATION_COMMANDS = frozenset({"CAP", "PASS", "NICK", "USER", "WEBIRC"})
# Also IRC when they come first with a parameter: a client may check the link (PING),
# answer one, or give up (QUIT) before registering; none of them is a nickname.
_IRC_OPENERS = REGISTRATION_COMMANDS | {"PING", "PONG", "QUIT"}

HELP = [
    "Commands:",
    "  /join #chan [KEY]   join a channel (with its key, if it has one) and talk there",
    "  /part [#channel]    leave a channel (the current one by default)",
    "  /msg NICK TEXT      send a private message",
    "  /me TEXT            describe an action",
    "  /nick NAME          change your nickname",
    "  /who [#channel]     who is in a channel",
    "  /list               the channels on this server",
    "  /topic [TEXT]       show or set the current channel's topic",
    "  /exit or /quit      leave",
    "Anything else you type is said in the current channel (start with // to say a line",
    "beginning with /).",
]

# Numerics that only matter to IRC software: not shown to a person.
_SILENT = frozenset({
    n.RPL_YOURHOST, n.RPL_CREATED, n.RPL_MYINFO, n.RPL_ISUPPORT, n.RPL_LUSERCLIENT,
    n.RPL_LUSEROP, n.RPL_LUSERUNKNOWN, n.RPL_LUSERCHANNELS, n.RPL_LUSERME,
    n.RPL_LOCALUSERS, n.RPL_GLOBALUSERS, n.RPL_MOTDSTART, n.RPL_ENDOFMOTD, n.ERR_NOMOTD,
    n.RPL_ENDOFNAMES, n.RPL_ENDOFWHO, n.RPL_LISTSTART, n.RPL_CREATIONTIME,
    n.RPL_TOPICWHOTIME, n.RPL_ENDOFWHOIS,
})


# What a terminal would act on instead of showing: ANSI/VT escape sequences (CSI, OSC and
# the two-byte ones), IRC formatting codes (colours with their numbers, bold, ...), and
# any other C0/C1 control character. An IRC user must not be able to clear, retitle or
# reprogram a netcat user's terminal, and colour codes would only show up as junk.
_TERMINAL_UNSAFE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[ -~]?"  # other escapes
    r"|\x03(?:\d{1,2}(?:,\d{1,2})?)?"  # mIRC colour
    r"|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?"  # hex colour
    r"|[\x00-\x08\x0a-\x1f\x7f-\x9f]"
)

_CLOSING_LINK = re.compile(r"^Closing Link: \S+ \((.*)\)$")  # the ERROR a disconnect sends


def for_terminal(text: str) -> str:
    """`text` with nothing a terminal would interpret: formatting and control codes removed."""
    return _TERMINAL_UNSAFE.sub("", text)


def looks_like_irc(first_line: str) -> bool:
    """Whether a connection's first line is IRC (registration, mostly) rather than a typed nickname."""
    if first_line[:1] in ("@", ":"):
        return True
    words = first_line.split(None, 1)
    return len(words) == 2 and words[0].upper() in _IRC_OPENERS


def _nick_of(source: str | None) -> str:
    return (source or "").split("!", 1)[0]


class PlainSession:
    """Translates one person's typing to commands and the server's messages to text."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.current: str | None = None  # channel that plain lines go to
        self.wanted_nick: str | None = None  # chosen, waiting for the server password

    # -- output ----------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.client.link.write((for_terminal(text) + "\r\n").encode("utf-8"))

    def render(self, message: Message) -> None:
        """Show an IRC message as a person would want to read it (or not at all)."""
        renderer = _RENDERERS.get(message.command)
        if renderer is not None:
            text = renderer(self, message)
        elif message.command.isdigit():
            text = self._numeric(message)
        else:
            text = None
        if text is not None:
            self.say(text)

    def _numeric(self, message: Message) -> str | None:
        code = message.command
        if code in _SILENT:
            return None
        p = message.params
        special = {
            n.RPL_WELCOME: lambda: f"*** Welcome, {p[0]}! Type /help for commands, /exit to leave.",
            n.RPL_MOTD: lambda: "*** " + p[-1].removeprefix("- "),
            n.RPL_NAMREPLY: lambda: f"* In {p[2]}: {', '.join(p[3].split())}",
            n.RPL_TOPIC: lambda: f"* Topic of {p[1]}: {p[2]}",
            n.RPL_NOTOPIC: lambda: f"* {p[1]} has no topic",
            n.RPL_WHOREPLY: lambda: f"* {p[5]} ({p[2]}@{p[3]}){' [away]' if p[6].startswith('G') else ''}: "
            + p[7].partition(" ")[2],
            n.RPL_LIST: lambda: f"* {p[1]} ({p[2]} here){': ' + p[3] if p[3] else ''}",
            n.RPL_LISTEND: lambda: "* End of the channel list",
            n.RPL_AWAY: lambda: f"* {p[1]} is away: {p[2]}",
        }
        make = special.get(code)
        if make is not None and len(p) >= 2:
            try:
                return make()
            except IndexError:
                pass
        middle = [x for x in p[1:-1] if x not in ("*", "=")]
        return "* " + (" ".join(middle) + ": " if middle else "") + (p[-1] if len(p) > 1 else "")

    # -- input -----------------------------------------------------------------------

    def line_received(self, text: str) -> None:
        # A CR or NUL inside a typed line would split or end the IRC line it is relayed in.
        text = text.strip("\r\n").replace("\r", "").replace("\0", "")
        if not self.client.registered:
            self._registering(text.strip())
        elif text.startswith("/") and not text.startswith("//"):
            self._slash_command(text[1:])
        else:
            self._speak(text[1:] if text.startswith("//") else text)

    def _registering(self, text: str) -> None:
        client = self.client
        if text.split(" ", 1)[0].lower() in ("/exit", "/quit"):
            client.net.disconnect(client, "Quit")
            return
        if self.wanted_nick is not None:
            client.password = text
            self._register(self.wanted_nick)
            return
        if text.startswith("/"):
            self.say("*** Type a nickname first (or /exit to leave).")
            return
        problem = nick_problem(text, client.net.config.limits.nicklen)
        if problem:
            self.say(f"*** {text!r} can't be used: {problem}. Type another nickname:")
            return
        if client.net.nick_taken(text, by=client):
            self.say(f"*** The nickname {text} is taken. Type another one:")
            return
        if client.net.config.server.password and client.password is None:
            self.wanted_nick = text
            self.say("*** This server needs a password. Type it and press Enter:")
            return
        self._register(text)

    def _register(self, nick: str) -> None:
        client = self.client
        net = client.net
        if net.nick_taken(nick, by=client):
            self.wanted_nick = None
            self.say(f"*** The nickname {nick} was taken meanwhile. Type another one:")
            return
        client.username = "~" + nick[:9]
        client.realname = "plain text user"
        net.set_nick(client, nick)
        try_complete_registration(client)
        if client.registered:
            self._run("JOIN", net.config.server.default_channel)

    def _run(self, command: str, *params: str) -> None:
        dispatch(self.client, Message(command, list(params)))

    def _speak(self, text: str) -> None:
        if not text:
            return
        if self.current is None:
            self.say("* You are not in a channel; /join #channel first.")
            return
        self._run("PRIVMSG", self.current, text)

    def _slash_command(self, line: str) -> None:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        handler = _SLASH.get(name.lower())
        if handler is None:
            self.say(f"* Unknown command /{name}. Type /help for the list.")
        else:
            handler(self, rest)

    def _cmd_msg(self, rest: str) -> None:
        target, _, text = rest.partition(" ")
        if not target or not text.strip():
            self.say("* Usage: /msg NICK TEXT")
            return
        self._run("PRIVMSG", target, text)
        if self.client.net.find_user(target) is not None or self.client.net.find_channel(target):
            self.say(f"[to {target}] {text}")

    def _cmd_me(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /me TEXT")
        elif self.current is None:
            self.say("* You are not in a channel; /join #channel first.")
        else:
            self._run("PRIVMSG", self.current, f"\x01ACTION {rest}\x01")

    def _cmd_join(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /join #channel")
            return
        name, *key = rest.split()[:2]  # "/join #club secret": the key of a +k channel
        if not name.startswith("#"):
            name = "#" + name
        channel = self.client.net.find_channel(name)
        if channel is not None and self.client in channel.members:
            self.current = channel.name
            self.say(f"* You are now talking in {channel.name}")
            return
        self._run("JOIN", name, *key)

    def _cmd_part(self, rest: str) -> None:
        name, _, reason = rest.partition(" ")
        if name and not name.startswith("#"):
            name, reason = "", rest  # "/part off to lunch": the current channel, with a reason
        name = name or self.current or ""
        if not name:
            self.say("* You are not in a channel.")
            return
        self._run("PART", name, reason) if reason else self._run("PART", name)

    def _cmd_nick(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /nick NAME")
            return
        nick = rest.split()[0]
        problem = nick_problem(nick, self.client.net.config.limits.nicklen)
        if problem:
            self.say(f"* {nick!r} can't be used: {problem}.")
            return
        self._run("NICK", nick)

    def _cmd_who(self, rest: str) -> None:
        target = rest.split()[0] if rest else self.current
        if not target:
            self.say("* Usage: /who #channel")
            return
        self._run("WHO", target)

    def _cmd_topic(self, rest: str) -> None:
        if self.current is None:
            self.say("* You are not in a channel.")
        elif rest:
            self._run("TOPIC", self.current, rest)
        else:
            self._run("TOPIC", self.current)

    def _cmd_quit(self, rest: str) -> None:
        self._run("QUIT", rest) if rest else self._run("QUIT")

    def _cmd_help(self, rest: str) -> None:
        for line in HELP:
            self.say(line)

    def _cmd_list(self, rest: str) -> None:
        self._run("LIST")

    # -- rendering of commands -------------------------------------------------------

    def _is_me(self, source: str | None) -> bool:
        return casefold(_nick_of(source)) == casefold(self.client.nick)

    def _render_privmsg(self, m: Message) -> str | None:
        if len(m.params) < 2:
            return None
        target, text = m.params[0], m.params[1]
        who = _nick_of(m.source)
        where = "" if casefold(target) == casefold(self.current or "") else f"[{target}] "
        if not target.startswith("#"):
            where = "[private] "
        if text.startswith("\x01"):
            body = text.strip("\x01")
            if not body.upper().startswith("ACTION "):
                return None  # other CTCP requests mean nothing to a person
            return f"{where}* {who} {body[7:]}"
        if m.command == "NOTICE":
            if "!" not in (m.source or "!"):
                return f"*** {text}"
            return f"{where}-{who}- {text}"
        return f"{where}{who}: {text}"

    def _render_join(self, m: Message) -> str:
        channel = m.param(0)
        if self._is_me(m.source):
            self.current = channel
            return f"* You joined {channel}"
        return f"* {_nick_of(m.source)} joined {channel}"

    def _render_part(self, m: Message) -> str:
        channel = m.param(0)
        reason = f" ({m.params[1]})" if len(m.params) > 1 and m.params[1] else ""
        if self._is_me(m.source):
            text = f"* You left {channel}{reason}"
            if self.current and casefold(self.current) == casefold(channel):
                others = [c.name for c in self.client.channels.values() if casefold(c.name) != casefold(channel)]
                self.current = others[0] if others else None
                text += f"; now talking in {self.current}" if self.current else "; /join #channel to talk"
            return text
        return f"* {_nick_of(m.source)} left {channel}{reason}"

    def _render_kick(self, m: Message) -> str:
        channel, victim = m.param(0), m.param(1)
        reason = f" ({m.params[2]})" if len(m.params) > 2 and m.params[2] else ""
        if casefold(victim) != casefold(self.client.nick):
            return f"* {victim} was kicked from {channel} by {_nick_of(m.source)}{reason}"
        text = f"* You were kicked from {channel} by {_nick_of(m.source)}{reason}"
        if self.current and casefold(self.current) == casefold(channel):
            # the membership is removed after this message goes out, so skip it by name
            others = [c.name for c in self.client.channels.values() if casefold(c.name) != casefold(channel)]
            self.current = others[0] if others else None
            text += f"; now talking in {self.current}" if self.current else "; /join #channel to talk"
        return text

    def _render_invite(self, m: Message) -> str:
        return f"* {_nick_of(m.source)} invites you to {m.param(1)}; type /join {m.param(1)} to go there"

    def _render_quit(self, m: Message) -> str:
        return f"* {_nick_of(m.source)} left ({m.param(0)})"

    def _render_nick(self, m: Message) -> str:
        if self._is_me(m.source) or casefold(m.param(0)) == casefold(self.client.nick):
            return f"* You are now known as {m.param(0)}"
        return f"* {_nick_of(m.source)} is now known as {m.param(0)}"

    def _render_topic(self, m: Message) -> str:
        return f"* {_nick_of(m.source)} set the topic of {m.param(0)} to: {m.param(1)}"

    def _render_mode(self, m: Message) -> str | None:
        if "!" not in (m.source or ""):
            return None  # the server showing a new channel's modes: IRC detail
        return f"* {_nick_of(m.source)} sets mode {' '.join(m.params[1:])} on {m.param(0)}"

    def _render_error(self, m: Message) -> str:
        # "Closing Link: 127.0.0.1 (Excess Flood)" is for IRC software; a person wants the why
        closing = _CLOSING_LINK.match(m.param(0))
        return f"*** Disconnected: {closing.group(1) if closing else m.param(0)}"

    def _render_fail(self, m: Message) -> str:
        return f"* {m.params[-1] if m.params else 'Failed'}"


_RENDERERS: dict[str, Callable[[PlainSession, Message], str | None]] = {
    "PRIVMSG": PlainSession._render_privmsg,
    "NOTICE": PlainSession._render_privmsg,
    "JOIN": PlainSession._render_join,
    "PART": PlainSession._render_part,
    "QUIT": PlainSession._render_quit,
    "KICK": PlainSession._render_kick,
    "INVITE": PlainSession._render_invite,
    "NICK": PlainSession._render_nick,
    "TOPIC": PlainSession._render_topic,
    "MODE": PlainSession._render_mode,
    "ERROR": PlainSession._render_error,
    "FAIL": PlainSession._render_fail,
    "PING": lambda self, m: None,
    "PONG": lambda self, m: None,
}

_SLASH: dict[str, Callable[[PlainSession, str], None]] = {
    "msg": PlainSession._cmd_msg,
    "query": PlainSession._cmd_msg,
    "me": PlainSession._cmd_me,
    "join": PlainSession._cmd_join,
    "part": PlainSession._cmd_part,
    "leave": PlainSession._cmd_part,
    "nick": PlainSession._cmd_nick,
    "who": PlainSession._cmd_who,
    "names": PlainSession._cmd_who,
    "list": PlainSession._cmd_list,
    "topic": PlainSession._cmd_topic,
    "help": PlainSession._cmd_help,
    "exit": PlainSession._cmd_quit,
    "quit": PlainSession._cmd_quit,
}
