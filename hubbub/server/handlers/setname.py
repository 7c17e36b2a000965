"""SETNAME: change one's realname without reconnecting (IRCv3 setname).

The new realname is confirmed with a SETNAME from the user's own mask, to the user
and to everyone sharing a channel with it, each only if it negotiated `setname`;
a client that did not negotiate it gets no reply, as historic servers did. A realname
that is empty or longer than NAMELEN (ISUPPORT) is refused with FAIL INVALID_REALNAME.
"""

from __future__ import annotations

from hubbub.irc.message import Message
from hubbub.server.client import Client
from hubbub.server.commands import command
from hubbub.server.notify import realname_changed


@command("SETNAME")
def handle_setname(client: Client, message: Message) -> None:
    realname = message.param(0)
    namelen = client.net.config.limits.namelen
    if not realname or len(realname) > namelen:
        client.fail("SETNAME", "INVALID_REALNAME", f"Realname is not valid (1 to {namelen} characters)")
        return
    if realname == client.realname:
        if "setname" in client.caps:
            client.send(Message("SETNAME", [realname], client.prefix))
        return
    client.realname = realname
    realname_changed(client)
