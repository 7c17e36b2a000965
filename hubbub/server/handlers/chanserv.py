"""ChanServ: channels owned by accounts, their settings kept across restarts.

A channel operator logged in to an account registers the channel; the account is its
founder (`~`, +q, on every join), and the founder keeps an access list (AMODE) of
accounts given a status when they join. Topic, modes, key, limit and the ban,
exception and invite lists of a registered channel are kept by the store, and the
channel is there again after a restart, empty until someone joins. Syntax and texts
follow ergo's where it has the command (it has no VOICE).
"""

from __future__ import annotations

import hashlib
import time

from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.irc.validate import is_channel_name
from hubbub.server.account import Account
from hubbub.server.apply import NOT_ALLOWED, TOO_MANY, Outcome
from hubbub.server.channel import FOUNDER, OP, PROTECTED, STATUS_MODES, Channel
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import (
    ChannelAccessSet,
    ChannelDropped,
    ChannelFounderSet,
    ChannelModesSet,
    ChannelRegistered,
    ModeChange,
)
from hubbub.server.services import service
from hubbub.server.user import User

chanserv = service("ChanServ", ("CHANSERV", "CS"), "register channels and keep their settings and operators")


def _say(ctx: Context, text: str) -> None:
    chanserv.reply(ctx, text)


def _account(ctx: Context) -> str | None:
    """The caller's account key, or None after saying that one is needed."""
    if ctx.user.account is None:
        _say(ctx, "You're not logged into an account")
        return None
    return casefold(ctx.user.account)


def _channel(ctx: Context, name: str, registered: bool = True) -> Channel | None:
    channel = ctx.state.find_channel(name) if is_channel_name(name) else None
    if channel is None or channel.hidden_from(ctx.user) and channel.founder != casefold(ctx.user.account or ""):
        _say(ctx, "Channel does not exist")
        return None
    if registered and channel.founder is None:
        _say(ctx, f"Channel {channel.name} is not registered")
        return None
    return channel


def _set_status(ctx: Context, channel: Channel, target: User, letters: str, adding: bool, owed: bool = False) -> None:
    """Give or take status letters in ChanServ's name (the MODE line comes from it); `owed`:
    only as the channel owes them when applied (events.py ChannelModesSet)."""
    changes = tuple(ModeChange(adding, letter, target.uid) for letter in letters)
    if changes:
        ctx.emit(ChannelModesSet("", channel.name, changes, ctx.now(), new_msgid(), chanserv.source, owed=owed))


@chanserv.command("REGISTER", 1, "REGISTER <#channel>",
                  "Registers a channel you are an operator of to your account: you are its founder.")  # fmt: skip
def cs_register(ctx: Context, args: list[str]) -> None:
    account = _account(ctx)
    channel = _channel(ctx, args[0], registered=False) if account else None
    if account is None or channel is None:
        return
    if channel.founder is not None:
        _say(ctx, "Channel is already registered")
        return
    if channel.rank(ctx.user) < OP:
        _say(ctx, "You must be an oper on the channel to register it")
        return
    if ctx.state.founded(account) >= ctx.config.accounts.max_channels:
        _say(ctx, "You have already registered the maximum number of channels; try dropping some with /CS DROP")
        return

    def registered(outcome: Outcome) -> None:
        if outcome.rejected is not None:
            _say(ctx, "Channel is already registered")
            return
        ctx.svc.audit.channel_registered(ctx.user, channel.name, ctx.user.account or account)
        _say(ctx, f"Channel {channel.name} successfully registered")
        _set_status(ctx, channel, ctx.user, "q", True)

    ctx.emit(ChannelRegistered(ctx.user.uid, channel.name, account, ctx.now()), registered)


@chanserv.command("INFO", 1, "INFO <#channel>", "Shows whether a channel is registered, and to whom.")
def cs_info(ctx: Context, args: list[str]) -> None:
    channel = _channel(ctx, args[0], registered=False)
    if channel is None:
        return
    if channel.founder is None:
        _say(ctx, f"Channel {channel.name} is not registered")
        return
    founder = ctx.state.accounts.get(channel.founder)
    _say(ctx, f"Channel {channel.name} is registered")
    _say(ctx, f"Founder: {founder.name if founder else channel.founder}")
    when = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(channel.registered_at))
    _say(ctx, f"Registered at: {when}")


ONLY_FOUNDER = "Only the channel founder can do this"


def _may_manage(ctx: Context, channel: Channel, account: str, founder_only: bool = False) -> bool:
    if channel.founder == account:
        return True
    if founder_only:
        _say(ctx, ONLY_FOUNDER)
        return False
    if any(letter in channel.access.get(account, "") for letter in "qao"):
        return True
    _say(ctx, "You don't have any stored privileges on that channel")
    return False


def _status_command(ctx: Context, args: list[str], letters: str, adding: bool, done: str) -> None:
    account = _account(ctx)
    channel = _channel(ctx, args[0]) if account else None
    if account is None or channel is None:
        return
    target = ctx.state.find_user(args[1]) if len(args) > 1 else ctx.user
    if target is None:
        _say(ctx, "Could not find given client")
        return
    if target not in channel.members:
        _say(ctx, "They aren't on that channel" if target is not ctx.user else "You're not on that channel")
        return
    # the founder (by status, or by account) and the protected are the founder's to change, as with MODE
    guarded = target is not ctx.user and (
        channel.rank(target) >= PROTECTED or casefold(target.account or "") == channel.founder
    )
    if target is ctx.user and adding and letters == "o":
        # asking for oneself: what one is owed (founder, or the access list)
        owed = "q" if channel.founder == account else channel.access.get(account, "")
        if not owed:
            _say(ctx, "You don't have any stored privileges on that channel")
            return
        letters = owed
    elif not _may_manage(ctx, channel, account, founder_only=guarded):
        return
    if not adding:
        letters = "".join(m for m in STATUS_MODES if m in channel.members[target]) if letters == "*" else letters
        if not any(m in channel.members[target] for m in letters):
            _say(ctx, "Target has no privileges to remove")
            return
    _set_status(ctx, channel, target, letters, adding)
    _say(ctx, done)


@chanserv.command("OP", 1, "OP <#channel> [nick]", "Gives operator status (yourself: what you are owed).")
def cs_op(ctx: Context, args: list[str]) -> None:
    _status_command(ctx, args, "o", True, "Successfully granted operator privileges")


@chanserv.command("DEOP", 1, "DEOP <#channel> [nick]", "Takes every status from someone (or yourself).")
def cs_deop(ctx: Context, args: list[str]) -> None:
    _status_command(ctx, args, "*", False, "Successfully removed operator privileges")


@chanserv.command("VOICE", 1, "VOICE <#channel> [nick]", "Gives voice to someone (or yourself).")
def cs_voice(ctx: Context, args: list[str]) -> None:
    _status_command(ctx, args, "v", True, "Successfully granted voice")


@chanserv.command("AMODE", 1, "AMODE <#channel> [+|-<modes> <account>]",
                  "Lists the access list, or changes the status an account gets when it joins.")  # fmt: skip
def cs_amode(ctx: Context, args: list[str]) -> None:
    account = _account(ctx)
    channel = _channel(ctx, args[0]) if account else None
    if account is None or channel is None:
        return
    if len(args) == 1:
        _say(ctx, f"Channel {channel.name} has {len(channel.access)} persistent modes set")
        for key, letters in sorted(channel.access.items()):
            holder = ctx.state.accounts.get(key)
            _say(ctx, f"Account {holder.name if holder else key} receives mode +{letters}")
        return
    if len(args) < 3 or args[1][:1] not in "+-" or not args[1][1:] or any(m not in STATUS_MODES for m in args[1][1:]):
        _say(ctx, "Invalid mode change")
        return
    if not _may_manage(ctx, channel, account, founder_only=True):
        return
    target = ctx.state.accounts.get(casefold(args[2]))
    if target is None:
        _say(ctx, "Account does not exist")
        return
    current = set(channel.access.get(target.key, ""))
    asked = set(args[1][1:])
    new = current | asked if args[1][0] == "+" else current - asked
    if new == current:
        _say(ctx, "No changes were made")
        return
    modes = "".join(m for m in STATUS_MODES if m in new)
    ctx.emit(ChannelAccessSet(channel.name, target.key, modes),
             lambda outcome: _say(ctx, f"Successfully set persistent mode +{modes} on {target.name}" if modes
                                  else f"Successfully removed {target.name} from the access list"))  # fmt: skip
    if channel.key not in ctx.state.channels:
        return
    # As ergo does: the change holds for the account's connections in the channel now,
    # not at their next join (a founder can take a rogue op's status through the list).
    given, taken = new - current, current - new
    for member in list(channel.members):
        if member.account is None or casefold(member.account) != target.key or target.key == channel.founder:
            continue
        held = channel.members.get(member, "")
        _set_status(ctx, channel, member, "".join(m for m in STATUS_MODES if m in given and m not in held), True)
        _set_status(ctx, channel, member, "".join(m for m in STATUS_MODES if m in taken and m in held), False)


def _founder_code(channel: Channel, heir: Account) -> str:
    """The code that confirms giving `channel` to `heir`. Derived, never stored, as DROP's
    is: every node of a cluster and a restarted server compute the same one, with no new
    shared state. It names the channel's registration, its founder and the heir's account
    (its registration too: an account dropped and registered again is someone else), so a
    code read for one heir confirms no other, and none confirms anything once the channel
    is dropped or has another founder."""
    text = f"FOUNDER {channel.key} {channel.registered_at!r} {channel.founder} {heir.key} {heir.registered_at!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@chanserv.command("SET", 3, "SET <#channel> FOUNDER <account> [code]",
                  "Gives the channel to another account: without a code, tells you the code "
                  "that confirms it.")  # fmt: skip
def cs_set(ctx: Context, args: list[str]) -> None:
    account = _account(ctx)
    channel = _channel(ctx, args[0]) if account else None
    if account is None or channel is None:
        return
    if args[1].upper() != "FOUNDER":
        _say(ctx, "Unknown setting. Settings: FOUNDER")
        return
    if not _may_manage(ctx, channel, account, founder_only=True):
        return
    heir = ctx.state.accounts.get(casefold(args[2]))
    if heir is None:
        _say(ctx, "Account does not exist")
        return
    # the bound REGISTER keeps, kept for the heir too (giving a channel to oneself is no new one)
    full = f"Could not transfer channel: {heir.name} has already registered the maximum number of channels"
    if heir.key != channel.founder and ctx.state.founded(heir.key) >= ctx.config.accounts.max_channels:
        _say(ctx, full)
        return
    name = channel.name
    # A typo in the account gives the channel away for good (only the heir could give
    # it back), so the change waits for its code, as DROP does; asked only once every
    # refusal above is said. Giving it to its own founder hands nothing over: no code.
    code = _founder_code(channel, heir)
    if heir.key != channel.founder and (len(args) < 4 or args[3] != code):
        if len(args) >= 4:
            _say(ctx, f"{args[3]} is not the code that confirms it.")
        _say(ctx, f"Warning: this gives {name} to the account {heir.name}: you will no longer be its founder, "
                  f"and only {heir.name} could give it back.")  # fmt: skip
        # /msg, which every client sends as it is (/CS is a command of some clients only)
        _say(ctx, f"To confirm, run this command: /msg ChanServ SET {name} FOUNDER {heir.name} {code}")
        return
    # Refused as applied, in the network's order: given away first (by another of the
    # account's connections, on another node), the heir's last free place taken, or
    # dropped (or its founder's account) first.
    refusals = {NOT_ALLOWED: ONLY_FOUNDER, TOO_MANY: full}

    def founder_set(outcome: Outcome) -> None:
        if outcome.rejected is not None:
            _say(ctx, refusals.get(outcome.rejected, f"Channel {name} is not registered"))
            return
        ctx.svc.audit.channel_given(ctx.user, name, heir.name)
        _say(ctx, f"The founder of {name} is now {heir.name}")
        given = outcome.channel
        if given is None or ctx.state.channels.get(given.key) is not given:
            return
        # The founder's status (+q) changes hands in the channel now, not at the next join:
        # whoever is there logged in to the old account loses it, the heir's connections
        # get it. Looked for now, as the change is applied in the network's order, not when
        # the command came: in a cluster this replica may not have applied yet a join
        # ordered before it (the old founder's connection, given ~ on another node, or the
        # heir's), nor another SET FOUNDER (the founder before this one is the applier's).
        # Owed: what a change ordered between this one and these (another SET FOUNDER)
        # makes the channel owe counts instead.
        old, new = outcome.old_founder, heir.key
        if old == new:
            return
        for member in list(given.members):
            owner = casefold(member.account or "")
            if owner == new and given.rank(member) < FOUNDER:
                _set_status(ctx, given, member, "q", True, owed=True)
            elif owner == old and given.rank(member) >= FOUNDER:
                _set_status(ctx, given, member, "q", False, owed=True)

    ctx.emit(ChannelFounderSet(name, heir.key, account, ctx.config.accounts.max_channels), founder_set)


def _drop_code(channel: Channel) -> str:
    return hashlib.sha256(f"{channel.key} {channel.registered_at!r}".encode()).hexdigest()[:8]


@chanserv.command("DROP", 1, "DROP <#channel> [code]",
                  "Unregisters a channel: DROP alone tells you the code that confirms it.")  # fmt: skip
def cs_drop(ctx: Context, args: list[str]) -> None:
    account = _account(ctx)
    channel = _channel(ctx, args[0]) if account else None
    if account is None or channel is None:
        return
    if not _may_manage(ctx, channel, account, founder_only=True):
        return
    if len(args) < 2 or args[1] != _drop_code(channel):
        if len(args) >= 2:
            _say(ctx, f"{args[1]} is not the code that confirms it.")
        _say(ctx, "Warning: unregistering this channel will remove all stored channel attributes.")
        # /msg, which every client sends as it is (/CS is a command of some clients only)
        _say(ctx, f"To confirm, run this command: /msg ChanServ DROP {channel.name} {_drop_code(channel)}")
        return
    name = channel.name

    def dropped(outcome: Outcome) -> None:
        _say(ctx, f"Channel {name} is now unregistered")
        if outcome.rejected is None:
            ctx.svc.audit.channel_dropped(ctx.user, name)
            # The founder status goes with the registration, from every connection: looked
            # for now, in the network's order, not when the command came. In a cluster this
            # replica may not have applied yet a join ordered before the drop (a founder's
            # connection on another node, given ~ by it); from the drop on, none is given.
            founders_gone(ctx, [channel])

    ctx.emit(ChannelDropped(name, ctx.now()), dropped)


chanserv.commands["UNREGISTER"] = chanserv.commands["DROP"]


def founders_gone(ctx: Context, channels: list[Channel]) -> None:
    """`channels` are no longer owned (ChanServ DROP, or NickServ DROP of their founder's
    account): whoever holds their founder status (+q), on any connection, loses it."""
    for channel in channels:
        if ctx.state.channels.get(channel.key) is not channel:
            continue
        for member in list(channel.members):
            if channel.rank(member) >= FOUNDER:
                _set_status(ctx, channel, member, "q", False)


@chanserv.command("HELP", 0, "HELP [command]", "Lists the commands, or explains one.")
def cs_help(ctx: Context, args: list[str]) -> None:
    chanserv.help(ctx, args)


@command("CHANSERV")
def handle_chanserv(ctx: Context, message: Message) -> None:
    chanserv.run(ctx, [p for param in message.params for p in param.split()])


@command("CS")
def handle_cs(ctx: Context, message: Message) -> None:
    handle_chanserv(ctx, message)
