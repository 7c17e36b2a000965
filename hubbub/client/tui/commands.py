"""Slash commands: one small function each, declared once in a table with its help.

`execute` turns one submitted input line into actions: a slash command runs its
function, anything else is a message to the buffer on screen (`//text` sends
`/text` as a message). Commands act through `CommandContext`, which the app
implements, so this module knows nothing of widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hubbub.client.chatlog import ChatLog
from hubbub.client.connection import Client, NotConnectedError
from hubbub.client.nickserv import NICKSERV
from hubbub.client.protocol import REACTION_MAX, nick_of
from hubbub.client.state import Buffer, BufferKind, ChatState, quote
from hubbub.irc.message import Message


class CommandContext(Protocol):
    client: Client
    state: ChatState

    def show(self, text: str, error: bool = False) -> None:
        """A line for the person in the current buffer."""

    def switch_to(self, buffer: Buffer) -> None: ...

    def close_buffer(self, buffer: Buffer) -> None: ...

    def quit(self, reason: str) -> None: ...

    def open_channel_list(self, query: str = "") -> None:
        """Show the browsable list of channels (filled when the server's answer is complete)."""

    def set_logging(self, on: bool) -> Path | None:
        """Start or stop logging to files; the directory in use, or None."""

    @property
    def chatlog(self) -> ChatLog | None: ...


class UsageError(Exception):
    """The command was typed wrong; the message says how to type it."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    run: Callable[[CommandContext, str], None]
    group: str = ""  # a heading of /help ("Moderation"); "" for the general list


COMMANDS: dict[str, Command] = {}
ALIASES: dict[str, str] = {}


def command(name: str, usage: str, help: str, aliases: tuple[str, ...] = (), group: str = "") -> Callable[
        [Callable[[CommandContext, str], None]], Callable[[CommandContext, str], None]]:
    def register(func: Callable[[CommandContext, str], None]) -> Callable[[CommandContext, str], None]:
        COMMANDS[name] = Command(name, usage, help, func, group)
        for alias in aliases:
            ALIASES[alias] = name
        return func
    return register


def command_names() -> list[str]:
    return sorted([*COMMANDS, *ALIASES])


def execute(ctx: CommandContext, text: str) -> None:
    """Run one submitted line."""
    if not text.strip():
        return
    try:
        if text.startswith("/") and not text.startswith("//"):
            name, _, args = text[1:].partition(" ")
            name = ALIASES.get(name.lower(), name.lower())
            found = COMMANDS.get(name)
            if found is None:
                ctx.show(f"Unknown command /{name}. Type /help for the list.", error=True)
                return
            try:
                found.run(ctx, args.strip())
            except UsageError as exc:
                ctx.show(f"{exc} Usage: {found.usage}", error=True)
            return
        say(ctx, text[1:] if text.startswith("//") else text)
    except NotConnectedError:
        if ctx.client.running:
            ctx.show("Not connected right now; hubbub chat reconnects by itself. Try again in a moment.",
                     error=True)
        else:  # it gave up (a refused server password): a moment would change nothing
            ctx.show("Not connected, and not reconnecting: the server buffer says why. /quit or Ctrl+Q to leave.",
                     error=True)
    except ValueError as exc:  # a line IRC cannot carry (a space in a name, a control character)
        ctx.show(f"That cannot be sent: {exc}", error=True)


def say(ctx: CommandContext, text: str, action: bool = False) -> None:
    buffer = ctx.state.current
    if not ctx.client.ready:
        raise NotConnectedError
    if buffer.kind is BufferKind.SERVER:
        ctx.show("This is the server buffer: /join a channel or /msg someone to talk.", error=True)
        return
    if buffer.kind is BufferKind.CHANNEL and not buffer.joined:
        ctx.show(f"You are not in {buffer.name}; type /join {buffer.name} first.", error=True)
        return
    if action:
        ctx.client.action(buffer.name, text)
    else:
        ctx.client.privmsg(buffer.name, text)


def _channel_name(ctx: CommandContext, name: str) -> str:
    return name if ctx.client.isupport.is_channel(name) else "#" + name


def _current_channel(ctx: CommandContext) -> Buffer:
    buffer = ctx.state.current
    if buffer.kind is not BufferKind.CHANNEL:
        raise UsageError("This is not a channel buffer.")
    return buffer


@command("join", "/join #channel [key]", "Join a channel (the # may be left out); it opens in a new buffer. "
         "Several at once: /join #a,#b keyofa,keyofb.")
def _join(ctx: CommandContext, args: str) -> None:
    names, _, keys = args.partition(" ")
    channels = [_channel_name(ctx, name) for name in names.split(",") if name]
    if not channels:
        raise UsageError("Which channel?")
    given = keys.strip().split(",") if keys.strip() else []
    for i, channel in enumerate(channels):  # the keys in the order of the channels, as IRC pairs them
        key = given[i] if i < len(given) else ""
        ctx.state.joins_asked.add(ctx.state.isupport.casefold(channel))  # shown when it opens
        ctx.client.join(channel, key or None)
        existing = ctx.state.find(channel)
        if existing is not None:
            ctx.switch_to(existing)


@command("part", "/part [#channel] [reason]", "Leave a channel (this one by default); its buffer stays.",
         aliases=("leave",))
def _part(ctx: CommandContext, args: str) -> None:
    first, _, rest = args.partition(" ")
    if first and ctx.client.isupport.is_channel(first):
        ctx.client.part(first, rest.strip())
    else:
        ctx.client.part(_current_channel(ctx).name, args)


@command("msg", "/msg nick|#channel message", "Send a private message without switching buffers.")
def _msg(ctx: CommandContext, args: str) -> None:
    target, _, text = args.partition(" ")
    if not target or not text.strip():
        raise UsageError("To whom, and what?")
    ctx.client.privmsg(target, text)


@command("query", "/query nick [message]", "Open a private conversation with someone, optionally saying something.")
def _query(ctx: CommandContext, args: str) -> None:
    nick, _, text = args.partition(" ")
    if not nick:
        raise UsageError("With whom?")
    if ctx.client.isupport.is_channel(nick):
        raise UsageError(f"{nick} is a channel; use /join.")
    is_new = ctx.state.find(nick) is None
    buffer = ctx.state.open(nick)
    ctx.switch_to(buffer)
    if is_new and ctx.client.ready:
        ctx.client.request_read_marker(nick)  # not sent unasked, as a channel's is on joining
        ctx.client.request_history(nick)
    if text.strip():
        ctx.client.privmsg(nick, text)


@command("notice", "/notice nick|#channel message", "Send a notice (a message not to be answered automatically).")
def _notice(ctx: CommandContext, args: str) -> None:
    target, _, text = args.partition(" ")
    if not target or not text.strip():
        raise UsageError("To whom, and what?")
    ctx.client.notice(target, text)


@command("me", "/me action", "Describe what you are doing: /me waves shows as “* you waves”.")
def _me(ctx: CommandContext, args: str) -> None:
    if not args:
        raise UsageError("Do what?")
    say(ctx, args, action=True)


# What /reply and /react count back through: what others said in the buffer on screen.
_ANSWERABLE = frozenset({"message", "action", "notice"})
# Words for the emoji the web client offers, for /react (`:tada:` with colons too).
REACTION_WORDS = {
    "+1": "👍", "thumbsup": "👍", "like": "👍",
    "heart": "❤️", "love": "❤️", "<3": "❤️",
    "joy": "😂", "lol": "😂", "laugh": "😂",
    "wow": "😮", "surprised": "😮",
    "sad": "😢", "cry": "😢",
    "tada": "🎉", "party": "🎉",
}
_REACTION_HINT = "👍 ❤️ 😂 😮 😢 🎉, or +1 heart lol wow sad tada"


def _answered(ctx: CommandContext, which: str) -> tuple[Buffer, str] | None:
    """The buffer on screen and the msgid of its message that `which` names, for a reply
    or a reaction: a number counts back through what others said there (1, the newest), a
    nick names that person's newest. None, having said why in the buffer, when it cannot
    be answered: the server relays no client tags, the number goes past what is kept, the
    message has no msgid."""
    buffer = ctx.state.current
    if not ctx.client.ready:
        raise NotConnectedError
    if buffer.kind is BufferKind.SERVER:
        ctx.show("This is the server buffer: replies and reactions are for a channel or a conversation.",
                 error=True)
        return None
    if buffer.kind is BufferKind.CHANNEL and not buffer.joined:
        ctx.show(f"You are not in {buffer.name}; type /join {buffer.name} first.", error=True)
        return None
    if not ctx.client.tags_supported:
        ctx.show("This server does not pass message tags on (no message-tags), so replies and reactions "
                 "cannot be sent here.", error=True)
        return None
    said = [line for line in reversed(buffer.lines)
            if line.nick and not line.own and line.kind in _ANSWERABLE]  # fmt: skip
    if which.isdigit():
        count = int(which)
        if not 1 <= count <= len(said):
            ctx.show(f"There is no message {count} back: " + (
                f"{len(said)} from others here, 1 the newest." if said else "nobody else has said anything here."),
                error=True)  # fmt: skip
            return None
        line = said[count - 1]
    else:
        nick = which.rstrip(":,")
        found = next((line for line in said if line.nick and ctx.client.isupport.same(line.nick, nick)), None)
        if found is None:
            raise UsageError(f"Which message? “{which}” is no number (1 is the newest from someone else) "
                             "and nobody of that nick said anything here.")
        line = found
    if line.msgid is None:
        ctx.show(f"That message ({quote(line.nick or '', line.own_text)}) came without a msgid from the server, so "
                 "it cannot be answered or reacted to.", error=True)
        return None
    return buffer, line.msgid


@command("reply", "/reply N|nick message",
         "Answer a message here: N counts back through what others said (1 is the newest), a nick means "
         "their newest. Shown with what it answers (+draft/reply, where the server passes tags on).")
def _reply(ctx: CommandContext, args: str) -> None:
    which, _, text = args.partition(" ")
    if not which or not text.strip():
        raise UsageError("Which message, and what do you answer?")
    picked = _answered(ctx, which)
    if picked is not None:
        buffer, msgid = picked
        ctx.client.reply(buffer.name, msgid, text)


def reaction(typed: str) -> str:
    """The emoji for what was typed after /react: an emoji as it is, or a word for one
    (`+1`, `heart`, `:tada:`). A word of plain letters is refused rather than sent, so a
    typo does not go out as a reaction."""
    found = REACTION_WORDS.get(typed.strip(":").lower())
    if found is not None:
        return found
    if typed.isascii() or len(typed) > REACTION_MAX:
        raise UsageError(f"Which emoji? {_REACTION_HINT}.")
    return typed


def _react_command(name: str, on: bool, usage: str, help: str) -> None:
    def run(ctx: CommandContext, args: str) -> None:
        words = args.split()
        if len(words) != 2:
            raise UsageError(f"Which message, and which emoji ({_REACTION_HINT})?")
        emoji = reaction(words[1])
        picked = _answered(ctx, words[0])
        if picked is not None:
            buffer, msgid = picked
            ctx.client.react(buffer.name, msgid, emoji, on)
    command(name, usage, help)(run)


_react_command("react", True, "/react N|nick emoji",
               "React to a message here (N and nick as for /reply) with an emoji, or a word for one: "
               "+1 heart lol wow sad tada. Shown as a line: You reacted 👍 to ...")
_react_command("unreact", False, "/unreact N|nick emoji", "Take back a reaction of yours (as /react).")


@command("nick", "/nick newnick", "Change your nickname.")
def _nick(ctx: CommandContext, args: str) -> None:
    if not args or " " in args:
        raise UsageError("Which nickname (one word)?")
    ctx.client.change_nick(args)


@command("topic", "/topic [new topic]", "Show this channel's topic, or set it.")
def _topic(ctx: CommandContext, args: str) -> None:
    buffer = _current_channel(ctx)
    ctx.client.set_topic(buffer.name, args or None)


def _channel_and_rest(ctx: CommandContext, args: str) -> tuple[str, str]:
    """A #channel named first, or this channel; and the rest of the arguments."""
    first, _, rest = args.partition(" ")
    if first and ctx.client.isupport.is_channel(first):
        return first, rest.strip()
    return _current_channel(ctx).name, args


MODERATION = "Moderation"


@command("kick", "/kick [#channel] nick [reason]", "Put someone out of a channel (this one by default).",
         group=MODERATION)
def _kick(ctx: CommandContext, args: str) -> None:
    channel, nick, reason = _whom(ctx, args)
    ctx.client.send(Message("KICK", [channel, nick, *([reason] if reason else [])]))


def _whom(ctx: CommandContext, args: str) -> tuple[str, str, str]:
    """`[#channel] nick [reason]`: the channel (this one by default), the nick, the reason."""
    channel, rest = _channel_and_rest(ctx, args)
    nick, _, reason = rest.partition(" ")
    if not nick:
        raise UsageError("Whom?")
    return channel, nick, reason.strip()


def _modes_per_line(ctx: CommandContext) -> int:
    """How many mode changes with an argument one MODE may carry (ISUPPORT MODES; 3 if unsaid)."""
    tokens = ctx.client.isupport.tokens
    if "MODES" not in tokens:
        return 3
    value = tokens["MODES"]
    return max(1, int(value)) if value.isdigit() else 12  # "MODES" without a value: no limit


def _set_modes(ctx: CommandContext, channel: str, sign: str, letter: str, params: list[str]) -> None:
    """`MODE #c +ooo a b c`, as many to a line as the server takes."""
    step = _modes_per_line(ctx)
    for i in range(0, len(params), step):
        some = params[i : i + step]
        ctx.client.send(Message("MODE", [channel, sign + letter * len(some), *some]))


def ban_mask(target: str) -> str:
    """A nick's ban mask (`bob` -> `bob!*@*`); a mask or an extban (`*!*@host`, `a:acct`) as it is."""
    return target if any(c in target for c in "!@:*?") else f"{target}!*@*"


def _mute_mask(target: str) -> str:
    return target if target.lower().startswith("m:") else "m:" + ban_mask(target)


def _mode_command(name: str, sign: str, letter: str, usage: str, help: str,
                  mask: Callable[[str], str] | None = None) -> None:
    def run(ctx: CommandContext, args: str) -> None:
        channel, rest = _channel_and_rest(ctx, args)
        targets = rest.replace(",", " ").split()
        if not targets:
            raise UsageError("Whom?")
        _set_modes(ctx, channel, sign, letter, [mask(t) if mask else t for t in targets])
    command(name, usage, help, group=MODERATION)(run)


_mode_command("op", "+", "o", "/op nick [nick...]", "Make someone an operator of this channel (+o).")
_mode_command("deop", "-", "o", "/deop nick [nick...]", "Take back someone's operator status (-o).")
_mode_command("voice", "+", "v", "/voice nick [nick...]", "Let someone speak in a moderated (+m) channel (+v).")
_mode_command("devoice", "-", "v", "/devoice nick [nick...]", "Take back someone's voice (-v).")
_mode_command("unban", "-", "b", "/unban nick|mask [...]", "Lift a ban (a nick means nick!*@*).", ban_mask)
_mode_command("mute", "+", "b", "/mute nick|mask [...]",
              "Let someone stay but not speak in this channel (the mute ban m:nick!*@*).", _mute_mask)
_mode_command("unmute", "-", "b", "/unmute nick|mask [...]", "Let someone muted speak again.", _mute_mask)


@command("ban", "/ban [nick|mask ...]",
         "Ban from this channel: a nick means nick!*@*, or give a mask (*!*@host); /ban alone lists the bans.",
         group=MODERATION)
def _ban(ctx: CommandContext, args: str) -> None:
    channel, rest = _channel_and_rest(ctx, args)
    targets = rest.replace(",", " ").split()
    if not targets:
        ctx.client.send(Message("MODE", [channel, "b"]))
        return
    _set_modes(ctx, channel, "+", "b", [ban_mask(t) for t in targets])


@command("kickban", "/kickban nick [reason]", "Ban someone (nick!*@*) and put them out of this channel.",
         aliases=("kb",), group=MODERATION)
def _kickban(ctx: CommandContext, args: str) -> None:
    channel, nick, reason = _whom(ctx, args)
    ctx.client.send(Message("MODE", [channel, "+b", ban_mask(nick)]))
    ctx.client.send(Message("KICK", [channel, nick_of(nick), *([reason] if reason else [])]))


@command("invite", "/invite nick [#channel]", "Invite someone to a channel (this one by default).")
def _invite(ctx: CommandContext, args: str) -> None:
    words = args.split()
    if not words or len(words) > 2:
        raise UsageError("Whom, and to which channel?")
    channel = _channel_name(ctx, words[1]) if len(words) == 2 else _current_channel(ctx).name
    ctx.client.send(Message("INVITE", [words[0], channel]))


@command("knock", "/knock #channel [reason]",
         "Ask the operators of a channel you cannot join (invite-only, keyed, full) to invite you.")
def _knock(ctx: CommandContext, args: str) -> None:
    name, _, reason = args.strip().partition(" ")
    if not name:
        raise UsageError("Which channel?")
    reason = reason.strip()
    ctx.client.send(Message("KNOCK", [_channel_name(ctx, name), *([reason] if reason else [])]))


@command("mode", "/mode [#channel|yournick] [+-modes [arguments]]",
         "Show or change a channel's modes (this one by default: /mode +m, /mode +o bob), or your own.")
def _mode(ctx: CommandContext, args: str) -> None:
    words = args.split()
    first = words[0] if words else ""
    # `+v` is a mode change, even where `+` begins channel names (ngIRCd), unless it is a
    # channel we are in
    modes = first[:1] in ("+", "-") and first[1:].isalpha() and ctx.state.find(first) is None
    isupport = ctx.client.isupport
    if first and not modes and (isupport.is_channel(first) or isupport.same(first, ctx.client.nick)):
        target, changes = first, words[1:]
    elif first and first[0] not in "+-" and ctx.state.current.kind is not BufferKind.CHANNEL:
        target, changes = first, words[1:]  # someone else's nick: the server says no
    else:
        target, changes = _current_channel(ctx).name, words  # /mode +m, /mode b (the ban list)
    ctx.client.send(Message("MODE", [target, *changes]))


@command("names", "/names", "List who is in this channel (as the member list shows them).")
def _names(ctx: CommandContext, args: str) -> None:
    buffer = _current_channel(ctx)
    if not buffer.members:
        ctx.show(f"Nobody is listed in {buffer.name}" + ("." if buffer.joined else ": you are not in it."))
        return
    shown = " ".join(member.prefix + member.nick for member in buffer.members)
    ctx.show(f"In {buffer.name} ({len(buffer.members)}): {shown}")


@command("whois", "/whois nick", "Who is someone: their host, channels, idle time.")
def _whois(ctx: CommandContext, args: str) -> None:
    nick = args.split(" ")[0] if args else ""
    if not nick and ctx.state.current.kind is BufferKind.QUERY:
        nick = ctx.state.current.name
    if not nick:
        raise UsageError("Who?")
    ctx.client.whois(nick)


@command("away", "/away [message]", "Mark yourself away with a message, or back without one.")
def _away(ctx: CommandContext, args: str) -> None:
    ctx.client.set_away(args or None)


@command("back", "/back", "Come back from being away (the same as /away alone).")
def _back(ctx: CommandContext, args: str) -> None:
    ctx.client.set_away(None)


@command("close", "/close", "Close this buffer (leaving the channel if you are in it).")
def _close(ctx: CommandContext, args: str) -> None:
    buffer = ctx.state.current
    if buffer.kind is BufferKind.SERVER:
        raise UsageError("The server buffer stays open; /quit to leave.")
    if buffer.kind is BufferKind.CHANNEL and buffer.joined and ctx.client.connected:
        ctx.client.part(buffer.name, args)
    elif buffer.kind is BufferKind.CHANNEL:
        ctx.client.forget(buffer.name)  # closed while disconnected: not rejoined on reconnecting either
    ctx.close_buffer(buffer)


@command("register", "/register <password> [email]",
         "Create an account for your nick (NickServ REGISTER; the password is not shown). Then start with "
         "--password to be logged in at every connection.")
def _register(ctx: CommandContext, args: str) -> None:
    if not args.strip():
        raise UsageError("With which password?")
    if not ctx.client.ready:
        raise NotConnectedError
    ctx.switch_to(ctx.state.open(NICKSERV))  # its answer shows there
    ctx.client.privmsg(NICKSERV, f"REGISTER {args.strip()}")


@command("quit", "/quit [message]", "Leave the chat (with a goodbye message).", aliases=("exit",))
def _quit(ctx: CommandContext, args: str) -> None:
    ctx.quit(args)


@command("oper", "/oper NAME PASSWORD", "Become an IRC operator (a block of the server's configuration).")
def _oper(ctx: CommandContext, args: str) -> None:
    name, _, password = args.strip().partition(" ")
    if not name or not password.strip():
        raise UsageError("As whom, with which password? /oper NAME PASSWORD")
    ctx.client.send(f"OPER {name} :{password.strip()}")  # the rest of the line: a password may hold spaces


@command("wallops", "/wallops TEXT", "Send a message to everyone with user mode +w (operators).")
def _wallops(ctx: CommandContext, args: str) -> None:
    if not args.strip():
        raise UsageError("Send what?")
    ctx.client.send(f"WALLOPS :{args}")


@command("quote", "/quote RAW IRC LINE", "Send a line to the server exactly as typed.", aliases=("raw",))
def _quote(ctx: CommandContext, args: str) -> None:
    if not args:
        raise UsageError("Send what?")
    ctx.client.send(args)


@command("list", "/list [filter]", "Browse the server's channels: type to filter, Enter to join.")
def _list(ctx: CommandContext, args: str) -> None:
    if not ctx.client.ready:
        raise NotConnectedError
    ctx.state.start_list()
    ctx.client.send("LIST")
    ctx.open_channel_list(args)


@command("ignore", "/ignore [nick|nick!user@host]",
         "Hide someone's messages (wildcards * and ? work); where the server has SILENCE, it also stops their "
         "private messages, notices and invites. /ignore alone lists who is ignored.")
def _ignore(ctx: CommandContext, args: str) -> None:
    mask = args.split(" ")[0] if args else ""
    if not mask:
        listed = ", ".join(ctx.state.ignores) or "nobody"
        ctx.show(f"Ignoring: {listed}. /unignore to stop" + ("; /silence lists what the server stops."
                                                             if ctx.client.silence_supported else "."))
    elif mask[0] in "+-":
        raise UsageError(f"Whom? A nick or a mask does not start with {mask[0]}.")
    elif ctx.state.ignore(mask):
        # at the server too, now or at the next connection (its list lasts as long as one)
        ctx.client.silence(mask)
        ctx.show(f"Ignoring {mask}: their messages are hidden. /unignore {mask} to see them again.")
    else:
        ctx.show(f"{mask} is already ignored.")


@command("unignore", "/unignore nick|mask", "See someone's messages again (and lift their SILENCE at the server).")
def _unignore(ctx: CommandContext, args: str) -> None:
    if not args:
        raise UsageError("Whom?")
    mask = args.split(" ")[0]
    if ctx.state.unignore(mask):
        ctx.client.unsilence(mask)
        ctx.show(f"No longer ignoring {mask}.")
    else:
        ctx.show(f"{mask} was not ignored.", error=True)


@command("silence", "/silence [+|-mask]",
         "The server's ignore list: /silence lists it, /silence +mask adds (a nick means nick!*@*), "
         "/silence -mask removes. Their private messages, notices and invites never reach you; kept "
         "across reconnections. /ignore adds to it too.")
def _silence(ctx: CommandContext, args: str) -> None:
    change = args.split(" ")[0] if args else ""
    if not ctx.client.ready:
        raise NotConnectedError
    if not ctx.client.silence_supported:
        ctx.show("This server keeps no ignore list for you (no SILENCE); /ignore still hides messages here.",
                 error=True)
        return
    if not change:
        ctx.client.request_silence_list()
        return
    mask = change[1:] if change[0] in "+-" else change
    if not mask or mask[0] in "+-":
        raise UsageError("Which mask?")
    if change[0] == "-":
        ctx.client.unsilence(mask)
    else:
        ctx.client.silence(mask)


@command("highlight", "/highlight [add|remove] [word]",
         "Words that count as a mention (highlighted, bell); /highlight alone lists them.")
def _highlight(ctx: CommandContext, args: str) -> None:
    verb, _, word = args.partition(" ")
    if verb.lower() not in ("add", "remove", "del", ""):
        verb, word = "add", args  # /highlight word
    word = word.strip()
    if not verb:
        ctx.show(f"Highlighted words: {', '.join(ctx.state.highlights) or 'none'} (and your nick).")
    elif not word:
        raise UsageError("Which word?")
    elif verb.lower() == "add":
        added = ctx.state.add_highlight(word)
        ctx.show(f"“{word}” now counts as a mention." if added else f"“{word}” already does.")
    elif ctx.state.remove_highlight(word):
        ctx.show(f"“{word}” no longer counts as a mention.")
    else:
        ctx.show(f"“{word}” was not highlighted.", error=True)


@command("log", "/log [on|off]", "Write what is said to files (one per buffer); /log alone says where.")
def _log(ctx: CommandContext, args: str) -> None:
    choice = args.strip().lower()
    if choice not in ("", "on", "off"):
        raise UsageError("On or off?")
    if choice:
        ctx.set_logging(choice == "on")
    if ctx.chatlog is None:
        ctx.show("Logging is off. /log on writes each buffer to a file.")
    else:
        ctx.show(f"Logging to {ctx.chatlog.path_for(ctx.state.current.name).parent}/ (one file per buffer). "
                 "/log off stops.")


KEYS = (
    ("Alt+1…9, Alt+0", "show buffer 1…10"),
    ("Ctrl+N / Ctrl+P", "next / previous buffer"),
    ("PageUp / PageDown", "scroll the messages (PageUp at the top fetches older ones where the server keeps them)"),
    ("Ctrl+F", "search this buffer"),
    ("F2 / F3", "show or hide the member list / the buffer list"),
    ("Up / Down", "earlier lines you typed"),
    ("Tab", "complete a nick, #channel or /command"),
    ("Ctrl+Q", "quit"),
)


@command("help", "/help [command]", "List the commands, or explain one.")
def _help(ctx: CommandContext, args: str) -> None:
    if args:
        name = ALIASES.get(args.lstrip("/").lower(), args.lstrip("/").lower())
        found = COMMANDS.get(name)
        if found is None:
            raise UsageError(f"There is no /{name}.")
        ctx.show(f"{found.usage}: {found.help}")
        return
    ctx.show("Type a message and press Enter to send it here. Commands (/help NAME for more):")
    groups = sorted({found.group for found in COMMANDS.values()}, key=lambda group: (group != "", group))
    for group in groups:
        if group:
            ctx.show(f"{group} (in this channel, or name one first: /ban #channel nick):")
        for found in sorted((c for c in COMMANDS.values() if c.group == group), key=lambda c: c.name):
            also = sorted(f"/{alias}" for alias, name in ALIASES.items() if name == found.name)
            ctx.show(f"  {found.usage:<26} {found.help}" + (f" (also {', '.join(also)})" if also else ""))
    ctx.show("Keys: " + "; ".join(f"{keys} {meaning}" for keys, meaning in KEYS))
