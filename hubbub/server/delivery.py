"""Encode once, write many: a message on its way to several clients.

A relayed message has a few wire forms, depending on which tag capabilities a
recipient negotiated (server-time, message-tags, account-tag). Each form is
serialized the first time a recipient needs it, and the same bytes object is then
written to every other recipient wanting that form: the cache is keyed by form,
never by recipient.
"""

from __future__ import annotations

import itertools
import os
import time as _time

from hubbub.irc.message import Message

# Bits of a client's `tag_mask`: which tags it wants on relayed messages.
WANTS_TIME = 1  # server-time
WANTS_TAGS = 2  # message-tags: msgid and client-only (+) tags
WANTS_ACCOUNT = 4  # account-tag

_MSGID_PREFIX = os.urandom(4).hex()
_msgid_counter = itertools.count(1)


def new_msgid() -> str:
    """A network-unique message id: a per-process random prefix and a counter."""
    return f"{_MSGID_PREFIX}{next(_msgid_counter):x}"


def server_time(timestamp: float) -> str:
    """The IRCv3 server-time format: ISO 8601 UTC with milliseconds."""
    whole = int(timestamp)
    millis = int((timestamp - whole) * 1000)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(whole)) + f".{millis:03d}Z"


class Outgoing:
    """A message shared by many recipients, with its wire forms computed lazily."""

    __slots__ = ("message", "time", "msgid", "client_tags", "account", "_bare", "_forms")

    def __init__(
        self,
        message: Message,
        *,
        time: float | None = None,
        msgid: str | None = None,
        client_tags: dict[str, str] | None = None,
        account: str | None = None,
    ) -> None:
        self.message = message
        self.time = _time.time() if time is None else time
        self.msgid = msgid
        self.client_tags = client_tags
        self.account = account
        self._bare: bytes | None = None
        self._forms: dict[int, bytes] | None = None

    def tags_for(self, mask: int) -> dict[str, str]:
        """The tags a recipient with `mask` gets on this message."""
        tags: dict[str, str] = {}
        if mask & WANTS_TAGS:
            if self.msgid:
                tags["msgid"] = self.msgid
            if self.client_tags:
                tags.update(self.client_tags)
        if mask & WANTS_TIME:
            tags["time"] = server_time(self.time)
        if mask & WANTS_ACCOUNT and self.account:
            tags["account"] = self.account
        return tags

    def irc_bytes(self, mask: int = 0) -> bytes:
        """The wire form for recipients whose tag wishes are `mask`."""
        if not mask:
            data = self._bare
            if data is None:
                data = self._bare = self.message.encode()
            return data
        forms = self._forms
        if forms is None:
            forms = self._forms = {}
        data = forms.get(mask)
        if data is None:
            m = self.message
            data = forms[mask] = Message(m.command, m.params, m.source, self.tags_for(mask)).encode()
        return data
