"""Password hashing with argon2id.

Hashing is deliberately slow (a few hundred milliseconds and 64 MiB), so the server
never calls these on the event loop: handlers hand them to a worker thread with
`Network.run_blocking`, and `hubbub hash-password` runs them in its own process.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# The hash of a random password nobody knows: checking a guess against it costs what
# checking a real one does, so a wrong operator name takes as long as a wrong password.
DECOY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$lScLAqVltyf5yO548E/5Fw$bqCL8gI/An+/RcONQDjLxcPtJkyYZ8UtJOl6dTFmM2w"


def hash_password(password: str) -> str:
    """An argon2id hash in the standard `$argon2id$...` encoding."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
