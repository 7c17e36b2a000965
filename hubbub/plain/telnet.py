"""Telnet's commands in a plain connection's bytes: taken out, and answered.

A telnet client talks to us as to any telnet server, mixing commands into the text
(RFC 854), each introduced by IAC (byte 255, which UTF-8 text never contains). Most
matter only when the server asks for them, and we ask for nothing: the client stays in
its default mode, one line at a time with its own echo, which suits a chat. Two matter
anyway. Ctrl+C makes telnet send IAC IP (interrupt) followed by IAC DO TIMING-MARK
(RFC 860), then discard everything we send until the timing mark is answered; left
unanswered, the chat goes silent for good. And an option a client offers (WILL) or asks
for (DO) must be refused (DONT, WONT) so that it stops waiting (RFC 1143's rule:
refusing is always allowed, and acknowledging a refusal is never needed).

`TelnetFilter` is the bytes-in, bytes-out core: it keeps what is text, collects the
answers to send back, and counts interrupts, across reads that cut a command anywhere.
It also makes telnet's carriage return, CR NUL (what a telnet in character mode sends
for Enter), the end of a line, as CR LF is: lines end at LF further on.

A byte 255 followed by one that is no telnet command (below 236) is text, both bytes:
a terminal in a legacy encoding sends it for a letter (cp1251's `я`), and taking it for
a command would swallow the next byte, the line's end at the end of a word like `Таня`
(the line is then refused as text that is not UTF-8, at once, as any other). `spoken`
says whether the peer has sent a command: a telnet in character mode negotiates first
(IAC DO SUPPRESS-GO-AHEAD, IAC DO ECHO), and then sends each keystroke alone.

Commands cost Python work one byte at a time and produce no line, so neither the recvq
nor flood control sees them: `feed` takes at most `limit` of them and then stops
(`flooded`), the caller keeping each connection's budget (plain/intake.py). A peer
streaming IAC NOP would otherwise keep a core busy for everyone.
"""

from __future__ import annotations

from typing import Final

IAC: Final = 255
DONT: Final = 254
DO: Final = 253
WONT: Final = 252
WILL: Final = 251
SB: Final = 250  # subnegotiation begins ... IAC SE
AYT: Final = 246  # are you there?
IP: Final = 244  # interrupt process (Ctrl+C)
BRK: Final = 243  # break
ABORT: Final = 238  # abort process
SUSP: Final = 237  # suspend process
SE: Final = 240
LOWEST_COMMAND: Final = 236  # EOF (RFC 1184); below it, a byte after IAC is text
TIMING_MARK: Final = 6

_INTERRUPTS = frozenset({IP, BRK, ABORT, SUSP})
AYT_ANSWER: Final = b"\r\n[hubbub: yes, you are connected]\r\n"

_TEXT, _COMMAND, _OPTION, _SUB, _SUB_IAC = range(5)  # where in the byte stream we are


class TelnetFilter:
    __slots__ = ("_state", "_verb", "interrupts", "_cr", "commands", "flooded", "spoken")

    def __init__(self) -> None:
        self._state = _TEXT
        self._verb = 0  # DO, DONT, WILL or WONT, waiting for its option byte
        self.interrupts = 0  # IP, BRK, ABORT and SUSP seen (Ctrl+C and the like)
        self._cr = False  # the text so far ended with CR: a NUL beginning the next read ends a line
        self.commands = 0  # commands taken since the caller last reset it
        self.flooded = False  # a read held more commands than its limit: the rest was not looked at
        self.spoken = False  # the peer has sent a telnet command: it is a telnet client

    def feed(self, data: bytes, limit: int = 1 << 62) -> tuple[bytes, bytes]:
        """`data` without telnet commands (CR NUL made CR LF), and the bytes that answer
        them; past `limit` commands, what is left of `data` is dropped (`flooded`)."""
        text, answer = self._commands(data, limit)
        if text:
            if self._cr and text[0] == 0:
                text = b"\n" + text[1:]
            if b"\r\x00" in text:
                text = text.replace(b"\r\x00", b"\r\n")
            self._cr = text[-1] == 13
        return text, answer

    def _commands(self, data: bytes, limit: int) -> tuple[bytes, bytes]:
        if self._state == _TEXT and IAC not in data:
            return data, b""  # no command anywhere: the common case, one scan in C
        text = bytearray()
        answer = bytearray()
        for byte in data:
            state = self._state
            if state == _TEXT:
                if byte == IAC:
                    if self.commands >= limit:
                        self.flooded = True
                        break
                    self.commands += 1
                    self._state = _COMMAND
                else:
                    text.append(byte)
            elif state == _COMMAND:
                self._state = _TEXT
                if byte == IAC:
                    text.append(IAC)  # IAC IAC: the byte 255 itself (never UTF-8 text, refused as such later)
                    continue
                if byte < LOWEST_COMMAND:  # no command: a legacy encoding's letter, and the next byte
                    if self.commands:  # not counted as one (unless the caller took the count already)
                        self.commands -= 1
                    text.append(IAC)
                    text.append(byte)
                    continue
                self.spoken = True
                if byte in (DO, DONT, WILL, WONT):
                    self._verb = byte
                    self._state = _OPTION
                elif byte == SB:
                    self._state = _SUB
                elif byte == AYT:
                    if AYT_ANSWER not in answer:  # once per read: a flood of them gets one
                        answer += AYT_ANSWER
                elif byte in _INTERRUPTS:
                    self.interrupts += 1
                # NOP, DM, GA, AO, EC, EL and the rest: nothing to do in line-at-a-time mode
            elif state == _OPTION:
                self._state = _TEXT
                if self._verb == DO:
                    # a timing mark is answered "done" once what came before it is handled: it is
                    answer += bytes((IAC, WILL if byte == TIMING_MARK else WONT, byte))
                elif self._verb == WILL:
                    answer += bytes((IAC, DONT, byte))
                # DONT and WONT: every option is off here already, nothing to acknowledge
            elif state == _SUB:
                if byte == IAC:
                    self._state = _SUB_IAC
            else:  # _SUB_IAC
                self._state = _TEXT if byte == SE else _SUB
        return bytes(text), bytes(answer)
