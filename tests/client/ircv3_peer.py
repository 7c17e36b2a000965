"""A small scripted IRC server: SASL PLAIN and chathistory with one account and a
fixed history (and the batch and server-time they come with), over a real socket.

The terminal client's side of those features is checked against it line by line, with
a history at fixed times; hubbub's server offers them too, and the client's tests
against it (tests/client/test_tui_people.py: history, PageUp, SASL; test_tui_moderation.py) cover
the same features live. Everything else is tested against hubbub itself.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hubbub.irc.message import parse

NAME = "ircv3.test"
CAPS = "sasl=PLAIN batch server-time message-tags draft/chathistory echo-message"
HISTORY_START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def history_time(index: int) -> str:
    """The server-time of the history message `index`: one a minute from 09:00."""
    return (HISTORY_START + timedelta(minutes=index)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class IRCv3Peer:
    def __init__(
        self, accounts: dict[str, str], history: dict[str, list[tuple[str, str]]], caps: str = CAPS
    ) -> None:
        self.caps = caps  # what CAP LS offers
        self.accounts = accounts
        self.history = history  # channel -> [(nick, text)], oldest first
        self.received: list[str] = []
        # set to a cleared Event to hold CHATHISTORY answers (and all read after) until it is set
        self.history_gate: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._ids = itertools.count(1)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        nick = "*"
        caps: set[str] = set()
        negotiating = False
        user = False

        def send(line: str, time: str | None = None) -> None:
            if time and "server-time" in caps:
                line = f"@time={time} {line}"
            writer.write(line.encode() + b"\r\n")

        def welcome() -> None:
            send(f":{NAME} 001 {nick} :Welcome {nick}!u@peer")
            send(f":{NAME} 005 {nick} CHATHISTORY=100 CASEMAPPING=ascii NETWORK=peernet :are supported")
            send(f":{NAME} 376 {nick} :End of MOTD")

        while raw := await reader.readline():
            line = raw.decode().rstrip("\r\n")
            self.received.append(line)
            message = parse(line)
            command, params = message.command, message.params
            if command == "CAP" and params[0] == "LS":
                negotiating = True
                send(f":{NAME} CAP * LS :{self.caps}")
            elif command == "CAP" and params[0] == "REQ":
                caps |= set(params[1].split())
                send(f":{NAME} CAP {nick} ACK :{params[1]}")
            elif command == "CAP" and params[0] == "END":
                negotiating = False
                if user:
                    welcome()
            elif command == "NICK":
                nick = params[0]
            elif command == "USER":
                user = True
                if not negotiating:
                    welcome()
            elif command == "AUTHENTICATE" and params[0] == "PLAIN":
                send("AUTHENTICATE +")
            elif command == "AUTHENTICATE":
                _, account, password = base64.b64decode(params[0]).decode().split("\0")
                if self.accounts.get(account) == password:
                    send(f":{NAME} 900 {nick} {nick}!u@peer {account} :You are now logged in as {account}")
                    send(f":{NAME} 903 {nick} :SASL authentication successful")
                else:
                    send(f":{NAME} 904 {nick} :SASL authentication failed")
            elif command == "JOIN":
                send(f":{nick}!u@peer JOIN {params[0]}")
                send(f":{NAME} 353 {nick} = {params[0]} :@{nick}")
                send(f":{NAME} 366 {nick} {params[0]} :End of NAMES")
            elif command == "CHATHISTORY":
                if self.history_gate is not None:
                    await self.history_gate.wait()
                self._chathistory(params, send)
            elif command == "PRIVMSG" and "echo-message" in caps:
                send(f":{nick}!u@peer PRIVMSG {params[0]} :{params[1]}", "2024-05-01T10:00:00.000Z")
            elif command == "PING":
                send(f":{NAME} PONG {NAME} :{params[0]}")
            elif command == "QUIT":
                send("ERROR :Closing link (Quit)")
                break
        writer.close()

    def _chathistory(self, params: list[str], send: Callable[[str], None]) -> None:
        """LATEST target * limit, and BEFORE target msgid=ID|timestamp=TIME limit."""
        subcommand, target, ref, limit = params[0].upper(), params[1], params[2], int(params[3])
        found = list(enumerate(self.history.get(target, [])))
        if subcommand == "BEFORE" and ref.startswith("msgid="):
            found = found[:int(ref.rsplit("-", 1)[1])]
        elif subcommand == "BEFORE" and ref.startswith("timestamp="):
            found = [(i, entry) for i, entry in found if history_time(i) < ref.split("=", 1)[1]]
        batch = f"h{next(self._ids)}"
        send(f":{NAME} BATCH +{batch} chathistory {target}")
        for i, (who, text) in found[-limit:]:
            tags = f"batch={batch};time={history_time(i)};msgid={target}-{i}"
            send(f"@{tags} :{who}!u@peer PRIVMSG {target} :{text}")
        send(f":{NAME} BATCH -{batch}")
