"""Chat-like history to fill a database with: many messages, fast, the same every time.

Search speed depends on how often the searched word occurs, so the texts draw their
words from a vocabulary with Zipf's law (the k-th most common word is about k times
rarer than the most common one), as natural language does: the commonest word is in
about half of the messages, the ten-thousandth in about one in ten thousand. Words
are pronounceable nonsense made of syllables, so the tokenizer sees ordinary words.
Everything comes from one seeded random generator: a given size and seed always gives
the same messages.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh", "tr", "bl")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """`size` distinct words, most common first (their order is their frequency rank)."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        syllables = 1 + min(3, int(rng.expovariate(0.9)))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass(frozen=True)
class Corpus:
    """What the texts are made of, and how often each word comes up."""

    words: list[str]
    cum_weights: list[float]
    words_per_message: tuple[int, int]

    @classmethod
    def make(cls, size: int = 50_000, seed: int = 1, words_per_message: tuple[int, int] = (3, 16)) -> Corpus:
        rng = random.Random(seed)
        words = vocabulary(size, rng)
        return cls(words, list(accumulate(1.0 / rank for rank in range(1, size + 1))), words_per_message)

    def share(self, rank: int) -> float:
        """The expected share of messages that contain the word of this rank (1 = most common)."""
        p = (1.0 / rank) / self.cum_weights[-1]  # per word drawn
        low, high = self.words_per_message
        mean = (low + high) / 2
        return 1.0 - float((1.0 - p) ** mean)

    def texts(self, count: int, rng: random.Random) -> list[str]:
        """`count` message texts."""
        low, high = self.words_per_message
        lengths = [rng.randint(low, high) for _ in range(count)]
        drawn = rng.choices(self.words, cum_weights=self.cum_weights, k=sum(lengths))
        out = []
        at = 0
        for length in lengths:
            out.append(" ".join(drawn[at : at + length]))
            at += length
        return out

    def absent_word(self) -> str:
        """A word no text contains (for a search that finds nothing)."""
        word = "zzqx"
        while word in self.words:
            word += "q"
        return word


@dataclass(frozen=True)
class Plan:
    """Who says what where: one big channel and a few smaller ones, spread over `days`."""

    big_channel: str = "#big"
    big_messages: int = 1_000_000
    other_channels: int = 3
    other_messages: int = 10_000  # in each of the others
    senders: int = 200
    days: float = 30.0
    seed: int = 1

    @property
    def total(self) -> int:
        return self.big_messages + self.other_channels * self.other_messages

    def channels(self) -> list[str]:
        return [self.big_channel] + [f"#chan{i}" for i in range(1, self.other_channels + 1)]


def schedule(plan: Plan, end: float, batch: int) -> Iterator[list[tuple[str, int, float]]]:
    """(channel, sender, time) of every message, oldest first, `batch` at a time.

    The channels' messages are shuffled together and evenly spaced in time over
    `plan.days` up to `end`, as a server would have stored them.
    """
    rng = random.Random(plan.seed + 1)
    names = plan.channels()
    where = [0] * plan.big_messages
    for i in range(1, len(names)):
        where += [i] * plan.other_messages
    rng.shuffle(where)
    start = end - plan.days * 86400
    step = (end - start) / max(1, plan.total)
    for first in range(0, plan.total, batch):
        yield [(names[where[i]], rng.randrange(plan.senders), start + i * step)
               for i in range(first, min(plan.total, first + batch))]  # fmt: skip
