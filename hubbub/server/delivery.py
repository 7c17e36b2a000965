"""Encode once, write many: a message on its way to several clients.

A relayed message has a few wire forms, depending on which tag capabilities a
recipient negotiated (server-time, message-tags, account-tag). Each form is
serialized the first time a recipient needs it, and the same bytes object is then
written to every other recipient wanting that form: the cache is keyed by form,
never by recipient.

Every relayed message is one event with one `msgid` and one `time`, whichever form a
recipient gets: a client that sees the echo of its own message and another that sees
the delivery read the same id.
"""

from __future__ import annotations

import functools
import itertools
import os
import time as _time
from collections.abc import Callable

from hubbub.irc.message import Message, encode_fitting
from hubbub.speedups import compiled

# Bits of a client's `tag_mask`: which tags it wants on relayed messages.
WANTS_TIME = 1  # server-time
WANTS_TAGS = 2  # message-tags: msgid, the bot tag and client-only (+) tags
WANTS_ACCOUNT = 4  # account-tag
WANTS_MULTILINE = 8  # draft/multiline (with batch): multiline messages arrive as a batch
# The bits that change how an ordinary (one-line) message is serialized.
FORM_BITS = WANTS_TIME | WANTS_TAGS | WANTS_ACCOUNT
ALL_MASKS = 16  # every tag mask is below this

# bot-mode: the ratified tag name and the draft one that clients of the
# work-in-progress specification still look for; both carry no value.
BOT_TAGS = ("bot", "draft/bot")

_MSGID_PREFIX = os.urandom(4).hex()
# new_msgid(): a network-unique message id, a per-process random prefix and a counter.
# Every message takes one, so they come ready-made from an iterator that runs in C
# (formatted with `%`, which parses its format faster than str.format: the same ids), or
# from the compiled twin of that iterator (hubbub/_speedups.c's MsgIds), which writes the
# digits itself.
new_msgid: Callable[[], str] = (
    compiled.MsgIds(_MSGID_PREFIX)
    if compiled is not None
    else map((_MSGID_PREFIX + "%x").__mod__, itertools.count(1)).__next__
)
_batch_counter = itertools.count(1)


def new_batch_id() -> str:
    """A batch reference tag: letters and digits only, unique for the life of the process."""
    return f"b{next(_batch_counter):x}"


@functools.lru_cache(maxsize=256)  # the forms of one event, and events of one instant, share it
def server_time(timestamp: float) -> str:
    """The IRCv3 server-time format: ISO 8601 UTC with milliseconds."""
    # Rounded to the millisecond the way the store keeps times, so that a message read
    # back from history shows the time it was relayed with.
    whole, millis = divmod(round(timestamp * 1000), 1000)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(whole)) + f".{millis:03d}Z"


def with_tags(extra: dict[str, str], message: Message) -> Message:
    """`message` with `extra` tags put first (label, batch: server tags before client-only ones)."""
    return Message(message.command, message.params, message.source, {**extra, **message.tags})


def event_tags(
    mask: int,
    msgid: str | None,
    time: float,
    account: str | None,
    bot: bool,
    client_tags: dict[str, str] | None,
) -> dict[str, str]:
    """The tags of one event for a recipient whose tag wishes are `mask`, server tags first."""
    tags: dict[str, str] = {}
    if mask & WANTS_TAGS and msgid:
        tags["msgid"] = msgid
    if mask & WANTS_TIME:
        tags["time"] = server_time(time)
    if mask & WANTS_ACCOUNT and account:
        tags["account"] = account
    if mask & WANTS_TAGS:
        if bot:
            for name in BOT_TAGS:
                tags[name] = ""
        if client_tags:
            tags.update(client_tags)
    return tags


class Outgoing:
    """A message shared by many recipients, with its wire forms computed lazily."""

    __slots__ = ("message", "time", "msgid", "client_tags", "account", "bot", "_bare", "_forms")

    def __init__(
        self,
        message: Message,
        time: float,
        msgid: str,
        client_tags: dict[str, str] | None = None,
        account: str | None = None,
        bot: bool = False,
    ) -> None:
        self.message = message
        self.time = time
        self.msgid = msgid
        self.client_tags = client_tags
        self.account = account
        self.bot = bot
        self._bare: bytes | None = None
        self._forms: dict[int, bytes] | None = None

    def tags_for(self, mask: int) -> dict[str, str]:
        """The tags a recipient with `mask` gets on this message, server tags first."""
        return event_tags(mask, self.msgid, self.time, self.account, self.bot, self.client_tags)

    def irc_bytes(self, mask: int = 0) -> bytes:
        """The wire form for recipients whose tag wishes are `mask`."""
        mask &= FORM_BITS
        if not mask:
            data = self._bare
            if data is None:
                message = self.message  # made once per message: Message.encode's C twin called as it is
                data = encode_fitting(message) if encode_fitting is not None else None
                data = self._bare = data if data is not None else message.encode()
            return data
        forms = self._forms
        if forms is None:
            forms = self._forms = {}
        data = forms.get(mask)
        if data is None:
            m = self.message
            data = forms[mask] = Message(m.command, m.params, m.source, self.tags_for(mask)).encode()
        return data

    def units_for(self, mask: int) -> list[Message | list[Message]]:
        """What one recipient gets, as messages (for a labeled response to re-tag)."""
        m = self.message
        return [Message(m.command, m.params, m.source, self.tags_for(mask & FORM_BITS))]


# Outgoing(message, time, msgid, client_tags, account, bot), for the one every chat message
# is delivered as (announce._said): where the compiled module is built, made in C without
# __init__'s frame, and its bare form then taken by the delivery loop itself without
# irc_bytes's (hubbub/_speedups.c, outgoing_class); the class itself otherwise. So for an
# Outgoing of this very class, __init__ and irc_bytes's bare form are what the C does,
# not called: a change to either is a change to the C too (tests/unit/
# test_message_path_speedups.py checks what the C assumes of them). Positional only.
new_outgoing: Callable[..., Outgoing] = Outgoing
if compiled is not None and encode_fitting is not None:
    compiled.outgoing_class(Outgoing, encode_fitting, FORM_BITS)
    new_outgoing = compiled.outgoing
