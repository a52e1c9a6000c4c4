"""The figures of N pairs measured together (pure): aggregate, the per-pair distribution and
the fairness between pairs (Jain's index)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any


def jain_index(values: Sequence[float]) -> float | None:
    """Jain's fairness index (sum x)^2 / (n * sum x^2): 1.0 when every pair got the same, 1/n
    when one pair got everything. None when nothing was delivered (no share to compare)."""
    if not values or any(v < 0 for v in values):
        raise ValueError(f"Jain's index of {list(values)!r}: needs one or more figures >= 0")
    squares = sum(v * v for v in values)
    if squares == 0:
        return None
    return sum(values) ** 2 / (len(values) * squares)


@dataclass(frozen=True)
class Distribution:
    """How the pairs' throughput spread (kbit/s), and how fairly."""

    min_kbps: int
    median_kbps: int
    max_kbps: int
    jain_index: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def distribution(throughputs: Sequence[float]) -> Distribution:
    jain = jain_index(throughputs)
    return Distribution(min_kbps=round(min(throughputs)), median_kbps=round(median(throughputs)),
                        max_kbps=round(max(throughputs)),
                        jain_index=round(jain, 4) if jain is not None else None)


def aggregate_loss(throughputs: Sequence[float], losses: Sequence[float]) -> float:
    """The loss of all pairs together, in percent: what did not arrive of all that was sent.
    Each pair sent throughput / (1 - loss); a pair that lost everything is refused before."""
    if len(throughputs) != len(losses) or not throughputs:
        raise ValueError("one loss per throughput, at least one")
    if any(loss >= 100 or loss < 0 for loss in losses):
        raise ValueError(f"losses {list(losses)!r}: each must be in [0, 100)")
    sent = sum(tp / (1 - loss / 100) for tp, loss in zip(throughputs, losses, strict=True))
    return 0.0 if sent == 0 else max(0.0, 100 * (1 - sum(throughputs) / sent))


def skew_ms(started: Sequence[float | None]) -> float | None:
    """The spread of the clients' start moments (epoch seconds), in ms; None if one is unknown."""
    if not started or any(s is None for s in started):
        return None
    known = [s for s in started if s is not None]
    return round((max(known) - min(known)) * 1000, 3)
