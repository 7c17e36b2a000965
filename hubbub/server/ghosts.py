"""A login that finds its nick held by a connection of its own account that may be gone.

A connection that dies without a word (a laptop shut, a phone between networks, a
bouncer's or The Lounge's link cut) is found out only at its ping timeout
(`limits.ping_interval` + `limits.ping_timeout`: three minutes by default). Its user's
client reconnects within seconds, logs in to the same account, and finds its own nick
taken (433): it becomes `nick_`, shows twice in member lists until the ghost goes, and
most clients never ask for the nick again. ergo attaches such a login to the old one
(multiclient); on Atheme's networks the user types NickServ GHOST or REGAIN by hand.

Here the server asks the holder at once. When a connection logged in to an account is
refused a nick (433) that a connection logged in to the same account holds (at
registration the nick it asked for first, once SASL or PASS has logged it in; later any
NICK, as ZNC's keepnick sends one now and then), the holder is sent a PING; a login by
SASL or PASS (decided before the welcome, handlers/registration.py) is welcomed only
once the answer is known (`wait_before_welcome`): under the nick
if the holder is gone, so nothing shows of it, and its rejoins replay from where the
holder stopped reading. A holder that is there answers within `accounts.ghost_timeout`
seconds (any line counts) and nothing changes; the asker is told so (once its node has
seen it answer: within a quarter of the timeout), and how to GHOST it, and asks nothing
more for an hour (`_QUIET`); if the holder lets the nick go meanwhile (GHOST, QUIT, a
nick change, its ping timeout), the asker is given it. One that stays silent is dropped
as a ping timeout, and the asker given the nick (a NICK change it sees as everyone does,
or its welcome's).

In a cluster the holder may be on another node: the question is an event (`GhostProbed`),
applied on every node. The holder's node sends the PING and drops it if silent (its
quit goes through the log as any other) or says it answered (the same event, marked);
the asker's node gives the nick when the holder's quit, or nick change, is applied. A
node of the version before skips the event (an unknown kind): its users are not asked,
and an asker waits for them in silence until its wait runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from hubbub.irc.casemap import casefold
from hubbub.server.access import nick_change_blocked_by
from hubbub.server.apply import Outcome
from hubbub.server.delivery import new_msgid
from hubbub.server.events import Event, GhostProbed, NickSet, UserQuit
from hubbub.server.services import find_service
from hubbub.server.throttle import timeout_seconds

if TYPE_CHECKING:
    from hubbub.server.context import Context, Services

# Beyond the holder's own timeout, how long the asker waits for its quit: the holder's
# node notices at its next sweep (a quarter of the timeout at most), and its quit
# reaches the asker's node through the log.
_SLACK = 2.0
# After a holder answered, how long the same asker's refusals for it ask nothing more:
# ZNC's keepnick asks for its nick every few seconds: the device that holds it would be
# PINGed, and the bouncer told it answered, every time, and a phone that happened to be
# between networks at one of those times would lose its connection. A holder that dies
# meanwhile is found by the keepalive, and its quit gives the nick then.
_QUIET = 3600.0


class _Wait(NamedTuple):
    holder: str  # its uid
    nick: str  # as asked
    account: str  # the asker's, casefolded, when it asked
    was: str  # the asker's nick then, casefolded: one it changes meanwhile keeps
    until: float
    answered: bool = False  # the holder is there: quiet until `until` (_QUIET)
    # the asker's registration, waiting for the answer: resumed once it is known
    welcome: Callable[[], None] | None = None


class Ghosts:
    """This node's side of it: the holders asked here, the askers waiting here; a
    subscriber of the engine for the question, its answer, and the quits and nick
    changes that free a nick."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc
        # holder uid -> when it was sent the PING, and who asked (askers' uids)
        self._probes: dict[str, tuple[float, set[str]]] = {}
        self._waiting: dict[str, _Wait] = {}  # asker uid -> the nick it waits for
        self._routes: dict[type[Any], Callable[[Any, Outcome], None]] = {
            GhostProbed: self._probed, UserQuit: self._left, NickSet: self._left,
        }  # fmt: skip

    def route(self, kind: type[Any]) -> Callable[[Any, Outcome], None] | None:
        """Only the question, and what frees a nick (see engine.Routes)."""
        return self._routes.get(kind)

    def __call__(self, event: Event, outcome: Outcome) -> None:
        route = self._routes.get(type(event))
        if route is not None:
            route(event, outcome)

    def ask(self, ctx: Context, nick: str) -> None:
        """`ctx`'s user, registered, was refused `nick`: if a connection of its own
        account holds it, ask that one whether it is still there."""
        if ctx.user.registered and self._ask(ctx, nick, None):
            _say(ctx, f"{nick} is held by another connection logged in to your account: if it does not answer "
                      f"within {ctx.config.accounts.ghost_timeout:g} seconds, it is dropped and the nick is yours.")

    def wait_before_welcome(self, ctx: Context, nick: str, welcome: Callable[[], None]) -> bool:
        """`ctx`'s user, logged in (SASL, PASS) and about to be welcomed, was refused `nick`
        before: if a connection of its own account holds it, ask that one, and welcome
        the user (`welcome()`) once it is known gone (under `nick`: no `nick_` shown
        anywhere, and its rejoins replay from where the old one stopped reading) or there.
        False: nothing to wait for, or no time to (the registration's own deadline would
        pass: it is asked once welcomed)."""
        left = ctx.config.limits.registration_timeout - (ctx.now() - ctx.user.connected_at)
        if ctx.config.accounts.ghost_timeout * 1.5 + _SLACK >= left or not self._ask(ctx, nick, welcome):
            return False
        _say(ctx, f"{nick} is held by another connection logged in to your account: waiting up to "
                  f"{ctx.config.accounts.ghost_timeout:g} seconds for it to answer; if it does not, it is "
                  "dropped and you are welcomed as " + nick + ".")  # fmt: skip
        return True

    def _ask(self, ctx: Context, nick: str, welcome: Callable[[], None] | None) -> bool:
        timeout = ctx.config.accounts.ghost_timeout
        user = ctx.user
        if timeout <= 0 or user.account is None or user.key is None:
            return False
        holder = ctx.state.nick_holder(nick)
        account = casefold(user.account)
        if holder is None or holder is user or not holder.registered or holder.account is None:
            return False
        if casefold(holder.account) != account:
            return False
        owner = ctx.state.accounts.get(casefold(nick))
        if owner is not None and owner.key != account:
            return False  # another account's nick (used without it): not to be given, so not asked for
        if holder.conn is not None and not holder.conn.output.answers_pings:
            return False  # a person at nc cannot answer a PING (on another node, its node says)
        now = ctx.now()
        waiting = self._waiting.get(user.uid)
        if waiting is not None and waiting.holder == holder.uid and now < waiting.until:
            return False  # asked already (a client that asks again and again is not a flood of PINGs)
        self._waiting[user.uid] = _Wait(holder.uid, nick, account, user.key, now + timeout * 1.5 + _SLACK,
                                        welcome=welcome)  # fmt: skip
        # not the asker's command's own event (the 433 answered it): nothing waits for it
        ctx.svc.engine.emit(None, GhostProbed(holder.uid, user.uid, now))
        return True

    def sweep(self, now: float) -> None:
        """Drop the holders asked here that stayed silent, and say which answered; give
        up on a holder's answer that never came (its node is of the version before)."""
        svc = self._svc
        timeout = svc.config.accounts.ghost_timeout
        for uid, (sent, askers) in list(self._probes.items()):
            ctx = svc.local.get(uid)
            if ctx is None or ctx.conn.gone or timeout <= 0:  # (turned off by a reload meanwhile)
                del self._probes[uid]
                continue
            conn = ctx.conn
            if conn.last_activity > sent or conn.link.input_waiting():
                del self._probes[uid]  # it is there
                for asker in askers:
                    svc.engine.emit(None, GhostProbed(uid, asker, now, answered=True))
            elif now - sent >= timeout:
                del self._probes[uid]
                svc.audit.ghost_dropped(ctx.user)
                svc.disconnect(conn, f"Ping timeout: {timeout_seconds(now - conn.last_activity)} seconds")
        for uid, wait in list(self._waiting.items()):
            if now >= wait.until:
                del self._waiting[uid]
                _welcome(svc.local.get(uid), wait)  # no answer came (a node of the version before)

    def _probed(self, ev: GhostProbed, outcome: Outcome) -> None:
        if ev.answered:
            self._answered(ev)
            return
        svc = self._svc
        ctx = svc.local.get(ev.uid)
        if ctx is None or ctx.conn.gone or svc.config.accounts.ghost_timeout <= 0:
            return  # not here, or asking is off on this node
        holder, asker = ctx.user, svc.state.users.get(ev.asker)
        # the accounts as the network's order has them now, alike on every node: one that
        # logged out or in to another since the question was asked is not the asker's
        if asker is None or asker.account is None or holder.account is None:
            return
        if casefold(asker.account) != casefold(holder.account):
            return
        probe = self._probes.get(ev.uid)
        if probe is not None:
            probe[1].add(ev.asker)  # asked already: its answer is for this asker too
            return
        conn = ctx.conn
        if not conn.output.answers_pings:
            return  # a person with netcat cannot answer: TCP keepalive covers them
        self._probes[ev.uid] = (svc.clock(), {ev.asker})
        conn.server_message("PING", svc.name)
        svc.wake_sweep()  # swept at a quarter of the wait from now on (keepalive.sweep_interval)

    def probing(self) -> bool:
        """Whether a holder here waits for its answer (the sweep comes more often then)."""
        return bool(self._probes)

    def _answered(self, ev: GhostProbed) -> None:
        wait = self._waiting.get(ev.asker)
        if wait is None or wait.holder != ev.uid or wait.answered:
            return
        # kept, quiet: asked again meanwhile, it asks nothing; freed meanwhile, the nick is given
        self._waiting[ev.asker] = wait._replace(answered=True, until=self._svc.clock() + _QUIET, welcome=None)
        ctx = self._svc.local.get(ev.asker)
        holder = self._svc.state.users.get(ev.uid)
        if ctx is not None and not ctx.conn.gone and holder is not None:
            _say(ctx, f"{holder.nick} is still held by another connection logged in to your account, which "
                      f"answered: /msg NickServ GHOST {holder.nick} disconnects it.")  # fmt: skip
        _welcome(ctx, wait)

    def _left(self, ev: UserQuit | NickSet, outcome: Outcome) -> None:
        """A holder quit or took another nick: the nick goes to whoever waits for it here
        (and an asker that quit waits no more)."""
        if not self._waiting or outcome.rejected is not None:
            return
        if isinstance(ev, UserQuit):
            self._waiting.pop(ev.uid, None)
        why = _why_free(ev)
        for uid, wait in list(self._waiting.items()):
            if wait.holder != ev.uid:
                continue
            del self._waiting[uid]
            ctx = self._svc.local.get(uid)
            if ctx is None:
                continue
            if wait.welcome is not None:
                _take_then_welcome(ctx, wait)
            else:
                _give(ctx, wait, why)


def _give(ctx: Context, wait: _Wait, why: str) -> None:
    """The nick to the asker, if it still wants it: still logged in to that account,
    its nick unchanged since it asked, and the nick free."""
    user = ctx.user
    if ctx.conn.gone or not user.registered or user.account is None or casefold(user.account) != wait.account:
        return
    if user.key != wait.was or ctx.state.nick_taken(wait.nick, by=user) or nick_change_blocked_by(user) is not None:
        return
    owner = ctx.state.accounts.get(casefold(wait.nick))
    if owner is not None and owner.key != wait.account:
        return  # another account's nick (its holder would have been renamed): not to be given
    nick = wait.nick

    def given(outcome: Outcome) -> None:
        if outcome.rejected is None:
            _say(ctx, f"You are now {nick}: the connection that held it {why}.")

    ctx.emit(NickSet(user.uid, nick, ctx.now(), new_msgid()), given)


def _welcome(ctx: Context | None, wait: _Wait) -> None:
    """The asker's registration goes on (it waited for the holder's answer)."""
    if wait.welcome is not None and ctx is not None and not ctx.conn.gone and not ctx.user.registered:
        wait.welcome()


def _take_then_welcome(ctx: Context, wait: _Wait) -> None:
    """The holder is gone: the nick is the asker's before it is welcomed (its 001 names
    it), if still free and still wanted; then the welcome, whichever way it went."""
    user = ctx.user
    if ctx.conn.gone or user.registered:
        return
    if user.key != wait.was or ctx.state.nick_taken(wait.nick, by=user):
        _welcome(ctx, wait)  # another NICK since, or taken by someone else meanwhile: as it is
        return
    ctx.emit(NickSet(user.uid, wait.nick, ctx.now(), new_msgid()), lambda outcome: _welcome(ctx, wait))


def _why_free(ev: UserQuit | NickSet) -> str:
    """Why the nick is free, as the asker is told it."""
    if isinstance(ev, NickSet):
        return "changed its nick"
    if ev.reason.startswith("Ping timeout"):  # ours, or the keepalive's
        return "did not answer, and was dropped"
    if ev.reason.startswith("GHOSTed"):
        return "was disconnected with GHOST"
    return "left"


def _say(ctx: Context, text: str) -> None:
    nickserv = find_service("NickServ")
    if nickserv is not None:
        nickserv.reply(ctx, text)


def ask(ctx: Context, nick: str) -> None:
    """See Ghosts.ask (a core built without them asks nothing)."""
    ghosts = ctx.svc.ghosts
    if ghosts is not None:
        ghosts.ask(ctx, nick)


def wait_before_welcome(ctx: Context, nick: str, welcome: Callable[[], None]) -> bool:
    """See Ghosts.wait_before_welcome (False without them: nothing to wait for)."""
    ghosts = ctx.svc.ghosts
    return ghosts is not None and ghosts.wait_before_welcome(ctx, nick, welcome)
