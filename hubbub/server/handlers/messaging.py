"""PRIVMSG, NOTICE and TAGMSG to channels and nicks, several targets at once.

Every message is one event (`Said`): one msgid and time, its wire forms shared by
all recipients (announce.py). Client-only tags (`+name`) ride along to message-tags clients;
other tags a client sends are never relayed. TAGMSG, a message made only of tags,
reaches message-tags clients only.

STATUSMSG: a channel name after membership prefixes (`PRIVMSG @#c`, `+#c`) addresses
the members with that rank or a higher one (the lowest prefix given counts). The
sender must be a member and allowed to speak there; the target is relayed with its
prefix. Channel modes +C (no CTCP but ACTION) and +T (no NOTICE) are checked here,
where the text is known (access.py says who they bind).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import MAX_LINE_BODY, Message, escape_tag_value, fit_utf8
from hubbub.irc.validate import CHANTYPES, cidr_block, is_channel_name, is_valid_tag_name
from hubbub.server import chanflood
from hubbub.server.access import channel_refuses_content, channel_refuses_speech
from hubbub.server.account import Account
from hubbub.server.apply import Outcome
from hubbub.server.chanflood import LINE, TAG
from hubbub.server.channel import HALFOP, PREFIX_RANKS, Channel
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import ChannelModesSet, Kicked, ModeChange, SaidMultiline, SaidToAccount, new_said
from hubbub.server.services import SERVICES
from hubbub.server.throttle import seconds_words
from hubbub.server.user import User, host_of
from hubbub.server.usermodes import REGISTERED_ONLY, refuses_unregistered

# message-tags: a client's tag data is at most 4094 bytes. We read lines with more (up
# to 8191, see session.py), but relay client-only tags only within the spec's limit, so
# that with our own tags added every recipient can still read the line.
MAX_CLIENT_TAG_DATA = 4094
# The away reply to a message kept for an account nobody is connected under
OFFLINE = "Offline; your messages are kept for when they are back"

Error = Callable[..., None]


def client_only_tags(tags: dict[str, str]) -> dict[str, str] | None:
    """The tags of a client's message that may be relayed (message-tags: `+` ones only,
    and only those whose names the grammar allows; the others are dropped, the message
    still goes out)."""
    relayed = {name: value for name, value in tags.items() if name[0] == "+" and is_valid_tag_name(name)}
    return relayed or None


def tag_data_size(tags: dict[str, str]) -> int:
    """Bytes of tag data `tags` take on the wire (without '@' and the space)."""
    return len(";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in tags.items()).encode())


def relayable_tags(ctx: Context, tags: dict[str, str]) -> tuple[bool, dict[str, str] | None]:
    """The client-only tags to relay; (False, None) after a 417 when the message's tag
    data is past the spec's limit for what a client sends."""
    relayed = client_only_tags(tags)
    if tag_data_size(tags) > MAX_CLIENT_TAG_DATA:  # every tag counts, client-only or not (message-tags)
        ctx.conn.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
        return False, None
    return True, relayed


def fitted(user: User, command: str, target: str, text: str) -> str:
    """The text, shortened so the relayed line (with our source) stays within 512 bytes."""
    room = MAX_LINE_BODY - len(user.prefix) - len(command) - len(target.encode()) - 5  # ":", 3 spaces, ":"
    return text if len(text) * 4 <= room else fit_utf8(text, room)


def find_target(
    ctx: Context, target: str, error: Error, key: str | None = None, text: str = "",
    tags: dict[str, str] | None = None,
) -> Channel | User | None:  # fmt: skip
    """The channel or user a message goes to, or None after telling the sender why not.
    `key` is `target` casefolded, when the caller has it already. With `text` (a
    PRIVMSG's, and its `tags`), a nick nobody holds that names an account the message
    can wait for (`kept_for`) has it kept there, and None is returned: it is done. (Asked
    here, where the nick was not found, the message to someone online pays nothing for it.)"""
    if key is None:
        key = casefold(target)
    if target and target[0] in CHANTYPES:  # is_channel_name, inlined: every message asks
        channel = ctx.state.channels.get(key)
        if channel is None:
            error(n.ERR_NOSUCHCHANNEL, target, "No such channel")
            return None
        refusal = channel_refuses_speech(channel, ctx.user)
        if refusal is not None:
            if channel.hidden_from(ctx.user):  # a secret channel does not exist outside
                error(n.ERR_NOSUCHCHANNEL, target, "No such channel")
            else:
                error(n.ERR_CANNOTSENDTOCHAN, channel.name, refusal)
            return None
        return channel
    user = ctx.state.nicks.get(key)  # ChatState.find_user, with the key at hand
    if user is None or not user.registered:
        account = kept_for(ctx, key) if text else None
        if account is None:
            error(n.ERR_NOSUCHNICK, target, not_here(ctx, key) if text else NO_SUCH_NICK)
        else:
            _to_account(ctx, account, text, tags)
        return None
    return user


NO_SUCH_NICK = "No such nick/channel"
SHOWN_ELSEWHERE = 3  # of an account's other nicks, named in a 401 at most


def not_here(ctx: Context, key: str) -> str:
    """The 401 for a PRIVMSG to a nick nobody holds (`key`, casefolded) that is an
    account's name and cannot wait for its owner (`kept_for`): what the sender can do
    instead. Its owner is online under another nick (NickServ INFO names it to anyone),
    or the sender, not logged in, could leave a message once logged in."""
    account = ctx.state.accounts.get(key)
    if account is None:
        return NO_SUCH_NICK
    online = sorted(u.nick for u in ctx.state.logged_in_to(key))
    if online:
        more = len(online) - SHOWN_ELSEWHERE
        nicks = ", ".join(online[:SHOWN_ELSEWHERE]) + (f" and {more} more" if more > 0 else "")
        return f"{NO_SUCH_NICK}: {account.name} is online as {nicks}"
    if ctx.user.account is None and ctx.svc.store is not None and ctx.config.history.enabled:
        return f"{NO_SUCH_NICK}: {account.name} is offline; log in to leave a message for when they are back"
    return NO_SUCH_NICK


def offline_account(ctx: Context, name: str) -> Account | None:
    """The account a message to `name` can wait for (`kept_for`) when nobody holds the nick."""
    if name[:1] in CHANTYPES:
        return None
    key = casefold(name)
    holder = ctx.state.nicks.get(key)
    return kept_for(ctx, key) if holder is None or not holder.registered else None


def kept_for(ctx: Context, key: str) -> Account | None:
    """The account named `key` (casefolded) when a private message to it, nobody being
    connected under its name, can wait for its owner in the history: the sender is
    logged in (history keeps private messages between accounts only), history is kept,
    and nobody is logged in to the account under another nick either (its owner is
    there, as someone else: 401, as before; they would not see it until they came back)."""
    if ctx.user.account is None or ctx.svc.store is None or not ctx.config.history.enabled:
        return None
    account = ctx.state.accounts.get(key)
    return account if account is not None and not ctx.state.logged_in_to(key) else None


def _to_account(ctx: Context, account: Account, text: str, tags: dict[str, str] | None) -> None:
    """A PRIVMSG to an account nobody is connected under: kept for its owner, and the
    sender told so as an away reply (301) is told, which every client shows."""
    body = fitted(ctx.user, "PRIVMSG", account.name, text)
    event = SaidToAccount(ctx.user.uid, account.name, body, tags, ctx.now(), new_msgid())
    ctx.emit(event, partial(_tell_kept, ctx, account.name))


def _tell_kept(ctx: Context, name: str, outcome: Outcome) -> None:
    if outcome.rejected is None:
        ctx.conn.numeric(n.RPL_AWAY, name, OFFLINE)
    else:  # the account was dropped, or the sender logged out, meanwhile
        ctx.conn.numeric(n.ERR_NOSUCHNICK, name, "No such nick/channel")


def split_status(target: str) -> tuple[str, str]:
    """`@#c` as (`@`, `#c`); of several prefixes (`@+#c`) the lowest rank counts."""
    end = 0
    while end < len(target) and target[end] in PREFIX_RANKS:
        end += 1
    lowest = min(target[:end], key=PREFIX_RANKS.__getitem__) if end else ""
    return lowest, target[end:]


def find_status_channel(ctx: Context, target: str, error: Error) -> tuple[str, Channel] | None:
    """The prefix and channel of a STATUSMSG target, or None after telling the sender why not."""
    status, name = split_status(target)
    if not is_channel_name(name):
        error(n.ERR_NOSUCHNICK, target, "No such nick/channel")
        return None
    channel = find_target(ctx, name, error)
    if not isinstance(channel, Channel):
        return None
    if ctx.user not in channel.members:
        if channel.hidden_from(ctx.user):  # a secret channel does not exist outside
            error(n.ERR_NOSUCHCHANNEL, name, "No such channel")
        else:
            error(n.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel (you are not on it)")
        return None
    return status, channel


def flooding(ctx: Context, channel: Channel, weight: int, error: Error) -> bool:
    """+f: count what the sender sends (`weight`: chanflood.LINE for each line of text,
    chanflood.TAG for a TAGMSG); True when it passes the rule and is not
    relayed. At the first message past it the server bans the sender (with `*`) and
    kicks it if it is a member; later ones in the window are refused (404). Halfops
    and above are not counted."""
    rule, user = channel.flood, ctx.user
    if rule is None or channel.rank(user) >= HALFOP:
        return False
    counts = channel.flooding
    if counts is None:
        counts = channel.flooding = {}
    now = ctx.now()
    verdict = chanflood.counted(counts, rule, user.uid, now, len(channel.members), weight)
    if verdict == chanflood.OK:
        return False
    if verdict == chanflood.OVER or user not in channel.members:
        wait = seconds_words(chanflood.wait(counts, rule, user.uid, now))
        error(n.ERR_CANNOTSENDTOCHAN, channel.name, f"Cannot send to channel (+f: flood, wait {wait})")
    if verdict == chanflood.CROSSED:
        if rule.ban:
            ban = (ModeChange(True, "b", flood_ban_mask(user)),)
            ctx.emit(ChannelModesSet("", channel.name, ban, now, new_msgid(), ctx.name))
        if user in channel.members:
            ctx.emit(Kicked("", user.uid, channel.name, rule.reason(), now, new_msgid(), ctx.name))
    return True


def flood_ban_mask(user: User) -> str:
    """The ban +f sets. For a user shown with its address, that address as every
    per-address limit counts it (an IPv6 user's /64 by default, `limits.ipv6_prefix`),
    since an IPv6 flooder can come back from any other address of its block at once.
    For one shown with anything else, the host it is shown with: its cloak (which stands
    for the same block), a vhost (HostServ, CHGHOST), a WebIRC gateway's name for it, a
    test's or a Unix socket's name; a list the channel reads must not tell an address
    that host hides."""
    if user.host != host_of(user.ip):
        return f"*!*@{user.host}"
    group = user.group
    return f"*!*@{group}" if cidr_block(group) is not None else f"*!*@{user.host}"


def _refused_private(error: Error, target: User, tagmsg: bool) -> None:
    if not tagmsg:  # a typing notification is dropped without a word, or every key would be answered
        error(n.ERR_NONONREG, target.nick, "only takes private messages from users logged in to an account")


def _tell_away(ctx: Context, target: User, outcome: Outcome) -> None:
    if target.away is not None:
        ctx.conn.numeric(n.RPL_AWAY, target.nick, target.away)


def _silent(code: str, *params: str) -> None:
    """RFC 1459: no automatic reply, not even an error, may answer a NOTICE."""


# SERVICES.get, bound once: a method of an imported name is looked up generically at each
# call (the compiler makes no method call of it), and every message's target is asked
_service_of = SERVICES.get


def _relay(ctx: Context, message: Message) -> None:
    # Every chat message passes here: the common case (one target, no tags) is kept to
    # few steps, and the target's name is casefolded once for every lookup.
    command = message.command
    params = message.params
    conn, user = ctx.conn, ctx.user
    error: Error = _silent if command == "NOTICE" else conn.numeric
    tagmsg = command == "TAGMSG"
    if not params or not params[0]:
        error(n.ERR_NORECIPIENT, f"No recipient given ({command})")
        return
    text = ""
    if not tagmsg:
        if len(params) < 2 or not params[1]:
            error(n.ERR_NOTEXTTOSEND, "No text to send")
            return
        text = params[1]
    targets: Sequence[str] = (params[0],)
    reached: set[str] | None = None  # of several targets, the accounts a copy reaches already
    if "," in params[0]:
        # each target once (`bob,BOB,bob`: one copy, as the charybdis family does), in the order named
        once: dict[str, str] = {}
        for name in params[0].split(","):
            if name:
                once.setdefault(casefold(name), name)
        targets = list(once.values())
        reached = set()
        limit = ctx.config.limits.max_targets
        if len(targets) > limit:
            error(n.ERR_TOOMANYTARGETS, params[0], f"Too many targets, the limit is {limit}")
            return
    tags = None
    if message.tags:
        ok, tags = relayable_tags(ctx, message.tags)
        if not ok:
            return
    # what may wait for an account nobody is connected as: words, not a CTCP query (a
    # client's VERSION or PING, which nobody would answer later), an ACTION being words
    kept = text if command == "PRIVMSG" and (text[0] != "\x01" or text.startswith("\x01ACTION ")) else ""
    for name in targets:
        key = casefold(name)
        helper = _service_of(key)  # find_service, with the key at hand
        if helper is not None:  # NickServ, ChanServ: commands, not messages
            if not tagmsg:
                helper.receive(ctx, command, text, tags)
            continue
        status = ""
        target: Channel | User | None
        if name[0] in PREFIX_RANKS:
            found = find_status_channel(ctx, name, error)
            if found is None:
                continue
            status, target = found
        else:
            target = find_target(ctx, name, error, key, kept, tags)
            if target is None:
                continue
        away = None  # a user to tell the sender is away (301), once the message is out
        if isinstance(target, Channel):
            modes = target.modes
            if ("C" in modes or "T" in modes) and not tagmsg:  # +C, +T: asked only where set
                refusal = channel_refuses_content(target, user, command, text)
                if refusal is not None:
                    error(n.ERR_CANNOTSENDTOCHAN, target.name, refusal)
                    continue
            if target.flood is not None and flooding(ctx, target, TAG if tagmsg else LINE, error):  # only where set
                continue
            shown, to, to_channel = status + target.name if status else target.name, target.key, True
        else:
            if REGISTERED_ONLY in target.modes and refuses_unregistered(target, user):  # +R: one test for the rest
                _refused_private(error, target, tagmsg)
                continue
            if reached is not None and target.account is not None:
                # `alice,alice_phone`: one message reaches every device of the account
                # (announce.py _to_devices), not one per nick of it named
                account = casefold(target.account)
                if account in reached:
                    continue
                reached.add(account)
            shown, to, to_channel = target.nick, target.uid, False
            if target.away is not None and command == "PRIVMSG":
                away = target
        body = text
        # `fitted` only for text that might not fit (a character is at most 4 bytes)
        if len(text) * 4 + len(shown) * 4 + len(user.prefix) + len(command) + 5 > MAX_LINE_BODY:
            body = fitted(user, command, shown, text)
        now = ctx.now  # read, then called: a callable kept on the context is no method to load
        event = new_said((user.uid, command, to, to_channel, body, tags, now(), new_msgid(), status))
        # Context.emit, inlined: a frame less per message
        if away is not None:
            ctx.engine.emit(conn, event, partial(_tell_away, ctx, away))
        else:
            ctx.engine.emit(conn, event)


def relay_multiline(
    ctx: Context, command: str, name: str, lines: list[tuple[str, bool]], tags: dict[str, str] | None,
) -> None:
    """Deliver a draft/multiline PRIVMSG or NOTICE (see handlers/multiline.py), checked
    like one line of it: a NOTICE's refusals are silent and it tells no one's away."""
    error: Error = _silent if command == "NOTICE" else ctx.conn.numeric
    status = ""
    target: Channel | User | None
    if name[:1] in PREFIX_RANKS:
        found = find_status_channel(ctx, name, error)
        if found is None:
            return
        status, target = found
    else:
        account = offline_account(ctx, name) if command == "PRIVMSG" else None
        if account is not None:  # kept for its owner, as one line to it is
            pieces = tuple((fitted(ctx.user, command, account.name, text), concat) for text, concat in lines)
            ctx.emit(SaidToAccount(ctx.user.uid, account.name, "", tags, ctx.now(), new_msgid(), pieces),
                     partial(_tell_kept, ctx, account.name))
            return
        target = find_target(ctx, name, error)
        if target is None:
            return
    if isinstance(target, Channel):
        for text, _ in lines:
            refusal = channel_refuses_content(target, ctx.user, command, text)
            if refusal is not None:
                error(n.ERR_CANNOTSENDTOCHAN, target.name, refusal)
                return
        if target.flood is not None and flooding(ctx, target, len(lines) * LINE, error):
            return
        shown, key, to_channel = status + target.name, target.key, True
    else:
        if refuses_unregistered(target, ctx.user):
            _refused_private(error, target, False)
            return
        shown, key, to_channel = target.nick, target.uid, False
    kept = tuple((fitted(ctx.user, command, shown, text), concat) for text, concat in lines)
    event = SaidMultiline(ctx.user.uid, key, to_channel, kept, tags, ctx.now(), new_msgid(), status, command)
    if isinstance(target, User) and target.away is not None and command == "PRIVMSG":
        ctx.emit(event, partial(_tell_away, ctx, target))
    else:
        ctx.emit(event)


# PRIVMSG, NOTICE and TAGMSG are one handler: the command itself says which
for _name in ("PRIVMSG", "NOTICE", "TAGMSG"):
    command(_name)(_relay)
