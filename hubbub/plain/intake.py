"""The first line decides: a connection's session, IRC or plain text.

Every connection on the IRC port starts here. Its first line tells whether an IRC
client or a person is on the other end (detect.py). An IRC client's lines go to the
chat core's session as they are; a person's go through the translator, and what the
chat sends them is rendered as text. This is the `SessionPort` that transports talk to.

A first line that may be either (`nick erin2`: a person's nickname, or a bot writing IRC
in lower case) is held for `SECOND_LINE_WAIT`: a client's next registration line comes
at once and makes both IRC; any other line, or none in that time, makes the connection
a person's, and the held line is handled as plain mode handles a first line, then the
other after it. Only such a line waits: a nickname is answered at once.

A person needs to be told what to do; an IRC client must not be (its status window
would show the words). IRC clients speak first, at once; a person connecting with
netcat or telnet reads before typing. So the welcome NOTICE waits `BANNER_DELAY` for a
first line and is sent only if none that speaks IRC came.

Until the peer is known to speak IRC, its bytes pass a telnet filter before they are
framed into lines (telnet.py): telnet's commands are answered (Ctrl+C's timing mark
above all) and never taken for text. IAC bytes cannot be IRC, whose lines are UTF-8;
nor can a first line that is not UTF-8: it is a person's, typed in a terminal set to a
legacy encoding, and gets a sentence and another try rather than IRC's FAIL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from hubbub.plain.detect import Opening, judge_first_line, looks_like_http, looks_like_proxy_header, next_line_is_irc
from hubbub.plain.render import PlainOutput
from hubbub.plain.telnet import IAC, TelnetFilter
from hubbub.plain.translate import Later, PlainInput, Timer
from hubbub.plain.view import PlainView
from hubbub.server.context import Services
from hubbub.server.output import Link
from hubbub.server.session import Session

log = logging.getLogger("hubbub.plain")

WELCOME_NOTICE = (
    "*** Welcome to hubbub. Type a nickname and press Enter to chat, "
    "or connect with an IRC client."
)
# An IRC client sends its first line as soon as it is connected, within a round trip's
# fraction; a person does not notice half a second before the greeting.
BANNER_DELAY = 0.5
# How long a first line that a person or an IRC client may have sent (`nick erin2`) waits
# for the line after it: a client sends its registration lines back to back, a round trip's
# fraction apart at most; a person reading the answer to what they typed waits a second more.
SECOND_LINE_WAIT = 1.0
INTERRUPT_HINT = "*** Ctrl+C does not leave the chat: type /exit to leave."
PROXY_NOT_TRUSTED = "PROXY header from an address not in listen.proxy_from"
# Telnet commands a connection may send: a burst (a client's negotiation, Ctrl+C now and
# then), refilled at a rate no person reaches; past it the connection is closed (see telnet.py).
TELNET_BURST = 512
TELNET_PER_SECOND = 20.0


class Intake:
    __slots__ = ("session", "plain", "_decided", "_later", "_telnet", "incoming", "line_received", "_banner",
                 "_telnet_budget", "_telnet_at", "_held", "_hold")  # fmt: skip

    def __init__(
        self, svc: Services, link: Link, ip: str, secure: bool = False, later: Later | None = None,
        certfp: str | None = None,
    ) -> None:
        self.session = Session(svc, link, ip, secure, certfp)
        self.plain: PlainInput | None = None
        self._decided = False
        self._later = later
        self._telnet: TelnetFilter | None = TelnetFilter()  # dropped once the peer speaks IRC
        self._telnet_budget = float(TELNET_BURST)  # telnet commands it may send now
        self._telnet_at = time.monotonic()
        # Bytes pass this before they are framed into lines, until the peer speaks IRC.
        self.incoming: Callable[[bytes], bytes] | None = self._telnet_input
        # What a received line goes to: here, until the first line decides; for an IRC
        # client, from then on, straight to its session.
        self.line_received: Callable[[bytes], None] = self._first_lines
        self._banner: Timer | None = None
        self._held: bytes | None = None  # an UNSURE first line, waiting for the next (detect.py)
        self._hold: Timer | None = None  # when it stops waiting
        if later is None:
            self._greet()  # no clock to wait with (a test driving the session by hand)
        else:
            self._banner = later(BANNER_DELAY, self._banner_due)

    @property
    def speaks_irc(self) -> bool:
        """Whether the peer's first line was IRC (False until it sent one, and in plain mode)."""
        return self._decided and self.plain is None

    @property
    def keystrokes(self) -> bool:
        """Whether the peer has spoken telnet (a telnet in character mode negotiates first)."""
        return self._telnet is not None and self._telnet.spoken

    def _greet(self) -> None:
        self.session.conn.server_message("NOTICE", "*", WELCOME_NOTICE)

    def _banner_due(self) -> None:
        self._banner = None
        if not self._decided and self.session.ctx is not None and not self.session.conn.gone:
            self._greet()

    def _cancel_banner(self) -> None:
        if self._banner is not None:
            self._banner.cancel()
            self._banner = None

    def _telnet_input(self, data: bytes) -> bytes:
        telnet = self._telnet
        assert telnet is not None
        if IAC in data:
            now = time.monotonic()
            self._telnet_budget = min(TELNET_BURST, self._telnet_budget + (now - self._telnet_at) * TELNET_PER_SECOND)
            self._telnet_at = now
        text, answer = telnet.feed(data, int(self._telnet_budget))
        if telnet.commands:
            self._telnet_budget -= telnet.commands
            telnet.commands = 0
        if telnet.flooded:
            self.session.disconnect("Excess telnet commands")
            return b""
        if answer or telnet.interrupts:
            link = self.session.link
            if answer:
                link.write(answer)
            if telnet.interrupts:  # said after the timing mark's answer, or telnet discards it
                telnet.interrupts = 0
                link.write(INTERRUPT_HINT.encode() + b"\r\n")
        return text

    def _first_lines(self, raw: bytes) -> None:
        if not self._decided:
            # IRC is UTF-8: an undecodable first line is most likely a nickname typed in a
            # terminal's legacy encoding (cp1251, cp866), judged with its odd bytes replaced
            text = raw.decode("utf-8", "replace")
            if self._held is not None:
                if text.strip(" "):  # a blank line decides nothing, and says nothing to either
                    self._second_line(raw, text)
                return
            if text.strip(" "):
                self._cancel_banner()
                if looks_like_http(text):
                    self._decided = True
                    self.session.disconnect("This port speaks IRC, not HTTP")
                    return
                if looks_like_proxy_header(text):
                    self._decided = True
                    self.session.disconnect(PROXY_NOT_TRUSTED)
                    return
                opening = judge_first_line(text)
                if opening is Opening.UNSURE and self._later is not None:
                    self._held = raw
                    self._hold = self._later(SECOND_LINE_WAIT, self._hold_over)
                    return
                # without a clock (a test driving the session by hand) an UNSURE line is a person's
                self._decide(opening is Opening.IRC)
        self._handle(raw)

    def _decide(self, irc: bool) -> None:
        self._decided = True
        if not irc:
            self._become_plain()
            return
        # from now on every line goes straight to the session
        self.incoming = None
        self._telnet = None
        self._later = None
        self.line_received = self.session.line_received
        self.session.link.speaks_irc(self.session)  # the link may forget us

    def _handle(self, raw: bytes) -> None:
        if self.plain is None:
            self.session.line_received(raw)
            return
        try:
            self.plain.line_received(raw)
        except Exception:
            log.exception("internal error handling a typed line from %r", self.session.conn)
            self.session.disconnect("Internal error")

    def _unhold(self) -> bytes | None:
        held, self._held = self._held, None
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        return held

    def _second_line(self, raw: bytes, text: str) -> None:
        """The line after an UNSURE one came in time: both are IRC if it is a registration
        command too, else both a person's. The held line is handled first; this one
        after it, once the input flows (the first may hold it: a nick being set in a
        cluster waits for the network's order)."""
        held = self._unhold()
        assert held is not None
        self._decide(next_line_is_irc(text))
        self._handle(held)
        self._after_held(partial(self._handle, raw))

    def _after_held(self, step: Callable[[], None]) -> None:
        if not self.session.conn.gone and not self.session.link.follow_up(step):
            step()

    def _hold_over(self) -> None:
        """No line came after an UNSURE one in time: a person typed it."""
        self._hold = None
        held, self._held = self._held, None
        if held is None or self._decided or self.session.ctx is None or self.session.conn.gone:
            return
        self._decide(False)
        self._handle(held)

    def _become_plain(self) -> None:
        session = self.session
        conn = session.conn
        view = PlainView(session.link)
        conn.set_output(PlainOutput(view, conn.user))
        assert session.ctx is not None
        self.plain = PlainInput(session.ctx, view, self._later)

    def line_too_long(self) -> None:
        held = self._unhold()
        if held is not None:  # another line after an UNSURE one: no registration command is that long
            self._decide(False)
            self._handle(held)
            self._after_held(self.line_too_long)
            return
        if self.plain is not None:
            self.plain.line_too_long()
        else:
            self.session.line_too_long()

    def flood_exempt(self, raw: bytes) -> bool:
        return self.plain is None and self.session.flood_exempt(raw)

    def disconnect(self, reason: str) -> None:
        self._cancel_banner()
        self._unhold()
        self.session.disconnect(reason)

    def connection_lost(self, reason: str) -> None:
        self._cancel_banner()
        self._unhold()
        if self.plain is not None:
            self.plain.stop()
        self.session.connection_lost(reason)
