"""Connection registration as a small state machine, its transitions written as data.

A connection starts `NEW`. CAP LS or CAP REQ open a negotiation, which holds
registration until CAP END; SASL, once accounts exist, runs inside a negotiation
(`AUTHENTICATING`) and, after registration, as a re-authentication. A PASS that logs in
(`accounts.login_via_pass`) is checked when registration would complete (`LOGGING_IN`),
so that such a login is as SASL's: decided before the welcome. Registration
completes (`REGISTERED`) when the machine is back at `NEW` (no negotiation open) and
both a nick and a user are known; the registration handlers ask `ready()` after
every step. Anything not in the table is not a transition: the phase stays as it is.
"""

from __future__ import annotations

from enum import Enum


class Phase(Enum):
    NEW = "new"  # registering, nothing holding it
    NEGOTIATING = "negotiating"  # CAP negotiation open: registration waits for CAP END
    AUTHENTICATING = "authenticating"  # a SASL exchange inside the negotiation
    LOGGING_IN = "logging in"  # PASS's password checked, before the welcome
    REGISTERED = "registered"
    REAUTHENTICATING = "reauthenticating"  # a SASL exchange after registration


class Step(Enum):
    CAP_START = "CAP LS or CAP REQ"
    CAP_END = "CAP END"
    SASL_START = "AUTHENTICATE <mechanism>"
    SASL_DONE = "SASL finished (success, failure or abort)"
    PASS_START = "PASS's login checked"
    PASS_DONE = "PASS's login decided"
    COMPLETE = "nick and user known, nothing holding"


TRANSITIONS: dict[tuple[Phase, Step], Phase] = {
    (Phase.NEW, Step.CAP_START): Phase.NEGOTIATING,
    (Phase.NEW, Step.COMPLETE): Phase.REGISTERED,
    (Phase.NEGOTIATING, Step.CAP_END): Phase.NEW,
    (Phase.NEGOTIATING, Step.SASL_START): Phase.AUTHENTICATING,
    (Phase.AUTHENTICATING, Step.SASL_DONE): Phase.NEGOTIATING,
    # CAP END during an exchange ends the exchange (aborted) and the negotiation
    (Phase.AUTHENTICATING, Step.CAP_END): Phase.NEW,
    (Phase.NEW, Step.PASS_START): Phase.LOGGING_IN,
    (Phase.LOGGING_IN, Step.PASS_DONE): Phase.NEW,
    (Phase.REGISTERED, Step.SASL_START): Phase.REAUTHENTICATING,
    (Phase.REAUTHENTICATING, Step.SASL_DONE): Phase.REGISTERED,
}


class Registration:
    """One connection's registration: its phase and what it has given so far."""

    __slots__ = ("_phase", "registered", "username", "realname", "password", "refused_nick", "pass_said")

    def __init__(self, phase: Phase = Phase.NEW) -> None:
        self._phase = phase
        self.registered = phase in (Phase.REGISTERED, Phase.REAUTHENTICATING)  # a field: every command asks
        self.username = ""  # from USER, shaped (~ and the allowed characters)
        self.realname = ""
        self.password: str | None = None  # from PASS (forgotten once a login by it is tried)
        # what NickServ says of a login by PASS, decided before the welcome, said after it
        # (where a client shows it: a bot waits for these words)
        self.pass_said: str | None = None
        # the first nick it asked for and was refused as in use: once logged in, it may
        # be its own account's ghost's (ghosts.py)
        self.refused_nick: str | None = None

    @property
    def phase(self) -> Phase:
        return self._phase

    @phase.setter
    def phase(self, phase: Phase) -> None:
        self._phase = phase
        self.registered = phase in (Phase.REGISTERED, Phase.REAUTHENTICATING)

    def step(self, step: Step) -> bool:
        """Take `step`; False (and no change) when it is not a transition from here."""
        following = TRANSITIONS.get((self._phase, step))
        if following is None:
            return False
        self.phase = following
        return True

    def ready(self, has_nick: bool) -> bool:
        """Whether registration may complete now."""
        return self._phase is Phase.NEW and has_nick and bool(self.username)


class _Registered(Registration):
    """The one registration every registered connection shares (72 bytes less a client):
    once registered nothing in it changes but for a re-authentication, which takes a
    registration of its own (`own`) and gives it back when it ends (`settled`)."""

    __slots__ = ()

    def step(self, step: Step) -> bool:
        if TRANSITIONS.get((self._phase, step)) is None:
            return False
        raise RuntimeError("the shared registration never changes: take one of its own first")


REGISTERED = _Registered(Phase.REGISTERED)


def own(registration: Registration) -> Registration:
    """A registration this connection may change: itself, or a copy of the shared one."""
    return Registration(Phase.REGISTERED) if registration is REGISTERED else registration


def settled(registration: Registration) -> Registration:
    """The shared registration once this one is plainly registered (nothing under way)."""
    return REGISTERED if registration.phase is Phase.REGISTERED else registration
