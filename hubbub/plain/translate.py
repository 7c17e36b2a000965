"""The plain text mode's input: what a person types, as the IRC commands it means.

A line of text is a PRIVMSG to the current channel, `/join #x` is JOIN, and so on;
each goes through the same dispatcher as an IRC client's commands, so a plain user is
an ordinary user everywhere in the chat. Registration too: the first line is a
nickname, checked here first so that a person gets a sentence rather than a numeric,
then NICK and USER are dispatched like any client's; once the welcome has been shown,
the person is put in the default channel.

What is typed is cleaned of control characters first (text.py), and a line too long
for one IRC message is said as several, cut between words (split.py), as an IRC client
would send it. Those extra messages cost flood tokens as lines do, from the
connection's one flood budget (the transport's, which paid for the line itself): each
is charged to it as it goes (`link.charge`, as a multiline batch's lines are). With flood
control on, the ones past the allowance wait, and so do the person's next lines
meanwhile; none is dropped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from hubbub import __version__
from hubbub.irc import ctcp
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name, nick_problem
from hubbub.plain.split import split_text, text_room
from hubbub.plain.text import typed
from hubbub.plain.view import PlainView
from hubbub.server import access
from hubbub.server.chanmodes import CHANNEL_MODES
from hubbub.server.commands import dispatch
from hubbub.server.context import Context
from hubbub.server.flood import TokenBucket
from hubbub.server.floodexempt import is_exempt
from hubbub.server.handlers.messaging import offline_account
from hubbub.server.handlers.nickserv import nickserv
from hubbub.server.services import is_service_nick

log = logging.getLogger("hubbub.plain")


class Timer(Protocol):
    def cancel(self) -> None: ...


# later(seconds, callback): run `callback` on the event loop after `seconds` (the
# runtime gives the loop's call_later; tests give a fake clock's).
Later = Callable[[float, Callable[[], None]], Timer]

# The longest line a person may type (bytes, line ending not counted): some ten messages.
# Longer ones are refused whole with a sentence, rather than said in part.
MAX_TYPED_LINE = 4096
ACTION_WRAPPER = len("\x01ACTION \x01")  # a /me's text travels inside these 9 bytes
CTCP_EVERY = 5.0  # seconds: the CTCP queries answered for a person, at most one in each

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
    "  /topic #chan [TEXT] the same, for another channel",
    "  /knock #chan [TEXT] ask to be let into a channel you can't join (invite-only, say)",
    "  /colors on|off      show colours and bold text, or not",
    "  /exit or /quit      leave",
    "Where you are an operator (the current channel, or name one first: /op #chan NICK):",
    "  /kick NICK [REASON] put someone out of the channel",
    "  /op NICK            make someone an operator (/deop NICK: undo)",
    "  /voice NICK         let someone talk in a moderated channel (/devoice NICK: undo)",
    "  /ban [NICK|MASK]    ban a nickname, or a mask like *!*@host; alone, list the bans",
    "  /unban NICK|MASK    lift a ban",
    "  /invite NICK        invite someone (into an invite-only channel, say)",
    "  /mode [CHANGES]     show the channel's modes, or change them: +i invite-only,",
    "                      +m moderated, +k KEY, +l NUMBER, +t only operators set the topic",
    "Anything else you type is said in the current channel (start with // to say a line",
    "beginning with /). Long lines are sent as several messages.",
]
NOT_UTF8 = "* That line was not sent: it is not UTF-8 text. Set your terminal to UTF-8 and type it again."
NICK_NOT_UTF8 = (
    "*** That nickname is not UTF-8 text, and a nickname takes only Latin letters, digits and "
    "[ ] \\ ` _ ^ { | } -. Type another nickname:"
)
NOT_IN_A_CHANNEL = "* You are not in a channel."
TOO_LONG = f"* That line was not sent: it is longer than {MAX_TYPED_LINE} bytes. Send it in several lines."
TO_NICKSERV = (
    "* That line was not said in {channel}: it reads as a command to NickServ, which may hold your password. "
    "To log in, type /msg NickServ IDENTIFY yourpassword (only NickServ reads it). "
    "To say the line in the channel all the same, type it again after //."
)
# The words before a nick that message it, in IRC (PRIVMSG) and in clients (/msg)
_MESSAGE_WORDS = frozenset({"privmsg", "msg"})


def typed_to_nickserv(text: str) -> bool:
    """Whether a line a person typed to be said in a channel is a command to NickServ in
    IRC's words or a client's without its slash (`PRIVMSG NickServ :IDENTIFY pw`,
    `msg nickserv identify pw`, `ns identify pw`): a password, most likely, that the
    channel's members, and its history, would keep. (So a bot writing IRC in lower case
    gave its password away before detect.py took lower case for IRC; one that waits over
    a second between its first two lines is still taken for a person.) `ns` and
    `nickserv` count only before one of NickServ's commands: `ns` is a word in chat too.
    NickServ's own words alone count where they carry a password and little else:
    `identify hunter2`, `identify alice hunter2`, `register hunter2 me@example.org` (the
    person left out whom they were for); `identify yourself` is taken for one as well,
    and the answer says how to say it all the same."""
    words = text.split(None, 3)
    if len(words) < 2:
        return False
    first, second = words[0], words[1].lstrip(":")
    if first.lower() in _MESSAGE_WORDS:
        return casefold(second) == casefold(nickserv.name)
    if first.upper() == "IDENTIFY" and len(words) <= 3:
        return True
    if first.upper() == "REGISTER" and len(words) == 3 and "@" in words[2]:
        return True
    return first.upper() in nickserv.aliases and second.upper() in nickserv.commands


class PlainInput:
    """Translates one person's typing into commands."""

    def __init__(self, ctx: Context, view: PlainView, later: Later | None = None) -> None:
        self.ctx = ctx
        self.view = view
        view.on_welcome = self._welcomed
        view.on_ctcp = self._ctcp_asked
        self._ctcp_answered = -CTCP_EVERY  # when the last CTCP query was answered (ctx.now())
        self._later = later
        # The connection's flood budget as the transport keeps it, followed from here to
        # know when the next extra message may go: every line the transport let through
        # took a token of it, and every extra message is charged to it (`_spend_line`,
        # `_pace`). It grants nothing of its own.
        self._bucket: TokenBucket | None = None
        self._waiting: deque[tuple[str, str]] = deque()  # (target, text) waiting for flood tokens
        self._timer: Timer | None = None
        self._holding = False  # the person's input is held while parts wait

    def say(self, text: str) -> None:
        self.view.say(text)

    def line_too_long(self) -> None:
        self._spend_line()
        self.say(TOO_LONG)

    def line_received(self, raw: bytes) -> None:
        conn = self.ctx.conn
        if conn.gone:
            return
        self._spend_line()
        conn.last_activity = self.ctx.now()  # present: a person choosing a name is not timed out
        if len(raw) > MAX_TYPED_LINE:
            self.say(TOO_LONG)
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # a person, most likely with a terminal in a legacy encoding (cp1251, cp866)
            self.say(NOT_UTF8 if conn.registered else NICK_NOT_UTF8)
            return
        # Tabs, bells, escape sequences, and the CR or NUL that would split or end the IRC
        # line it is relayed in: nothing of that reaches anyone.
        text = typed(text)
        if not text.strip(" "):
            return
        if not conn.registered:
            self._registering(text.strip())
        elif text.startswith("/") and not text.startswith("//"):
            self._slash_command(text[1:])
        elif text.startswith("//") and typed_to_nickserv(text[2:]):
            self._speak(text[2:], to_nickserv=True)  # TO_NICKSERV's way to say it all the same
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
        words = text.split()
        if len(words) == 2 and words[0].lower() in ("nick", "/nick"):
            text = words[1]  # "nick erin2", "/nick erin2": the nickname is what they mean
        elif text.startswith("/"):
            self.say("*** Type a nickname first (or /exit to leave).")
            return
        problem = nick_problem(text, ctx.config.limits.nicklen)
        if problem:
            self.say(f"*** {text!r} can't be used: {problem}. Type another nickname:")
            return
        if is_service_nick(text):
            self.say(f"*** The nickname {text} belongs to one of the server's services. Type another one:")
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

    def _ctcp_asked(self, nick: str, body: str) -> None:
        """A CTCP query to the person, which their netcat cannot answer: answered for
        them, as their client would (`hubbub {version} plain text`), at most one each
        CTCP_EVERY seconds (queries cost their sender nothing here: a stream of them must
        not become a stream of answers from the person). After the delivery being made."""
        now = self.ctx.now()
        reply = ctcp.answer(body, f"hubbub {__version__} (plain text: netcat or telnet)", now)
        if reply is None or now - self._ctcp_answered < CTCP_EVERY or self._later is None:
            return
        self._ctcp_answered = now
        self._later(0, lambda: None if self.ctx.conn.gone else self._run("NOTICE", nick, f"\x01{reply}\x01"))

    def _welcomed(self) -> None:
        self._run("JOIN", self.ctx.config.server.default_channel)

    def _run(self, command: str, *params: str) -> None:
        dispatch(self.ctx, Message(command, list(params)))

    def _speak(self, text: str, to_nickserv: bool = False) -> None:
        """Say `text` in the current channel; a line that reads as a command to NickServ
        only when the person insisted (`to_nickserv`: typed after `//`)."""
        if not text:
            return
        if self.view.current is None:
            self.say("* You are not in a channel; /join #channel first.")
            return
        if not to_nickserv and typed_to_nickserv(text):
            self.say(TO_NICKSERV.format(channel=self.view.current))
            return
        self._privmsg(self.view.current, text)

    def _privmsg(self, target: str, text: str, action: bool = False) -> None:
        """Say `text` to `target` in as many messages as it takes, the first one now."""
        room = text_room(self.ctx.user.prefix, "PRIVMSG", target, ACTION_WRAPPER if action else 0)
        parts = split_text(text, room)
        if action:
            parts = [f"\x01ACTION {part}\x01" for part in parts]
        if not self._waiting:  # the line has paid for its first message (the gate's flood token)
            self._run("PRIVMSG", target, parts.pop(0))
        self._waiting.extend((target, part) for part in parts)
        self._pace()

    def _pace(self) -> None:
        """Send the waiting parts of long lines that the flood allowance lets through now;
        hold the person's input while any wait, so nothing overtakes them."""
        conn = self.ctx.conn
        while self._waiting and self._timer is None:
            if conn.gone:
                self._waiting.clear()
                return
            allowance = self._allowance()
            wait = allowance.take() if allowance is not None else 0.0
            if wait > 0.0 and self._later is not None:
                if not self._holding:
                    self._holding = True
                    conn.link.hold_input()
                self._timer = self._later(wait, self._resume)
                return
            target, text = self._waiting.popleft()
            conn.link.charge(1)  # the connection's one flood budget pays for it, as for a line
            self._run("PRIVMSG", target, text)

    def _spend_line(self) -> None:
        """A line came through the transport: it took a token of the flood budget there
        (never more than it had: the transport lets a line through only with one)."""
        bucket = self._allowance()
        if bucket is not None:
            bucket.spend(1)
            bucket.tokens = max(bucket.tokens, 0.0)

    def _allowance(self) -> TokenBucket | None:
        """The connection's flood budget as followed here (see `_bucket`), under the limits
        in force (a reload that changes them starts the transport's afresh, and this one);
        None without flood control, without a clock to wait with, or for a user flood
        control leaves alone (an exempt account, an operator: the transport has no
        bucket for them either, and one again from a full burst when that ends)."""
        limits = self.ctx.config.limits
        if self._later is None or not limits.flood_control or is_exempt(self.ctx.user, limits):
            self._bucket = None
        elif self._bucket is None or (self._bucket.rate, self._bucket.burst) != (
            limits.flood_rate, float(limits.flood_burst)
        ):
            self._bucket = TokenBucket(limits.flood_rate, limits.flood_burst, self.ctx.now)
        return self._bucket

    def _resume(self) -> None:
        self._timer = None
        try:
            self._pace()
        except Exception:  # on a timer, outside the intake's guard: the same rule applies
            log.exception("internal error sending a long line's messages from %r", self.ctx.conn)
            self.ctx.disconnect("Internal error")
            return
        if self._timer is None and self._holding and not self.ctx.conn.gone:
            self._holding = False
            self.ctx.conn.link.release_input()

    def stop(self) -> None:
        """The connection is gone: nothing more is sent."""
        self._waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

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
        if target.startswith(":"):  # no nickname or channel starts so (IRC reads it as the text)
            self.say(f"* Nobody is using the nickname {target} right now.")
            return
        kept = offline_account(self.ctx, target) is not None  # it waits for them: sent all the same
        self._privmsg(target, text)
        state, user = self.ctx.state, self.ctx.user
        channel = state.find_channel(target)
        if channel is not None:  # shown as sent only when it was: a refusal is said instead
            sent = access.channel_refuses_speech(channel, user) is None
            sent = sent and access.channel_refuses_content(channel, user, "PRIVMSG", text) is None
        else:
            sent = kept or state.find_user(target) is not None
        if sent:
            self.say(f"[to {target}] {text}")

    def _cmd_me(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /me TEXT")
        elif self.view.current is None:
            self.say("* You are not in a channel; /join #channel first.")
        else:
            self._privmsg(self.view.current, rest, action=True)

    def _cmd_join(self, rest: str) -> None:
        if not rest:
            self.say("* Usage: /join #channel")
            return
        name, *key = rest.split()[:2]  # "/join #club secret": the key of a +k channel
        if "," in name:  # IRC would take it for a list of channels, and answer about the parts
            self.say(f"* {name!r} can't be the name of a channel: a name can't have a comma in it. "
                     "Join one channel at a time: /join #channel")
            return
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
            self.say(NOT_IN_A_CHANNEL)
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
        """`/topic` shows the current channel's topic and `/topic TEXT` sets it; a channel
        named first is the one meant instead (`/topic #chan`, `/topic #chan TEXT`), as irssi
        reads it: a topic beginning with a channel's name is not worth setting by mistake."""
        channel, text = self._channel_first(rest)
        if channel is None:
            self.say(NOT_IN_A_CHANNEL)
        elif text:
            self._run("TOPIC", channel, text)
        else:
            self._run("TOPIC", channel)

    def _channel_first(self, rest: str) -> tuple[str | None, str]:
        """The channel a command is about, and what was typed after it: the channel named
        first (`/kick #chan bob`), or else the current one (`/kick bob`). One rule for
        every command that acts on a channel, so a person learns it once."""
        first, _, after = rest.partition(" ")
        if is_channel_name(first):
            return first, after.strip()
        return self.view.current, rest

    # -- running a channel: /kick, /op and the like, /ban, /invite, /mode -------------------
    # Each is the IRC command it names, sent as an IRC client sends it; whether the person
    # may (an operator of the channel, the nickname there) is the server's to say, and
    # its refusals come back as sentences (sentences.py), as for every other command.

    def _cmd_kick(self, rest: str) -> None:
        """`/kick NICK [REASON]` in the current channel, `/kick #chan NICK [REASON]` in
        another. Without a reason the server gives the kicker's nickname, as IRC does."""
        channel, rest = self._channel_first(rest)
        nick, _, reason = rest.partition(" ")
        reason = reason.strip()
        if not nick:
            self.say("* Usage: /kick [#channel] NICK [REASON]")
        elif channel is None:
            self.say(NOT_IN_A_CHANNEL)
        elif reason:
            self._run("KICK", channel, nick, reason)
        else:
            self._run("KICK", channel, nick)

    def _mode_on_each(self, command: str, change: str, rest: str, what: str = "NICK", listing: bool = False) -> None:
        """`/op bob carol`, `/ban bob`, ...: one MODE making the `change` (`+o`, `-b`) for each
        nickname or mask typed, in the current channel or the one named first. More than a
        MODE command carries are refused with a sentence, not dropped unsaid by the server.
        With `listing`, none at all asks for the list (`/ban`: `MODE #chan +b`)."""
        channel, rest = self._channel_first(rest)
        names = rest.split()
        most = self.ctx.config.limits.max_modes
        if not names and not listing:
            self.say(f"* Usage: /{command} [#channel] {what}")
        elif channel is None:
            self.say(NOT_IN_A_CHANNEL)
        elif len(names) > most:
            self.say(f"* /{command} takes at most {most} at a time: type it again for the others.")
        else:
            sign, letter = change[0], change[1]
            self._run("MODE", channel, sign + letter * max(len(names), 1), *names)

    def _cmd_op(self, rest: str) -> None:
        self._mode_on_each("op", "+o", rest)

    def _cmd_deop(self, rest: str) -> None:
        self._mode_on_each("deop", "-o", rest)

    def _cmd_voice(self, rest: str) -> None:
        self._mode_on_each("voice", "+v", rest)

    def _cmd_devoice(self, rest: str) -> None:
        self._mode_on_each("devoice", "-v", rest)

    def _cmd_ban(self, rest: str) -> None:
        """`/ban bob` bans the nickname (the server reads it as `bob!*@*`), `/ban *!*@host`
        a mask; `/ban` alone shows the channel's bans."""
        self._mode_on_each("ban", "+b", rest, "NICK|MASK", listing=True)

    def _cmd_unban(self, rest: str) -> None:
        self._mode_on_each("unban", "-b", rest, "NICK|MASK")

    def _cmd_invite(self, rest: str) -> None:
        """`/invite NICK` to the current channel; `/invite NICK #chan` (IRC's order, and
        irssi's) or `/invite #chan NICK` (the order of the other commands here) to another."""
        words = rest.split()
        if len(words) == 2 and is_channel_name(words[0]):
            words.reverse()
        if not words or len(words) > 2 or (len(words) == 2 and not is_channel_name(words[1])):
            self.say("* Usage: /invite NICK [#channel]")
            return
        channel = words[1] if len(words) == 2 else self.view.current
        if channel is None:
            self.say(NOT_IN_A_CHANNEL)
        else:
            self._run("INVITE", words[0], channel)

    def _cmd_knock(self, rest: str) -> None:
        """`/knock #chan [TEXT]`: ask the operators of a channel one cannot join (invite-only,
        full, keyed) to let one in; they see who asks, with the text, and may /invite."""
        name, _, text = rest.partition(" ")
        if not name:
            self.say("* Usage: /knock #channel [TEXT]")
            return
        if not name.startswith("#"):
            name = "#" + name
        text = text.strip()
        self._run("KNOCK", name, text) if text else self._run("KNOCK", name)

    def _cmd_mode(self, rest: str) -> None:
        """`/mode` shows the current channel's modes and `/mode +i` (or `-m`, `+k KEY`,
        `+o NICK`) changes them, as irssi reads it in a channel window; `/mode #chan ...`
        is about another channel, and `/mode NICK ...` about one's own user modes (the
        server says no for anyone else's)."""
        words = rest.split()
        if words and not is_channel_name(words[0]) and not words[0].startswith(("+", "-")):
            self._run("MODE", *words)
            return
        channel, rest = self._channel_first(rest)
        if channel is None:
            self.say(NOT_IN_A_CHANNEL)
            return
        self._run("MODE", channel, *rest.split())
        for letter in _settings_without_value(rest.split()):  # the server ignores them without a word
            self.say(f"* +{letter} needs a value: /mode +{letter} {VALUE_WANTED[letter]}")

    def _cmd_quit(self, rest: str) -> None:
        self._run("QUIT", rest) if rest else self._run("QUIT")

    def _cmd_help(self, rest: str) -> None:
        for line in HELP:
            self.say(line)

    def _cmd_list(self, rest: str) -> None:
        self._run("LIST")

    def _cmd_colours(self, rest: str) -> None:
        choice = rest.lower()
        if choice in ("on", "off"):
            self.view.colours = choice == "on"
        elif choice:
            self.say("* Usage: /colors on, or /colors off")
            return
        if self.view.colours:
            self.say("* Colours are on: bold, colours and other formatting show as sent. /colors off turns them off.")
        else:
            self.say("* Colours are off: messages show as plain text. /colors on turns them on.")


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
    "colors": PlainInput._cmd_colours,
    "colours": PlainInput._cmd_colours,
    "kick": PlainInput._cmd_kick,
    "op": PlainInput._cmd_op,
    "deop": PlainInput._cmd_deop,
    "voice": PlainInput._cmd_voice,
    "devoice": PlainInput._cmd_devoice,
    "ban": PlainInput._cmd_ban,
    "unban": PlainInput._cmd_unban,
    "invite": PlainInput._cmd_invite,
    "knock": PlainInput._cmd_knock,
    "mode": PlainInput._cmd_mode,
    "exit": PlainInput._cmd_quit,
    "quit": PlainInput._cmd_quit,
}


# What `/mode +k` and the like need, said to a person who typed it without (the server
# ignores such a change, as Modern IRC's MODE says it must)
VALUE_WANTED = {"k": "KEY", "l": "MOST_MEMBERS", "f": "LINES:SECONDS", "j": "JOINS:SECONDS"}


def _settings_without_value(words: list[str]) -> list[str]:
    """The settings a `/mode` line sets without the value each needs (`+kl`: k and l)."""
    if not words or words[0][:1] not in "+-":
        return []
    args, adding, missing = len(words) - 1, True, []
    for letter in words[0]:
        if letter in "+-":
            adding = letter == "+"
            continue
        spec = CHANNEL_MODES.get(letter)
        if spec is None or not spec.takes_param(adding):
            continue
        if args:
            args -= 1
        elif adding and letter in VALUE_WANTED:
            missing.append(letter)
    return missing
