"""Scale mode's settings and the pair counts of a progression (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_vmtp.defaults import value

PROGRESSIONS = ("linear", "quadratic")
MAX_PAIRS = 128  # the local cloud's external /24 gives ~240 floating IPs, one per VM


def steps(progression: str | None, bound: int) -> list[int]:
    """The pair counts a row runs with: [bound] without a progression; linear 1, 2, 3 ... bound;
    quadratic 1, 2, 4 ... and bound itself last when it is no power of two (Shaker's
    progressions: every count up to the agents available, or doubling)."""
    if bound < 1:
        raise ValueError(f"pairs {bound}: at least 1")
    if progression is None:
        return [bound]
    if progression == "linear":
        return list(range(1, bound + 1))
    if progression == "quadratic":
        out, n = [], 1
        while n < bound:
            out.append(n)
            n *= 2
        return [*out, bound]
    raise ValueError(f"progression {progression!r}: use one of {', '.join(PROGRESSIONS)}")


@dataclass(frozen=True)
class ScaleSettings:
    """Field defaults come from defaults.yaml (pytest_vmtp.defaults), the one table of them."""

    pairs: int = value("pairs")
    progression: str | None = value("progression")
    start_lead_s: float = value("pairs_start_lead_s")
    start_lead_per_pair_s: float = value("pairs_start_lead_per_pair_s")

    @property
    def active(self) -> bool:
        """False: every row measures one pair exactly as without scale mode."""
        return self.pairs > 1 or self.progression is not None

    @property
    def steps(self) -> list[int]:
        return steps(self.progression, self.pairs)

    def lead_s(self, pairs: int) -> float:
        """How far ahead the shared start time of `pairs` clients is set."""
        return self.start_lead_s + self.start_lead_per_pair_s * pairs
