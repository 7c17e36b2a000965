"""Numeric replies as sentences a person reads, for every numeric a plain user can get.

An IRC client shows `474 bob #club :Cannot join channel (+b)` in its own words; a
person with netcat has only ours. Each numeric that a plain user's commands (typing,
/join, /part, /msg, /me, /nick, /who, /list, /topic, /knock, and running a channel: /kick,
/op, /voice, /ban, /invite, /mode), registration or other users' actions can bring is
written out here, naming the channel or nickname it is about and, where there is one,
what to do next. A numeric missing from the table still reads as
its text, with what it is about in brackets, never as raw parameters.
"""

from __future__ import annotations

from collections.abc import Callable

from hubbub.irc import numerics as n

# Each gets the numeric's parameters without the first one (the recipient's own nick).
Sentence = Callable[[list[str]], str]


def _about(params: list[str], index: int = 0) -> str:
    """The middle parameter at `index` (what the numeric is about), or `*` if there is none."""
    return params[index] if index < len(params) - 1 else "*"


def _hint(p: list[str]) -> str:
    """What a 401 adds after its standard text (`No such nick/channel: alice is online
    as alice_`), as a sentence of its own."""
    _, colon, rest = p[-1].partition(": ") if len(p) > 1 else ("", "", "")
    return f" ({rest})" if colon and rest else ""


def _cannot_send(p: list[str]) -> str:
    channel, reason = _about(p), p[-1]
    if "KNOCK" in reason:  # 404 answers a knock from someone banned
        return f"* You can't knock on {channel}: you are banned from it."
    if "no external messages" in reason:
        return f"* Your message was not sent: only members of {channel} can talk there (/join {channel} first)."
    if "(+m)" in reason:
        return f"* Your message was not sent: {channel} is moderated, only people given a voice can talk there."
    if "(+M)" in reason:
        return f"* Your message was not sent: in {channel} only people logged in to an account can talk."
    if "banned" in reason:
        return f"* Your message was not sent: you are banned from {channel}."
    if "muted" in reason:
        return f"* Your message was not sent: you are muted in {channel}."
    return f"* Your message was not sent to {channel}: {reason}."


def _takes_only_accounts(p: list[str]) -> str:
    """486 answers a private message or an /invite to someone with user mode +R."""
    what = "invitations" if "invitations" in p[-1] else "private messages"
    return f"* {_about(p)} only takes {what} from people logged in to an account."


def _not_allowed(p: list[str]) -> str:
    channel = _about(p)
    if "to kick them" in p[-1]:  # an operator, but not above the one to be kicked
        return f"* You can't kick them from {channel}: their rank there is as high as yours, or higher."
    if "rank is too low" in p[-1]:  # an operator, but the mode is a higher rank's (+a, +q, or on one above)
        return f"* Your rank in {channel} is too low for that."
    return f"* Only operators of {channel} can do that."


# A channel's modes in words, for `/mode`: what each letter means to the people in it.
MODE_WORDS = {
    "i": "invite-only",
    "k": "a key is needed to join",
    "l": "a limit on how many are in",
    "f": "who floods the channel is kicked",
    "j": "a rush of joins closes the channel for a while",
    "m": "moderated: only people with a voice talk",
    "n": "no messages from outside",
    "s": "secret",
    "t": "only operators set the topic",
    "C": "no CTCP",
    "T": "no notices",
    "K": "no knocking",
    "R": "only people logged in to an account join",
    "M": "only people logged in to an account (or with a voice) talk",
}


def _channel_modes(p: list[str]) -> str:
    """RPL_CHANNELMODEIS (`#chan +ntlk 5 sesame`): the letters as set, then what they mean;
    the key is given only to members, and said only when it was."""
    channel, letters, values = p[0], p[1].lstrip("+"), list(p[2:])
    if not letters:
        return f"* {channel} has no modes set."
    words = []
    for letter in letters:
        meaning = MODE_WORDS.get(letter, f"+{letter}")
        if letter == "l" and values:
            meaning = f"at most {values.pop(0)} people"
        elif letter == "f" and values:
            ban, lines, seconds = _flood_rule(values.pop(0))
            meaning = f"more than {lines} lines in {seconds} seconds and you are kicked{' and banned' if ban else ''}"
        elif letter == "j" and values:
            joins, _, seconds = values.pop(0).partition(":")
            meaning = f"{joins} joins in {seconds} seconds close it to newcomers for a while"
        elif letter == "k" and values:
            meaning = f"the key is {values.pop(0)}"
        words.append(meaning)
    return f"* Modes of {channel}: +{letters} ({', '.join(words)})"


def _flood_rule(rule: str) -> tuple[bool, str, str]:
    """+f's `[*]lines:seconds` as (bans too, lines, seconds)."""
    lines, _, seconds = rule.lstrip("*").partition(":")
    return rule.startswith("*"), lines, seconds


def _set_by(p: list[str]) -> str:
    """Who set a list entry (367, 348, 346: `#chan mask nick!user@host time`), by nickname."""
    return f" (set by {p[2].split('!', 1)[0]})" if len(p) > 3 and p[2] else ""


def _knock(p: list[str]) -> str:
    """710 as `#c nick!user@host :has asked for an invite[: text]` after the channel."""
    channel, who, text = p[-3], p[-2], p[-1]
    nick = who.partition("!")[0]
    said = text.partition(": ")[2]
    asked = f"{channel}: {said}" if said else channel
    end = "" if asked[-1] in ".!?" else "."
    return f"* {nick} ({who}) asks to be invited to {asked}{end} /invite {nick} {channel} lets them in."


def _too_many_knocks(p: list[str]) -> str:
    """712: the knocker knocked (anywhere) a moment ago, `(user)`, or someone knocked on
    this channel a moment ago, `(channel)`."""
    channel, wait = _about(p), _wait_of(p[-1])
    if "(channel)" in p[-1]:
        return f"* You can't knock on {channel} yet: someone knocked on it a moment ago; {wait}."
    return f"* You can't knock on {channel} yet: you knocked a moment ago (one knock at a time); {wait}."


def _wait_of(text: str) -> str:
    """`Too many KNOCKs (channel): wait 55 seconds` as `wait 55 seconds`."""
    wait = text.rpartition(": ")[2]
    return wait if wait.startswith("wait ") else text


def _named(p: list[str], what: str) -> str:
    name = _about(p)
    return f"* {what.format(name)}" if name != "*" else f"* {what.format('that')}"


SENTENCES: dict[str, Sentence] = {
    n.ERR_NOSUCHNICK: lambda p: f"* Nobody is using the nickname {_about(p)} right now.{_hint(p)}",
    n.ERR_NOSUCHSERVER: lambda p: f"* There is no server called {_about(p)}.",
    n.ERR_NOSUCHCHANNEL: lambda p: f"* There is no channel called {_about(p)}.",
    n.ERR_CANNOTSENDTOCHAN: _cannot_send,
    n.ERR_TOOMANYCHANNELS: lambda p: f"* You can't join {_about(p)}: you are in as many channels as one may be."
    " /part one first.",
    n.ERR_TOOMANYTARGETS: lambda p: "* Your message was not sent: it names more recipients than one message may.",
    n.ERR_NORECIPIENT: lambda p: "* Your message was not sent: it names no recipient.",
    n.ERR_NOTEXTTOSEND: lambda p: "* Your message was not sent: it is empty.",
    n.ERR_INPUTTOOLONG: lambda p: "* That line was not sent: it is too long.",
    n.ERR_UNKNOWNCOMMAND: lambda p: f"* The server does not know the command {_about(p)}.",
    n.ERR_NONICKNAMEGIVEN: lambda p: "* Type the nickname you want after /nick.",
    n.ERR_ERRONEUSNICKNAME: lambda p: _named(p, "The nickname {} can't be used: it has characters a nickname can't "
                                               "have, or too many."),
    n.ERR_NICKNAMEINUSE: lambda p: f"* The nickname {_about(p)} is taken; choose another one.",
    n.ERR_BANONCHAN: lambda p: f"* You can't change your nickname while you are banned or muted in {_about(p, 1)}.",
    n.ERR_USERNOTINCHANNEL: lambda p: f"* {_about(p)} is not in {_about(p, 1)}.",
    n.ERR_NOTONCHANNEL: lambda p: f"* You are not in {_about(p)}.",
    n.ERR_USERONCHANNEL: lambda p: f"* {_about(p)} is already in {_about(p, 1)}.",
    n.ERR_NOTREGISTERED: lambda p: "* Choose a nickname first.",
    n.ERR_NEEDMOREPARAMS: lambda p: f"* Something is missing after /{_about(p).lower()}; type /help for how to "
                                    "use the commands.",
    n.ERR_ALREADYREGISTERED: lambda p: "* You have already chosen your nickname; /nick changes it.",
    n.ERR_PASSWDMISMATCH: lambda p: "* That is not the server's password.",
    n.ERR_CHANNELISFULL: lambda p: f"* You can't join {_about(p)}: it is full.",
    n.ERR_UNKNOWNMODE: lambda p: f"* {_about(p)} is not a mode this server knows.",
    n.ERR_INVITEONLYCHAN: lambda p: f"* You can't join {_about(p)}: it is invite-only, and nobody in it has "
                                    f"invited you. /knock {_about(p)} asks its operators to.",
    n.ERR_BANNEDFROMCHAN: lambda p: f"* You can't join {_about(p)}: you are banned from it.",
    n.ERR_BADCHANNELKEY: lambda p: f"* You can't join {_about(p)} without its key: type /join {_about(p)} KEY.",
    n.ERR_BADCHANMASK: lambda p: _named(p, "{} can't be the name of a channel."),
    n.ERR_NEEDREGGEDNICK: lambda p: f"* You can't join {_about(p)}: it is only for people logged in to an account.",
    n.ERR_NONONREG: _takes_only_accounts,
    n.ERR_BANLISTFULL: lambda p: f"* The list of {_about(p)} is full.",
    n.ERR_NOPRIVILEGES: lambda p: "* Only server operators can do that.",
    n.ERR_CHANOPRIVSNEEDED: _not_allowed,
    n.ERR_USERSDONTMATCH: lambda p: "* You can only change your own modes.",
    n.ERR_UMODEUNKNOWNFLAG: lambda p: "* That is not a mode this server knows.",
    n.ERR_INVALIDMODEPARAM: lambda p: f"* {p[-1]} ({_about(p)}).",
    n.RPL_LOGGEDIN: lambda p: f"* You are now logged in as {p[-2]}." if len(p) >= 3 else "* You are now logged in.",
    n.RPL_LOGGEDOUT: lambda p: "* You are now logged out.",
    n.RPL_NOWAWAY: lambda p: "* You are marked as away.",
    n.RPL_UNAWAY: lambda p: "* You are no longer marked as away.",
    # KNOCK (/knock): the operators' 710 names the channel where the recipient's nick would be
    n.RPL_KNOCK: _knock,
    n.RPL_KNOCKDLVR: lambda p: f"* You knocked on {_about(p)}: its operators may now /invite you.",
    n.ERR_TOOMANYKNOCK: _too_many_knocks,
    n.ERR_CHANOPEN: lambda p: f"* {_about(p)} is open: no need to knock, /join {_about(p)}.",
    n.ERR_KNOCKONCHAN: lambda p: f"* You are in {_about(p)} already.",
    n.ERR_CANNOTKNOCK: lambda p: f"* {_about(p)} does not take knocks (+K): ask one of its operators another way.",
    n.RPL_INVITING: lambda p: f"* You invited {p[0]} to {p[1]}.",  # no text: the channel is last
    n.RPL_CHANNELMODEIS: _channel_modes,
    n.RPL_UMODEIS: lambda p: f"* Your modes: {p[0]}" if p[0].strip("+") else "* You have no modes set.",
    n.RPL_BANLIST: lambda p: f"* Banned from {p[0]}: {p[1]}{_set_by(p)}",
    n.RPL_EXCEPTLIST: lambda p: f"* Exempt from the bans of {p[0]}: {p[1]}{_set_by(p)}",
    n.RPL_INVEXLIST: lambda p: f"* Let into {p[0]} without an invitation: {p[1]}{_set_by(p)}",
}


def sentence(code: str, params: list[str]) -> str:
    """The numeric `code` with `params` (the recipient's nick first) as a sentence."""
    rest = params[1:]
    make = SENTENCES.get(code)
    if make is not None and rest:
        try:
            return make(rest)
        except IndexError:
            pass
    text = rest[-1] if rest else ""
    about = [p for p in rest[:-1] if p not in ("*", "=")]
    return f"* {text}" + (f" ({', '.join(about)})" if about else "")
