"""An account's row is written only by its own registration, in every backend.

A server keeps the accounts it read at start-up, and those registered since, in its
state, and writes them behind. A stored row of a name the server registered too (written
by `hubbub account` while the server ran, or by another server on the same database that
is no node of its cluster) must not be replaced by the server's write: the name's owner
would lose it, its channels and history to whoever registered it here, unseen. An
account's registration time is never changed after its registration, so it tells which
registration a row is: a write updates the row of its own registration, inserts where
there is none, and leaves a row of another registration as it is, certificates too,
logged as an error. The rest of its batch is committed all the same: the history of
that moment is not lost for it.

A drop deletes likewise only its own registration's row, and what the name held with it.
In a cluster, the nodes' writes reach the shared database each in its own time: a name
dropped on one node and registered again on another may meet the drop's delete after
the new registration's row. That delete finds a row of another registration and changes
nothing. And the new registration's write deletes the dropped one's row first (the
network applied the drop before it, and every node remembers the dropped registration
until the name is registered again: ChatState.dropped_accounts), so that the insert is
not refused for a row whose delete has not come yet. A row of a registration this network
never dropped (a server outside the cluster) is still never replaced.
"""

from __future__ import annotations

import logging
import time

from hubbub.server.storage import AccountRecord

log = logging.getLogger("hubbub.store")

# After `INSERT INTO accounts (...) VALUES (...)`, in PostgreSQL and SQLite alike: no row
# is changed when the stored one is of another registration (the count tells). The vhost
# is written with a new row, and after that only by PutVhost (storage.py says why).
ACCOUNT_UPDATE = (
    "ON CONFLICT (key) DO UPDATE SET name = excluded.name, password_hash = excluded.password_hash, "
    "scram = excluded.scram, email = excluded.email WHERE accounts.registered_at = excluded.registered_at"
)


def _when(registered_at: float | None) -> str:
    if registered_at is None:
        return "at an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(registered_at))


def refused_account(where: str, account: AccountRecord, stored_at: float | None) -> None:
    """Say, loudly, that `account` was not written over the stored one of its name."""
    log.error(
        "%s: account %s NOT stored: the store holds another account of that name, registered %s (this server's "
        "was registered %s), written without this server knowing (by `hubbub account` while servers ran, or "
        "by a server outside this one's cluster). The stored account is kept; until a restart this server "
        "knows its own instead",
        where, account.name, _when(stored_at), _when(account.registered_at),
    )  # fmt: skip
