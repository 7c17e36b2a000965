"""SILENCE's lists: whose private messages and invitations a user never receives.

A server-side ignore, as ircu, UnrealIRCd and InspIRCd's m_silence have it: a person
harassed in private stops it at the server, and the harasser is told nothing. A list
is its owner's own, like a MONITOR list: it lives on the owner's connection
(`Connection.silence`), never in the replicated chat state, and is checked where a
private message is delivered to that connection, on the owner's node (announce.py).
So it works in a cluster without events of its own, and a connection without a list
pays one `is None` test per private message it receives, nothing more.

Entries are channel-ban masks (bans.py): `nick!user@host` globs, completed the same
way (`bob` is `bob!*@*`, `*@host` is `*!*@host`), whose host part also matches the
sender's address and may be a CIDR block, and `a:<account>` for whoever is logged in
to a matching account, whatever their nick or address. Two spellings of one mask are
one entry. Mutes (`m:`) mean nothing here and are refused.

What a list keeps out, and what it does not:

* private PRIVMSG, NOTICE, TAGMSG (typing notifications, reactions) and draft/multiline
  messages to its owner, and INVITEs (the line; the invitation still stands, it only
  ever lets its target in). Not channel messages: the channel fan-out is the compiled
  loop every message passes (announce.to_members's, called by the announcement of a
  message), and a per-member check there would
  cost every message of every channel; clients' own /ignore covers channels.
* Not operators (user mode +o): they reach everyone, as with user mode +R.
* The sender is told nothing: no error, its echo-message copy as usual, and the 301
  of an away target as usual. InspIRCd and UnrealIRCd skip that 301 when sender and
  target share a server (their check comes before it); here it is not skipped, for
  two reasons: the 301 is sent by the sender's node, which in a cluster cannot know a
  list kept on another node, and a sender who sees the target away in WHOIS but gets
  no 301 would learn it is silenced, which is what the owner asked to keep from it.
"""

from __future__ import annotations

from hubbub.irc.casemap import casefold
from hubbub.server.bans import ACCOUNT, EXTBAN_TYPES, BadMask, MaskList, Seen, normalize
from hubbub.server.user import User

_PLAIN = ("",)
_ACCOUNTS = (ACCOUNT,)
_REFUSED_TYPES = EXTBAN_TYPES.replace(ACCOUNT, "")  # m: (mute) and any later channel-only type


def silence_mask(text: str) -> str:
    """`text` as a list entry (`nick!user@host` or `a:account`), or BadMask."""
    mask = normalize(text)
    if mask[1:2] == ":" and mask[0] in _REFUSED_TYPES:
        raise BadMask(f"a SILENCE mask is nick!user@host or {ACCOUNT}:account, not {mask[0]}:")
    return mask


class SilenceList:
    """One connection's entries, in the order they were added."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries = MaskList()

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, mask: str) -> bool:
        return self.entries.find(mask) is not None

    def masks(self) -> list[str]:
        return [entry.mask for entry in self.entries.entries]

    def add(self, mask: str) -> bool:
        """Add a mask `silence_mask` made; False if it was there already."""
        if mask in self:
            return False
        self.entries.add(mask, "", 0)
        return True

    def remove(self, mask: str) -> str | None:
        """Take out the entry `mask` stands for; the entry as it was added, or None."""
        entry = self.entries.remove(mask)
        return entry.mask if entry is not None else None

    def hushes(self, sender: User) -> bool:
        """Whether a private message or invitation from `sender` is kept from the owner."""
        if "o" in sender.modes:
            return False
        entries = self.entries
        if entries.matches_user(Seen.of(sender.prefix, sender.host, sender.ip), _PLAIN):
            return True
        account = sender.account
        return account is not None and entries.matches(casefold(account), _ACCOUNTS)
