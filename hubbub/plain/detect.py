"""Telling a person typing from an IRC client, on the first line a connection sends.

An IRC client opens with one of a few commands, always well formed and, in practice,
always in capitals: `CAP LS 302`, `NICK alice`, `USER alice 0 * :Alice`, `PASS secret`
(or a `PING`, `PONG` or `QUIT` before any of them). A person types a nickname, and
sometimes something that merely starts like one of those commands: `USER is what I
am, hi`, `nick erin2`. Only a line that is one of the openers, in capitals, with the
parameters it takes, means IRC; anything else is a person's attempt at a nickname,
answered in words. Commands in lower case are read as typed by a person: someone
speaking IRC by hand over netcat types them in capitals, as every client sends them.
A line with tags or a source is IRC when the command after them is an opener.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def _webirc(params: list[str]) -> bool:
    # a gateway's first line: four parameters, and its options, as one last parameter
    # (`:secure local-port=6697`) or, from some, as several
    return len(params) >= 4 and all(params[:4])


_OPENERS: dict[str, Callable[[list[str]], bool]] = {
    "CAP": _cap,
    "NICK": _nick,
    "USER": _user,
    "PASS": _one,
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


def looks_like_irc(first_line: str) -> bool:
    """Whether a connection's first line is IRC (an opener, well formed) rather than typed by a person."""
    try:
        message: Message = parse(first_line)
    except ParseError:
        return False
    # parse() upper-cases the command; the line's own spelling of it decides
    spelled = first_line.lstrip(" ")
    if message.tags:
        spelled = spelled.partition(" ")[2].lstrip(" ")
    if message.source is not None:
        spelled = spelled.partition(" ")[2].lstrip(" ")
    if not spelled.startswith(message.command):
        return False
    shape = _OPENERS.get(message.command)
    return shape is not None and shape(message.params)
