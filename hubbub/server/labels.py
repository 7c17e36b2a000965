"""labeled-response: a command's whole reply, correlated with the label the client sent.

While a labeled command runs, everything the server sends to that client (numerics,
standard replies, and its share of relayed messages such as the echo of its own JOIN
or PRIVMSG) is collected here instead of being written, in the style of ergo's
response buffer. When the command is done, the collection goes out as exactly one
labeled logical message: an `ACK` when there was nothing, the one message with the
`label` tag, or a `labeled-response` batch around several. A reply that already is a
batch (a multiline echo) carries the label on its opening `BATCH` line.

Handlers know nothing of this: it happens in the dispatcher and `Connection`, and costs
an unlabeled command one attribute test per message sent.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Protocol

from hubbub.irc.message import Message
from hubbub.server.delivery import new_batch_id, with_tags

MAX_LABEL_BYTES = 64  # labeled-response: "The value MUST NOT exceed 64 bytes"

Unit = Message | list[Message]  # one message, or a whole batch (BATCH +, contents, BATCH -)


class Shared(Protocol):
    """A message relayed to several clients (`Outgoing`, `MultilineOutgoing`)."""

    def units_for(self, mask: int) -> list[Unit]: ...


def answers_labels(caps: AbstractSet[str]) -> bool:
    """labeled-response is in use: it needs `batch` negotiated as well (its spec says MUST)."""
    return "labeled-response" in caps and "batch" in caps


def usable_label(tags: dict[str, str]) -> str | None:
    """The label of a command, if it carries one we can repeat."""
    label = tags.get("label")
    if not label or len(label.encode()) > MAX_LABEL_BYTES:
        return None
    return label


class LabeledResponse:
    """What one labeled command sent to its client, waiting to go out labeled."""

    __slots__ = ("label", "items", "continued")

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[Message | Shared] = []
        # More commands are to answer within it (a multiline batch to a service runs
        # its lines one by one): the end of one of them sends nothing yet.
        self.continued = False

    def units(self, mask: int) -> list[Unit]:
        units: list[Unit] = []
        for item in self.items:
            if isinstance(item, Message):
                units.append(item)
            else:
                units.extend(item.units_for(mask))
        return units

    def messages(self, mask: int, server: str) -> list[Message]:
        """The labeled reply, line by line, for a client whose tag wishes are `mask`."""
        units = self.units(mask)
        label = {"label": self.label}
        if not units:
            return [Message("ACK", [], server, label)]
        if len(units) == 1:
            unit = units[0]
            if isinstance(unit, Message):
                return [with_tags(label, unit)]
            return [with_tags(label, unit[0]), *unit[1:]]
        ref, out = self._opened(units, server)
        out.append(Message("BATCH", ["-" + ref], server))
        return out

    def opened(self, mask: int, server: str) -> tuple[str, list[Message]]:
        """The reply so far as an open `labeled-response` batch, for a reply that goes on
        after it (a paced one, connection.py): its reference, and its lines until then.
        The caller tags what follows with the reference and closes the batch."""
        return self._opened(self.units(mask), server)

    def _opened(self, units: list[Unit], server: str) -> tuple[str, list[Message]]:
        ref = new_batch_id()
        inside = {"batch": ref}
        out = [Message("BATCH", ["+" + ref, "labeled-response"], server, {"label": self.label})]
        for unit in units:
            if isinstance(unit, Message):
                out.append(with_tags(inside, unit))
            else:  # a nested batch: its opening and closing lines belong to ours
                out.append(with_tags(inside, unit[0]))
                out.extend(unit[1:-1])
                out.append(with_tags(inside, unit[-1]))
        return ref, out
