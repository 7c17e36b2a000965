"""A scripted IRC server over WebSocket: one account and a fixed history.

It speaks SASL PLAIN, draft/chathistory and soju.im/search as their specifications say,
so that the web client's side of them is checked line by line (what the client sends,
and how it takes answers it cannot get from a live server on demand: a history days
old, at fixed times, `EPOCH`). hubbub offers all of them: the same scenarios run against
hubbub itself at the end of test_history.py, and the web tests of history, unread and
what a return fetches use hubbub. The peer serves the client's files itself (same
origin as its /webirc), and the connect screen's suggestion as hubbub's web listener
does (/client.json).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import WSMsgType, web

import hubbub
from hubbub.irc.message import parse

WEB_DIR = hubbub.__path__[0] + "/web"
NAME = "peer.test"
CAPS = "sasl=PLAIN batch server-time message-tags echo-message draft/chathistory soju.im/search labeled-response"
HISTORY_LIMIT = 50
EPOCH = datetime(2024, 5, 1, tzinfo=UTC)
_CONNECTIONS = web.AppKey("connections", set)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_stamp(ref: str) -> datetime:
    value = ref.removeprefix("timestamp=")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def unescape(value: str) -> str:
    out, i = [], 0
    table = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append(table.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass
class Line:
    when: datetime
    msgid: str
    nick: str
    target: str
    text: str

    def wire(self, batch: str | None = None) -> str:
        tags = f"time={stamp(self.when)};msgid={self.msgid}" + (f";batch={batch}" if batch else "")
        return f"@{tags} :{self.nick}!u@peer PRIVMSG {self.target} :{self.text}"


@dataclass
class IRCv3Peer:
    accounts: dict[str, str] = field(default_factory=dict)
    history: list[Line] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    url: str = ""

    def add(self, nick: str, target: str, text: str, when: datetime | None = None) -> Line:
        line = Line(when or datetime.now(UTC), f"p{next(self._ids)}", nick, target, text)
        self.history.append(line)
        self.history.sort(key=lambda x: x.when)
        return line

    def fill(self, target: str, count: int) -> None:
        """`count` old messages in `target`, a minute apart, starting on EPOCH."""
        for i in range(count):
            self.add(("dana", "erik")[i % 2], target, f"history message {i:03d}", EPOCH + timedelta(minutes=i))

    async def start(self) -> str:
        app = web.Application()
        app[_CONNECTIONS] = set()
        app.router.add_get("/", self._index)
        app.router.add_get("/webirc", self._webirc)
        app.router.add_get("/client.json", self._client_settings)
        app.router.add_static("/", WEB_DIR)
        app.on_shutdown.append(self._close_all)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.app = app
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop_all(self) -> None:
        """Close every connection, as a server restart would."""
        await self._close_all(self.app)

    @staticmethod
    async def _close_all(app: web.Application) -> None:
        for ws in list(app[_CONNECTIONS]):
            await ws.close(code=1001, message=b"restart")

    @staticmethod
    async def _client_settings(request: web.Request) -> web.Response:
        return web.json_response({"channel": "#lobby", "network": NAME})

    @staticmethod
    async def _index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR + "/index.html")

    async def _webirc(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("text.ircv3.net",))
        await ws.prepare(request)
        request.app[_CONNECTIONS].add(ws)
        session = _Session(self, ws)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self.received.append(frame.data)
                    await session.handle(frame.data)
        finally:
            request.app[_CONNECTIONS].discard(ws)
        return ws


class _Session:
    def __init__(self, peer: IRCv3Peer, ws: web.WebSocketResponse) -> None:
        self.peer = peer
        self.ws = ws
        self.nick = "*"
        self.caps: set[str] = set()
        self.negotiating = False
        self.user = False
        self.welcomed = False
        self.batches = itertools.count(1)

    async def send(self, line: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_str(line)

    async def welcome(self) -> None:
        if self.welcomed or self.negotiating or not self.user or self.nick == "*":
            return
        self.welcomed = True
        await self.send(f":{NAME} 001 {self.nick} :Welcome {self.nick}!u@peer")
        await self.send(f":{NAME} 005 {self.nick} CHATHISTORY={HISTORY_LIMIT} CASEMAPPING=ascii NETWORK=peernet "
                        "CHANTYPES=# :are supported")
        await self.send(f":{NAME} 376 {self.nick} :End of MOTD")

    async def batch(self, kind: str, lines: list[Line], *params: str) -> None:
        ref = f"b{next(self.batches)}"
        await self.send(f":{NAME} BATCH +{ref} {kind}" + "".join(f" {p}" for p in params))
        for line in lines:
            await self.send(line.wire(ref))
        await self.send(f":{NAME} BATCH -{ref}")

    async def handle(self, raw: str) -> None:
        message = parse(raw)
        command, params = message.command, message.params
        if command == "CAP" and params[0] == "LS":
            self.negotiating = True
            await self.send(f":{NAME} CAP * LS :{CAPS}")
        elif command == "CAP" and params[0] == "REQ":
            self.caps |= set(params[1].split())
            await self.send(f":{NAME} CAP {self.nick} ACK :{params[1]}")
        elif command == "CAP" and params[0] == "END":
            self.negotiating = False
            await self.welcome()
        elif command == "NICK":
            self.nick = params[0]
            await self.welcome()
        elif command == "USER":
            self.user = True
            await self.welcome()
        elif command == "AUTHENTICATE":
            await self.authenticate(params[0])
        elif command == "PING":
            await self.send(f":{NAME} PONG {NAME} :{params[-1]}")
        elif command == "JOIN":
            for channel in params[0].split(","):
                await self.send(f"@time={stamp(datetime.now(UTC))} :{self.nick}!u@peer JOIN {channel}")
                await self.send(f":{NAME} 353 {self.nick} = {channel} :{self.nick} dana erik")
                await self.send(f":{NAME} 366 {self.nick} {channel} :End of NAMES")
        elif command == "PRIVMSG":
            line = self.peer.add(self.nick, params[0], params[1])
            await self.send(line.wire())
        elif command == "CHATHISTORY":
            await self.chathistory(params)
        elif command == "SEARCH":
            attrs = dict(item.split("=", 1) for item in params[0].split(";") if "=" in item)
            text = unescape(attrs.get("text", "")).lower()
            target = attrs.get("in")
            found = [x for x in self.peer.history if text in x.text.lower() and (target is None or x.target == target)]
            await self.batch("soju.im/search", found[: int(attrs.get("limit", "100"))])

    async def authenticate(self, data: str) -> None:
        if data == "PLAIN":
            await self.send("AUTHENTICATE +")
            return
        _, account, password = base64.b64decode(data).decode().split("\0")
        if self.peer.accounts.get(account) == password:
            await self.send(f":{NAME} 900 {self.nick} {self.nick}!u@peer {account} :You are now logged in as {account}")
            await self.send(f":{NAME} 903 {self.nick} :SASL authentication successful")
        else:
            await self.send(f":{NAME} 904 {self.nick} :SASL authentication failed")

    async def chathistory(self, params: list[str]) -> None:
        sub, target, ref, limit = params[0].upper(), params[1], params[2], min(int(params[3]), HISTORY_LIMIT)
        lines = [x for x in self.peer.history if x.target == target]
        if sub == "LATEST":
            if ref != "*":
                lines = [x for x in lines if x.when > parse_stamp(ref)]
            lines = lines[-limit:]
        elif sub == "BEFORE":
            lines = [x for x in lines if x.when < parse_stamp(ref)][-limit:]
        elif sub == "AFTER":
            lines = [x for x in lines if x.when > parse_stamp(ref)][:limit]
        else:
            await self.send(f":{NAME} FAIL CHATHISTORY INVALID_PARAMS {sub} :Unknown subcommand")
            return
        await asyncio.sleep(0.05)  # an answer takes a moment: the client shows it is loading
        await self.batch("chathistory", lines, target)
