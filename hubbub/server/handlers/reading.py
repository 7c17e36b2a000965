"""What people do with history besides reading it back: read markers (MARKREAD, IRCv3
draft/read-marker), deleting a message (REDACT, draft/message-redaction) and search
(SEARCH, the soju.im/search extension, which clients of the IRCv3 search proposal use).

Read markers belong to an account, so every connection logged in to it sees the same
marker, and hears when it moves; a marker only moves forward. A message may be
deleted by its sender (the same account, or for one sent without an account, the same
nick!user@host), by an operator of its channel, or by an IRC operator; it is then gone
from the history for everyone. Search looks in one conversation the client may read.
"""

from __future__ import annotations

from collections.abc import Callable

from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message, unescape_tag_value
from hubbub.server.channel import OP
from hubbub.server.commands import command
from hubbub.server.connection import marker_value
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import MarkerSet, Redacted
from hubbub.server.handlers.history import history_key
from hubbub.server.handlers.replies import shown
from hubbub.server.replay import Replay, parse_timestamp
from hubbub.server.storage import SearchQuery, StoredMessage

REDACTION = "draft/message-redaction"
SEARCH = "soju.im/search"


# -- MARKREAD -------------------------------------------------------------------------------


def _marker_line(ctx: Context, key: str, name: str, when: float | None) -> None:
    ctx.conn.told_marker(key, when)
    ctx.conn.server_message("MARKREAD", name, marker_value(when))


def send_marker(
    ctx: Context, key: str, name: str, then: Callable[[], None] | None = None,
    waiting: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """The account's marker for a conversation, as MARKREAD (`*` when none); then
    `then()`. `waiting()` first when it must be read from the store."""
    store = ctx.svc.store
    account = ctx.user.account

    def show(when: float | None) -> None:
        _marker_line(ctx, key, name, when)
        if then is not None:
            then()

    if store is None or account is None:
        show(None)
        return
    waiting()
    ctx.run_query(lambda: store.marker(casefold(account), key), show, lambda error: show(None))


@command("MARKREAD")
def handle_markread(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    if not message.params:
        conn.fail("MARKREAD", "NEED_MORE_PARAMS", "Missing parameters")
        return
    target = history_key(ctx, message.params[0])
    if target is None:
        conn.fail("MARKREAD", "INVALID_PARAMS", shown(message.params[0]), "Invalid target")
        return
    key, name = target
    if len(message.params) < 2:
        send_marker(ctx, key, name)
        return
    value = message.params[1]
    when = parse_timestamp(value.removeprefix("timestamp=")) if value != "*" else None
    if when is None:
        conn.fail("MARKREAD", "INVALID_PARAMS", shown(value), "Invalid timestamp")
        return
    # Nothing was said after now, or before 1970: a marker in the future would stand
    # against every real one (markers only move forward), and years outside 1000-9999
    # cannot be written back in the timestamp format at all.
    when = min(max(when, 0.0), ctx.now())
    store = ctx.svc.store
    account = ctx.user.account
    if store is None or account is None:
        conn.fail("MARKREAD", "INTERNAL_ERROR", name, "Log in to an account to keep read markers")
        return
    owner = casefold(account)
    channel = ctx.state.channels.get(key)  # None for a private conversation

    def compare(current: float | None) -> None:
        now_key, now_name = key, name
        if channel is not None and ctx.state.channels.get(channel.key) is channel:
            now_key, now_name = channel.key, channel.name  # renamed meanwhile: its markers went with it
        if current is not None and current >= when:
            _marker_line(ctx, now_key, now_name, current)  # markers only move forward: here is the newer one
            return
        ctx.emit(MarkerSet(owner, now_key, now_name, when))  # every connection of the account hears it

    ctx.run_query(lambda: store.marker(owner, key), compare,
                  lambda error: conn.fail("MARKREAD", "INTERNAL_ERROR", name, "The read timestamp could not be set"))


# -- REDACT ---------------------------------------------------------------------------------


def may_redact(ctx: Context, stored: StoredMessage, channel_rank: int) -> bool:
    user = ctx.user
    if "o" in user.modes or channel_rank >= OP:
        return True
    if stored.account is not None:
        if user.account is None or casefold(user.account) != casefold(stored.account):
            return False
        # the same name, and the same account: one registered after the message was sent
        # holds a name dropped since, and inherits nothing of its holder's
        account = ctx.state.accounts.get(casefold(user.account))
        return account is not None and account.registered_at <= stored.time
    return stored.source == user.prefix


@command("REDACT", min_params=2)
def handle_redact(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    name, msgid = message.params[0], message.params[1]
    reason = message.param(2)
    target = history_key(ctx, name)
    store = ctx.svc.store
    if target is None or store is None:
        conn.fail("REDACT", "INVALID_TARGET", shown(name), "You cannot delete messages there")
        return
    key, shown_as = target
    channel = ctx.state.find_channel(name) if key[:3] != "dm:" else None
    rank = channel.rank(ctx.user) if channel is not None else 0

    def found(stored: StoredMessage | None) -> None:
        if stored is None or stored.command not in ("PRIVMSG", "NOTICE", "TAGMSG"):
            conn.fail("REDACT", "UNKNOWN_MSGID", shown_as, shown(msgid), "This message does not exist or is too old")
            return
        if not may_redact(ctx, stored, rank):
            conn.fail("REDACT", "REDACT_FORBIDDEN", shown_as, shown(msgid),
                      "You are not authorised to delete this message")  # fmt: skip
            return
        other = ""
        if channel is None:
            a, _, b = key[3:].partition(" ")
            mine = casefold(ctx.user.account or "")
            other = b if casefold(a) == mine else a  # the key holds names as registered
        ctx.emit(Redacted(ctx.user.uid, key, shown_as, channel is not None, msgid, reason, ctx.now(), new_msgid(),
                          other))  # fmt: skip

    ctx.run_query(lambda: store.find(key, msgid), found,
                  lambda error: conn.fail("REDACT", "UNKNOWN_MSGID", shown_as, shown(msgid), "History is unavailable"))


# -- SEARCH ---------------------------------------------------------------------------------


def parse_attributes(text: str) -> dict[str, str]:
    """`key=value;key=value`, escaped as message tags are."""
    attributes: dict[str, str] = {}
    for item in text.split(";"):
        key, eq, value = item.partition("=")
        if key:
            attributes[key] = unescape_tag_value(value) if eq else ""
    return attributes


@command("SEARCH", min_params=1)
def handle_search(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    store = ctx.svc.store
    if store is None or not ctx.config.history.enabled:
        conn.fail("SEARCH", "INTERNAL_ERROR", "History is not kept on this server")
        return
    attributes = parse_attributes(message.params[0])
    where = attributes.get("in")
    if not where:
        conn.fail("SEARCH", "INVALID_PARAMS", "in", "The in parameter is mandatory")
        return
    target = history_key(ctx, where)
    if target is None:
        conn.fail("SEARCH", "INVALID_PARAMS", "in", "You cannot search there")
        return
    bounds: dict[str, float | None] = {}
    for name in ("after", "before"):
        text = attributes.get(name)
        bounds[name] = parse_timestamp(text.removeprefix("timestamp=")) if text else None
        if text and bounds[name] is None:
            conn.fail("SEARCH", "INVALID_PARAMS", name, "Invalid criteria")
            return
    most = ctx.config.history.chathistory_max
    limit_text = attributes.get("limit", str(most))
    if not (limit_text.isascii() and limit_text.isdigit()) or int(limit_text) < 1:
        conn.fail("SEARCH", "INVALID_PARAMS", "limit", "Invalid limit")
        return
    query = SearchQuery((target[0],), attributes.get("text", ""), attributes.get("from", ""), bounds["after"],
                        bounds["before"], min(int(limit_text), most))  # fmt: skip
    batched = "batch" in conn.caps

    def answer(found: list[StoredMessage]) -> None:
        conn.deliver(Replay(found, ctx.name, SEARCH if batched else None))

    ctx.run_query(lambda: store.search(query), answer,
                  lambda error: conn.fail("SEARCH", "INTERNAL_ERROR", "Messages could not be retrieved"))
