"""Client-initiated batches: `draft/multiline` messages, and the BATCH command that opens
and closes them.

    BATCH +ref draft/multiline #target        (client-only tags, label: on this line)
    @batch=ref PRIVMSG #target :first line
    @batch=ref;draft/multiline-concat PRIVMSG #target :glued to the line before
    BATCH -ref

Lines of an open batch reach `MultilineBatch.take` from the dispatcher. They are
checked as they arrive, so a batch past `max-bytes` or `max-lines` fails at once,
with the FAIL codes of the specification; the rest of a failed batch, up to its
`BATCH -ref`, is dropped without further replies. A complete batch is delivered as
one message (messaging.py): a batch to clients that negotiated draft/multiline,
separate lines to the others.

A batch is all PRIVMSG lines or all NOTICE lines (the specification refuses a mix with
MULTILINE_INVALID); its first line decides which. A NOTICE batch keeps what a NOTICE
is everywhere: no automatic reply to it, not even a numeric about its delivery (the
FAILs about the batch itself are the specification's and are still sent).

A label on the opening `BATCH` labels the whole exchange: the echo of the message
(or the FAIL) is its labeled response, as the specification wants for echo-message.

A batch to a service (NickServ, ChanServ) is not relayed: it is what its lines would
be, sent one by one (services.py), and costs what other batches cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.server.batch import CONCAT_TAG, MULTILINE
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.handlers.messaging import MAX_CLIENT_TAG_DATA, relay_multiline, relayable_tags, tag_data_size
from hubbub.server.handlers.replies import shown
from hubbub.server.labels import LabeledResponse, answers_labels
from hubbub.server.services import find_service

_REFERENCE = re.compile(r"[A-Za-z0-9-]+")
_COMMANDS = ("PRIVMSG", "NOTICE")  # what a multiline batch may hold (the dispatcher uppercases commands)


class MultilineBatch:
    """A draft/multiline batch being received from a client."""

    __slots__ = ("ref", "target", "tags", "label", "command", "lines", "size", "failed")

    def __init__(self, ref: str, target: str, tags: dict[str, str] | None, label: str | None) -> None:
        self.ref = ref
        self.target = target
        self.tags = tags  # client-only tags of the opening BATCH line: they apply to the message
        self.label = label  # of the opening BATCH line: answered when the batch ends
        self.command = ""  # PRIVMSG or NOTICE, as its first line says; every line the same
        self.lines: list[tuple[str, bool]] = []  # (text, concatenated to the line before)
        self.size = 0  # max-bytes counts the text and the line feeds that join lines
        self.failed = False

    def take(self, ctx: Context, message: Message) -> None:
        """One line sent with a `batch` tag while this batch is open."""
        if self.failed:
            return
        if message.tags["batch"] != self.ref:
            self.fail(ctx, "MULTILINE_INVALID", "That line belongs to no open batch")
            return
        if tag_data_size(message.tags) > MAX_CLIENT_TAG_DATA:  # message-tags: the line is refused
            ctx.conn.numeric(n.ERR_INPUTTOOLONG, "Input line was too long")
            self.fail(ctx, "MULTILINE_INVALID", "A line of the batch was too long")  # and the message with it
            return
        command = message.command
        if command not in _COMMANDS or len(message.params) < 2:
            self.fail(ctx, "MULTILINE_INVALID", "A multiline batch holds PRIVMSG or NOTICE lines only")
            return
        if command != (self.command or command):
            self.fail(ctx, "MULTILINE_INVALID", "A multiline batch is all PRIVMSG or all NOTICE")
            return
        target, text = message.params[0], message.params[1]
        if casefold(target) != casefold(self.target):
            self.fail(ctx, "MULTILINE_INVALID_TARGET", self.target, target, "Invalid multiline target")
            return
        concat = CONCAT_TAG in message.tags
        if concat and not text:
            self.fail(ctx, "MULTILINE_INVALID", "A blank line cannot be concatenated")
            return
        limits = ctx.config.limits
        if len(self.lines) >= limits.multiline_max_lines:
            limit = str(limits.multiline_max_lines)
            self.fail(ctx, "MULTILINE_MAX_LINES", limit, "Multiline batch max-lines exceeded")
            return
        self.size += len(text.encode()) + (1 if self.lines and not concat else 0)
        if self.size > limits.multiline_max_bytes:
            limit = str(limits.multiline_max_bytes)
            self.fail(ctx, "MULTILINE_MAX_BYTES", limit, "Multiline batch max-bytes exceeded")
            return
        self.command = command
        self.lines.append((text, concat))

    def fail(self, ctx: Context, code: str, *params: str) -> None:
        """Refuse the batch: FAIL (labeled if the batch was), then ignore the rest of it."""
        self.failed = True
        self.lines = []
        with_label(ctx, self.label, lambda: ctx.conn.fail("BATCH", code, *params))


def with_label(ctx: Context, label: str | None, reply: Callable[[], None]) -> None:
    """Run `reply()` as the labeled response to `label` (the opening BATCH line's)."""
    with ctx.conn.labeled_reply(label if answers_labels(ctx.conn.caps) else None):
        reply()


def _swallow(ctx: Context, ref: str) -> None:
    """A batch refused as it opens: its lines are dropped, without replies, until it closes."""
    batch = MultilineBatch(ref, "", None, None)
    batch.failed = True
    ctx.conn.batch = batch


def _refuse(ctx: Context, ref: str, code: str, *params: str) -> None:
    ctx.conn.fail("BATCH", code, *params)
    _swallow(ctx, ref)


def _open(ctx: Context, message: Message, ref: str) -> None:
    conn = ctx.conn
    if conn.batch is not None:  # batches do not nest: the open one is abandoned
        conn.batch = None
        _refuse(ctx, ref, "MULTILINE_INVALID", "Another batch is still open")
        return
    if not _REFERENCE.fullmatch(ref):  # batch: letters, digits and hyphens; its lines are dropped
        _refuse(ctx, ref, "INVALID_PARAMS", shown("+" + ref), "A batch reference is letters, digits and hyphens")
        return
    kind = message.param(1)
    if kind != MULTILINE:
        _refuse(ctx, ref, "INVALID_PARAMS", kind or "*", "Unknown batch type")
        return
    if MULTILINE not in conn.caps:
        _refuse(ctx, ref, "MULTILINE_INVALID", "Negotiate the draft/multiline capability first")
        return
    if len(message.params) < 3 or not message.params[2]:
        _refuse(ctx, ref, "MULTILINE_INVALID", "A multiline batch needs a target")
        return
    tags = None
    if message.tags:
        ok, tags = relayable_tags(ctx, message.tags)  # 417 when too big to relay
        if not ok:
            _swallow(ctx, ref)
            return
    label = None
    labeled = conn.suspend_label()
    if labeled is not None:
        # The reply to this line is the echo sent when the batch ends: no ACK now.
        label = labeled.label
    conn.batch = MultilineBatch(ref, message.params[2], tags, label)


def _close(ctx: Context, ref: str) -> None:
    batch = ctx.conn.batch
    if not isinstance(batch, MultilineBatch) or batch.ref != ref:
        ctx.conn.fail("BATCH", "MULTILINE_INVALID", "No such batch is open")
        return
    ctx.conn.batch = None
    if batch.failed:
        return
    if not any(text for text, _ in batch.lines):
        batch.fail(ctx, "MULTILINE_INVALID", "A multiline message needs some text")
        return
    helper = find_service(batch.target)
    if helper is not None:  # NickServ, ChanServ: its lines are commands (services.py)
        conn = ctx.conn
        labeled = conn.suspend_label()  # the closing line's own label, if it has one
        if labeled is None and batch.label is not None and answers_labels(conn.caps):
            labeled = LabeledResponse(batch.label)
        helper.receive_batch(ctx, batch.command, batch.lines, batch.tags, labeled)
    else:
        with_label(
            ctx, batch.label, lambda: relay_multiline(ctx, batch.command, batch.target, batch.lines, batch.tags),
        )
    # Its lines passed flood control for free; clients without draft/multiline get each
    # non-blank one as a message of its own, so the sender pays for them now, as if it
    # had sent them one by one: its next lines wait until it is back within its rate.
    ctx.conn.link.charge(sum(1 for text, _ in batch.lines if text))


@command("BATCH", min_params=1)
def handle_batch(ctx: Context, message: Message) -> None:
    reference = message.params[0]
    sign, ref = reference[:1], reference[1:]
    if not ref or sign not in ("+", "-"):
        ctx.conn.fail("BATCH", "INVALID_PARAMS", shown(reference), "Expected BATCH +reference or BATCH -reference")
        return
    if sign == "+":
        _open(ctx, message, ref)
    else:
        _close(ctx, ref)
