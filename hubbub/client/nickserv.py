"""Passwords in our own messages to NickServ, hidden where they are shown and logged.

`/msg NickServ IDENTIFY alice hunter2` goes to the server as typed, but the copy of it
the client shows (the server's echo with `echo-message`, or the one the client makes
itself without) would put the password on screen, in the scroll-back and in the log
files. As WeeChat does by default (`irc.look.nicks_hide_password = "nickserv"`), each
password word of NickServ's password commands is shown as `HIDDEN`, five stars
whatever its length.
"""

from __future__ import annotations

import re

__all__ = ["HIDDEN", "NICKSERV", "hide_passwords"]

NICKSERV = "NickServ"
HIDDEN = "*****"

_WORD = re.compile(r"\S+")  # NickServ splits its commands at any whitespace


def _password_words(words: list[str]) -> range:
    """Which of a NickServ command's words are passwords (word 0 is the command)."""
    count = len(words)
    command = words[0].upper() if words else ""
    if command == "IDENTIFY":  # IDENTIFY <password> | IDENTIFY <account> <password>
        return range(1, 2) if count == 2 else range(2, count)
    if command == "REGISTER":  # REGISTER <password> [email]
        return range(1, min(count, 2))
    if command == "SET" and count > 1 and words[1].upper() in ("PASSWORD", "PASS"):  # SET PASSWORD <new>
        return range(2, count)
    if command == "PASSWD":  # PASSWD <current> <new> <new again>
        return range(1, count)
    if command == "GHOST":  # GHOST <nick> [password], on services that take one
        return range(2, count)
    return range(0)


def hide_passwords(text: str) -> str:
    """`text`, a message we sent to NickServ, with its password words as `HIDDEN`."""
    words = list(_WORD.finditer(text))
    for index in reversed(_password_words([word.group() for word in words])):
        word = words[index]
        text = text[: word.start()] + HIDDEN + text[word.end() :]
    return text
