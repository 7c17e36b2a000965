"""The plain text mode's input: what a person types, as the IRC commands it means.

A line of text is a PRIVMSG to the current channel, `/join #x` is JOIN, and so on;
each goes through the same dispatcher as an IRC client's commands, so a plain user is
an ordinary user everywhere in the chat. Registration too: the first line is a
nickname, checked here first so that a person gets a sentence rather than a numeric,
then NICK and USER are dispatched like any client's; once the welcome has been shown,
the person is put in the default channel.
"""

from __future__ import annotations

from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.message import MAX_LINE_BODY, Message
from hubbub.irc.validate import nick_problem
from hubbub.plain.view import PlainView
from hubbub.server.commands import dispatch
from hubbub.server.context import Context

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


class PlainInput:
    """Translates one person's typing into commands."""

    def __init__(self, ctx: Context, view: PlainView) -> None:
        self.ctx = ctx
        self.view = view
        view.on_welcome = self._welcomed

    def say(self, text: str) -> None:
        self.view.say(text)

    def line_received(self, raw: bytes) -> None:
        conn = self.ctx.conn
        if conn.gone:
            return
        if len(raw) > MAX_LINE_BODY:
            conn.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # a person, most likely with a terminal in a legacy encoding (cp1251, cp866)
            self.say("* That line was not sent: it is not UTF-8 text. Set your terminal to UTF-8 and type it again.")
            return
        if not text.strip(" "):
            return
        # A CR or NUL inside a typed line would split or end the IRC line it is relayed in.
        text = text.strip("\r\n").replace("\r", "").replace("\0", "")
        if not conn.registered:
            self._registering(text.strip())
        elif text.startswith("/") and not text.startswith("//"):
            self._slash_command(text[1:])
        else:
            self._speak(text[1:] if text.startswith("//") else text)

    def _registering(self, text: str) -> None:
        ctx = self.ctx
        if text.split(" ", 1)[0].lower() in ("/exit", "/quit"):
            self._run("QUIT")
            return
        if self.view.wanted_nick is not None:
            self._run("PASS", text)
            self._register(self.view.wanted_nick)
            return
        if text.startswith("/"):
            self.say("*** Type a nickname first (or /exit to leave).")
            return
        problem = nick_problem(text, ctx.config.limits.nicklen)
        if problem:
            self.say(f"*** {text!r} can't be used: {problem}. Type another nickname:")
            return
        if ctx.state.nick_taken(text, by=ctx.user):
            self.say(f"*** The nickname {text} is taken. Type another one:")
            return
        if ctx.config.server.password and ctx.conn.registration.password is None:
            self.view.wanted_nick = text
            self.say("*** This server needs a password. Type it and press Enter:")
            return
        self._register(text)

    def _register(self, nick: str) -> None:
        self.view.wanted_nick = None
        self._run("NICK", nick)
        if not self.ctx.conn.gone:
            self._run("USER", nick, "0", "*", "plain text user")

    def _welcomed(self) -> None:
        self._run("JOIN", self.ctx.config.server.default_channel)

    def _run(self, command: str, *params: str) -> None:
        dispatch(self.ctx, Message(command, list(params)))

    def _speak(self, text: str) -> None:
        if not text:
            return
        if self.view.current is None:
            self.say("* You are not in a channel; /join #channel first.")
            return
        self._run("PRIVMSG", self.view.current, text)

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
        if self.ctx.state.find_user(target) is not None or self.ctx.state.find_channel(target):
            self.say(f"[to {target}] {text}")

    def _cmd_me(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /me TEXT")
        elif self.view.current is None:
            self.say("* You are not in a channel; /join #channel first.")
        else:
            self._run("PRIVMSG", self.view.current, f"\x01ACTION {rest}\x01")

    def _cmd_join(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /join #channel")
            return
        name, *key = rest.split()[:2]  # "/join #club secret": the key of a +k channel
        if not name.startswith("#"):
            name = "#" + name
        channel = self.ctx.state.find_channel(name)
        if channel is not None and self.ctx.user in channel.members:
            self.view.current = channel.name
            self.say(f"* You are now talking in {channel.name}")
            return
        self._run("JOIN", name, *key)

    def _cmd_part(self, rest: str) -> None:
        name, _, reason = rest.partition(" ")
        if name and not name.startswith("#"):
            name, reason = "", rest  # "/part off to lunch": the current channel, with a reason
        name = name or self.view.current or ""
        if not name:
            self.say("* You are not in a channel.")
            return
        self._run("PART", name, reason) if reason else self._run("PART", name)

    def _cmd_nick(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /nick NAME")
            return
        nick = rest.split()[0]
        problem = nick_problem(nick, self.ctx.config.limits.nicklen)
        if problem:
            self.say(f"* {nick!r} can't be used: {problem}.")
            return
        self._run("NICK", nick)

    def _cmd_who(self, rest: str) -> None:
        target = rest.split()[0] if rest else self.view.current
        if not target:
            self.say("* Usage: /who #channel")
            return
        self._run("WHO", target)

    def _cmd_topic(self, rest: str) -> None:
        if self.view.current is None:
            self.say("* You are not in a channel.")
        elif rest:
            self._run("TOPIC", self.view.current, rest)
        else:
            self._run("TOPIC", self.view.current)

    def _cmd_quit(self, rest: str) -> None:
        self._run("QUIT", rest) if rest else self._run("QUIT")

    def _cmd_help(self, rest: str) -> None:
        for line in HELP:
            self.say(line)

    def _cmd_list(self, rest: str) -> None:
        self._run("LIST")


_SLASH: dict[str, Callable[[PlainInput, str], None]] = {
    "msg": PlainInput._cmd_msg,
    "query": PlainInput._cmd_msg,
    "me": PlainInput._cmd_me,
    "join": PlainInput._cmd_join,
    "part": PlainInput._cmd_part,
    "leave": PlainInput._cmd_part,
    "nick": PlainInput._cmd_nick,
    "who": PlainInput._cmd_who,
    "names": PlainInput._cmd_who,
    "list": PlainInput._cmd_list,
    "topic": PlainInput._cmd_topic,
    "help": PlainInput._cmd_help,
    "exit": PlainInput._cmd_quit,
    "quit": PlainInput._cmd_quit,
}
