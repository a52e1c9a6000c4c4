"""Pure search for the UDP send rate whose loss falls within the target window (2-5 %).

The probe is injected (a callable running one short measurement), so the search logic is
testable on its own. Unlike VMTP, which reports its last probe, the caller measures once
more for the full duration at the rate found here.

Two kinds of path must both work:
- sharp: loss is ~0 up to the path's capacity C, then 1 - C/rate (a shaper, a full link).
  One overloaded probe gives C (what arrived), so C / (1 - middle of the window) is the
  answer at once.
- gradual: loss grows slowly with the rate (a receiver short of CPU). What arrived says
  little there; the search brackets the window (rates below it / above it) and
  interpolates the loss between the bracket's ends, aiming at the window's middle so that
  the chosen rate is not one that only a lucky probe put inside the window.
Every step after the bracket is found keeps the next rate a little inside the bracket (on a
log scale) and an end that stays put loses weight (the Illinois rule), so the bracket keeps
shrinking; max_probes bounds the whole search.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

# How the search ended (SearchOutcome.outcome).
CONVERGED = "converged"  # a probe's loss fell within the window: its rate is the answer
SENDER_LIMITED = "sender-limited"  # loss below the window at the fastest rate: the sender is the limit
NARROWED = "narrowed"  # the bracket shrank to 1 % without a probe inside the window
PROBE_LIMIT = "probe-limit"  # max_probes used up first

INNER = 0.02  # next rate kept this fraction of the bracket's (log) width away from its ends


@dataclass(frozen=True)
class Probe:
    rate_kbps: int  # the rate asked of the sender
    throughput_kbps: int  # what arrived
    loss_rate: float  # percent; never a guess: the caller fails the run when it is unknown


@dataclass
class SearchOutcome:
    rate_kbps: int
    probes: list[Probe] = field(default_factory=list)
    outcome: str = PROBE_LIMIT

    @property
    def converged(self) -> bool:
        return self.outcome == CONVERGED


def search_udp_rate(
    probe: Callable[[int], Probe],
    loss_target: tuple[float, float],
    max_probes: int,
    start_kbps: int,
    min_kbps: int = 64,
) -> SearchOutcome:
    """Probe at most max_probes rates, from start_kbps down, for one whose loss is in the window.

    A probe in the window's middle half ends the search. One in an outer quarter is kept
    (one short probe reads a loss a point or two off on a gradual path) while the search
    aims closer to the middle; the in-window probe closest to the middle wins. Without any
    in-window probe the answer is the fastest rate whose loss was below the window, else
    the slowest rate tried. The answer is never at or above a rate that lost more than
    the window (noisy probes can contradict each other).
    """
    low, high = loss_target
    middle = (low + high) / 2
    quarter = (high - low) / 4
    below: Probe | None = None  # fastest probe with loss < middle
    above: Probe | None = None  # slowest probe with loss > middle
    kept = ""  # the bracket end that the last probe did not replace ("below"/"above")
    stale = 0  # how many probes in a row left that end in place
    in_window: list[Probe] = []
    probes: list[Probe] = []
    rate = max(start_kbps, min_kbps)
    outcome = PROBE_LIMIT
    for _ in range(max(1, max_probes)):
        p = probe(rate)
        probes.append(p)
        inside = low <= p.loss_rate <= high
        if inside:
            in_window.append(p)
            if low + quarter <= p.loss_rate <= high - quarter:
                return SearchOutcome(rate, probes, CONVERGED)
        if p.loss_rate < middle:
            if above is None:  # the first probe, at start_kbps: no faster rate to try
                return SearchOutcome(rate, probes, CONVERGED if inside else SENDER_LIMITED)
            below = p if below is None or rate > below.rate_kbps else below
            stale, kept = (stale + 1 if kept == "above" else 1), "above"
        else:
            above = p if above is None or rate < above.rate_kbps else above
            stale, kept = (stale + 1 if kept == "below" else 1), "below"
        assert above is not None
        if below is None:
            overloaded = sorted((q for q in probes if q.loss_rate > middle), key=lambda q: q.rate_kbps)
            nxt = _descend(overloaded, middle)
        else:
            if above.rate_kbps - below.rate_kbps <= max(min_kbps, above.rate_kbps // 100):
                outcome = NARROWED
                break
            # Illinois rule: an end kept for two probes or more weighs less, so that a curved
            # loss line does not leave the search creeping towards it from one side.
            weight = 0.5 ** max(0, stale - 1)
            below_loss, above_loss = below.loss_rate, above.loss_rate
            if kept == "below":
                below_loss = middle - (middle - below_loss) * weight
            else:
                above_loss = middle + (above_loss - middle) * weight
            nxt = _interpolate(below, above, middle, below_loss, above_loss)
        rate = int(nxt)
        if rate < min_kbps:
            break
    # Noise can make a slower probe lose more than a faster one: never pick a rate at or
    # above one that lost more than the window.
    ceiling = min((q.rate_kbps for q in probes if q.loss_rate > high), default=None)
    in_window = [q for q in in_window if ceiling is None or q.rate_kbps < ceiling]
    if in_window:
        best = min(in_window, key=lambda q: abs(q.loss_rate - middle))
        return SearchOutcome(best.rate_kbps, probes, CONVERGED)
    fastest_below = max((q for q in probes if q.loss_rate < low and (ceiling is None or q.rate_kbps < ceiling)),
                        key=lambda q: q.rate_kbps, default=None)
    if fastest_below is not None:
        return SearchOutcome(fastest_below.rate_kbps, probes, outcome)
    return SearchOutcome(min(q.rate_kbps for q in probes), probes, outcome)


def _descend(overloaded: list[Probe], middle: float) -> float:
    """Only overloaded probes so far (slowest first).

    After the first, treat what arrived as the path's capacity C and ask for
    C / (1 - middle), which loses `middle` % on a sharp path. If that overloaded too, the
    path is not sharp (what arrives grows with the rate): extend the line through the two
    slowest probes' losses (log scale of rates) down to `middle`, stepping down by a factor
    of 2 to 8 from what the sender managed (what arrived plus what was lost)."""
    slowest = overloaded[0]
    at_middle = slowest.throughput_kbps / (1 - middle / 100)
    if len(overloaded) == 1:
        return at_middle
    sent = float(slowest.rate_kbps)
    if slowest.loss_rate < 100:
        sent = min(sent, slowest.throughput_kbps / (1 - slowest.loss_rate / 100))
    nxt = sent / 8
    second = overloaded[1]
    if second.loss_rate > slowest.loss_rate:
        per_log = (second.loss_rate - slowest.loss_rate) / math.log(second.rate_kbps / slowest.rate_kbps)
        nxt = max(nxt, slowest.rate_kbps * math.exp((middle - slowest.loss_rate) / per_log))
    return min(at_middle, sent / 2, nxt)


def _interpolate(below: Probe, above: Probe, middle: float, below_loss: float, above_loss: float) -> float:
    """Where the line between the bracket's ends crosses `middle` % loss, on a log scale of
    rates (a first bracket can span 50 Mbit/s to 10 Gbit/s), kept INNER of the bracket's
    (log) width away from its ends so that the bracket shrinks at every step."""
    lo, hi = math.log(below.rate_kbps), math.log(above.rate_kbps)
    t = (middle - below_loss) / (above_loss - below_loss)
    return math.exp(lo + min(max(t, INNER), 1 - INNER) * (hi - lo))
