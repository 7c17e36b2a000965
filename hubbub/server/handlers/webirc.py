"""WEBIRC: a trusted web gateway names the address of the user it connects.

`WEBIRC <password> <gateway> <hostname> <ip> [:<options>]` (IRCv3 webirc), the first
thing a gateway sends on the connection it opens for one of its users. When the
connection comes from the `hosts` of a `[[webirc]]` block and the password is that
block's, the user takes `ip` as its address (per-address limits, K-lines, WHOIS and
the log see it), `hostname` as its host when it reads as one (else the address), and
counts as connected over TLS only when the gateway says so (`secure`) over a link
nobody else could read: TLS itself, or the loopback interface. Everything else about
the gateway (its name, its own address) is shown to operators (WHOIS 320) and logged.

What the spec leaves to servers, and what we do:
- Refused (not from a gateway's address, a wrong password, an IP that is not one):
  `ERROR` and the connection is closed, as the spec says, as ergo and InspIRCd do.
- Later than first: after registration it changes nothing (`462`, as PASS and USER
  answer then: others have seen the address); once registration has begun (NICK,
  USER, PASS, CAP) the spec's "MUST be the first command" was broken and what was
  done under the gateway's address (a nick claimed, capabilities, a login) would stay
  its: `ERROR`, closed, so that a misconfigured gateway is seen at once.
- The password is an argon2id hash in the configuration, like an operator's, checked
  off the event loop once per gateway (gateways.GatewayPasswords), then from memory.
"""

from __future__ import annotations

from hubbub.config import WebircBlock
from hubbub.irc import numerics as n
from hubbub.irc.message import Message
from hubbub.passwords import verify_password
from hubbub.server import gateways
from hubbub.server.addresses import counted_as
from hubbub.server.apply import Outcome
from hubbub.server.commands import command
from hubbub.server.context import Context
from hubbub.server.events import AddressSet
from hubbub.server.logins import count_failure, throttle_wait, throttled_text
from hubbub.server.registration import Phase

NOT_ALLOWED = "WEBIRC is not allowed from your address"
BAD_PASSWORD = "Invalid WebIRC password"
BAD_ADDRESS = "WEBIRC gave no valid IP address"
TOO_LATE = "WEBIRC must be sent before any other registration command"
TOO_MANY = "Too many connections from your IP address"
BUSY = "Server load is temporarily too heavy. Please wait a while and try again."


@command("WEBIRC", min_params=4, before_registration=True)
def handle_webirc(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    if conn.registered:
        conn.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if ctx.user.gateway is not None:  # a second one: its address is the user's now, not a gateway's
        _refuse(ctx, TOO_LATE)
        return
    blocks = gateways.blocks_for(ctx.config.webirc, ctx.user.ip)
    if not blocks:  # refused before any password is checked: nothing to guess from here
        _refuse(ctx, NOT_ALLOWED, tell_operators=False)  # anyone can send it, as often as it likes
        return
    if _registration_begun(ctx):
        _refuse(ctx, TOO_LATE)
        return
    password = message.params[0]
    passwords = ctx.svc.gateway_passwords
    known = passwords.known(blocks, password)
    if known is not None:
        _take_address(ctx, known, message)
        return
    # Wrong passwords from a gateway's address are counted as failed logins are: past
    # accounts.login_failures within login_window, refused unchecked (a remembered right
    # password, above, is never refused: the real gateway goes on).
    key = f"ip:{ctx.user.group}"
    wait = throttle_wait(ctx, key)
    if wait is not None:
        _refuse(ctx, throttled_text(wait), tell_operators=False)
        return

    busy = False

    def checked(block: WebircBlock | None) -> None:
        if busy:  # not checked at all: not a failure either
            ctx.conn.numeric(n.RPL_TRYAGAIN, "WEBIRC", BUSY)
            ctx.disconnect(BUSY)  # a gateway cannot go on under its own address: it tries again
            return
        if block is not None and block not in ctx.config.webirc:
            block = None  # REHASH removed or changed it meanwhile
        if block is None:
            count_failure(ctx, key)
            _refuse(ctx, BAD_PASSWORD)
            return
        passwords.remember(block, password, ctx.config.webirc)
        _take_address(ctx, block, message)

    checking = passwords.key(blocks, password)
    waiters = passwords.checking.get(checking)
    first = waiters is None
    if waiters is None:
        waiters = passwords.checking[checking] = []
    waiters.append(ctx.later(checked, hold_input=True))  # its later lines wait meanwhile
    if not first:
        return  # the same password is being checked for another connection: its result is ours

    def check() -> WebircBlock | None:
        return next((block for block in blocks if verify_password(block.password_hash, password)), None)

    def done(block: WebircBlock | None) -> None:
        for resume in passwords.checking.pop(checking, []):
            resume(block)

    if not ctx.svc.offload(ctx.conn, check, done):
        busy = True
        done(None)  # this connection alone waits yet


def _registration_begun(ctx: Context) -> bool:
    """Whether anything of registration happened already (a gateway named an address,
    a nick was claimed, USER, PASS or CAP was sent)."""
    conn, user = ctx.conn, ctx.user
    reg = conn.registration
    return (
        user.gateway is not None
        or user.key is not None
        or bool(reg.username)
        or reg.password is not None
        or reg.phase is not Phase.NEW
        or conn.cap_version > 0
        or bool(conn.caps)
    )


def _refuse(ctx: Context, reason: str, tell_operators: bool = True) -> None:
    """ERROR and close, as the spec asks; the log hears of it (at a bounded rate), and
    so do operators when it came from a gateway's address (a gateway misconfigured, or
    someone guessing its password there)."""
    ip = ctx.user.ip
    ctx.svc.audit.gateway_refused(ip, reason)
    if tell_operators:
        ctx.notices.send(f"WEBIRC refused from {ip}: {reason}")
    ctx.disconnect(reason)


def _take_address(ctx: Context, block: WebircBlock, message: Message) -> None:
    conn, user, state = ctx.conn, ctx.user, ctx.state
    ip = gateways.real_address(message.params[3])
    if ip is None:
        _refuse(ctx, BAD_ADDRESS)
        return
    group = counted_as(ip, ctx.config.limits.ipv6_prefix)
    # cloaked as any connection's address (the gateway's hostname for it would tell as much)
    host = ctx.svc.cloak(ip, group) or gateways.shown_host(message.params[2], ip)
    options = gateways.parse_options(" ".join(message.params[4:]))
    gateway_ip = user.ip
    # The spec: secure only when the gateway says its user's connection to it is, and its
    # own connection to us is too. The loopback interface counts as such (a gateway on
    # this machine), as ergo counts it: nobody else can read or forge what passes there.
    secure = "secure" in options and (user.secure or gateways.is_loopback(gateway_ip))
    name = gateways.gateway_name(block, message.params[1])
    kline = state.klines.find("", host, ip, ctx.now())  # those naming a username act at registration
    if kline is not None:
        ctx.notices.send(f"K-line active for a connection from {ip} (WebIRC gateway {name} [{gateway_ip}]): "
                         f"{kline.mask}")  # fmt: skip
        ctx.svc.audit.kline_hit(kline.mask, f"a connection from {ip} through WebIRC gateway {name} [{gateway_ip}]")
        ctx.disconnect(f"K-Lined: {kline.reason}")
        return
    refusal = ctx.svc.readdress(conn.link, ip)  # this node's count of connections per address
    if refusal is not None:
        ctx.svc.audit.refused(ip, f"{refusal} (through WebIRC gateway {name} [{gateway_ip}])")
        ctx.disconnect(refusal)
        return
    # a network of several nodes also counts users per address in its shared state
    ip_limit = ctx.config.limits.max_clients_per_ip if state.nodes else 0

    def applied(outcome: Outcome) -> None:
        if conn.gone:
            return
        if outcome.rejected is None:
            ctx.svc.audit.through_gateway(user)
        elif outcome.rejected == "too many from the address":
            ctx.svc.audit.refused(ip, f"{TOO_MANY} (through WebIRC gateway {name} [{gateway_ip}])")
            ctx.disconnect(TOO_MANY)

    event = AddressSet(user.uid, ip, host, secure, name, gateway_ip, ctx.now(), ip_limit, "" if group == ip else group)
    ctx.emit(event, applied)
