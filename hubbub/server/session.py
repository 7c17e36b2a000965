"""One connection's protocol: received lines in, replies out through the client's link.

The session decodes and checks each line (length, UTF-8, grammar), decides on the
first line whether the peer speaks IRC or is a person typing (plain mode), and hands
commands to the dispatcher. Transports feed it lines; tests can too, without sockets.
"""

from __future__ import annotations

from hubbub.irc import numerics as n
from hubbub.irc.message import ParseError, parse
from hubbub.plain import PlainSession, looks_like_irc
from hubbub.server import handlers  # noqa: F401  (registers every command)
from hubbub.server.client import Client, Link
from hubbub.server.commands import dispatch
from hubbub.server.network import Network

# The non-tag part of a line, CRLF included, is at most 512 bytes; tags may add 8191.
MAX_BODY = 512 - 2
MAX_TAGS = 8191
MAX_LINE = MAX_BODY + MAX_TAGS + 1

WELCOME_NOTICE = (
    "*** Welcome to hubbub. Type a nickname and press Enter to chat, "
    "or connect with an IRC client."
)


class Session:
    __slots__ = ("net", "client", "_decided")

    def __init__(self, net: Network, link: Link, ip: str) -> None:
        self.net = net
        self.client = Client(net, link, ip, net.clock())
        self._decided = False
        net.connect(self.client)
        self.client.server_message("NOTICE", "*", WELCOME_NOTICE)

    def line_too_long(self) -> None:
        self.client.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")

    def line_received(self, raw: bytes) -> None:
        """Handle one received line (line ending already removed)."""
        client = self.client
        if client.gone:
            return
        client.last_activity = self.net.clock()
        client.ping_sent = False
        body_len = len(raw)
        if raw[:1] == b"@":
            space = raw.find(b" ")
            tags_len = space if space >= 0 else len(raw)
            if tags_len > MAX_TAGS:
                self.line_too_long()
                return
            body_len -= tags_len + 1
        if body_len > MAX_BODY:
            self.line_too_long()
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._invalid_utf8(raw)
            return
        if not text.strip(" "):
            return
        if not self._decided:
            self._decided = True
            if not looks_like_irc(text):
                client.plain = PlainSession(client)
        if client.plain is not None:
            client.plain.line_received(text)
            return
        try:
            message = parse(text)
        except ParseError:
            client.fail("*", "INVALID_MESSAGE", "Could not parse that line")
            return
        dispatch(client, message)

    def _invalid_utf8(self, raw: bytes) -> None:
        """UTF8ONLY: reject the line, name its command when it can be read, keep the link."""
        text = raw.decode("utf-8", "replace")
        command = "*"
        if self.client.plain is None:
            try:
                command = parse(text).command
            except ParseError:
                pass
        self.client.fail(
            command,
            "INVALID_UTF8",
            "Message rejected, your IRC software MUST use UTF-8 encoding on this network",
        )

    def connection_lost(self, reason: str) -> None:
        """The transport closed; make the client leave if it has not already."""
        self.net.quit(self.client, reason)
