"""An account: a name people own, with the credentials that prove it.

Accounts are chat state, like users and channels: every node holds them, they change
only by events (apply.py), and the store keeps them across restarts. A registered nick
is an account's name; the credentials are an argon2id hash (PLAIN, IDENTIFY), SCRAM-
SHA-256 keys derived from the same password (the password itself is never kept), and
TLS client-certificate fingerprints (SASL EXTERNAL). An operator may give an account a
virtual host (HostServ, handlers/hostserv.py): shown in place of the cloak while its
owner is logged in, and kept with the account.
"""

from __future__ import annotations


class Account:
    __slots__ = ("key", "name", "password_hash", "scram", "email", "registered_at", "certfps", "vhost")

    def __init__(
        self, key: str, name: str, password_hash: str, scram: str, email: str, registered_at: float,
        certfps: set[str] | None = None, vhost: str = "",
    ) -> None:  # fmt: skip
        self.key = key  # casefolded name
        self.name = name
        self.password_hash = password_hash  # "" for an account reached by certificate only
        self.scram = scram  # "salt:stored_key:server_key:iterations" (base64), "" without a password
        self.email = email
        self.registered_at = registered_at
        self.certfps: set[str] = certfps or set()
        self.vhost = vhost  # "": none, its owner is shown with its cloak or address

    def __repr__(self) -> str:
        return f"<Account {self.name}>"
