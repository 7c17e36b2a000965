"""A channel's mode changes in words: `alice gave bob operator status and made #c
invite-only`, where an IRC client shows `alice sets mode +oi bob`.

A person who never learnt the letters reads what happened and to whom; the letters follow
in brackets for those who know them (the plain-text mode and the terminal client say
both). The changes come parsed (sign, letter, parameter), by whoever knows which letters
take a parameter: the server's own table, or a client's ISUPPORT.
"""

from __future__ import annotations

from collections.abc import Sequence

Change = tuple[bool, str, str | None]  # (adding, letter, parameter)

# Given to, or taken from, members: (given, taken), `{}` their nicks
_STATUS = {
    "q": ("made {} founder", "took founder status from {}"),
    "a": ("gave {} protected status", "took protected status from {}"),
    "o": ("gave {} operator status", "took operator status from {}"),
    "h": ("gave {} half-operator status", "took half-operator status from {}"),
    "v": ("gave {} a voice", "took the voice from {}"),
}

# On a list of masks: (added, removed), `{}` the mask; `bm`, `em`: a mute (`m:mask`) on the
# ban list, and its exemption, said as such (the mask without its `m:`)
_LISTS = {
    "b": ("banned {}", "lifted the ban on {}"),
    "e": ("exempted {} from bans", "took back the ban exemption of {}"),
    "I": ("let {} in without an invitation", "took back the invite exemption of {}"),
    "bm": ("muted {}", "lifted the mute on {}"),
    "em": ("exempted {} from mutes", "took back the mute exemption of {}"),
}
MUTE = "m:"


def _named(letter: str, param: str) -> tuple[str, str]:
    """The phrase a list or status change is said with, and the name it says."""
    if param[:2].lower() == MUTE and letter + "m" in _LISTS:
        return letter + "m", param[2:]
    return letter, param

# About the channel itself: (set, unset), `{c}` the channel
_FLAGS = {
    "i": ("made {c} invite-only", "let anyone join {c} without an invitation"),
    "m": ("moderated {c}: only people with a voice talk", "let everyone in {c} talk again"),
    "n": ("kept messages from outside out of {c}", "let people outside {c} send messages to it"),
    "s": ("made {c} secret", "made {c} visible to everyone"),
    "t": ("let only operators set the topic of {c}", "let anyone in {c} set its topic"),
    "C": ("blocked CTCP in {c}", "allowed CTCP in {c}"),
    "T": ("blocked notices to {c}", "allowed notices to {c}"),
    "K": ("stopped people knocking on {c}", "allowed knocking on {c}"),
    "R": ("let only people logged in to an account join {c}", "let people without an account join {c}"),
    "M": ("let only people logged in to an account (or with a voice) talk in {c}",
          "let people without an account talk in {c}"),  # fmt: skip
}


def in_words(changes: Sequence[Change], channel: str) -> str:
    """The changes as one phrase, without who made them: `gave bob and carol operator
    status and made #c invite-only`. Consecutive changes of one status or list, with
    the same sign, are said once for all their nicks or masks."""
    phrases: list[str] = []
    i = 0
    while i < len(changes):
        adding, letter, param = changes[i]
        if (letter in _STATUS or letter in _LISTS) and param is not None:
            key, name = _named(letter, param)
            names = [name]
            while i + 1 < len(changes) and changes[i + 1][:2] == (adding, letter):
                following = changes[i + 1][2]
                if following is None or _named(letter, following)[0] != key:
                    break
                i += 1
                names.append(_named(letter, following)[1])
            phrases.append(_about_names(adding, key, _listed(names)))
        else:
            phrases.append(_about_channel(adding, letter, param, channel))
        i += 1
    return _listed(phrases)


def _about_names(adding: bool, letter: str, names: str) -> str:
    added, removed = _STATUS[letter] if letter in _STATUS else _LISTS[letter]
    return (added if adding else removed).format(names)


def _about_channel(adding: bool, letter: str, param: str | None, channel: str) -> str:
    if letter in _FLAGS:
        return _FLAGS[letter][0 if adding else 1].format(c=channel)
    if letter == "k":
        return f"set the key of {channel} to {param}" if adding and param else f"removed the key of {channel}"
    if letter == "l":
        return f"let at most {param} people into {channel}" if adding and param else f"lifted the limit on {channel}"
    if letter == "f":
        if not adding or not param:
            return f"lifted the flood rule of {channel}"
        lines, _, seconds = param.lstrip("*").partition(":")
        banned = " and banned" if param.startswith("*") else ""
        return f"kicked{banned} whoever sends more than {lines} lines in {seconds} seconds to {channel}"
    if letter == "j":
        if not adding or not param:
            return f"lifted the join rule of {channel}"
        joins, _, seconds = param.partition(":")
        return f"closed {channel} for a while to newcomers after {joins} joins in {seconds} seconds"
    raw = ("+" if adding else "-") + letter + (f" {param}" if param is not None else "")
    return f"set {raw} on {channel}"


def _listed(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
