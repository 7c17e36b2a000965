"""One connection's protocol: received lines in, replies out through the client's link.

The session decodes and checks each line (length, UTF-8, grammar), decides on the
first line whether the peer speaks IRC or is a person typing (plain mode), and hands
commands to the dispatcher. Transports feed it lines; tests can too, without sockets.
"""

from __future__ import annotations

import logging

from hubbub.irc import numerics as n
from hubbub.irc.message import MAX_LINE_BODY, ParseError, parse
from hubbub.plain import PlainSession, looks_like_irc
from hubbub.server import handlers  # noqa: F401  (registers every command)
from hubbub.server.client import Client, Link
from hubbub.server.commands import dispatch
from hubbub.server.labels import answers_labels, usable_label
from hubbub.server.network import Network

log = logging.getLogger("hubbub.session")

# The non-tag part of a line, CRLF included, is at most 512 bytes; the tag section,
# its '@' and the space after it included, may add 8191 (IRCv3 message-tags).
MAX_BODY = MAX_LINE_BODY
MAX_TAGS = 8191
MAX_LINE = MAX_BODY + MAX_TAGS  # the longest line, its ending not counted

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

    @property
    def speaks_irc(self) -> bool:
        """Whether the peer's first line was IRC (False until it sent one, and in plain mode)."""
        return self._decided and self.client.plain is None

    def flood_exempt(self, raw: bytes) -> bool:
        """Whether `raw` is a line of the client's open, accepted multiline batch: such
        lines cost no flood token, the batch being bounded by its max-lines and
        max-bytes and its opening having paid."""
        batch = self.client.batch
        if batch is None or batch.failed or raw[:1] != b"@":
            return False
        end = raw.find(b" ")
        tags = raw[1:end] if end > 0 else raw[1:]
        return b"batch=" + batch.ref.encode() in tags.split(b";")

    def line_too_long(self) -> None:
        self.client.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")

    def line_received(self, raw: bytes) -> None:
        """Handle one received line (line ending already removed).

        A failure of ours while handling it is logged and costs this client its
        connection (its state may be half-changed); it never reaches anyone else.
        """
        try:
            self._line_received(raw)
        except Exception:
            log.exception("internal error handling a line from %r", self.client)
            self.net.disconnect(self.client, "Internal error")

    def _line_received(self, raw: bytes) -> None:
        client = self.client
        if client.gone:
            return
        client.last_activity = self.net.clock()
        client.ping_sent = False
        body_len = len(raw)
        if raw[:1] == b"@":
            space = raw.find(b" ")
            tags_len = space if space >= 0 else len(raw)
            if tags_len + 1 > MAX_TAGS:  # message-tags: 8191 bytes with the '@' and the space
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
            self._unparsable(text)
            return
        dispatch(client, message)

    def _unparsable(self, text: str) -> None:
        """FAIL a line that is not IRC; labeled when its tag section carries a label."""
        self._refuse("*", "INVALID_MESSAGE", "Could not parse that line", self._label_of(text))

    def _label_of(self, text: str) -> str | None:
        """The label of a line we refuse (labeled-response), read from its tag section alone."""
        if not text.startswith("@") or not answers_labels(self.client):
            return None
        tag_section = text.partition(" ")[0]
        if "\ufffd" in tag_section:  # undecodable bytes: not the label the client sent
            return None
        try:
            return usable_label(parse(tag_section + " X").tags)
        except ParseError:
            return None

    def _refuse(self, command: str, code: str, text: str, label: str | None) -> None:
        with self.client.labeled_reply(label):
            self.client.fail(command, code, text)

    def _invalid_utf8(self, raw: bytes) -> None:
        """UTF8ONLY: reject the line, name its command when it can be read, keep the link."""
        if self.client.plain is not None:
            # a person, most likely with a terminal in a legacy encoding (cp1251, cp866)
            self.client.plain.say(
                "* That line was not sent: it is not UTF-8 text. "
                "Set your terminal to UTF-8 and type it again."
            )
            return
        text = raw.decode("utf-8", "replace")
        command = "*"
        try:
            command = parse(text).command
        except ParseError:
            pass
        self._refuse(
            command,
            "INVALID_UTF8",
            "Message rejected, your IRC software MUST use UTF-8 encoding on this network",
            self._label_of(text),
        )

    def disconnect(self, reason: str) -> None:
        self.net.disconnect(self.client, reason)

    def connection_lost(self, reason: str) -> None:
        """The transport closed; make the client leave if it has not already."""
        self.net.quit(self.client, reason)
