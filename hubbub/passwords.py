"""Passwords: argon2id hashes, and the SCRAM-SHA-256 keys derived from the same password.

Hashing is deliberately slow (a few hundred milliseconds and 64 MiB), so the server
never calls these on the event loop: handlers hand them to a worker thread with
`Context.run_blocking`, and `hubbub hash-password` runs them in its own process. An
account keeps both forms so that SASL PLAIN and IDENTIFY check the argon2id hash and
SASL SCRAM-SHA-256 its keys; the password itself is never kept.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

if TYPE_CHECKING:
    from scramp import ScramMechanism


@lru_cache(maxsize=1)
def scram() -> ScramMechanism:
    """SCRAM-SHA-256, made at its first use: scramp brings asn1crypto and
    importlib.metadata, some 30 ms of imports that a server start (every node of a
    cluster, every `hubbub` command) would pay whether or not anyone uses SCRAM."""
    from scramp import ScramMechanism

    return ScramMechanism("SCRAM-SHA-256")


@dataclass(frozen=True)
class HashCost:
    """argon2id's parameters for the hashes made from now on (`accounts.hash_*`): a small
    machine may want less than the default, a big one more. A hash carries its own, and
    is checked with them: a password set before a change keeps the cost it was set at
    until its next login by password (`check_and_upgrade`)."""

    time_cost: int = 3  # passes over the memory
    memory_kib: int = 65536
    parallelism: int = 4  # lanes, and threads to fill them

    def takeable(self) -> bool:
        """Whether argon2 can hash at this cost: asked before the first hash (at start,
        or by `hubbub hash-password`), so a cost it refuses is one clear line rather
        than every REGISTER failing later."""
        return self.time_cost >= 1 and 1 <= self.parallelism <= 255 and self.memory_kib >= 8 * self.parallelism


DEFAULT_COST = HashCost()  # argon2-cffi's own (RFC 9106's second recommendation)


@lru_cache(maxsize=8)
def cost_of(time_cost: int, memory_kib: int, parallelism: int) -> HashCost:
    """The one HashCost of these settings. Every login asks the configuration for its
    cost; the caches below keep the first instance they were called with as their key,
    so that one is the configuration's rather than whichever a login made first (which
    a count of live objects would take for a leak, as the churn audit did)."""
    cost = HashCost(time_cost, memory_kib, parallelism)
    return DEFAULT_COST if cost == DEFAULT_COST else cost

_hasher = PasswordHasher()

# The hash of a random password nobody knows: checking a guess against it costs what
# checking a real one does, so a wrong operator name takes as long as a wrong password.
DECOY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$lScLAqVltyf5yO548E/5Fw$bqCL8gI/An+/RcONQDjLxcPtJkyYZ8UtJOl6dTFmM2w"


@lru_cache(maxsize=8)
def _hasher_for(cost: HashCost) -> PasswordHasher:
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism)


def prepared(password: str) -> str:
    """`password` as SASLprep (RFC 4013) prepares it, as SCRAM's keys are made of it: so
    PLAIN and IDENTIFY take what SCRAM takes (the same letters typed composed or
    decomposed, another kind of space); as it is where SASLprep refuses it."""
    if password.isascii() and password.isprintable():
        return password  # nothing to map or normalize (a space is printable, a control is not)
    ready, _ = _saslprep(password)
    return password if ready is None else ready


def _saslprep(password: str) -> tuple[str | None, str]:
    """(the prepared password, "") or (None, why SASLprep refuses it)."""
    from scramp import ScramException
    from scramp.utils import saslprep

    try:
        return str(saslprep(password)), ""
    except ScramException as exc:
        return None, str(exc).partition(":")[0] or "not a password SASL can carry"


def hash_password(password: str, cost: HashCost = DEFAULT_COST) -> str:
    """An argon2id hash in the standard `$argon2id$...` encoding, of the prepared password."""
    return _hasher_for(cost).hash(prepared(password))


@lru_cache(maxsize=8)
def decoy_hash(cost: HashCost) -> str:
    """A hash of a random password at `cost`, for a login to an account that does not
    exist: with accounts hashed at another cost than the default, the default's decoy
    would take another time than a real account's check, and tell which names exist.
    Made once per cost, in the worker thread of the first check that needs it."""
    return DECOY_HASH if cost == DEFAULT_COST else hash_password(secrets.token_hex(16), cost)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or a malformed hash. A hash made
    before passwords were prepared (of the text as typed) still matches what was typed."""
    ready = prepared(password)
    if _verified(password_hash, ready):
        return True
    return ready != password and _verified(password_hash, password)


def _verified(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_and_upgrade(password_hash: str, password: str, cost: HashCost) -> tuple[bool, str | None]:
    """Whether `password` matches, and, when it does and the hash was made at another
    cost than `cost`, a new hash of it at `cost` (else None). The password is in hand
    only at a login, so that is when a change of the cost can reach a hash made before
    it; the new one is made in the same worker-thread job, so the login waits for it
    this once."""
    ready = prepared(password)
    if _verified(password_hash, ready):
        try:
            stale = _hasher_for(cost).check_needs_rehash(password_hash)
        except InvalidHashError:
            stale = False
    elif ready != password and _verified(password_hash, password):
        stale = True  # a hash of the text as typed, from before passwords were prepared
    else:
        return False, None
    return True, hash_password(password, cost) if stale else None


def is_password_hash(text: str) -> bool:
    """True when `text` is an argon2 hash in the encoding `verify_password` reads
    (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`). A configuration's operator block
    is checked with it at start-up: a password pasted in place of its hash would
    otherwise make the block silently unusable (every OPER a 464)."""
    try:
        extract_parameters(text)
    except InvalidHashError:
        return False
    return True


def scram_credentials(password: str) -> str:
    """SCRAM-SHA-256 keys for `password`: `salt:stored_key:server_key:iterations`, base64."""
    salt, stored_key, server_key, iterations = scram().make_auth_info(password)
    parts = (base64.b64encode(salt), base64.b64encode(stored_key), base64.b64encode(server_key))
    return ":".join(part.decode() for part in parts) + f":{iterations}"


def scram_keys(credentials: str) -> tuple[bytes, bytes, bytes, int]:
    """The parts scramp's server wants back from `scram_credentials`' text."""
    salt, stored_key, server_key, iterations = credentials.split(":")
    return (base64.b64decode(salt), base64.b64decode(stored_key), base64.b64decode(server_key), int(iterations))


def unusable(password: str) -> str | None:
    """Why SCRAM cannot take `password`, in words, or None: its keys are of the password
    as SASLprep (RFC 4013) prepares it, which refuses control characters, some
    invisible ones and text mixing directions badly. Asked before hashing, so the user
    is told, rather than the hashing failing."""
    ready, why = _saslprep(password)
    return why if ready is None else None


def credentials(password: str, cost: HashCost = DEFAULT_COST) -> tuple[str, str]:
    """Both forms an account keeps of a password: (argon2id hash, SCRAM keys)."""
    return hash_password(password, cost), scram_credentials(password)
