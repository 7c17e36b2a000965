"""History: CHATHISTORY (IRCv3 draft/chathistory), and the lines replayed on JOIN.

Who may read what: a channel's history to its members, and to anyone who could join
it right now without an invitation, key or exception (a public channel); never a
secret channel's to outsiders. A private conversation's to the two accounts in it,
so a client must be logged in to read its own. A target that does not qualify gets
INVALID_TARGET, exactly as one that does not exist, so nothing is learnt from it.

The store answers off the event loop (`Context.run_query`): the client's later lines
wait for the answer, so its replies keep their order and labels.
"""

from __future__ import annotations

from collections.abc import Callable

from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name
from hubbub.server import access
from hubbub.server.channel import Channel
from hubbub.server.commands import command
from hubbub.server.connection import CHATHISTORY
from hubbub.server.context import Context
from hubbub.server.delivery import new_batch_id, server_time
from hubbub.server.handlers.replies import shown
from hubbub.server.isupport import BOT_MODE
from hubbub.server.replay import Replay, parse_timestamp
from hubbub.server.storage import HistoryQuery, Ref, StoredMessage, dm_key

EVENT_PLAYBACK = "draft/event-playback"
MODES = {"LATEST": 1, "BEFORE": 1, "AFTER": 1, "AROUND": 1, "BETWEEN": 2}  # references each takes


def may_read(ctx: Context, channel: Channel) -> bool:
    """A member, or someone who could walk in: the channel is public and lets them."""
    user = ctx.user
    if user in channel.members:
        return True
    if channel.members_only or ("R" in channel.modes and user.account is None):
        return False
    return not access.is_banned(channel, user)


def history_key(ctx: Context, name: str) -> tuple[str, str] | None:
    """The conversation `name` (a channel, or a nick) means for this client, and how to
    show it: (key, shown), or None when the client may not read it."""
    if is_channel_name(name):
        channel = ctx.state.find_channel(name)
        if channel is None or not may_read(ctx, channel):
            return None
        return channel.key, channel.name
    mine = ctx.user.account
    if mine is None:
        return None
    other = ctx.state.find_user(name)
    if other is not None:
        theirs = other.account
        shown_as = other.nick
    else:  # offline: the nick names the account it is registered as (keyed by its name as registered)
        record = ctx.state.accounts.get(casefold(name))
        theirs = record.name if record is not None else None
        shown_as = name
    if theirs is None:
        return None
    return dm_key(mine, theirs), shown_as


def _reference(text: str, allow_star: bool) -> Ref | None | str:
    """`timestamp=...`, `msgid=...` (or `*`): a Ref, None for `*`, or "bad"."""
    if allow_star and text == "*":
        return None
    kind, eq, value = text.partition("=")
    if not eq or not value:
        return "bad"
    if kind == "msgid":
        return Ref("msgid", value)
    if kind == "timestamp":
        moment = parse_timestamp(value)
        return "bad" if moment is None else Ref("time", moment)
    return "bad"


def _limit(ctx: Context, text: str) -> int | None:
    """The count asked for, within CHATHISTORY=; None when it is not a number."""
    if not (text.isascii() and text.isdigit()):
        return None
    most = ctx.config.history.chathistory_max
    asked = int(text)
    return most if asked == 0 or asked > most else asked


def send_history(
    ctx: Context, shown_as: str, messages: list[StoredMessage], bracketed: bool = False, told: str = "",
) -> None:  # fmt: skip
    """The lines, in a `chathistory` batch when the client has `batch` (an empty batch
    when there are none); as they are otherwise, between two NOTICEs when `bracketed`
    (the replay on joining: Replay.bracketed), to `told` (else `shown_as`)."""
    batched = "batch" in ctx.conn.caps
    ctx.conn.deliver(Replay(messages, ctx.name, "chathistory" if batched else None, (shown_as,), bracketed, told))


@command("CHATHISTORY")
def handle_chathistory(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    store = ctx.svc.store
    if not message.params:  # the spec's standard reply, where other commands answer 461
        conn.fail("CHATHISTORY", "NEED_MORE_PARAMS", "*", "Missing parameters")
        return
    sub = message.params[0].upper()
    if store is None or not ctx.config.history.enabled:
        conn.fail("CHATHISTORY", "MESSAGE_ERROR", shown(message.params[0]), "History is not kept on this server")
        return
    if sub == "TARGETS":
        _targets(ctx, message)
        return
    if sub not in MODES:
        conn.fail("CHATHISTORY", "UNKNOWN_COMMAND", shown(message.params[0]), "Unknown command")
        return
    wanted = 2 + MODES[sub] + 1  # subcommand, target, references, limit
    if len(message.params) < wanted:
        conn.fail("CHATHISTORY", "NEED_MORE_PARAMS", sub, "Missing parameters")
        return
    if len(message.params) > wanted:
        conn.fail("CHATHISTORY", "INVALID_PARAMS", sub, "Too many parameters")
        return
    name = message.params[1]
    refs: list[Ref | None] = []
    for text in message.params[2:-1]:
        ref = _reference(text, allow_star=sub == "LATEST")
        if isinstance(ref, str):
            conn.fail("CHATHISTORY", "INVALID_PARAMS", sub, shown(text), "Invalid timestamp or msgid")
            return
        refs.append(ref)
    limit = _limit(ctx, message.params[-1])
    if limit is None:
        conn.fail("CHATHISTORY", "INVALID_PARAMS", sub, shown(message.params[-1]), "Invalid limit")
        return
    target = history_key(ctx, name)
    if target is None:
        conn.fail("CHATHISTORY", "INVALID_TARGET", sub, shown(name), "Messages could not be retrieved")
        return
    key, shown_as = target
    query = HistoryQuery(key, sub.lower(), refs[0], refs[1] if len(refs) > 1 else None, limit,
                         EVENT_PLAYBACK in conn.caps)  # fmt: skip

    def failed(error: BaseException) -> None:
        conn.fail("CHATHISTORY", "MESSAGE_ERROR", sub, shown(name), "Messages could not be retrieved")

    ctx.run_query(lambda: store.history(query), lambda found: send_history(ctx, shown_as, found), failed)


def other_side(ctx: Context, key: str, account: str | None) -> str:
    """How the private conversation `key` (dm_key) of `account` is named to it: where a
    message to it reaches the other account's owner. Their account's name when they hold
    that nick, else the nick they are logged in under (the one that spoke last, of
    several devices: a phone as `bob_phone`); the account's name when they are offline
    (a message to it waits for them: handlers/messaging.py `kept_for`)."""
    a, _, b = key[3:].partition(" ")
    other = b if a == account else a
    holder = ctx.state.find_user(other)
    if holder is not None and holder.account == other:
        return holder.nick
    online = ctx.state.logged_in_to(casefold(other))
    return max(online, key=lambda u: (u.last_message, u.signon)).nick if online else other


def _targets(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    store = ctx.svc.store
    assert store is not None
    if len(message.params) < 4:
        conn.fail("CHATHISTORY", "NEED_MORE_PARAMS", "TARGETS", "Missing parameters")
        return
    if len(message.params) > 4:
        conn.fail("CHATHISTORY", "INVALID_PARAMS", "TARGETS", "Too many parameters")
        return
    bounds = [_reference(text, allow_star=False) for text in message.params[1:3]]
    limit = _limit(ctx, message.params[3])
    times = [ref.value for ref in bounds if isinstance(ref, Ref) and ref.kind == "time"]
    if len(times) != 2 or limit is None:
        conn.fail("CHATHISTORY", "INVALID_PARAMS", "TARGETS", "Invalid timestamps or limit")
        return
    low, high = sorted(float(t) for t in times)
    from_low = float(times[0]) < float(times[1])  # the limit counts from the first bound, as BETWEEN's
    keys = {channel.key: channel.name for channel in ctx.user.channels.values()}
    account = ctx.user.account

    def shown_for(key: str) -> str:
        if key in keys:
            return keys[key]
        return other_side(ctx, key, account)

    def answer(found: list[tuple[str, float]]) -> None:
        lines = [Message("CHATHISTORY", ["TARGETS", shown_for(key), server_time(at)], ctx.name) for key, at in found]
        if "batch" in conn.caps:
            ref = new_batch_id()
            conn.send(Message("BATCH", ["+" + ref, "draft/chathistory-targets"], ctx.name))
            for line in lines:
                conn.send(Message(line.command, line.params, line.source, {"batch": ref}))
            conn.send(Message("BATCH", ["-" + ref], ctx.name))
        else:
            for line in lines:
                conn.send(line)

    def failed(error: BaseException) -> None:
        conn.fail("CHATHISTORY", "MESSAGE_ERROR", "TARGETS", "Messages could not be retrieved")

    ctx.run_query(lambda: store.targets(list(keys), account, low, high, limit, from_low), answer, failed)


def replay_query(ctx: Context, channel: Channel, joined: float) -> HistoryQuery | None:
    """What a JOIN replays to a client that cannot ask for history (no
    draft/chathistory): the channel's last lines said before the join (at `joined`);
    None for nothing. A user back in a channel it left gets only what was said since
    (server/departures.py): the rest it saw live. Taken when the JOIN is applied: a
    departure after it (a KICK while the reply waits) is not the one to count from."""
    lines = ctx.config.history.autoreplay_lines
    if ctx.svc.store is None or not lines or not ctx.config.history.enabled or CHATHISTORY in ctx.conn.caps:
        return None
    if BOT_MODE in ctx.user.modes:  # a bot would take old lines for new ones, and act on old commands again
        return None
    left = ctx.svc.departures.left(ctx.user, channel)
    # Bounded by the join's and the departure's own times as applied, exact to the
    # microsecond (every event has its own: apply.in_time_order): what was said before the
    # join, or between leaving and coming back, and nothing the client saw live.
    if left is None:
        return HistoryQuery(channel.key, "before", Ref("instant", joined), None, lines, False)
    return HistoryQuery(channel.key, "between", Ref("instant", joined), Ref("instant", left), lines, False)


def autoreplay(
    ctx: Context, name: str, query: HistoryQuery | None, done: Callable[[], None] = lambda: None,
    waiting: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """The lines `query` finds, as the channel `name`'s history, with their time (in a
    batch when the client has `batch`); then `done()`. The store is read off the loop:
    `waiting()` first, so the JOIN can hold what is said meanwhile until after them."""
    store = ctx.svc.store
    if query is None or store is None:
        done()
        return

    def replay(found: list[StoredMessage]) -> None:
        found = without_ctcp(found)
        if found:
            send_history(ctx, name, found, bracketed=True)
        done()

    waiting()
    ctx.run_query(lambda: store.history(query), replay, lambda error: done())  # the JOIN stands anyway


def without_ctcp(messages: list[StoredMessage]) -> list[StoredMessage]:
    """What a replay to a client that cannot ask for history gives it: not the CTCP
    queries and answers among the lines (`VERSION`, `PING`...: irssi answers a query
    replayed, to someone who had their answer long ago); an ACTION is words."""
    return [m for m in messages
            if not (m.command in ("PRIVMSG", "NOTICE") and m.params and access.is_ctcp_but_action(m.params[-1]))]


def as_seen_here(ctx: Context, account: str, messages: list[StoredMessage]) -> list[StoredMessage]:
    """A private conversation's lines as this connection would have had them live: what
    its account said (from another device, under another nick) comes from its own nick,
    which IRC clients show as its own lines in the conversation (with the other nick,
    irssi opens a conversation with that nick, as with a stranger); what was said to it
    is to its nick now (not an older one, nor the account's name it waited under)."""
    mine = casefold(account)
    user = ctx.user
    seen = []
    for m in messages:
        if m.account is not None and casefold(m.account) == mine:
            m = m._replace(source=user.prefix)
        elif m.params:
            m = m._replace(params=(user.nick, *m.params[1:]))
        seen.append(m)
    return seen


def replay_private(ctx: Context) -> None:
    """To a client logged in that cannot ask for history (no draft/chathistory: irssi,
    most IRC clients): what its account's private conversations held since a connection
    of the account last quit (server/departures.py), each as a join's replay is (its
    latest lines, between two NOTICEs to the client): the messages kept for the account
    while nobody was connected as it (handlers/messaging.py `kept_for`) above all; at the
    account's first login, what they held since it was made. After a crash, since the
    last point the store kept (a clean stop's): duplicates rather than a gap. Nothing
    when no point is known (forgotten past the bound of departures kept)."""
    store, user, history = ctx.svc.store, ctx.user, ctx.config.history
    account = user.account
    if store is None or account is None or not history.enabled or CHATHISTORY in ctx.conn.caps:
        return
    if BOT_MODE in user.modes:  # as on JOIN: a bot would act on old commands again
        return
    made = ctx.state.accounts.get(casefold(account))
    since = ctx.svc.departures.left_privately(account, made.registered_at if made is not None else None)
    if since is None:
        return
    until = ctx.now()
    limit = history.chathistory_max

    def conversations(found: list[tuple[str, float]]) -> None:
        keys = [key for key, _ in found if key.startswith("dm:")]
        keys.reverse()  # the conversation written to longest ago first, the latest last
        one_by_one(keys)

    def one_by_one(keys: list[str]) -> None:
        if not keys or ctx.conn.gone or ctx.user.account != account:
            return
        key = keys.pop(0)
        shown_as = other_side(ctx, key, account)
        query = HistoryQuery(key, "between", Ref("instant", until), Ref("instant", since), limit, False)

        def replay(messages: list[StoredMessage]) -> None:
            messages = without_ctcp(messages)
            if messages and not ctx.conn.gone:
                send_history(ctx, shown_as, as_seen_here(ctx, account, messages), bracketed=True, told=ctx.user.nick)
            one_by_one(keys)

        ctx.run_query(lambda: store.history(query), replay, lambda error: None)

    # TARGETS counts in milliseconds: a message in the departure's own is asked for too
    # (each conversation's lines are then bounded to the microsecond, as a JOIN's are)
    low = since - 0.001
    ctx.run_query(lambda: store.targets([], account, low, until, limit, True), conversations, lambda error: None)
