"""The cluster's error for the command line, apart from engine/redis.py: a server that
joins no cluster never imports the Redis client (a sixth of its start, 18 MB of memory),
yet `hubbub serve` must name the error it reports."""

from __future__ import annotations


class ClusterError(Exception):
    """Redis cannot be used to join the network (the message says why, in one line)."""
