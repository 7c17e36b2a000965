"""Connection registration: CAP negotiation, PASS, NICK and USER.

The phases and their transitions are registration.py's table; these handlers take its
steps. Registration completes when a nick and a user are known and no CAP negotiation
is open; it is refused (464) when the server has a password the client did not give,
and, without checking, from an address that failed too often lately (server/throttle.py).
NICK also lives here because after registration it is the same claim on a name, and
whether a claim wins is settled by the order of events (a `NickSet` applied after
someone else's claim of the nick is rejected, and its emitter answers 433).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable

from hubbub.irc import numerics as n
from hubbub.irc.casemap import casefold
from hubbub.irc.message import MAX_LINE_BODY, Message, fit_utf8, pack
from hubbub.irc.validate import is_valid_nick
from hubbub.server import caps, ghosts, metadata, sts, vhosts
from hubbub.server.access import nick_change_blocked_by
from hubbub.server.apply import Outcome
from hubbub.server.commands import command
from hubbub.server.connection import READ_MARKER
from hubbub.server.context import Context, Services
from hubbub.server.delivery import new_msgid
from hubbub.server.events import NickSet, Registered
from hubbub.server.handlers import nickserv, sasl
from hubbub.server.handlers.history import replay_private
from hubbub.server.handlers.info import send_welcome
from hubbub.server.handlers.replies import shown
from hubbub.server.logins import count_failure, throttle_wait, throttled_text
from hubbub.server.registration import Phase, Step, settled
from hubbub.server.services import is_service_nick
from hubbub.server.user import NONE

USERLEN = 10
# A CAP LS line is filled up to 512 bytes before a continuation: some client libraries
# (pydle) read only the first line of a multi-line LS.
_USERNAME_JUNK = re.compile(r"[^A-Za-z0-9._-]")
RESERVED = "Nickname is reserved by a different account"


def try_complete_registration(ctx: Context) -> None:
    conn, user = ctx.conn, ctx.user
    reg = conn.registration
    if not reg.ready(user.key is not None):
        return
    wanted = ctx.config.server.password
    if wanted:
        # Guesses count against the address, on a count of their own at the looser limit per
        # address: a client that reconnects with a wrong password again and again (irssi,
        # a bouncer) must not shut everyone behind its NAT out at the tight limit, nor out
        # of OPER or accounts (logins.py)
        key = f"pass:{user.group}"
        wait = throttle_wait(ctx, key, ctx.config.accounts.login_failures_per_address)
        if wait is not None:  # refused unchecked: a right guess must not be told apart
            conn.numeric(n.ERR_PASSWDMISMATCH, throttled_text(wait))
            ctx.disconnect("Too many failed password attempts")
            return
        if not hmac.compare_digest((reg.password or "").encode(), wanted.encode()):
            if reg.password is not None:  # a guess (no PASS at all is no attempt)
                count_failure(ctx, key)
            conn.numeric(n.ERR_PASSWDMISMATCH, "Password incorrect")
            ctx.disconnect("Bad password")
            return
    kline = ctx.state.klines.find(reg.username, user.host, user.ip, ctx.now())
    if kline is not None:
        ctx.notices.send(f"K-line active for {user.nick} ({reg.username}@{user.host}) [{user.ip}]: {kline.mask}")
        ctx.svc.audit.kline_hit(kline.mask, f"{user.nick}!{reg.username}@{user.host} [{user.ip}]")
        ctx.disconnect(f"K-Lined: {kline.reason}")
        return
    # PASS when the server asks for none: a login, for clients and bots that have no SASL
    # (a bouncer's `account:password` habit), if SASL did not log in; decided now, as
    # SASL's is, and told (NickServ's words) once the welcome is out
    by_pass = _login_password(ctx)
    if by_pass and user.account is None and reg.step(Step.PASS_START):
        reg.password = None  # tried once: not kept, nor tried again when this comes back

        def decided(text: str) -> None:
            if conn.gone:
                return  # nothing more to register
            reg.pass_said = text
            reg.step(Step.PASS_DONE)
            try_complete_registration(ctx)

        nickserv.log_in_by_pass(ctx, by_pass, decided)
        return
    if _reserved_for_another(ctx, user.nick):  # its login, if any, is over: it needs another nick
        conn.numeric(n.ERR_NICKNAMEINUSE, user.nick, RESERVED)
        return
    if reg.refused_nick is not None and user.account is not None:
        # logged in (SASL, PASS), refused its nick by a connection of its account: the
        # welcome waits until that one is known gone (then welcomed under the nick) or there
        if ghosts.wait_before_welcome(ctx, reg.refused_nick, lambda: try_complete_registration(ctx)):
            reg.refused_nick = None  # asked: not again once welcomed
            return
    reg.step(Step.COMPLETE)
    said = reg.pass_said

    # The vhost of the account it logged in to (SASL, PASS), as this node sees it now: for the
    # nodes of the version before that read it. Applying decides (the account as it is then).
    vhost = vhosts.account_vhost(ctx.state, user)
    refused = reg.refused_nick

    def after_login() -> None:
        nickserv.check_nick(ctx)
        if refused is not None:
            ghosts.ask(ctx, refused)  # the nick it wanted, if its account's own ghost holds it

    def welcome(outcome: Outcome) -> None:
        conn.registration = settled(conn.registration)  # what it gave is the user's now
        if outcome.rejected is None and (vhost or user.vhost_of is not None):
            # Said again for the nodes of the version before, as applied: those before
            # HostServ skip Registered's host, and those after it may hold another
            vhosts.said_again(ctx, user)
        send_welcome(ctx)
        if said is not None and outcome.rejected is None:
            nickserv.tell(ctx, said)  # then the nick's warning, if any (it is an account's)
        after_login()
        if outcome.rejected is None:
            replay_private(ctx)  # logged in (SASL, PASS): its private messages meanwhile, to a client that cannot ask

    ctx.emit(Registered(user.uid, reg.username, reg.realname, ctx.now(), vhost), welcome)


# -- CAP ---------------------------------------------------------------------------


def _cap_reply(ctx: Context, sub: str, *params: str) -> None:
    ctx.conn.server_message("CAP", ctx.conn.nick, sub, *params)


def _cap_ls(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    version = message.param(1)
    # The version is a number; isdigit() alone would also let "³" through to int().
    asked = int(version) if version.isascii() and version.isdigit() else 0
    # A client keeps the highest version it ever sent, but each reply follows the request.
    conn.cap_version = max(conn.cap_version, asked)
    if conn.cap_version >= 302:
        conn.set_cap("cap-notify", True)  # implied by 302
    policy = sts.policy(ctx.user.secure, ctx.svc.tls_port, ctx.config.tls, ctx.svc.tls_self_signed)
    tokens = caps.ls_tokens(asked, ctx.config, policy, {"sasl": ",".join(sasl.mechanisms(ctx))})
    _cap_lines(ctx, "LS", tokens, asked >= 302)


def _cap_lines(ctx: Context, sub: str, tokens: Iterable[str], star: bool) -> None:
    """`CAP <sub>` with the capability names `tokens`, in as many lines as keep each
    within 512 bytes, never a name cut (a long server name or nick, many capabilities);
    all but the last marked `*` when `star` (LS and LIST to a CAP 302 client)."""
    lines = pack(tokens, MAX_LINE_BODY - len(f":{ctx.name} CAP {ctx.conn.nick} {sub} * :".encode())) or [[]]
    for i, chunk in enumerate(lines):
        more = ["*"] if star and i < len(lines) - 1 else []
        _cap_reply(ctx, sub, *more, " ".join(chunk))


def announce_cap_changes(svc: Services, before: dict[str, str | None], after: dict[str, str | None]) -> None:
    """A REHASH changed what is offered (`caps.offered` before and after): every client
    that hears of such changes (CAP 302, or cap-notify asked for) is told, `CAP DEL` for
    what went and `CAP NEW` for what came or changed its value; a capability that went is
    turned off for every client at once, as the spec wants its behaviour cancelled."""
    removed = sorted(name for name in before if name not in after)
    added = sorted(name for name, value in after.items() if name not in before or before[name] != value)
    if not removed and not added:
        return
    for ctx in list(svc.local.values()):
        conn = ctx.conn
        if any(name in conn.caps for name in removed):
            for name in removed:
                conn.set_cap(name, False)
            if not metadata.aware(conn):  # draft/metadata-2 gone: its subscriptions go too
                conn.metadata_subs = NONE
        if "cap-notify" not in conn.caps:
            continue
        if removed:
            _cap_reply(ctx, "DEL", " ".join(removed))
        if added:
            shown = [f"{name}={after[name]}" if after[name] and conn.cap_version >= 302 else name for name in added]
            _cap_reply(ctx, "NEW", " ".join(shown))


def _cap_req(ctx: Context, message: Message) -> None:
    """Accept the whole set or none of it (NAK), as the spec requires."""
    conn = ctx.conn
    changes = [
        (token[1:], False) if token.startswith("-") else (token, True) for token in message.param(1).split()
    ]
    offered = caps.offered(ctx.config)
    acceptable = bool(changes) and all(
        name in offered
        # cap-notify is part of CAP 302 itself: such a client may not turn it off
        and (enable or name != "cap-notify" or conn.cap_version < 302)
        for name, enable in changes
    )
    if not acceptable:
        _cap_lines(ctx, "NAK", message.param(1).split(), False)
        return
    was_aware = metadata.aware(conn)
    for name, enable in changes:
        conn.set_cap(name, enable)
    if not metadata.aware(conn):  # draft/metadata-2: turned off, its subscriptions go too
        conn.metadata_subs = NONE
    _cap_lines(ctx, "ACK", message.param(1).split(), False)
    if (READ_MARKER, True) in changes and conn.registered:
        ctx.svc.recall_markers(conn)  # the markers of the channels joined before
    if metadata.aware(conn) and not was_aware and conn.registered:
        metadata.send_own(conn, ctx.user)  # turned on after registration: as the burst gives them


@command("CAP", min_params=1, before_registration=True)
def handle_cap(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    sub = message.params[0].upper()
    if sub in ("LS", "REQ"):
        conn.registration.step(Step.CAP_START)  # holds registration; nothing once registered
    if sub == "LS":
        _cap_ls(ctx, message)
    elif sub == "LIST":
        _cap_lines(ctx, "LIST", sorted(conn.caps), conn.cap_version >= 302)
    elif sub == "REQ":
        if len(message.params) < 2:
            conn.numeric(n.ERR_NEEDMOREPARAMS, "CAP", "Not enough parameters")
            return
        _cap_req(ctx, message)
    elif sub == "END":
        sasl.abort_on_registration(ctx)
        if conn.registration.step(Step.CAP_END):
            try_complete_registration(ctx)
    else:
        conn.numeric(n.ERR_INVALIDCAPCMD, shown(message.params[0]), "Invalid CAP command")


# -- PASS, NICK, USER ----------------------------------------------------------------


@command("PASS", min_params=1, before_registration=True)
def handle_pass(ctx: Context, message: Message) -> None:
    if not message.params[0]:
        # `PASS :`, a bot's empty password: no password, as ratbox and its heirs answer it
        # (a parameter left empty is one missing), so a server password counts no guess
        ctx.conn.numeric(n.ERR_NEEDMOREPARAMS, "PASS", "Not enough parameters")
        return
    if ctx.conn.registered:
        ctx.conn.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    ctx.conn.registration.password = message.params[0]


@command("NICK", before_registration=True)
def handle_nick(ctx: Context, message: Message) -> None:
    conn, user = ctx.conn, ctx.user
    nick = message.param(0)
    if not nick:
        conn.numeric(n.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    if not is_valid_nick(nick, ctx.config.limits.nicklen):
        conn.numeric(n.ERR_ERRONEUSNICKNAME, shown(nick), "Erroneous nickname")
        return
    if is_service_nick(nick):
        conn.numeric(n.ERR_ERRONEUSNICKNAME, nick, "Reserved for a service")
        return
    if ctx.state.nick_taken(nick, by=user):
        conn.numeric(n.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
        if conn.registered:
            ghosts.ask(ctx, nick)  # held by a connection of its own account: is that one there?
        elif conn.registration.refused_nick is None:
            conn.registration.refused_nick = nick  # asked once it has logged in
        return
    if nick == user.nick:
        return
    # A client negotiating capabilities sends NICK before it logs in with SASL: whether
    # a registered nick is its own is decided when registration completes, as it is for
    # a PASS that logs in (checked then: LOGGING_IN).
    negotiating = conn.registration.phase in (Phase.NEGOTIATING, Phase.AUTHENTICATING, Phase.LOGGING_IN)
    negotiating = negotiating or _login_password(ctx) is not None
    if _reserved_for_another(ctx, nick) and not negotiating:
        conn.numeric(n.ERR_NICKNAMEINUSE, nick, RESERVED)
        return
    if user.registered:
        blocked = nick_change_blocked_by(user)
        if blocked is not None:
            conn.numeric(n.ERR_BANONCHAN, nick, blocked.name, "Cannot change nickname while banned on channel")
            return

    same_nick = casefold(nick) == user.key  # a change of case only: the same nick, the same grace

    def done(outcome: Outcome) -> None:
        if outcome.rejected == "taken":  # claimed by someone else first
            conn.numeric(n.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
        elif outcome.rejected is None:
            if conn.registered:
                if not same_nick:
                    nickserv.check_nick(ctx)
            else:
                try_complete_registration(ctx)

    ctx.emit(NickSet(user.uid, nick, ctx.now(), new_msgid()), done)


def _login_password(ctx: Context) -> str | None:
    """The PASS a registering connection gave, where it is a login (no server password,
    `accounts.login_via_pass`) not yet tried."""
    if ctx.config.server.password or not ctx.config.accounts.login_via_pass:
        return None
    return ctx.conn.registration.password


def _reserved_for_another(ctx: Context, nick: str) -> bool:
    """With accounts.enforce = refuse: `nick` is an account's, and not the user's own."""
    owner = ctx.state.accounts.get(casefold(nick))
    mine = casefold(ctx.user.account) if ctx.user.account else None
    return ctx.config.accounts.enforce == "refuse" and owner is not None and owner.key != mine


@command("USER", min_params=4, before_registration=True)
def handle_user(ctx: Context, message: Message) -> None:
    conn = ctx.conn
    if conn.registered:
        conn.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if not message.params[0] or not message.params[3]:  # Modern: an empty one is 461 too
        conn.numeric(n.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return
    username = _USERNAME_JUNK.sub("", message.params[0])[: USERLEN - 1] or "user"
    conn.registration.username = "~" + username
    conn.registration.realname = fit_utf8(message.params[3], ctx.config.limits.namelen)
    try_complete_registration(ctx)
