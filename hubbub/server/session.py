"""One connection's IRC protocol: received lines in, replies out through its output.

The session makes the connection's user known to the chat (a `Connected` event),
decodes and checks each line (length, UTF-8, grammar) and hands commands to the
dispatcher. Transports feed it lines through the plain-mode intake (hubbub/plain), or
directly when the peer can only be an IRC client (a WebSocket); tests can feed it
directly, without sockets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.message import MAX_LINE_BODY, Message, ParseError, parse, parse_common
from hubbub.server import handlers  # noqa: F401  (registers every command)
from hubbub.server.addresses import counted_as
from hubbub.server.apply import K_LINED, Outcome
from hubbub.server.commands import COMMANDS, dispatch
from hubbub.server.connection import Connection
from hubbub.server.context import Context, Services
from hubbub.server.events import Connected
from hubbub.server.gateways import is_gateway
from hubbub.server.labels import answers_labels, usable_label
from hubbub.server.output import IrcOutput, Link

log = logging.getLogger("hubbub.session")

# The non-tag part of a line, CRLF included, is at most 512 bytes; the tag section,
# its '@' and the space after it included, may add 8191 (IRCv3 message-tags).
MAX_BODY = MAX_LINE_BODY
MAX_TAGS = 8191
MAX_LINE = MAX_BODY + MAX_TAGS  # the longest line, its ending not counted
# COMMANDS.get, bound once: a method of an imported name is looked up generically at each
# call (the compiler makes no method call of it), and every line asks
_command_of = COMMANDS.get


class Session:
    __slots__ = ("svc", "link", "ctx", "ip", "incoming")
    # As a transport's session (a WebSocket's): the peer is an IRC client, its bytes go
    # to no telnet filter (see SessionPort).
    speaks_irc = True
    keystrokes = False

    def __init__(self, svc: Services, link: Link, ip: str, secure: bool = False, certfp: str | None = None) -> None:
        self.svc = svc
        self.link = link
        self.ctx: Context | None = None
        self.ip = ip
        # None: no telnet filter. A slot of its own, not a class default: the transport
        # reads it for every read, and the interpreter (3.11) specializes the read of a
        # slot, not of a class attribute read through an instance.
        self.incoming: Callable[[bytes], bytes] | None = None
        uid = svc.new_uid()
        # Its lines wait until the user exists (at once on one node; in a cluster, once
        # the network has ordered its arrival, the per-address limit counted network-wide).
        link.hold_input()
        # one node alone counts its connections as it accepts them (runtime/listeners.py);
        # a WebIRC gateway's count against the addresses they name (AddressSet), not its own
        ip_limit = svc.config.limits.max_clients_per_ip if svc.state.nodes else 0
        if ip_limit and is_gateway(svc.config.webirc, ip):
            ip_limit = 0
        group = counted_as(ip, svc.config.limits.ipv6_prefix)
        host = svc.host_for(ip, group)
        paced = bool(svc.state.nodes) and svc.paces(ip)  # the network's count (a cluster's) for connects_per_ip
        event = Connected(uid, ip, host, secure, svc.clock(), ip_limit, certfp, "" if group == ip else group, paced)
        svc.engine.emit(None, event, self._attach)

    def _attach(self, outcome: Outcome) -> None:
        """The user exists in the chat state now: give it its local connection."""
        user = outcome.user
        rejected = outcome.rejected or ""
        if rejected.startswith(K_LINED):  # one added meanwhile, ordered first (a cluster)
            svc, ip = self.svc, self.ip
            group = counted_as(ip, svc.config.limits.ipv6_prefix)
            kline = svc.state.klines.find("", svc.host_for(ip, group), ip, svc.clock())
            if kline is not None:
                svc.notices.send(f"K-line active for a connection from {ip}: {kline.mask}")
                svc.audit.kline_hit(kline.mask, f"a connection from {ip}")
            self.link.write(f"ERROR :Closing Link: {self.ip} ({rejected})\r\n".encode())
            self.link.close()
            return
        if user is None:  # over the per-address limit (the network's count), or the network out of reach
            why = "Too many connections from your IP address"
            if outcome.rejected == "unavailable":
                why = "The network is out of reach, try again soon"
            else:  # logged as a refusal by this node's own count is (runtime/listeners.py)
                self.svc.audit.refused(self.ip, why)
            self.link.write(f"ERROR :Closing Link: {self.ip} ({why})\r\n".encode())
            self.link.close()
            return
        conn = Connection(user, self.link, IrcOutput(self.link), self.svc.name, self.svc.clock())
        user.conn = conn
        self.ctx = Context(conn, self.svc)
        self.svc.local[user.uid] = self.ctx
        self.link.release_input()

    @property
    def conn(self) -> Connection:
        assert self.ctx is not None
        return self.ctx.conn

    def flood_exempt(self, raw: bytes) -> bool:
        """Whether `raw` is a line of the client's open, accepted multiline batch: such
        lines cost no flood token as they come, so that a batch is never cut by the
        flood delay; the batch is charged when it closes (handlers/multiline.py)."""
        batch = self.conn.batch
        if batch is None or batch.failed or raw[:1] != b"@":
            return False
        end = raw.find(b" ")
        tags = raw[1:end] if end > 0 else raw[1:]
        return b"batch=" + batch.ref.encode() in tags.split(b";")

    def line_too_long(self) -> None:
        self.conn.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")

    def line_received(self, raw: bytes) -> None:
        """Handle one received line (line ending already removed).

        A failure of ours while handling it is logged and costs this client its
        connection (its state may be half-changed); it never reaches anyone else.
        """
        ctx = self.ctx
        if ctx is None or ctx.conn.quit_reason is not None:
            return
        try:
            conn = ctx.conn
            # a callable kept on an instance is read, then called: `self.svc.clock()` would be
            # a method load, which the interpreter (3.11) cannot specialize for it
            clock = self.svc.clock
            conn.last_activity = clock()
            conn.ping_sent = False
            body_len = len(raw)
            if raw and raw[0] == 64:  # b"@", without a slice made
                space = raw.find(b" ")
                tags_len = space if space >= 0 else len(raw)
                if tags_len + 1 > MAX_TAGS:  # message-tags: 8191 bytes with the '@' and the space
                    self._too_long(raw)
                    return
                body_len -= tags_len + 1
            if body_len > MAX_BODY:
                self._too_long(raw)
                return
            if parse_common is not None:  # `PRIVMSG bob :hi`, read in C (None: any other line)
                message = parse_common(raw, Message)
                if message is not None:
                    # dispatch's path for a line without tags, inlined: a frame less per message
                    spec = _command_of(message.command)
                    if spec is not None and conn.registration.registered and len(message.params) >= spec.min_params:
                        handler = spec.handler
                        handler(ctx, message)
                    else:
                        dispatch(ctx, message)
                    return
            try:
                text = raw.decode()  # UTF-8, strictly
            except UnicodeDecodeError:
                self._invalid_utf8(raw)
                return
            if not text.strip(" "):
                return
            try:
                message = parse(text)
            except ParseError:
                self._unparsable(text)
                return
            dispatch(ctx, message)
        except Exception:
            log.exception("internal error handling a line from %r", ctx.conn)
            self.disconnect("Internal error")

    def _too_long(self, raw: bytes) -> None:
        """417 for a line past the limits, labeled when its tags carry a label. A line of
        an open multiline batch refuses the whole batch too (FAIL BATCH): delivered
        without it, the message would not be the one written."""
        text = raw.decode("utf-8", "replace")
        batch = self.conn.batch
        if batch is not None and self.ctx is not None and text.startswith("@"):
            # as the dispatcher would: a line with a batch tag goes to the open batch
            if any(tag.startswith("batch=") for tag in text.partition(" ")[0][1:].split(";")):
                if not batch.failed:  # the rest of a refused batch is dropped without replies
                    self.line_too_long()
                    batch.fail(self.ctx, "MULTILINE_INVALID", "A line of the batch was too long")
                return
        with self.conn.labeled_reply(self._label_of(text)):
            self.line_too_long()

    def _unparsable(self, text: str) -> None:
        """FAIL a line that is not IRC; labeled when its tag section carries a label."""
        self._refuse("*", "INVALID_MESSAGE", "Could not parse that line", self._label_of(text))

    def _label_of(self, text: str) -> str | None:
        """The label of a line we refuse (labeled-response), read from its tag section alone."""
        if not text.startswith("@") or not answers_labels(self.conn.caps):
            return None
        tag_section = text.partition(" ")[0]
        if "\ufffd" in tag_section:  # undecodable bytes: not the label the client sent
            return None
        try:
            return usable_label(parse(tag_section + " X").tags)
        except ParseError:
            return None

    def _refuse(self, command: str, code: str, text: str, label: str | None) -> None:
        with self.conn.labeled_reply(label):
            self.conn.fail(command, code, text)

    def _invalid_utf8(self, raw: bytes) -> None:
        """UTF8ONLY: reject the line, name its command when it can be read, keep the link.
        A line of an open multiline batch refuses the whole batch instead (draft/multiline:
        FAIL BATCH): delivered without it, the message would not be the one written."""
        text = raw.decode("utf-8", "replace")
        command = "*"
        try:
            message = parse(text)
        except ParseError:
            pass
        else:
            batch = self.conn.batch
            if batch is not None and self.ctx is not None and message.tags.get("batch") == batch.ref:
                if not batch.failed:
                    batch.fail(self.ctx, "MULTILINE_INVALID", "A line of the batch is not UTF-8 text")
                return
            if message.command.isascii():  # not a word garbled by replacement characters
                command = message.command
        self._refuse(
            command,
            "INVALID_UTF8",
            "Message rejected, your IRC software MUST use UTF-8 encoding on this network",
            self._label_of(text),
        )

    def disconnect(self, reason: str) -> None:
        if self.ctx is not None:
            self.svc.disconnect(self.ctx.conn, reason)

    def connection_lost(self, reason: str) -> None:
        """The transport closed; make the client leave if it has not already."""
        if self.ctx is not None:
            self.svc.disconnect(self.ctx.conn, reason, tell=False)
