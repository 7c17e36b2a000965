"""The web listener behind a TCP proxy sending the PROXY protocol (listen.proxy_from).

A proxy of the TCP kind (HAProxy in `mode tcp`, a cloud's network load balancer) in
front of the web port names each client in a header before its HTTP request: what reads
the client's address (who may read /metrics, a WebSocket's user, the Origin check's
scheme when the proxy ended TLS) reads the one named. tests/e2e/test_haproxy.py opens a
WebSocket through a real HAProxy.
"""

from __future__ import annotations

import asyncio
import ipaddress

from hubbub.app import Runtime
from hubbub.transport.proxyheader import V2_SIGNATURE
from tests.helpers import TIMEOUT
from tests.web.wsclient import RawFrames, client_frame, raw_websocket, start_web_server

PROXY = "listen.proxy_from=['127.0.0.1']"
V1 = "PROXY TCP4 {} 192.0.2.1 51234 8080\r\n"


def v2_tls(source: str) -> bytes:
    """A v2 header whose SSL TLV says the client spoke TLS to the proxy (HAProxy's send-proxy-v2-ssl)."""
    body = ipaddress.ip_address(source).packed + ipaddress.ip_address("192.0.2.1").packed
    body += (51234).to_bytes(2, "big") + (443).to_bytes(2, "big")
    body += bytes([0x20]) + (5).to_bytes(2, "big") + bytes([0x01, 0, 0, 0, 0])
    return V2_SIGNATURE + bytes([0x21, 0x11]) + len(body).to_bytes(2, "big") + body


async def status_through_proxy(runtime: Runtime, header: bytes, path: str) -> str:
    """The status line of GET `path`, sent behind `header` on a connection from 127.0.0.1."""
    host, port = runtime.listeners.address("web")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(header + f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    try:
        return (await asyncio.wait_for(reader.readline(), TIMEOUT)).decode().strip()
    except ConnectionResetError:  # closed with the request unread
        return ""
    finally:
        writer.close()


async def test_metrics_are_for_the_client_the_header_names_not_for_the_proxy() -> None:
    runtime = await start_web_server(PROXY)
    try:
        # the proxy is on this machine, which web.metrics_from lists: its clients are not
        assert await status_through_proxy(runtime, V1.format("203.0.113.7").encode(), "/metrics") == \
            "HTTP/1.1 404 Not Found"  # fmt: skip
        assert await status_through_proxy(runtime, V1.format("127.0.0.5").encode(), "/metrics") == "HTTP/1.1 200 OK"
        assert await status_through_proxy(runtime, V1.format("203.0.113.7").encode(), "/healthz") == "HTTP/1.1 200 OK"
        # a request from the proxy's address without a header is not answered
        assert await status_through_proxy(runtime, b"", "/metrics") == ""
    finally:
        await runtime.stop()


async def whois_over(sock, nick: str) -> list[str]:  # noqa: ANN001
    """Register `nick` over a raw WebSocket and WHOIS it: the lines up to 318."""
    loop = asyncio.get_running_loop()
    for line in (f"NICK {nick}", "USER w 0 * :W", f"WHOIS {nick}"):
        await loop.sock_sendall(sock, client_frame(line.encode()))
    frames = RawFrames(sock)
    lines = []
    while True:
        got = await frames.next()
        assert got is not None, lines
        lines.append(got[1].decode())
        if " 318 " in lines[-1]:
            return lines


async def test_a_websocket_behind_the_proxy_is_the_user_the_header_names() -> None:
    runtime = await start_web_server(PROXY)
    try:
        sock = await raw_websocket(runtime, preamble=V1.format("203.0.113.7").encode())
        lines = await whois_over(sock, "webuser")
        assert any(" 378 webuser webuser " in line and line.endswith(" 203.0.113.7") for line in lines), lines
        assert not any(" 671 " in line for line in lines)
        sock.close()
    finally:
        await runtime.stop()


async def test_tls_ended_at_the_proxy_is_https_to_the_origin_check_and_secure_to_whois() -> None:
    runtime = await start_web_server(PROXY)
    try:
        host, port = runtime.listeners.address("web")
        origin = f"Origin: https://{host}:{port}\r\n"  # the page, served over HTTPS by the proxy
        sock = await raw_websocket(runtime, preamble=v2_tls("198.51.100.4"), extra=origin)
        lines = await whois_over(sock, "tlsuser")
        assert any(" 671 tlsuser tlsuser " in line for line in lines), lines
        assert any(line.endswith(" 198.51.100.4") for line in lines if " 378 " in line), lines
        sock.close()
        # the same page behind a proxy that says nothing of TLS: another origin, refused
        try:
            await raw_websocket(runtime, preamble=V1.format("198.51.100.4").encode(), extra=origin)
        except AssertionError as refused:
            assert "403" in str(refused)
        else:
            raise AssertionError("an https origin was let in over plain http")
    finally:
        await runtime.stop()
