"""SILENCE: a server-side ignore list of one's own (what it keeps out: silence.py).

    SILENCE                 the list: 271 per entry, then 272
    SILENCE +<mask>         add (a bare <mask> adds too): `:you!u@h SILENCE +<mask>`
    SILENCE -<mask>         remove: `:you!u@h SILENCE -<mask>`

The numerics were never standardized, and servers differ:

* ircu (s_err.c), where SILENCE began: `271 <client> <owner> <mask>`,
  `272 <client> <owner> :End of Silence List`, `511 <client> <mask> :Your silence list
  is full`; the confirmation is the command itself, from the user.
* UnrealIRCd (include/numeric.h, src/modules/silence.c): `271 <client> <mask>`,
  `272 <client> :End of Silence List`, the same 511 and confirmation.
* InspIRCd (docs.inspircd.org "silence" module, m_silence.cpp): `271 <client> <mask>
  <flags>`, `272 <client> :End of SILENCE list`, `511 <client> <mask> <flags> :Your
  SILENCE list is full`, its own 952 for errors; `maxentries` 32 by default.

We send ircu's 271, which irssi reads (its parser takes `<client> <nick> <mask>`;
Unreal's shorter line reads there as a nick with no mask), with the owner's nick
always the client's own; UnrealIRCd's 272 (no owner: there is no other list to end);
and the 511 of ircu and UnrealIRCd. `limits.silence` (SILENCE= in ISUPPORT) is
InspIRCd's 32 by default. Masks are shown in their completed form (`bob` is
`bob!*@*`), as the list keeps them.

Adding an entry already there changes nothing and says nothing, as theirs do; removing
one that is not there is `FAIL SILENCE NO_SUCH_ENTRY` (UnrealIRCd says nothing,
InspIRCd 952), so that a mistyped removal is not taken for a done one. A missing mask
(`SILENCE +`, an empty parameter) is 461: InspIRCd would read a lone `+` as `*`,
silencing everyone. InspIRCd's second parameter (flags: which kinds of message,
exemptions) is not supported (no ESILENCE token): a list keeps out every kind
silence.py names, and a second parameter is ignored. ircu's `SILENCE <nick>` (another
user's list) is not offered: a bare nick adds `nick!*@*`, as InspIRCd and UnrealIRCd
take it.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.server.bans import MASKLEN, BadMask
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.handlers.replies import shown
from hubbub.server.silence import SilenceList, silence_mask


@command("SILENCE")
def handle_silence(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    if not message.params:
        for mask in conn.silence.masks() if conn.silence is not None else ():
            conn.numeric(n.RPL_SILELIST, conn.nick, mask)
        conn.numeric(n.RPL_ENDOFSILELIST, "End of Silence List")
        return
    text = message.params[0]
    adding = not text.startswith("-")
    if text[:1] in ("+", "-"):
        text = text[1:]
    if not text:  # `SILENCE :`, a lone + or -: no mask given
        conn.numeric(n.ERR_NEEDMOREPARAMS, "SILENCE", "Not enough parameters")
        return
    try:
        mask = silence_mask(text)
    except BadMask as exc:
        conn.fail("SILENCE", "INVALID_MASK", shown(text) if len(text.encode()) <= MASKLEN else "*", str(exc))
        return
    silence = conn.silence or SilenceList()
    if adding:
        if mask in silence:
            return
        if len(silence) >= ctx.config.limits.silence:
            conn.numeric(n.ERR_SILELISTFULL, mask, "Your silence list is full")
            return
        silence.add(mask)
    else:
        removed = silence.remove(mask)
        if removed is None:
            conn.fail("SILENCE", "NO_SUCH_ENTRY", mask, "That mask is not on your silence list")
            return
        mask = removed  # as the list showed it
    conn.silence = silence or None  # an empty list is none: the one test a private message pays
    conn.send(Message("SILENCE", [("+" if adding else "-") + mask], ctx.user.prefix))
