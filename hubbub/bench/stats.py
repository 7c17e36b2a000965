"""Small numeric summaries for benchmark results: percentiles of latencies, rounded rates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (0 < q <= 100) of an already sorted sequence."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_ms(values_ns: Sequence[int]) -> dict[str, Any]:
    """Count, p50, p90, p99, max and mean, in milliseconds, of durations in nanoseconds."""
    if not values_ns:
        return {"samples": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    ordered = sorted(values_ns)
    scale = 1e-6
    return {
        "samples": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * scale, 3),
        "p90_ms": round(percentile(ordered, 90) * scale, 3),
        "p99_ms": round(percentile(ordered, 99) * scale, 3),
        "max_ms": round(ordered[-1] * scale, 3),
        "mean_ms": round(sum(ordered) / len(ordered) * scale, 3),
    }


def seconds_ms(values_s: Sequence[float]) -> dict[str, Any]:
    """The same summary for durations in seconds."""
    return latency_ms([int(v * 1e9) for v in values_s])


def rate(count: float, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0
