"""Who may do what in a channel: one place for every rule, so that JOIN, speaking,
NICK, TOPIC, MODE, KICK and INVITE can never disagree.

Ranks (channel.py): voice < halfop < op.

* voice (+): speaks in a moderated (+m) channel and through bans and mutes.
* halfop (%): all of the above; sets the topic under +t; invites to a +i channel;
  sets every channel mode and list, and the channel's metadata, and gives or takes
  voice; kicks members below halfop.
* op (@): all of the above; gives or takes op and halfop; kicks anyone but the
  protected and the founder; renames the channel (RENAME).
* protected (&): all of the above, and cannot be kicked or deopped by ops.
* founder (~): all of the above; gives or takes +q and +a; kicks anyone.
* Anyone may drop their own status (`MODE #c -o me`).
* An INVITE lets its target in once past +i, +b, +k and +l alike.
* +C (no CTCP but ACTION) and +T (no NOTICE) bind members below halfop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.server import joinflood
from hubbub.server.bans import ACCOUNT, MUTE, MaskList, Seen
from hubbub.server.chanmodes import CHANNEL_MODES, ModeSpec
from hubbub.server.channel import FOUNDER, HALFOP, OP, PROTECTED, STATUS_MODES, VOICE, Channel
from hubbub.server.throttle import seconds_words
from hubbub.server.user import User
from hubbub.server.usermodes import refuses_unregistered

if TYPE_CHECKING:
    from hubbub.server.events import ModeChange

_BANS = ("",)
_MUTES = (MUTE,)
_ANY_EXCEPTION = ("", MUTE)
_ACCOUNTS = (ACCOUNT,)


def _seen(user: User) -> Seen:
    return Seen.of(user.prefix, user.host, user.ip)


def _listed(entries: MaskList, user: User, who: Seen, kinds: tuple[str, ...]) -> bool:
    """Matched by a mask of `kinds` on nick!user@host (or its address), or by an `a:`
    mask on its account (an `m:a:` one too, when mutes count)."""
    if entries.matches_user(who, kinds):
        return True
    if user.account is None:
        return False
    account = casefold(user.account)
    return entries.matches(account, _ACCOUNTS) or (MUTE in kinds and _account_muted(entries, account))


def _account_muted(entries: MaskList, account: str) -> bool:
    """An `m:a:<mask>` entry matching the (casefolded) account name."""
    return entries.matches(f"{ACCOUNT}:{account}", _MUTES)


def is_banned(channel: Channel, user: User) -> bool:
    """Matched by a +b mask and by no +e mask."""
    bans = channel.lists["b"]
    if not bans:
        return False
    who = _seen(user)
    return _listed(bans, user, who, _BANS) and not _listed(channel.lists["e"], user, who, _BANS)


def is_muted(channel: Channel, user: User) -> bool:
    """Matched by a +b m: mask and by no +e mask (a plain one or an m: one)."""
    bans = channel.lists["b"]
    if not bans:
        return False
    who = _seen(user)
    muted = bans.matches_user(who, _MUTES) or (
        user.account is not None and _account_muted(bans, casefold(user.account))
    )
    return muted and not _listed(channel.lists["e"], user, who, _ANY_EXCEPTION)


OWNERS_LETTERS = "qaoh"  # statuses a registered channel gives that let their holder in whatever its modes


def _let_in_by_name(channel: Channel, user: User) -> bool:
    """Invited, or made halfop or more by a registered channel's access list: let in
    whatever the channel's modes, and told of it even if it is secret."""
    if user.uid in channel.invited:
        return True
    status = channel.registered_status(user)
    return bool(status) and status[0] in OWNERS_LETTERS


def knows_of(channel: Channel, user: User) -> bool:
    """Whether a secret channel exists for `user` though it is not a member: invited to
    it, let in by name (its access list, an +I entry). That the channel would let anyone
    in is no such reason: a +s channel without +i is joinable by whoever knows its name,
    and KNOCK must not be a way to learn it exists without a JOIN its members see."""
    if _let_in_by_name(channel, user):
        return True
    invex = channel.lists["I"]
    return bool(invex) and _listed(invex, user, _seen(user), _BANS)


def join_refusal(channel: Channel, user: User, key: str, now: float | None = None) -> tuple[str, str] | None:
    """Why `user` may not join, as (numeric, text), or None when it may. A registered
    channel's founder, and those its access list makes halfop or more, always may (as in
    ergo): +i, a key, a limit or a ban set by anyone must not lock its owners out. With
    `now`, a channel +j closed is closed too."""
    if _let_in_by_name(channel, user):
        return None
    if is_banned(channel, user):
        return n.ERR_BANNEDFROMCHAN, "Cannot join channel (+b)"
    if "i" in channel.modes and not _listed(channel.lists["I"], user, _seen(user), _BANS):
        return n.ERR_INVITEONLYCHAN, "Cannot join channel (+i)"
    if "R" in channel.modes and user.account is None:
        return n.ERR_NEEDREGGEDNICK, "Cannot join channel (+R): log in to your account first"
    if channel.join_key is not None and key != channel.join_key:
        return n.ERR_BADCHANNELKEY, "Cannot join channel (+k)"
    if channel.limit is not None and len(channel.members) >= channel.limit:
        return n.ERR_CHANNELISFULL, "Cannot join channel (+l)"
    if now is not None and joinflood.is_closed(channel, now):
        wait = seconds_words(channel.join_closed[1] - now)
        return n.ERR_UNAVAILRESOURCE, f"Cannot join channel (+j): too many joins at once, try again in {wait}"
    return None


def channel_refuses_speech(channel: Channel, user: User) -> str | None:
    """Why a PRIVMSG, NOTICE or TAGMSG from `user` may not reach `channel` (the text of
    ERR_CANNOTSENDTOCHAN), or None when it may."""
    if "n" in channel.modes and user not in channel.members:
        return "Cannot send to channel (no external messages)"
    if channel.rank(user) >= VOICE:
        return None
    if "m" in channel.modes:
        return "Cannot send to channel (+m)"
    if "M" in channel.modes and user.account is None:
        return "Cannot send to channel (+M): log in to your account to speak"
    if not channel.lists["b"].entries:  # no ban, no mute: asked once here, not by each below (a frame each)
        return None
    if is_banned(channel, user):
        return "Cannot send to channel (you are banned)"
    if is_muted(channel, user):
        return "Cannot send to channel (you are muted)"
    return None


def is_ctcp_but_action(text: str) -> bool:
    """A CTCP request or reply (`\x01VERSION\x01`) other than ACTION, which is /me."""
    if not text.startswith("\x01"):
        return False
    word = text[1:].split(" ", 1)[0].rstrip("\x01")
    return word.upper() != "ACTION"


def channel_refuses_content(channel: Channel, user: User, command: str, text: str) -> str | None:
    """Why `text` sent by `user` with `command` may not reach `channel` under +C or +T
    (the text of ERR_CANNOTSENDTOCHAN), or None when it may."""
    modes = channel.modes
    if "C" not in modes and "T" not in modes:
        return None
    if channel.rank(user) >= HALFOP:
        return None
    if "T" in modes and command == "NOTICE":
        return "Cannot send to channel (+T)"
    if "C" in modes and is_ctcp_but_action(text):
        return "Cannot send to channel (+C)"
    return None


def nick_change_blocked_by(user: User) -> Channel | None:
    """A channel where `user` is banned or muted without voice: there, a new nick
    would be a way around the ban, so the nick change is refused."""
    for channel in user.channels.values():
        if channel.rank(user) < VOICE and (is_banned(channel, user) or is_muted(channel, user)):
            return channel
    return None


def may_set_topic(channel: Channel, user: User) -> bool:
    return user in channel.members and ("t" not in channel.modes or channel.rank(user) >= HALFOP)


def may_invite(channel: Channel, user: User) -> bool:
    """Any member may invite to an open channel; to a +i one, halfops and above."""
    return "i" not in channel.modes or channel.rank(user) >= HALFOP


def invite_refusal(channel: Channel, user: User, target: User) -> tuple[str, str] | None:
    """Why `user` may not invite `target` to `channel`, as (numeric, text), or None when
    it may. The INVITE handler asks it of its node's state, and the applier asks it again
    of the state in the network's order, where the inviter may have been deopped or
    kicked, or the target have joined or set +R, on another node meanwhile (a cluster):
    one rule, so that the two never disagree."""
    if channel.hidden_from(user):  # a secret channel does not exist outside
        return n.ERR_NOSUCHCHANNEL, "No such channel"
    if user not in channel.members:
        return n.ERR_NOTONCHANNEL, "You're not on that channel"
    if not may_invite(channel, user):
        return n.ERR_CHANOPRIVSNEEDED, "You're not channel operator"
    if target in channel.members:
        return n.ERR_USERONCHANNEL, "is already on channel"
    if refuses_unregistered(target, user):  # +R: the target never sees it, so it lets no one in either
        return n.ERR_NONONREG, "only takes invitations from users logged in to an account"
    return None


def invitation_admits(channel: Channel, user: User) -> bool:
    """Only an invitation from someone who could lift +i, +b, +k and +l lets its target
    past them; a plain member's INVITE is a suggestion, not a key."""
    return channel.rank(user) >= HALFOP


def outranks(channel: Channel, actor: User, target: User) -> bool:
    """Whether `actor` may act against `target`'s membership (kick, take its status):
    halfops against those below them, ops against anyone but the protected and the
    founder, the protected against all but the founder, the founder against anyone."""
    rank, theirs = channel.rank(actor), channel.rank(target)
    if rank >= FOUNDER:
        return True
    if rank >= PROTECTED:
        return theirs < FOUNDER
    if rank >= OP:
        return theirs < PROTECTED
    return rank >= HALFOP and theirs < HALFOP


def may_rename(channel: Channel, user: User) -> bool:
    """RENAME changes what everyone calls the channel: ops only."""
    return channel.rank(user) >= OP


def may_set_metadata(channel: Channel, user: User) -> bool:
    """A channel's metadata is set like its modes: halfops and above."""
    return channel.rank(user) >= HALFOP


def may_kick(channel: Channel, kicker: User, victim: User) -> bool:
    return outranks(channel, kicker, victim)


def may_change_mode(channel: Channel, user: User, spec: ModeSpec) -> bool:
    return channel.rank(user) >= spec.min_rank


def may_apply_mode(
    channel: Channel, user: User, change: ModeChange, find_user: Callable[[str], User | None]
) -> bool:
    """The rules handlers/modes.py applies to a member's change (not SAMODE's, not a
    service's), as apply.py checks them again in the network's order: the member's rank
    at least the mode's; another's status taken only by one who outranks it; one's own
    status dropped by anyone. `find_user` finds a status change's target by uid."""
    spec = CHANNEL_MODES.get(change.letter)
    if spec is None:
        return True
    if change.letter in STATUS_MODES:
        target = find_user(change.param) if change.param else None
        if not change.adding and target is user:
            return True
        if not may_change_mode(channel, user, spec):
            return False
        return change.adding or target is None or outranks(channel, user, target)
    return may_change_mode(channel, user, spec)


def sees_lists(channel: Channel, user: User) -> bool:
    """Ban and exception lists are shown to anyone, except for a secret channel's outsiders."""
    return not channel.hidden_from(user)
