"""The first line decides: a connection's session, IRC or plain text.

Every connection on the IRC port starts here. It is greeted with one NOTICE a person
can read; its first line tells whether an IRC client or a person is on the other end
(detect.py). An IRC client's lines go to the chat core's session as they are; a
person's go through the translator, and what the chat sends them is rendered as text.
This is the `SessionPort` that transports talk to.
"""

from __future__ import annotations

import logging

from hubbub.plain.detect import looks_like_irc
from hubbub.plain.render import PlainOutput
from hubbub.plain.translate import PlainInput
from hubbub.plain.view import PlainView
from hubbub.server.context import Services
from hubbub.server.output import Link
from hubbub.server.session import Session

log = logging.getLogger("hubbub.plain")

WELCOME_NOTICE = (
    "*** Welcome to hubbub. Type a nickname and press Enter to chat, "
    "or connect with an IRC client."
)


class Intake:
    def __init__(self, svc: Services, link: Link, ip: str, secure: bool = False) -> None:
        self.session = Session(svc, link, ip, secure)
        self.plain: PlainInput | None = None
        self._decided = False
        self.session.conn.server_message("NOTICE", "*", WELCOME_NOTICE)

    @property
    def speaks_irc(self) -> bool:
        """Whether the peer's first line was IRC (False until it sent one, and in plain mode)."""
        return self._decided and self.plain is None

    def line_received(self, raw: bytes) -> None:
        if not self._decided:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = ""  # undecidable: the session refuses it as IRC would
            if text.strip(" "):
                self._decided = True
                if not looks_like_irc(text):
                    self._become_plain()
                else:  # from now on every line goes straight to the session
                    self.line_received = self.session.line_received  # type: ignore[method-assign]
        if self.plain is None:
            self.session.line_received(raw)
            return
        try:
            self.plain.line_received(raw)
        except Exception:
            log.exception("internal error handling a typed line from %r", self.session.conn)
            self.session.disconnect("Internal error")

    def _become_plain(self) -> None:
        session = self.session
        conn = session.conn
        view = PlainView(session.link)
        conn.set_output(PlainOutput(view, conn.user))
        assert session.ctx is not None
        self.plain = PlainInput(session.ctx, view)

    def line_too_long(self) -> None:
        self.session.line_too_long()

    def flood_exempt(self, raw: bytes) -> bool:
        return self.plain is None and self.session.flood_exempt(raw)

    def disconnect(self, reason: str) -> None:
        self.session.disconnect(reason)

    def connection_lost(self, reason: str) -> None:
        self.session.connection_lost(reason)
