"""Pure search for the UDP send rate whose loss falls within the target band (2-5 %).

The probe is injected (a callable running one short measurement), so the search logic is
testable on its own. Unlike VMTP, which reports its last probe, the caller measures once
more for the full duration at the rate found here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    rate_kbps: int  # the rate asked of the sender
    throughput_kbps: int  # what arrived
    loss_rate: float  # percent


@dataclass
class SearchOutcome:
    rate_kbps: int
    probes: list[Probe] = field(default_factory=list)
    converged: bool = False  # a probe's loss fell within the target band


def search_udp_rate(
    probe: Callable[[int], Probe],
    loss_target: tuple[float, float],
    max_probes: int,
    start_kbps: int,
    min_kbps: int = 64,
) -> SearchOutcome:
    """Bisect between the fastest rate seen below the band and the slowest seen above it.

    The first overloaded probe's delivered rate is tried next: it is usually close to the
    path's capacity and saves several bisection steps.
    """
    low_loss, high_loss = loss_target
    below, above = 0, None  # rates known to give loss < band / > band
    best: int | None = None  # highest rate with loss <= high bound
    probes: list[Probe] = []
    rate = max(start_kbps, min_kbps)
    for _ in range(max(1, max_probes)):
        p = probe(rate)
        probes.append(p)
        if p.loss_rate <= high_loss:
            best = rate if best is None else max(best, rate)
        if low_loss <= p.loss_rate <= high_loss:
            return SearchOutcome(rate, probes, converged=True)
        if p.loss_rate < low_loss:
            below = max(below, rate)
            if above is None:  # loss-free at the highest rate asked: the sender is the limit
                return SearchOutcome(rate, probes, converged=False)
            rate = (below + above) // 2
        else:
            first_overload = above is None
            above = rate if above is None else min(above, rate)
            guess = p.throughput_kbps
            rate = guess if first_overload and below < guess < above else (below + above) // 2
        if above is not None and above - below <= max(min_kbps, above // 100):
            break
        if rate < min_kbps:
            break
    if best is None:
        best = below or min(p.rate_kbps for p in probes)  # all overloaded: slowest tried
    return SearchOutcome(best, probes, converged=False)
