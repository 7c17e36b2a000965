"""The least a Python server on uvloop can do for `hubbub bench pingpong` and
`hubbub bench fanout`: a yardstick, not a chat server.

    python bench/floor.py            # prints "listening irc 127.0.0.1:PORT" on stderr
    python bench/floor.py --nagle    # the same with TCP_NODELAY off (uvloop sets it), as hubbub's
                                     # limits.tcp_nodelay = false and the C servers

It registers a client with 001 and 376, answers PING, joins channels (366 and nothing
else) and relays `PRIVMSG target :text` with the sender's prefix to a nick or to a
channel's other members, nothing else: no checks, no tags, no events, no flushing once
per loop iteration (uvloop's transport writes each copy at once, in C). What it costs
per round trip, and the latency of a fanout through it, is what the interpreter and
the event loop cost before any chat server's work, so a target can be read against it:
hubbub's figure minus this one is all that hubbub's own code can ever take off
(docs/benchmarks.md, "The floor").

    hubbub bench pingpong --server-cmd "taskset -c 0 python bench/floor.py" --rounds 20000
    hubbub bench fanout -n 100 -k 10 -r 200 -d 10 --server-cmd "taskset -c 0 python bench/floor.py"
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable

import uvloop

NAGLE = "--nagle" in sys.argv[1:]
nicks: dict[bytes, Relay] = {}
channels: dict[bytes, list[Callable[[bytes], None]]] = {}  # the members' transports' `write`


class Relay(asyncio.Protocol):
    __slots__ = ("transport", "write", "pending", "nick", "prefix")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self.write = self.transport.write  # one bound method, kept: a channel lists it
        if NAGLE:
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        self.pending = b""
        self.nick = b""
        self.prefix = b""

    def data_received(self, data: bytes) -> None:
        *lines, self.pending = (self.pending + data).split(b"\r\n")
        for line in lines:
            if line.startswith(b"PRIVMSG "):
                target = line.split(b" ", 2)[1].lower()
                if target[:1] == b"#":
                    copy, own = self.prefix + line + b"\r\n", self.write
                    for write in channels.get(target, ()):
                        if write is not own:
                            write(copy)
                    continue
                other = nicks.get(target)
                if other is not None:
                    other.transport.write(self.prefix + line + b"\r\n")
            elif line.startswith(b"JOIN "):
                for name in line[5:].split(b" ", 1)[0].lower().split(b","):  # no keys
                    members = channels.setdefault(name, [])
                    if self.write not in members:
                        members.append(self.write)
                    self.transport.write(b":floor 366 %s %s :End\r\n" % (self.nick, name))
            elif line.startswith(b"NICK "):
                self.nick = line[5:]
                nicks[self.nick.lower()] = self
                self.prefix = b":" + self.nick + b"!floor@127.0.0.1 "
            elif line.startswith(b"USER "):
                self.transport.write(b":floor 001 %s :Welcome\r\n:floor 376 %s :End\r\n" % (self.nick, self.nick))
            elif line.startswith(b"PING "):
                self.transport.write(b":floor PONG floor " + line[5:] + b"\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        if nicks.get(self.nick.lower()) is self:
            del nicks[self.nick.lower()]
        for members in channels.values():
            if self.write in members:
                members.remove(self.write)


async def main() -> None:
    server = await asyncio.get_running_loop().create_server(Relay, "127.0.0.1", 0)
    print(f"listening irc 127.0.0.1:{server.sockets[0].getsockname()[1]}", file=sys.stderr, flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())
