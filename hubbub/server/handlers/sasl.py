"""SASL (IRCv3 sasl 3.1 and 3.2): AUTHENTICATE with PLAIN, SCRAM-SHA-256 and EXTERNAL.

    C: AUTHENTICATE PLAIN            S: AUTHENTICATE +
    C: AUTHENTICATE <base64, in 400-byte pieces; `+` for an empty or completed one>
    S: 900, 903 (or 904 failed, 905 a piece too long, 906 aborted with `*`, 908 mechanisms)

During registration the exchange runs inside CAP negotiation (registration.py's
AUTHENTICATING phase; CAP END aborts one still open); after registration a client may
authenticate again (3.2), to the same or another account. EXTERNAL is offered only to
a connection that presented a TLS client certificate: the account it names must hold
that certificate's fingerprint. Failures count against the login throttle (logins.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import partial
from typing import Any

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import Message
from hubbub.passwords import scram, scram_keys
from hubbub.server import logins
from hubbub.server.account import Account
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.handlers import nickserv
from hubbub.server.handlers.history import replay_private
from hubbub.server.registration import Step, own, settled

CHUNK = 400  # bytes of base64 per AUTHENTICATE line
MAX_RESPONSE = 8192  # bytes of base64 in one response, all pieces together
# A SCRAM exchange with an unknown account goes on with made-up keys and fails at the
# proof, as a wrong password does: whether an account exists is not told. Each name gets
# its own salt, the same at every attempt, on every node and after a restart (as a real
# account's), and keys no password gives: both drawn from the store's secret
# (`Services.decoy_secret`), not from a password.
_DECOY_ITERATIONS = 4096  # scramp's default, what real accounts' keys use (passwords.py)


def _decoy_keys(secret: bytes, name: str) -> tuple[bytes, bytes, bytes, int]:
    def derive(purpose: bytes) -> bytes:
        return hmac.new(secret, purpose + b"\0" + casefold(name).encode(), hashlib.sha256).digest()

    return derive(b"salt"), derive(b"stored"), derive(b"server"), _DECOY_ITERATIONS


def mechanisms(ctx: Context) -> list[str]:
    """The mechanisms this connection may use, the `sasl` capability's value."""
    mechs = ["PLAIN", "SCRAM-SHA-256"]
    if ctx.user.certfp is not None:
        mechs.insert(0, "EXTERNAL")
    return mechs


class Exchange:
    """One AUTHENTICATE exchange in progress."""

    __slots__ = ("mechanism", "buffer", "scram", "step")

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism
        self.buffer = ""  # base64 pieces of the response being received
        self.scram: Any = None  # the scramp server of a SCRAM exchange
        self.step = 0


def _end(ctx: Context) -> None:
    conn = ctx.conn
    conn.sasl = None
    conn.registration.step(Step.SASL_DONE)
    conn.registration = settled(conn.registration)


def _fail(ctx: Context, text: str = "SASL authentication failed") -> None:
    _end(ctx)
    ctx.conn.numeric(n.ERR_SASLFAIL, text)


def _send_challenge(ctx: Context, data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    for i in range(0, len(encoded), CHUNK):
        ctx.conn.server_message("AUTHENTICATE", encoded[i : i + CHUNK])
    if not encoded or len(encoded) % CHUNK == 0:
        ctx.conn.server_message("AUTHENTICATE", "+")


def _succeed(ctx: Context, account: Account) -> None:
    def done() -> None:
        _end(ctx)
        ctx.conn.numeric(n.RPL_SASLSUCCESS, "SASL authentication successful")
        if ctx.conn.registered and ctx.conn.enforce_at is None:
            # re-authenticated to another account: the nick may now be one it does not own
            nickserv.check_nick(ctx)

    def last() -> None:
        if ctx.conn.registered:  # before registration, the welcome replays it
            replay_private(ctx)

    logins.log_in(ctx, account, done, last)


def abort_on_registration(ctx: Context) -> None:
    """CAP END with an exchange open: it is aborted (the spec's SHOULD), the client
    registers without an account. Once registered, CAP END registers nothing: a
    re-authentication under way goes on."""
    if ctx.conn.sasl is not None and not ctx.conn.registered:
        ctx.conn.sasl = None
        ctx.conn.numeric(n.ERR_SASLABORTED, "SASL authentication aborted")


@command("AUTHENTICATE", min_params=1, before_registration=True)
def handle_authenticate(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    arg = message.params[0]
    if "sasl" not in conn.caps:
        conn.numeric(n.ERR_SASLFAIL, "SASL authentication failed: negotiate the sasl capability first")
        return
    exchange = conn.sasl
    if arg == "*":
        if exchange is not None:
            _end(ctx)
        conn.numeric(n.ERR_SASLABORTED, "SASL authentication aborted")
        return
    if not isinstance(exchange, Exchange):
        _start(ctx, arg)
        return
    if len(arg) > CHUNK:
        _end(ctx)
        conn.numeric(n.ERR_SASLTOOLONG, "SASL message too long")
        return
    if arg != "+":
        exchange.buffer += arg
        if len(exchange.buffer) > MAX_RESPONSE:
            _fail(ctx, "SASL authentication failed: response too long")
            return
        if len(arg) == CHUNK:
            return  # more pieces follow (a last full piece is followed by `+`)
    try:
        data = base64.b64decode(exchange.buffer, validate=True)
    except (binascii.Error, ValueError):
        _fail(ctx, "SASL authentication failed: invalid base64")
        return
    exchange.buffer = ""
    _respond(ctx, exchange, data)


def _start(ctx: Context, mechanism: str) -> None:
    conn = ctx.conn
    offered = mechanisms(ctx)
    mechanism = mechanism.upper()
    if mechanism not in offered:
        conn.numeric(n.RPL_SASLMECHS, ",".join(offered), "are available SASL mechanisms")
        conn.numeric(n.ERR_SASLFAIL, "SASL authentication failed: unknown mechanism")
        return
    conn.registration = own(conn.registration)  # a re-authentication changes it
    if not conn.registration.step(Step.SASL_START):
        # only inside the CAP negotiation, before CAP END, or once registered
        conn.numeric(n.ERR_SASLFAIL, "SASL authentication failed: authenticate before CAP END")
        return
    conn.sasl = Exchange(mechanism)
    conn.server_message("AUTHENTICATE", "+")


def _respond(ctx: Context, exchange: Exchange, data: bytes) -> None:
    if exchange.mechanism == "PLAIN":
        _plain(ctx, data)
    elif exchange.mechanism == "EXTERNAL":
        _external(ctx, data)
    else:
        _scram(ctx, exchange, data)


def _throttled(ctx: Context, name: str) -> bool:
    wait = logins.refused_for(ctx, casefold(name))
    if wait is None:
        return False
    _fail(ctx, logins.throttled_text(wait))
    return True


def _plain(ctx: Context, data: bytes) -> None:
    try:
        authzid, authcid, password = data.decode("utf-8").split("\0")
    except (UnicodeDecodeError, ValueError):
        _fail(ctx, "SASL authentication failed: invalid PLAIN message")
        return
    if authzid and casefold(authzid) != casefold(authcid):
        _fail(ctx, "SASL authentication failed: authzid and authcid must be the same")
        return
    if not authcid or _throttled(ctx, authcid):
        if not authcid:
            _fail(ctx)
        return

    def checked(account: Account | None) -> None:
        if account is None:
            if not ctx.conn.gone:
                _fail(ctx, "SASL authentication failed: invalid account credentials")
            return
        _succeed(ctx, account)

    logins.check_password(ctx, authcid, password, checked, partial(_unavailable, ctx))


def _unavailable(ctx: Context, why: str = logins.UNAVAILABLE) -> None:
    _fail(ctx, f"SASL authentication failed: {why}")


def _external(ctx: Context, data: bytes) -> None:
    # a certificate another node just added counts
    ctx.caught_up(lambda: _external_now(ctx, data), partial(_unavailable, ctx))


def _external_now(ctx: Context, data: bytes) -> None:
    certfp = ctx.user.certfp
    account = ctx.state.certfps.get(certfp) if certfp is not None else None
    try:
        authzid = data.decode("utf-8")
    except UnicodeDecodeError:
        authzid = "\0"
    if account is None or (authzid and casefold(authzid) != account.key):
        _fail(ctx, "SASL authentication failed: no account holds this certificate")
        return
    _succeed(ctx, account)


def _scram(ctx: Context, exchange: Exchange, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _fail(ctx, "SASL authentication failed: invalid SCRAM message")
        return
    if exchange.step == 0:
        _scram_first(ctx, exchange, text)
    elif exchange.step == 1:
        _scram_final(ctx, exchange, text)
    else:  # the client's empty response after our final message
        account = exchange.scram.account if exchange.scram is not None else None
        if account is None:
            _fail(ctx)
            return
        _succeed(ctx, account)


class _ScramServer:
    """scramp's server and the account it authenticates (None: failing, without telling)."""

    __slots__ = ("server", "account", "name")

    def __init__(self, ctx: Context) -> None:
        self.account: Account | None = None
        self.name = ""

        def keys(username: str) -> tuple[bytes, bytes, bytes, int]:
            self.name = username
            account = ctx.state.accounts.get(casefold(username))
            if account is None or not account.scram:
                return _decoy_keys(ctx.svc.decoy_secret, username)
            self.account = account
            return scram_keys(account.scram)

        self.server = scram().make_server(keys)


def _scram_first(ctx: Context, exchange: Exchange, text: str) -> None:
    # the keys are read once: an account another node registered a moment ago counts
    ctx.caught_up(lambda: _scram_first_now(ctx, exchange, text), partial(_unavailable, ctx))


def _scram_first_now(ctx: Context, exchange: Exchange, text: str) -> None:
    from scramp import ScramException  # loaded by passwords.scram() already

    server = _ScramServer(ctx)
    try:
        server.server.set_client_first(text)
    except ScramException:
        _fail(ctx, "SASL authentication failed: invalid SCRAM message")
        return
    if _throttled(ctx, server.name):
        return
    exchange.scram = server
    exchange.step = 1
    _send_challenge(ctx, server.server.get_server_first().encode())


def _scram_final(ctx: Context, exchange: Exchange, text: str) -> None:
    from scramp import ScramException  # loaded by passwords.scram() already

    server: _ScramServer = exchange.scram
    try:
        server.server.set_client_final(text)
    except ScramException:
        if not logins.failed(ctx, casefold(server.name)):
            _fail(ctx, "SASL authentication failed: invalid account credentials")
        return
    if server.account is None or ctx.state.accounts.get(server.account.key) is not server.account:
        _fail(ctx)
        return
    exchange.step = 2
    _send_challenge(ctx, server.server.get_server_final().encode())
