"""SETNAME: change one's realname without reconnecting (IRCv3 setname).

The new realname is confirmed with a SETNAME from the user's own mask, to the user
and to everyone sharing a channel with it, each only if it negotiated `setname`;
a client that did not negotiate it gets no reply, as historic servers did. A realname
that is empty or longer than NAMELEN (ISUPPORT) is refused with FAIL INVALID_REALNAME.
"""

from __future__ import annotations

from hubbub.irc.message import Message
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.delivery import new_msgid
from hubbub.server.events import RealnameSet


@command("SETNAME")
def handle_setname(ctx: Context, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    realname = message.param(0)
    namelen = ctx.config.limits.namelen
    if not realname or len(realname.encode()) > namelen:
        conn.fail("SETNAME", "INVALID_REALNAME", f"Realname is not valid (1 to {namelen} bytes)")
        return
    if realname == user.realname:
        if "setname" in conn.caps:
            conn.send(Message("SETNAME", [realname], user.prefix))
        return
    ctx.emit(RealnameSet(user.uid, realname, ctx.now(), new_msgid()))
