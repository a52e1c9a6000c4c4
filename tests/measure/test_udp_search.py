"""The UDP rate search on modelled paths: deterministic, fast, no processes.

Each model knows the true loss at every rate, so a test can say whether the rate the search
chose is right (its true loss in the window), not only that the search returned something.
The real paths (tbf, a CPU-starved receiver) are in test_udp_paths.py.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from pytest_vmtp.measure.udp_search import (
    CONVERGED,
    NARROWED,
    PROBE_LIMIT,
    SENDER_LIMITED,
    Probe,
    search_udp_rate,
)

WINDOW = (2.0, 5.0)
START = 10_000_000  # kbit/s, the engine's first probe
Model = Callable[[int], tuple[int, float]]  # asked rate -> (rate sent, true loss %)


def sharp(capacity: int, sender_max: int = 2_000_000) -> Model:
    """A shaper or a full link: nothing lost below capacity, then all that exceeds it."""
    def true(rate: int) -> tuple[int, float]:
        sent = min(rate, sender_max)
        return sent, max(0.0, (sent - capacity) * 100.0 / sent)
    return true


def gradual(knee: int, sender_max: int = 1_000_000) -> Model:
    """A receiver short of CPU: loss starts at the knee and grows slowly with the rate, while
    what arrives keeps growing too (as measured with a 10 % CPU quota on nuttcp's receiver)."""
    def true(rate: int) -> tuple[int, float]:
        sent = min(rate, sender_max)
        return sent, 0.0 if sent <= knee else 40.0 * (1 - knee / sent) ** 1.2
    return true


def probe_of(model: Model, noise: float = 0.0, seed: int = 0) -> tuple[Callable[[int], Probe], list[int]]:
    """noise: the spread of one short probe's loss reading (normal, in log-odds)."""
    rng = random.Random(seed)
    calls: list[int] = []

    def probe(rate: int) -> Probe:
        calls.append(rate)
        sent, loss = model(rate)
        if noise and 0 < loss < 100:
            loss = 100 / (1 + math.exp(-(math.log(loss / (100 - loss)) + rng.gauss(0, noise))))
        return Probe(rate, round(sent * (1 - loss / 100)), loss)

    return probe, calls


@pytest.mark.parametrize("capacity", [48_000, 768_000])  # tbf 50 and 800 Mbit/s, 1024 B datagrams
def test_sharp_path_in_two_probes(capacity: int) -> None:
    """One overloaded probe tells the capacity: the next one lands mid-window."""
    model = sharp(capacity)
    probe, calls = probe_of(model)
    out = search_udp_rate(probe, WINDOW, max_probes=12, start_kbps=START)
    assert out.outcome == CONVERGED and len(calls) == 2
    assert model(out.rate_kbps)[1] == pytest.approx(3.5, abs=0.1)


@pytest.mark.parametrize("model", [gradual(100_000), gradual(30_000)], ids=["knee-100M", "knee-30M"])
def test_gradual_path_lands_mid_window(model: Model) -> None:
    probe, calls = probe_of(model)
    out = search_udp_rate(probe, WINDOW, max_probes=12, start_kbps=START)
    assert out.outcome == CONVERGED and len(calls) <= 10
    assert 2.75 <= model(out.rate_kbps)[1] <= 4.25


@pytest.mark.parametrize("name, model, noise, share", [
    ("sharp", sharp(48_000), 0.2, 0.95),
    ("gradual", gradual(100_000), 0.2, 0.9),
    ("gradual", gradual(100_000), 0.5, 0.6),
])
def test_noisy_probes_still_choose_a_rate_inside_the_window(name: str, model: Model, noise: float,
                                                           share: float) -> None:
    """One-second probes read the loss a point or two off on a busy machine. Over 200 seeded
    searches, the true loss at the chosen rate must be in the window in `share` of them
    (the former search reached 0.0 on the sharp path and 0.86 on the first gradual case)."""
    hits, probes = 0, []
    for seed in range(200):
        probe, calls = probe_of(model, noise, seed)
        out = search_udp_rate(probe, WINDOW, max_probes=12, start_kbps=START)
        hits += WINDOW[0] <= model(out.rate_kbps)[1] <= WINDOW[1]
        probes.append(len(calls))
    assert hits / 200 >= share
    assert max(probes) <= 12 and sum(probes) / 200 <= 9


def test_sender_limited_stops_at_once() -> None:
    probe, calls = probe_of(sharp(capacity=10**9, sender_max=400_000))
    out = search_udp_rate(probe, WINDOW, max_probes=12, start_kbps=START)
    assert (out.outcome, out.rate_kbps, calls) == (SENDER_LIMITED, START, [START])


def test_first_probe_in_the_window_is_the_answer() -> None:
    probe, calls = probe_of(lambda rate: (rate, 2.2))
    out = search_udp_rate(probe, WINDOW, max_probes=12, start_kbps=START)
    assert (out.outcome, out.rate_kbps, calls) == (CONVERGED, START, [START])


def test_bounded_by_max_probes_and_never_returns_a_rate_known_to_lose_too_much() -> None:
    """A window too narrow to hit: 6 probes, then the fastest rate that lost less."""
    model = gradual(100_000)
    probe, calls = probe_of(model)
    out = search_udp_rate(probe, (2.0, 2.01), max_probes=6, start_kbps=START)
    assert out.outcome == PROBE_LIMIT and len(calls) == 6
    below = [p for p in out.probes if p.loss_rate < 2.0]
    assert below and out.rate_kbps == max(p.rate_kbps for p in below)


def test_narrowed_without_a_probe_in_the_window() -> None:
    """A step from 0 % to 50 % loss: the bracket shrinks to 1 % and the rate below it wins."""
    probe, calls = probe_of(lambda rate: (rate, 0.0 if rate <= 200_000 else 50.0))
    out = search_udp_rate(probe, WINDOW, max_probes=40, start_kbps=START)
    assert out.outcome == NARROWED and len(calls) < 40
    assert 198_000 <= out.rate_kbps <= 200_000


def test_lossy_path_never_in_the_window_returns_the_slowest_rate_tried() -> None:
    def probe(rate: int) -> Probe:
        return Probe(rate, rate // 2, 50.0)

    out = search_udp_rate(probe, WINDOW, max_probes=5, start_kbps=1_000_000)
    assert out.rate_kbps == min(p.rate_kbps for p in out.probes) and not out.converged
    assert len(out.probes) <= 5
