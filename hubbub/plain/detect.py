"""Telling a person typing from an IRC client, on the first lines a connection sends.

An IRC client opens with one of a few commands, always well formed: `CAP LS 302`,
`NICK alice`, `USER alice 0 * :Alice`, `PASS secret` (or a `PING`, `PONG` or `QUIT`
before any of them). A person types a nickname, and sometimes something that merely
starts like one of those commands: `USER is what I am, hi`, `nick erin2`. One of the
openers in capitals, with the parameters it takes, is IRC (`judge_first_line` says
`Opening.IRC`). A line that is no registration command (CAP, PASS, NICK, USER) with the
parameters it takes, in any case, is a person's attempt at a nickname, answered in
words (`Opening.PERSON`), at once: no IRC client sends it first.

IRC servers take commands in any case, and some clients send them so: a bot written by
hand (a shell script over netcat) sends `nick shbot` and `user shbot 0 * :shell bot`.
Taken for a person, such a bot chatted in the default channel under its nick, and every
line it sent after, `PRIVMSG NickServ :IDENTIFY password` included, was said there to
everyone. So a registration command in lower (or mixed) case counts too, but not alone
where a person might have typed it: `nick erin2`, `pass word`, `cap ls`, and the RFC
1459 form with a hop count, `NICK erin 2`, are `Opening.UNSURE`, and the line after
decides (`next_line_is_irc`): a client sends its next registration command at once; a
person types nothing that quickly (plain/intake.py waits a second for it), and what a
person types next is seldom a registration command. A line in lower case that only a
program writes is IRC at once: `user a 0 * :Real Name` (a mode number and `*`),
`cap ls 302` (a version); and so is `PASS :`, an empty password, which IRC answers
with 461 and nobody types as a nickname.

A line with tags or a source is read by the command after them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum

from hubbub.irc.message import Message, ParseError, parse

_CAP_SUBCOMMANDS: dict[str, tuple[int, int]] = {  # subcommand: (least, most) parameters after it
    "LS": (0, 1), "LIST": (0, 0), "REQ": (1, 1), "END": (0, 0),
}


def _cap(params: list[str]) -> bool:
    if not params:
        return False
    bounds = _CAP_SUBCOMMANDS.get(params[0].upper())
    if bounds is None:
        # a subcommand this server does not know (a later CAP version's, a client's
        # mistake), in capitals as clients send them: IRC, answered with 410 as the spec
        # says, rather than a nickname refused in words
        word = params[0]
        return len(params) <= 2 and word.isascii() and word.isalpha() and word.isupper()
    rest = params[1:]
    if not bounds[0] <= len(rest) <= bounds[1]:
        return False
    return params[0].upper() != "LS" or not rest or rest[0].isdigit()  # CAP LS 302


def _nick(params: list[str]) -> bool:
    # One word after NICK in capitals is a client registering, even with a nick it may
    # not have (`NICK 1bot`: 432 follows, and the client picks another); a person types
    # a name, not the command.
    return len(params) == 1 and bool(params[0])


def _user(params: list[str]) -> bool:
    return len(params) == 4 and all(params[:3])


def _one(params: list[str]) -> bool:
    return len(params) == 1 and bool(params[0])


def _pass(params: list[str]) -> bool:
    # `PASS :`, an empty password, from a bot whose configuration has none: IRC, which
    # answers it with 461; nobody types the colon as a nickname
    return len(params) == 1


def _webirc(params: list[str]) -> bool:
    # A gateway's first line, four parameters and its options (`:secure local-port=6697`,
    # or several): in capitals, any count is a gateway's, answered 461 when short. The
    # Lounge sends `WEBIRC pw thelounge 127.0.0.1` without a hostname it could not find;
    # taken for a person, its password was repeated to it as a refused nickname, and
    # every IRC line it sent after was said in the default channel.
    return len(params) >= 1


_OPENERS: dict[str, Callable[[list[str]], bool]] = {
    "CAP": _cap,
    "NICK": _nick,
    "USER": _user,
    "PASS": _pass,
    "WEBIRC": _webirc,
    "PING": _one,
    "PONG": _one,
    "QUIT": lambda params: len(params) <= 1,
}


_HTTP_REQUEST = re.compile(r"(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) \S+ HTTP/\d(\.\d)?")


def looks_like_http(first_line: str) -> bool:
    """Whether a connection's first line is an HTTP request: a web page can make its
    visitors' browsers send one to any port (a form, a no-cors fetch), its body then
    read here as a person's lines (a nickname, then messages, from each visitor's own
    address). Such a connection is closed, as IRC servers do."""
    return _HTTP_REQUEST.fullmatch(first_line.strip()) is not None


def looks_like_proxy_header(first_line: str) -> bool:
    """Whether a connection's first line is a PROXY protocol header: version 1's line, or
    the NUL line of version 2's signature (`\\r\\n\\r\\n\\0\\r\\nQUIT\\n`). Headers are
    read before any line from the proxies `listen.proxy_from` lists (runtime/proxied.py),
    so this one is from a proxy it does not: closed with words saying so, for the log
    and whoever set the proxy up, rather than taken as a person's nickname, which would
    have every user behind that proxy chat as it, from its address."""
    return first_line.startswith(("PROXY TCP4 ", "PROXY TCP6 ", "PROXY UNKNOWN")) or first_line == "\x00"


class Opening(Enum):
    """What a connection's first line says about who is on the other end."""

    IRC = "irc"  # an IRC client: served as IRC from this line on
    UNSURE = "unsure"  # a registration command a person might also type: the next line decides
    PERSON = "person"  # a person typing: plain mode, this line the nickname


def _hop_count_nick(params: list[str]) -> bool:
    # RFC 1459's `NICK alice 0`, still sent by some bots; a person may type `NICK erin 2`
    return len(params) == 2 and bool(params[0]) and params[1].isascii() and params[1].isdigit()


# The registration commands whose shape, in any case, may be a client's (UNSURE alone,
# IRC as the line after an UNSURE one). CAP's unknown subcommands stay in capitals
# (`_cap`): `cap hi there` is a person's.
_REGISTRATION: dict[str, Callable[[list[str]], bool]] = {
    "CAP": _cap,
    "NICK": lambda params: _nick(params) or _hop_count_nick(params),
    "USER": _user,
    "PASS": _pass,
}


def _unmistakable(message: Message) -> bool:
    """Registration lines only a program writes, in any case: USER with a mode number
    and `*` (RFC 2812's form, which every client sends), CAP LS with a version."""
    params = message.params
    if message.command == "USER":
        return params[1].isascii() and params[1].isdigit() and params[2] == "*"
    if message.command == "CAP":
        return len(params) == 2 and params[0].upper() == "LS" and params[1].isascii() and params[1].isdigit()
    return False


def _read(line: str) -> tuple[Message, bool] | None:
    """The line as a message, and whether its command is spelled in capitals; None for
    a line that is no IRC at all."""
    try:
        message: Message = parse(line)
    except ParseError:
        return None
    # parse() upper-cases the command; the line's own spelling of it is wanted too
    spelled = line.lstrip(" ")
    if message.tags:
        spelled = spelled.partition(" ")[2].lstrip(" ")
    if message.source is not None:
        spelled = spelled.partition(" ")[2].lstrip(" ")
    return message, spelled.startswith(message.command)


def judge_first_line(line: str) -> Opening:
    """Who sent a connection's first line: an IRC client, a person, or either (the
    next line decides, `next_line_is_irc`)."""
    read = _read(line)
    if read is None:
        return Opening.PERSON
    message, capitals = read
    if capitals:
        shape = _OPENERS.get(message.command)
        if shape is not None and shape(message.params):
            return Opening.IRC
    shape = _REGISTRATION.get(message.command)
    if shape is None or not shape(message.params):
        return Opening.PERSON
    return Opening.IRC if _unmistakable(message) else Opening.UNSURE


def next_line_is_irc(line: str) -> bool:
    """Whether the line after an UNSURE first line makes the pair a client's: another
    registration command, in any case, with the parameters it takes (`nick shbot`,
    then `user shbot 0 * :shell bot`). Anything else is the person typing on."""
    read = _read(line)
    if read is None:
        return False
    shape = _REGISTRATION.get(read[0].command)
    return shape is not None and shape(read[0].params)


def looks_like_irc(first_line: str) -> bool:
    """Whether a connection's first line is IRC at once (an opener, well formed), not
    typed by a person nor UNSURE."""
    return judge_first_line(first_line) is Opening.IRC
