"""The web listener: the web client's files, IRC over WebSocket, /healthz and /metrics.

One aiohttp application on the server's own event loop, served on `listen.web`:

- `GET /webirc`, and `GET /` with `Upgrade: websocket` (as ergo and InspIRCd accept
  it, so generic WebSocket IRC clients that connect to the bare host work): IRC over
  WebSocket (websocket.py), after the Origin check (peer.py); the subprotocol is the
  first of the client's list among `binary.ircv3.net` and `text.ircv3.net`, or none;
- `GET /` and the other files of the web client (static.py), compressed when the
  browser accepts gzip, revalidated by ETag;
- `GET /healthz`: whether this node can serve its clients: 200 and a small JSON document
  (`"status": "ok"`, or `"degraded"` when a check chat does without fails: the store,
  Redis for less than `cluster.node_timeout`), 503 and `"unavailable"` when not;
- `GET /metrics`: the Prometheus text exposition, to the addresses `web.metrics_from`
  lists (loopback by default; peer.py says how a proxy's request is judged), 404 to
  anyone else and when `web.metrics` is off;
- `GET /client.json`: what the web client's connect screen suggests (the server's
  default channel), as the configuration says it now.

Every response carries the headers the web client is written for (a strict Content
Security Policy and its companions, below), the 400 aiohttp itself gives a request it
cannot parse included (`GuardedHandler`, which also fails a WebSocket on a frame the
client did not mask: masking.py). A connection has `web.handshake_timeout`
to send its request (aiohttp's keep-alive timer covers a connection that never does);
over HTTPS the TLS handshake has the same bound. Each connection counts against the
connection limits from its accept (httpconn.py); a WebSocket takes over the count of
the HTTP connection it upgrades.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_websocket import WebSocketReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import ContentCoding

from hubbub.transport import peer, static
from hubbub.transport.headers import SECURITY_HEADERS
from hubbub.transport.httpconn import HttpConnection
from hubbub.transport.masking import UNMASKED_CLOSE, MaskedOnly
from hubbub.transport.ports import WebHost
from hubbub.transport.websocket import CLOSE_TIMEOUT, SUBPROTOCOLS, WebSocketConnection

log = logging.getLogger("hubbub.web")

_HOST = web.AppKey("host", WebHost)
_FILES = web.AppKey("files", dict[str, static.StaticFile])
_SOCKETS = web.AppKey("sockets", set[WebSocketConnection])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _proxied(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request on a connection whose TCP proxy named its client in a PROXY header
    (listen.proxy_from): aiohttp knows only the proxy's address, the connection the
    client's, and whether it reached the proxy over TLS. Every rule that reads
    `request.remote` or `request.secure` (the client's address behind an HTTP proxy,
    the Origin check, who may read /metrics, the log) then reads the client's."""
    transport = request.transport
    conn = transport.get_protocol() if transport is not None else None
    if isinstance(conn, HttpConnection) and (conn.ip != request.remote or conn.secure != request.secure):
        request = request.clone(remote=conn.ip, scheme="https" if conn.secure else "http")
    return await handler(request)


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # 404, 405...: the same headers on errors
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a WebSocket has already answered with its 101
        response.headers.update(SECURITY_HEADERS)
    return response


class _RefusedRequests(logging.Filter):
    """aiohttp logs every request its parser refuses (a garbled request line, a header
    or URL too long) with a traceback at ERROR: on a public port that is a log anyone can
    fill. `GuardedHandler` logs them in one line instead; this drops aiohttp's record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], HttpProcessingError))


_REFUSED_REQUESTS = _RefusedRequests()


class GuardedHandler(RequestHandler):
    """aiohttp's protocol for one connection, whose own error answers (400 for a request
    its parser refuses, before any middleware runs) carry the security headers too, and
    whose WebSocket, once upgraded, fails on a frame the client did not mask."""

    __slots__ = ()

    def set_parser(self, parser: WebSocketReader, data_received_cb: Callable[[], None] | None = None) -> None:
        # Every byte after the upgrade passes through it, the ones that came with the
        # request included (aiohttp feeds them in this call); aiohttp calls only the
        # reader's feed_data and feed_eof.
        super().set_parser(MaskedOnly(parser, self._unmasked), data_received_cb)  # type: ignore[arg-type]

    def _unmasked(self) -> None:
        """Fail the WebSocket (RFC 6455 7.1.7): a Close frame with 1002, and the TCP
        connection closed without waiting for the client's Close, as aiohttp does for
        the framing errors it finds itself. The connection's end reaches the session as
        the end of any other connection does (aiohttp's connection_lost): what the
        client sent before the unmasked frame is handled as before a cut connection,
        nothing after it is read."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(UNMASKED_CLOSE)
            transport.close()
        self.close()  # as for a reader's error: whatever still comes is not parsed

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:  # fmt: skip
        if isinstance(exc, HttpProcessingError):
            # aiohttp's parser message quotes the request on lines of its own: one line of the log
            said = next((line for line in str(exc.message).splitlines() if line.strip()), "")
            said = "".join(c if c.isprintable() else "?" for c in said.strip().rstrip(":"))
            # the client a TCP proxy's PROXY header named, if any (the parser refused the
            # request before the middleware that tells aiohttp of it could run)
            conn = self.transport.get_protocol() if self.transport is not None else None
            client = conn.ip if isinstance(conn, HttpConnection) else request.remote
            log.info("HTTP request from %s refused (%d): %s", client, status, said)
        response = super().handle_error(request, status, exc, message)
        response.headers.update(SECURITY_HEADERS)
        return response


def build_app(host: WebHost) -> web.Application:
    """The application; `close_websockets` is among its shutdown hooks."""
    app = web.Application(middlewares=[_proxied, _headers], client_max_size=4096)  # no request needs a body
    app[_HOST] = host
    app[_FILES] = static.load()
    app[_SOCKETS] = set()
    app.router.add_get("/webirc", _webirc)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/client.json", _client_settings)
    app.router.add_get("/{path:.*}", _file)
    app.on_shutdown.append(close_websockets)
    server_log = logging.getLogger("aiohttp.server")
    if _REFUSED_REQUESTS not in server_log.filters:
        server_log.addFilter(_REFUSED_REQUESTS)
    return app


async def close_websockets(app: web.Application) -> None:
    """Whatever WebSocket is still open when the server stops: closed now. (The runtime
    has already sent each client its ERROR; without this, aiohttp's shutdown would wait
    for every one of them to time out.)"""
    sockets = app[_SOCKETS]
    for conn in list(sockets):
        conn.close()
    for conn in list(sockets):
        conn.abort()


# -- IRC over WebSocket ------------------------------------------------------------------------


def _forwarded_for(request: web.Request) -> str | None:
    """Every X-Forwarded-For line as one list (RFC 9110 5.3): a proxy that adds a line of
    its own, rather than extending the client's, puts the address it saw last."""
    lines = request.headers.getall("X-Forwarded-For", [])
    return ", ".join(lines) if lines else None


async def _webirc(request: web.Request) -> web.StreamResponse:
    host = request.app[_HOST]
    settings = host.web_settings
    trusted = peer.networks(settings.trusted_proxies)
    ip, secure = peer.client_address(
        request.remote or "", request.secure, _forwarded_for(request),
        request.headers.get("X-Forwarded-Proto"), trusted,
    )  # fmt: skip
    transport = request.transport
    counted = transport.get_protocol() if transport is not None else None
    if not isinstance(counted, HttpConnection):  # not accepted by our listener (or gone): not counted
        raise web.HTTPServiceUnavailable(text="This connection cannot become a WebSocket.\n")
    origin = request.headers.get(hdrs.ORIGIN)
    scheme = "https" if secure else "http"
    if not peer.origin_allowed(origin, request.host, scheme, settings.allowed_origins):
        log.info("WebSocket from %s refused: origin %s is not allowed", ip, origin)
        raise web.HTTPForbidden(text="This origin may not open a WebSocket here (see web.allowed_origins).\n")
    ws: web.WebSocketResponse = web.WebSocketResponse(
        # aiohttp refuses a message of max_msg_size bytes already: web.max_frame is accepted
        protocols=SUBPROTOCOLS, max_msg_size=settings.max_frame + 1, compress=False, autoping=True,
        decode_text=False, timeout=CLOSE_TIMEOUT, autoclose=False,  # the client's close is answered by _read
    )  # fmt: skip
    await ws.prepare(request)
    transport = request.transport
    if transport is None:  # gone during the handshake
        return ws
    conn = WebSocketConnection(host, ws, transport, ip, secure, counted.hand_over)
    sockets = request.app[_SOCKETS]
    sockets.add(conn)
    try:
        await conn.serve()
    finally:
        sockets.discard(conn)
    return ws


# -- files and the server's own endpoints ------------------------------------------------------


async def _file(request: web.Request) -> web.StreamResponse:
    if request.path == "/" and request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
        return await _webirc(request)
    found = static.lookup(request.app[_FILES], request.path)
    if found is None:
        raise web.HTTPNotFound()
    zipped = found.gzipped is not None and static.accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING))
    etag = found.gzip_etag if zipped else found.etag
    headers = {"ETag": etag, "Cache-Control": static.CACHE_CONTROL}
    if found.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if static.not_modified(request.headers.get(hdrs.IF_NONE_MATCH), etag):
        return web.Response(status=304, headers=headers)
    body = found.body
    if zipped and found.gzipped is not None:
        body = found.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = found.content_type
    return web.Response(body=body, headers=headers)


async def _healthz(request: web.Request) -> web.StreamResponse:
    ready, details = await request.app[_HOST].health()
    # the details' own "status" ("degraded": ready, with a check chat does without failing) wins
    body = json.dumps({"status": "ok" if ready else "unavailable", **details}, sort_keys=True) + "\n"
    return web.Response(status=200 if ready else 503, text=body, content_type="application/json",
                        headers={"Cache-Control": "no-store"})  # fmt: skip


async def _client_settings(request: web.Request) -> web.StreamResponse:
    """The server's suggestions to the web client's connect screen: its default channel
    (`server.default_channel`, where plain-text users are put too), so that web users
    land where the community is rather than in a `#lobby` nobody uses. Read at each
    request: a REHASH changes it for the next visitor."""
    body = json.dumps(request.app[_HOST].client_settings(), sort_keys=True) + "\n"
    return web.Response(text=body, content_type="application/json", headers={"Cache-Control": "no-cache"})


def _may_read_metrics(request: web.Request) -> bool:
    """`web.metrics` on, and the request from where `web.metrics_from` allows (peer.py)."""
    settings = request.app[_HOST].web_settings
    if not settings.metrics:
        return False
    headers = request.headers
    forwarded = peer.forwarded_addresses(headers.getall("X-Forwarded-For", []), headers.getall("X-Real-IP", []),
                                         headers.getall(hdrs.FORWARDED, []))  # fmt: skip
    return peer.may_read_metrics(request.remote or "", forwarded, peer.networks(settings.metrics_from))


async def _metrics(request: web.Request) -> web.StreamResponse:
    """The metrics, to those allowed; to anyone else a 404, as if there were none here
    (a 403 would tell a stranger what to look for)."""
    host = request.app[_HOST]
    if not _may_read_metrics(request):
        log.debug("GET /metrics from %s refused: not from web.metrics_from", request.remote)
        raise web.HTTPNotFound()
    body, content_type = host.metrics_page()
    response = web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
    if static.accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING)):  # q=0 refuses it, as RFC 9110 says
        response.enable_compression(ContentCoding.gzip)  # an exposition compresses about tenfold
    return response
