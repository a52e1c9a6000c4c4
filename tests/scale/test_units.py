"""Scale mode's pure parts: the pairs' figures (aggregate, distribution, Jain's index), the
progressions' pair counts, pair roles and their hosts, the start-time wrapper (run by a real
sh), and how the reports and the gate read scaled items."""

from __future__ import annotations

import subprocess
import time

import pytest

from pytest_vmtp import catalogue, config
from pytest_vmtp.cloud.placement import ADMIN, SCHEDULER, HostChoice, Placement
from pytest_vmtp.gate import rules
from pytest_vmtp.gate.figures import flow_figures
from pytest_vmtp.gate.judge import SLA_FAILED, judge
from pytest_vmtp.measure.parallel import START_MARK, split_start, synced_command
from pytest_vmtp.measure.runner import CommandResult
from pytest_vmtp.report.chart_data import Run, charts, scale_charts
from pytest_vmtp.report.data_column import PAIRS_KEY, data_for
from pytest_vmtp.scale.settings import ScaleSettings, steps
from pytest_vmtp.scale.stats import aggregate_loss, distribution, jain_index, skew_ms


@pytest.mark.parametrize(("values", "expected"), [
    ([5.0, 5.0, 5.0, 5.0], 1.0),            # equal shares
    ([10.0, 0.0, 0.0, 0.0], 0.25),          # one pair got all: 1/n
    ([1.0, 2.0], 9 / 10),                   # (1+2)^2 / (2 * (1+4))
    ([3.0], 1.0),
])
def test_jain_index(values, expected):
    assert jain_index(values) == pytest.approx(expected)


def test_jain_index_of_nothing_delivered_is_unknown_and_bad_input_refused():
    assert jain_index([0.0, 0.0]) is None
    for bad in ([], [1.0, -1.0]):
        with pytest.raises(ValueError):
            jain_index(bad)


def test_distribution_min_median_max_and_fairness():
    d = distribution([400.0, 100.0, 300.0, 200.0])
    assert (d.min_kbps, d.median_kbps, d.max_kbps) == (100, 250, 400)
    assert d.jain_index == pytest.approx(1000 ** 2 / (4 * 300_000), abs=1e-4)
    assert distribution([7.0]).to_json() == {"min_kbps": 7, "median_kbps": 7, "max_kbps": 7, "jain_index": 1.0}


def test_aggregate_loss_is_of_all_that_was_sent():
    # 90 arrived of 100 sent (10 %), 50 of 50 (0 %): 140 of 150 arrived.
    assert aggregate_loss([90.0, 50.0], [10.0, 0.0]) == pytest.approx(100 * 10 / 150)
    assert aggregate_loss([1.0, 1.0], [0.0, 0.0]) == 0.0
    with pytest.raises(ValueError):
        aggregate_loss([0.0], [100.0])  # a pair that lost everything is refused before


def test_skew():
    assert skew_ms([10.0, 10.0025, 10.001]) == 2.5
    assert skew_ms([10.0, None]) is None


@pytest.mark.parametrize(("progression", "bound", "expected"), [
    (None, 8, [8]),
    ("linear", 4, [1, 2, 3, 4]),
    ("quadratic", 16, [1, 2, 4, 8, 16]),
    ("quadratic", 12, [1, 2, 4, 8, 12]),  # the bound is measured last
    ("quadratic", 2, [1, 2]),
])
def test_progression_steps(progression, bound, expected):
    assert steps(progression, bound) == expected


def test_scale_settings_from_options_and_their_mistakes():
    assert not config.build({}).scale.active  # the default: one pair, as without scale mode
    scale = config.build({"pairs": 4, "progression": "linear"}).scale
    assert scale.active and scale.steps == [1, 2, 3, 4]
    assert ScaleSettings(pairs=8, start_lead_s=0.5, start_lead_per_pair_s=0.05).lead_s(8) == pytest.approx(0.9)
    for bad, says in (({"pairs": 0}, "--vmtp-pairs 0: give a whole number"),
                      ({"progression": "linear"}, "give its largest step with --vmtp-pairs"),
                      ({"pairs": 2, "progression": "cubic"}, "--vmtp-progression 'cubic'")):
        with pytest.raises(config.ConfigError, match=says):
            config.build(bad)


def test_pair_roles_and_the_vms_scaled_rows_need():
    assert catalogue.pair_role("server", 1) == "server"  # pair 1: the VMs of a run without scale mode
    assert catalogue.pair_role("diff_inter", 3) == "diff_inter_p3"
    role = catalogue.role_of("diff_inter_p3")
    assert (role.network, role.side, role.pair, role.base) == ("net2", "B", 3, "diff_inter")
    for bad in ("diff_inter_p1", "diff_inter_p", "nope_p2", "server_p02"):
        with pytest.raises(KeyError):
            catalogue.role_of(bad)
    rows = [r for r in catalogue.catalogue() if r.id in ("2.1", "2.3", "8.1")]
    assert catalogue.roles_needed(rows, 3) == {"server", "same_inter", "server_p2", "same_inter_p2",
                                               "server_p3", "same_inter_p3"}  # ping and 8.x: one pair
    assert catalogue.roles_needed(rows) == {"server", "same_inter"}


def test_pairs_spread_over_every_host():
    hosts = tuple(HostChoice("nova", f"c{i}") for i in (1, 2, 3))
    placement = Placement(ADMIN, hosts[0], hosts[1], hosts=hosts)
    where = [(placement.host_for("A", p).host, placement.host_for("B", p).host) for p in (1, 2, 3, 4)]
    assert where == [("c1", "c2"), ("c2", "c3"), ("c3", "c1"), ("c1", "c2")]
    two = Placement(ADMIN, hosts[0], hosts[1], hosts=hosts[:2])
    assert [(two.host_for("A", p).host, two.host_for("B", p).host) for p in (1, 2)] == [("c1", "c2"), ("c2", "c1")]
    alone = Placement(ADMIN, hosts[0], None, "one host", hosts=hosts[:1])
    assert alone.host_for("A", 5) == hosts[0] and alone.host_for("B", 5) is None
    anywhere = HostChoice("az1", None)  # no admin: the scheduler places, with groups per pair
    assert Placement(SCHEDULER, anywhere, anywhere).host_for("B", 4) == anywhere
    assert Placement.from_json(placement.to_json()) == placement


def test_synced_command_waits_for_the_start_time_and_says_when_it_started():
    start_at = time.time() + 0.4
    done = subprocess.run(["sh", "-c", synced_command("echo tool-output", start_at, 5.0)],
                          capture_output=True, text=True, timeout=10)
    result, started = split_start(CommandResult("x", done.returncode, done.stdout, done.stderr))
    assert result.stdout == "tool-output\n" and START_MARK not in result.stderr and done.returncode == 0
    assert started is not None and start_at <= started < start_at + 0.3


def test_synced_command_never_waits_longer_than_its_bound():
    """A host whose clock is far behind would sleep for hours: it starts at the bound."""
    began = time.time()
    done = subprocess.run(["sh", "-c", synced_command("true", began + 3600, 0.2)],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0 and time.time() - began < 2


def test_split_start_without_a_mark_leaves_the_result():
    res = CommandResult("x", 1, "", "nuttcp: connection refused")
    assert split_start(res) == (res, None)


def _item(pairs: int, rates: list[int], run: int = 1, **extra) -> dict:
    d = distribution([float(r) for r in rates]).to_json()
    return {"protocol": "TCP", "tool": "nuttcp-6.1.2", "throughput_kbps": sum(rates), "pkt_size": 65536,
            "run": run, "pairs": pairs, "distribution": d, "start_skew_ms": 1.5,
            "pair_results": [{"pair": i + 1, "throughput_kbps": r} for i, r in enumerate(rates)], **extra}


def test_data_cell_of_pairs_and_of_a_progression():
    cell = data_for("tcp", [_item(2, [100, 300])], {"start_skew_ms": 1.5})
    assert cell == {"pairs": 2, "tp_kbps": "400", PAIRS_KEY: "100/200/300", "jain": "0.8", "start_skew_ms": "1.5"}
    steps_cell = data_for("tcp", [_item(1, [500]), _item(2, [100, 300])],
                          {"stopped": "at 2 pairs: SLA broken"})
    assert list(steps_cell) == ["1 pair", "2 pairs", "stopped"]
    assert steps_cell["2 pairs"]["tp_kbps"] == "400" and steps_cell["stopped"] == "at 2 pairs: SLA broken"
    assert data_for("tcp", [{"protocol": "TCP", "throughput_kbps": 5, "run": 1}]) == {"tp_kbps": "5"}  # as before


def test_gate_figures_of_pairs_and_an_sla_on_the_slowest_pair():
    flow = {"scenario": "2.1", "results": [_item(2, [100_000, 300_000])]}
    figures = {(f.what, f.metric): f.value for f in flow_figures(flow)}
    assert figures[("tcp 65536 x2", "tp_kbps")] == 400_000  # never pooled with one pair's figures
    assert figures[("tcp 65536 x2", "pair_min_kbps")] == 100_000
    assert figures[("tcp 65536 x2", "jain_index")] == pytest.approx(0.8)
    sla = rules.build({}, ["pair_min_kbps >= 200M"])
    verdict = judge("2.1", (), flow_figures(flow), None, sla)
    assert verdict.status == SLA_FAILED
    assert verdict.reason() == "SLA: tcp 65536 x2 pair_min_kbps 100 Mbit/s breaks SLA pair_min_kbps >= 200M"
    with pytest.raises(rules.RuleError, match="only tp_kbps and pair_min_kbps take"):
        rules.build({}, ["jain_index >= 1G"])


def test_charts_of_a_progression():
    flow = {"scenario": "2.1", "name": "x", "status": "FAILED", "gate": {"verdict": "sla failed", "checks": []},
            "scale": {"pairs": 4, "steps": [1, 2, 4]},
            "results": [_item(1, [500_000]), _item(2, [300_000, 300_000]), _item(4, [100_000, 200_000] * 2)]}
    doc = {"flows": [flow]}
    (chart,) = scale_charts(doc)
    assert chart.key == "scale-tcp" and chart.point_count == 6
    together, each = chart.lines
    assert [(p.pairs, p.value) for p in together.points] == [(1, 0.5), (2, 0.6), (4, 0.6)]  # Gbit/s
    assert (each.points[2].low, each.points[2].value, each.points[2].high) == (0.1, 0.15, 0.2)
    (tcp,) = [c for c in charts([Run("r", doc)]) if c.key == "tcp"]
    assert [b.value for s in tcp.series for b in s.bars] == [0.6]  # the column: the largest step only
    assert scale_charts({"flows": [{**flow, "scale": {"pairs": 4, "steps": [4]}}]}) == []  # no progression
