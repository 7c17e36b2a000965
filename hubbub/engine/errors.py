"""The cluster's error for the command line, apart from engine/redis.py: a server that
joins no cluster never imports the Redis client (a fifth of its start, 7 MB of its memory),
yet `hubbub serve` must name the error it reports."""

from __future__ import annotations


class ClusterError(Exception):
    """Redis cannot be used to join the network (the message says why, in one line)."""
