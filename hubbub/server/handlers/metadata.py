"""METADATA: keys and values on users and channels, and subscriptions to their changes
(IRCv3 draft/metadata-2; see server/metadata.py for what is shown to whom).

    METADATA <target> GET <key>...     761/766 per key, in order, in a `metadata` batch
    METADATA <target> LIST             761 per key set, in a `metadata` batch
    METADATA <target> SET <key> [:v]   761 (set) or 766 (removed: no value, or empty)
    METADATA <target> CLEAR            766 per key removed, in a `metadata` batch
    METADATA * SUB <key>...            770 per key; then the current values (batch `*ALL`)
    METADATA * UNSUB <key>...          771 per key
    METADATA * SUBS                    772 per key, in a `metadata-subs` batch
    METADATA <target> SYNC             the subscribed keys of the target (a channel: with
                                       its members; `*ALL`: all one sees) as METADATA lines

The target is `*` (oneself), a nick or a channel. A user sets its own keys, a
channel's halfops and ops the channel's, operators anyone's. Before registration
(`before-connect`) the target must be `*`. The limits are the capability's value
(max-keys, max-subs, max-value-bytes); keys are `a-z0-9_./-`, at most 64 bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message, reply_params
from hubbub.irc.validate import is_channel_name, is_valid_metadata_key
from hubbub.server import access
from hubbub.server import metadata as md
from hubbub.server.apply import Outcome
from hubbub.server.channel import Channel
from hubbub.server.channel_info import visible_members
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import MetadataCleared, MetadataSet
from hubbub.server.handlers.replies import shown
from hubbub.server.user import User


class Target(NamedTuple):
    name: str  # as replies show it
    values: Mapping[str, str]
    channel: Channel | None
    user: User | None
    event_target: str  # as events name it: the channel's name, or the user's uid


def _fail(ctx: Context, code: str, *context_and_text: str) -> None:
    ctx.conn.fail("METADATA", code, *context_and_text)


def _warning(ctx: Context, code: str, *context_and_text: str) -> Message:
    return Message("WARN", reply_params(("METADATA", code, *context_and_text)), ctx.name)


def _resolve(ctx: Context, name: str) -> Target | None:
    """The target named, or None after FAIL INVALID_TARGET."""
    user = ctx.user
    if name == "*":
        return Target(user.nick, user.metadata, None, user, user.uid)
    if is_channel_name(name):
        channel = ctx.state.find_channel(name)
        if channel is not None and not channel.hidden_from(user):
            return Target(channel.name, channel.metadata, channel, None, channel.name)
    else:
        other = ctx.state.find_user(name)
        if other is not None:
            return Target(other.nick, other.metadata, None, other, other.uid)
    _fail(ctx, "INVALID_TARGET", shown(name), "Invalid metadata target")
    return None


def _may_edit(ctx: Context, target: Target) -> bool:
    me = ctx.user
    if "o" in me.modes:
        return True
    if target.channel is not None:
        return access.may_set_metadata(target.channel, me)
    return target.user is me


def _is_self(ctx: Context, name: str) -> bool:
    """SUB, UNSUB and SUBS are about one's own subscriptions: `*` or one's nick."""
    if name != "*" and casefold(name) != casefold(ctx.user.nick):
        _fail(ctx, "INVALID_TARGET", shown(name), "Subscriptions are your own: use * as the target")
        return False
    return True


def _no_more(ctx: Context, sub: str, args: list[str]) -> bool:
    if args:
        _fail(ctx, "INVALID_PARAMS", sub, "Too many parameters")
        return False
    return True


def _some_keys(ctx: Context, sub: str, args: list[str]) -> bool:
    if not args:
        _fail(ctx, "INVALID_PARAMS", sub, "Not enough parameters")
        return False
    return True


# -- reading ------------------------------------------------------------------------------


def _get(ctx: Context, name: str, args: list[str]) -> None:
    if not _some_keys(ctx, "GET", args):
        return
    target = _resolve(ctx, name)
    if target is None:
        return
    replies = [
        md.key_value(ctx.conn, target.name, key, target.values.get(key))
        if is_valid_metadata_key(key)
        else _warning(ctx, "INVALID_KEY", shown(key), "Invalid key")
        for key in args
    ]
    md.send_batch(ctx.conn, target.name, replies)


def _list(ctx: Context, name: str, args: list[str]) -> None:
    if not _no_more(ctx, "LIST", args):
        return
    target = _resolve(ctx, name)
    if target is not None:
        replies = [md.key_value(ctx.conn, target.name, key, value) for key, value in target.values.items()]
        md.send_batch(ctx.conn, target.name, replies)


def _sync(ctx: Context, name: str, args: list[str]) -> None:
    if not _no_more(ctx, "SYNC", args):
        return
    conn = ctx.conn
    budget = md.sync_budget(ctx.config.limits.sendq)
    if name == "*ALL":
        md.sync(conn, name, md.sync_lines(conn, md.everything_visible(conn, _monitored(ctx))), budget)
        return
    target = _resolve(ctx, name)
    if target is None:
        return
    if target.channel is not None:  # from outside, the members NAMES and WHO show (not the invisible)
        targets = md.channel_targets(target.channel, visible_members(ctx.user, target.channel))
    else:
        targets = [(target.name, target.values)]
    md.sync(conn, target.name, md.sync_lines(conn, targets), budget)


def _monitored(ctx: Context) -> list[User]:
    found = (ctx.state.find_user(nick) for nick in ctx.conn.monitoring.values())
    return [user for user in found if user is not None]


# -- changing -----------------------------------------------------------------------------


def _set(ctx: Context, name: str, args: list[str]) -> None:
    if not args or len(args) > 2:
        _fail(ctx, "INVALID_PARAMS", "SET", "METADATA <target> SET <key> [:<value>]")
        return
    conn, lim = ctx.conn, ctx.config.limits
    key, value = args[0], args[1] if len(args) > 1 else ""
    target = _resolve(ctx, name)
    if target is None:
        return
    if not is_valid_metadata_key(key):
        _fail(ctx, "INVALID_KEY", shown(key), "Invalid key")
        return
    if not _may_edit(ctx, target):
        _fail(ctx, "KEY_NO_PERMISSION", target.name, key, "You may not set metadata on this target")
        return
    if len(value.encode()) > lim.metadata_max_value_bytes:
        _fail(ctx, "VALUE_INVALID", key, f"The value is too long (at most {lim.metadata_max_value_bytes} bytes)")
        return
    current = target.values.get(key)
    if value == (current or ""):  # nothing changes: the answer alone
        conn.send(md.key_value(conn, target.name, key, current))
        return
    if current is None and len(target.values) >= lim.metadata_max_keys:
        _limit_reached(ctx, target.name)
        return

    def done(outcome: Outcome) -> None:
        if outcome.rejected == "limit":
            _limit_reached(ctx, target.name)
        elif outcome.rejected is not None:
            _fail(ctx, "INVALID_TARGET", shown(name), "Invalid metadata target")
        else:
            conn.send(md.key_value(conn, _shown_now(outcome, target), key, value or None))

    event = MetadataSet(
        ctx.user.uid, target.event_target, target.channel is not None, key, value or None, lim.metadata_max_keys,
        ctx.now(), new_msgid(),
    )  # fmt: skip
    ctx.emit(event, done)


def _limit_reached(ctx: Context, name: str) -> None:
    limit = ctx.config.limits.metadata_max_keys
    _fail(ctx, "LIMIT_REACHED", name, f"Metadata limit reached (at most {limit} keys)")


def _shown_now(outcome: Outcome, target: Target) -> str:
    """The target's name once the event is applied (a nick or a channel may have changed)."""
    if outcome.channel is not None:
        return outcome.channel.name
    return outcome.target.nick if outcome.target is not None else target.name


def _clear(ctx: Context, name: str, args: list[str]) -> None:
    if not _no_more(ctx, "CLEAR", args):
        return
    conn = ctx.conn
    target = _resolve(ctx, name)
    if target is None:
        return
    if not _may_edit(ctx, target):
        _fail(ctx, "KEY_NO_PERMISSION", target.name, "*", "You may not clear metadata on this target")
        return
    if not target.values:
        md.send_batch(conn, target.name, [])
        return

    def done(outcome: Outcome) -> None:
        if outcome.rejected is not None:
            _fail(ctx, "INVALID_TARGET", shown(name), "Invalid metadata target")
            return
        shown_name = _shown_now(outcome, target)
        md.send_batch(conn, shown_name, [md.key_value(conn, shown_name, key, None) for key, _ in outcome.metadata])

    event = MetadataCleared(ctx.user.uid, target.event_target, target.channel is not None, ctx.now(), new_msgid())
    ctx.emit(event, done)


# -- subscriptions ------------------------------------------------------------------------


def _sub(ctx: Context, name: str, args: list[str]) -> None:
    if not _is_self(ctx, name) or not _some_keys(ctx, "SUB", args):
        return
    conn = ctx.conn
    subs = set(conn.metadata_subs)
    limit = ctx.config.limits.metadata_max_subs
    added: set[str] = set()
    for key in args:
        if not is_valid_metadata_key(key):
            conn.warn("METADATA", "INVALID_KEY", shown(key), "Invalid key")
            continue
        if key not in subs:
            if len(subs) >= limit:
                conn.fail("METADATA", "TOO_MANY_SUBS", key, f"Too many subscriptions (at most {limit})")
                break
            subs.add(key)
            added.add(key)
        conn.numeric(n.RPL_METADATASUBOK, key)  # one key a line: read alike as a list or as parameters
    conn.metadata_subs = frozenset(subs)
    if added and conn.registered and md.aware(conn):  # the current values of the new keys
        lines = md.sync_lines(conn, md.everything_visible(conn, _monitored(ctx)), added)
        md.sync(conn, "*ALL", lines, md.sync_budget(ctx.config.limits.sendq))


def _unsub(ctx: Context, name: str, args: list[str]) -> None:
    if not _is_self(ctx, name) or not _some_keys(ctx, "UNSUB", args):
        return
    conn = ctx.conn
    for key in args:
        if not is_valid_metadata_key(key):
            conn.warn("METADATA", "INVALID_KEY", shown(key), "Invalid key")
            continue
        conn.metadata_subs = conn.metadata_subs - {key}
        conn.numeric(n.RPL_METADATAUNSUBOK, key)


def _subs(ctx: Context, name: str, args: list[str]) -> None:
    if not _is_self(ctx, name) or not _no_more(ctx, "SUBS", args):
        return
    conn = ctx.conn
    replies = [
        Message(n.RPL_METADATASUBS, reply_params((conn.nick, key)), conn.server) for key in sorted(conn.metadata_subs)
    ]
    md.send_batch(conn, "", replies, kind="metadata-subs")


SUBCOMMANDS: dict[str, Callable[[Context, str, list[str]], None]] = {
    "GET": _get, "LIST": _list, "SET": _set, "CLEAR": _clear, "SUB": _sub, "UNSUB": _unsub, "SUBS": _subs,
    "SYNC": _sync,
}  # fmt: skip


@command("METADATA", before_registration=True)
def handle_metadata(ctx: Context, message: Message) -> None:
    params = message.params
    if len(params) < 2:
        _fail(ctx, "INVALID_PARAMS", "*", "Not enough parameters")
        return
    name, sub = params[0], params[1].upper()
    run = SUBCOMMANDS.get(sub)
    if run is None:
        _fail(ctx, "INVALID_PARAMS", shown(params[1]), "Unknown subcommand")
        return
    if not ctx.conn.registered and name != "*":
        _fail(ctx, "INVALID_TARGET", shown(name), "Before registration, the only target is * (yourself)")
        return
    run(ctx, name, params[2:])
