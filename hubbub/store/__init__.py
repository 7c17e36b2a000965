"""What outlives the process: accounts, registered channels, K-lines and message history.

The store is one small async interface (base.py) with a backend per database: SQLite
by default (sqlite.py), one file, zero configuration. It is fed by the engine's ordered
event stream (recorder.py) and read by the commands that need the past (history,
search, read markers); at start-up it hands the chat core what the state must begin
with (accounts, registered channels, K-lines).
"""

from hubbub.store.base import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
