"""The UDP rate search on a modelled link: deterministic, fast, no processes."""

from __future__ import annotations

from pytest_vmtp.measure.udp_search import Probe, search_udp_rate


def link(capacity_kbps: int, sender_max_kbps: int = 10**9):
    """Loss grows as the offered rate exceeds capacity, as on a saturated path."""
    calls: list[int] = []

    def probe(rate: int) -> Probe:
        calls.append(rate)
        sent = min(rate, sender_max_kbps)
        delivered = min(sent, capacity_kbps)
        loss = (sent - delivered) * 100.0 / sent + 0.5  # a little background loss
        return Probe(rate, round(delivered * (1 - 0.005)), loss)

    return probe, calls


def test_converges_into_the_band() -> None:
    probe, calls = link(capacity_kbps=950_000)
    out = search_udp_rate(probe, (2.0, 5.0), max_probes=12, start_kbps=10_000_000)
    assert out.converged
    last = out.probes[-1]
    assert 2.0 <= last.loss_rate <= 5.0 and out.rate_kbps == last.rate_kbps
    assert len(calls) <= 12


def test_sender_limited_stops_at_once() -> None:
    probe, calls = link(capacity_kbps=10**9, sender_max_kbps=400_000)
    out = search_udp_rate(probe, (2.0, 5.0), max_probes=12, start_kbps=10_000_000)
    assert out.rate_kbps == 10_000_000 and len(calls) == 1 and not out.converged


def test_bounded_by_max_probes_and_returns_a_usable_rate() -> None:
    probe, calls = link(capacity_kbps=1_000)
    out = search_udp_rate(probe, (2.0, 2.1), max_probes=3, start_kbps=10_000_000)
    assert len(calls) == 3
    assert out.rate_kbps in calls


def test_lossy_link_never_good_returns_slowest_rate_tried() -> None:
    def probe(rate: int) -> Probe:
        return Probe(rate, rate // 2, 50.0)

    out = search_udp_rate(probe, (2.0, 5.0), max_probes=5, start_kbps=1_000_000)
    assert out.rate_kbps == min(p.rate_kbps for p in out.probes) and not out.converged
