"""How often KNOCK may ask: once per `limits.knock_delay` seconds for each knocker, and
once for each channel, whoever knocks (the charybdis family's knock_delay and
knock_delay_channel, in one setting).

The times are part of the replicated state (`ChatState.knocks`), set and checked where
the event is applied: every node of a cluster refuses the same knocks, whichever node
the knockers are on. The delay travels in the event (its node's setting then), so a
REHASH applies to the next knock and the nodes agree even while their settings differ.
An IRC operator's knock waits for nothing, but counts for the channel. Entries older
than the delay are dropped as knocks come, so the table holds only the last minute's.
"""

from __future__ import annotations


def _user_key(uid: str) -> str:
    return "u " + uid


def _channel_key(channel: str) -> str:
    return "c " + channel


def refusal(knocks: dict[str, float], uid: str, channel: str, now: float, delay: float) -> tuple[str, float] | None:
    """Why a knock by `uid` on channel `channel` (its key) must wait, as ("user" or
    "channel", seconds left), or None when it may go now."""
    for kind, key in (("user", _user_key(uid)), ("channel", _channel_key(channel))):
        last = knocks.get(key)
        if last is not None and now - last < delay:
            return kind, delay - (now - last)
    return None


def record(knocks: dict[str, float], uid: str, channel: str, now: float, delay: float) -> None:
    """A knock went out: remember it; forget those the delay has passed."""
    for key in [key for key, last in knocks.items() if now - last >= delay]:
        del knocks[key]
    knocks[_user_key(uid)] = now
    knocks[_channel_key(channel)] = now
