"""What a UDP result found by the rate search must say about itself, whatever the path's noise.

Shared by the namespace tests (test_udp_paths.py) and the cloud end-to-end test, on the
result's JSON item.
"""

from __future__ import annotations

from typing import Any

from pytest_vmtp.report.data_column import data_for


def check_search(item: dict[str, Any], window: tuple[float, float], max_probes: int) -> None:
    low, high = window
    search = item["rate_search"]
    assert "bandwidth_limit_kbps" not in item  # that is the user's cap only
    assert 1 <= len(search["probes"]) <= max_probes
    assert search["loss_target"] == [low, high]
    rates = [p["rate_kbps"] for p in search["probes"]]
    assert item["search_rate_kbps"] in rates
    chosen = search["probes"][rates.index(item["search_rate_kbps"])]
    if search["outcome"] == "converged":
        assert low <= chosen["loss_rate"] <= high
    # never at or above a rate that lost more than the window
    assert all(item["search_rate_kbps"] < p["rate_kbps"] for p in search["probes"] if p["loss_rate"] > high)
    assert item["loss_in_target"] == (low <= item["loss_rate"] <= high)
    # the full-length run ran at the chosen rate
    assert item["throughput_kbps"] <= item["search_rate_kbps"] * 1.02
    # and the summary table says so when it missed the window
    cell = data_for("udp", [item])[item["pkt_size"]]
    assert ("loss_target" in cell) == (not item["loss_in_target"])
