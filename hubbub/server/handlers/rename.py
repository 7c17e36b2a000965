"""RENAME: a channel takes a new name and keeps everything else (draft/channel-rename).

Channel operators rename their channel; the new name must be a valid channel name
that no other channel has (a change of case only is always allowed). Members with the
capability see `RENAME old new :reason`; the others see themselves PART the old name
and JOIN the new one, with its topic and NAMES (announce.py). The old name is free
again at once: there is no redirection (`FAIL JOIN CHANNEL_RENAMED`). A channel
registered with ChanServ is not renamed (its registration is kept under its name), and
its history stays with the old name, as history is kept per channel name. No channel is
renamed to the server's default channel (`server.default_channel`, whose creator is not
its op): its ops would be the lobby's.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import MAX_LINE_BODY, Message, fit_utf8
from hubbub.irc.validate import is_valid_channel
from hubbub.server import access
from hubbub.server.apply import Outcome
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import ChannelRenamed
from hubbub.server.handlers.channels import creator_op
from hubbub.server.handlers.replies import shown

REASONLEN = 300


def _fail(ctx: Context, code: str, old: str, new: str, text: str) -> None:
    ctx.conn.fail("RENAME", code, old, new, text)


@command("RENAME", min_params=2)
def handle_rename(ctx: Context, message: Message) -> None:
    conn, user, state = ctx.conn, ctx.user, ctx.state
    old_name, new_name = message.params[0], message.params[1]
    channel = state.find_channel(old_name)
    if channel is None or channel.hidden_from(user):
        conn.numeric(n.ERR_NOSUCHCHANNEL, shown(old_name), "No such channel")
        return
    if user not in channel.members:
        conn.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if not access.may_rename(channel, user):
        conn.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You must be a channel operator")
        return
    # registered: its registration is kept under its name; its case may change (the spec's MUST)
    if channel.founder is not None and casefold(new_name) != channel.key:
        _fail(ctx, "CANNOT_RENAME", channel.name, new_name, "A registered channel cannot be renamed")
        return
    if not is_valid_channel(new_name, ctx.config.limits.channellen):
        conn.numeric(n.ERR_BADCHANMASK, shown(new_name), "Bad Channel Mask")
        return
    if new_name == channel.name:
        _fail(ctx, "CANNOT_RENAME", channel.name, new_name, "The channel already has that name")
        return
    if not creator_op(ctx.config.server, new_name) and casefold(new_name) != channel.key:
        # its ops would be the lobby's: the way around its creator not being its op
        _fail(ctx, "CANNOT_RENAME", channel.name, new_name, "That is the server's default channel: no channel "
              "is renamed to it")  # fmt: skip
        return
    holder = state.find_channel(new_name)
    if holder is not None and holder is not channel:
        _fail(ctx, "CHANNEL_NAME_IN_USE", channel.name, new_name, "The channel name is already taken")
        return
    # the relayed RENAME, and each member's PART shown in its place, stay within 512 bytes
    longest = max(len(member.prefix.encode()) for member in channel.members)
    head = max(len(f":{user.prefix} RENAME {channel.name} {new_name} :".encode()),
               longest + len(f": PART {channel.name} :".encode()))  # fmt: skip
    reason = fit_utf8(message.param(2)[:REASONLEN], MAX_LINE_BODY - head)
    old = channel.name

    def done(outcome: Outcome) -> None:
        if outcome.rejected == "taken":
            _fail(ctx, "CHANNEL_NAME_IN_USE", old, new_name, "The channel name is already taken")
        elif outcome.rejected == "registered":  # registered meanwhile, in the network's order
            _fail(ctx, "CANNOT_RENAME", old, new_name, "A registered channel cannot be renamed")
        elif outcome.rejected is not None:
            conn.numeric(n.ERR_NOSUCHCHANNEL, shown(old), "No such channel")

    ctx.emit(ChannelRenamed(user.uid, old, new_name, reason, ctx.now(), new_msgid()), done)
