"""HistoryStore on SQLite and on a real PostgreSQL server: add, find, list, tag, delete."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from pytest_vmtp.gate.figures import document_figures
from pytest_vmtp.history import HistoryError, RunNotFound
from pytest_vmtp.history.location import locate
from pytest_vmtp.history.schema import figures, runs
from tests.history.docs import make_doc


def test_a_document_comes_back_as_it_went_in(store):
    doc = make_doc("a000001")
    store.add(doc, ["pre-upgrade"])
    (back,) = store.find("a000001")
    assert json.dumps(back, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert store.find("last") == [back]
    assert store.find("tag:pre-upgrade") == [back]


def test_last_is_the_newest_run_of_the_cloud(store):
    store.add(make_doc("a000001", minutes=0, cloud="prod"))
    store.add(make_doc("a000003", minutes=20, cloud="staging"))
    store.add(make_doc("a000002", minutes=10, cloud="prod"))
    assert [d["run_id"] for d in store.find("last")] == ["a000003"]
    assert [d["run_id"] for d in store.find("last", cloud="prod")] == ["a000002"]
    # A run id names one run, whatever the cloud.
    assert [d["run_id"] for d in store.find("a000003", cloud="prod")] == ["a000003"]


def test_a_tag_selects_every_run_carrying_it_newest_first(store):
    # Added out of date order: the order comes from the runs' dates.
    store.add(make_doc("b000002", minutes=30), ["pre-upgrade"])
    store.add(make_doc("b000001", minutes=10), ["pre-upgrade", "nightly"])
    store.add(make_doc("b000003", minutes=50), ["nightly"])
    store.add(make_doc("b000004", minutes=40, cloud="staging"), ["pre-upgrade"])
    assert [d["run_id"] for d in store.find("tag:pre-upgrade")] == ["b000004", "b000002", "b000001"]
    assert [d["run_id"] for d in store.find("tag:pre-upgrade", cloud="prod")] == ["b000002", "b000001"]
    assert [d["run_id"] for d in store.find("tag:nightly")] == ["b000003", "b000001"]


def test_runs_of_the_same_second_come_newest_added_first(store):
    store.add(make_doc("c000001"))
    store.add(make_doc("c000002"))
    assert store.find("last")[0]["run_id"] == "c000002"


def test_cloud_comes_from_the_metadata_else_from_the_run(store):
    store.add(make_doc("d000001", cloud=None), cloud="local")
    store.add(make_doc("d000002", cloud="prod"), cloud="local")
    store.add(make_doc("d000003", minutes=1, cloud=None))
    listed = {r.run_id: r.cloud for r in store.list_runs()}
    assert listed == {"d000001": "local", "d000002": "prod", "d000003": None}


def test_list_shows_counts_tags_and_filters(store):
    store.add(make_doc("e000001", minutes=1, failed=True, description="before"), ["pre-upgrade"])
    store.add(make_doc("e000002", minutes=2, cloud="staging"), ["b", "a"])
    store.add(make_doc("e000003", minutes=3, description=None))
    runs_ = store.list_runs()
    assert [r.run_id for r in runs_] == ["e000003", "e000002", "e000001"]
    first = runs_[2]
    assert (first.passed, first.failed, first.skipped, first.tags, first.description) == (
        1, 1, 1, ("pre-upgrade",), "before")
    assert runs_[1].tags == ("a", "b") and runs_[0].description is None
    assert [r.run_id for r in store.list_runs(cloud="staging")] == ["e000002"]
    assert [r.run_id for r in store.list_runs(tag="pre-upgrade")] == ["e000001"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["e000003", "e000002"]
    assert len(store.list_runs(limit=None)) == 3


def test_tag_and_untag(store):
    store.add(make_doc("f000001"), ["nightly"])
    assert store.tag("f000001", "pre-upgrade", "nightly", "pre-upgrade") == ("nightly", "pre-upgrade")
    assert [d["run_id"] for d in store.find("tag:pre-upgrade")] == ["f000001"]
    assert store.untag("f000001", "nightly", "never-there") == ("pre-upgrade",)
    with pytest.raises(RunNotFound):
        store.find("tag:nightly")
    with pytest.raises(HistoryError, match="tag 'two words': a tag is"):
        store.tag("f000001", "two words")
    with pytest.raises(RunNotFound, match="no run 'f99999f'.*newest runs: f000001"):
        store.tag("f99999f", "x")


def test_delete_removes_the_run_its_tags_and_figures(store, store_url):
    store.add(make_doc("9a00001"), ["keep"])
    store.add(make_doc("9a00002", minutes=1), ["gone"])
    store.delete("9a00002")
    assert [r.run_id for r in store.list_runs()] == ["9a00001"]
    with pytest.raises(RunNotFound):
        store.find("tag:gone")
    with pytest.raises(RunNotFound):
        store.delete("9a00002")
    engine = create_engine(locate(store_url).url)
    with engine.connect() as conn:
        pks = set(conn.execute(select(figures.c.run_pk)).scalars())
        assert pks == set(conn.execute(select(runs.c.id)).scalars()) and len(pks) == 1
    engine.dispose()


def test_figure_rows_are_the_gates_figures_of_passed_rows(store, store_url):
    doc = make_doc("8a00001", failed=True)  # 2.1 failed: no figures from it
    store.add(doc)
    store.add(make_doc("8a00002", minutes=1))
    engine = create_engine(locate(store_url).url)
    with engine.connect() as conn:
        rows = conn.execute(select(figures.c.scenario, figures.c.what, figures.c.metric, figures.c.value,
                                   figures.c.samples).join(runs, runs.c.id == figures.c.run_pk)
                            .where(runs.c.run_id == "8a00002").order_by(figures.c.id)).all()
        failed_run = conn.execute(select(figures.c.scenario).join(runs, runs.c.id == figures.c.run_pk)
                                  .where(runs.c.run_id == "8a00001")).scalars().all()
    engine.dispose()
    expected = [(f.scenario, f.what, f.metric, f.value, list(f.samples))
                for f in document_figures(make_doc("8a00002", minutes=1))]
    assert [tuple(r) for r in rows] == expected
    assert ("2.1", "tcp 65536", "tp_kbps", 9_000_000.0, [8_900_000.0, 9_000_000.0, 9_100_000.0]) in expected
    assert set(failed_run) == {"2.3"}


def test_a_run_id_is_stored_once(store):
    store.add(make_doc("7a00001"))
    with pytest.raises(HistoryError, match="run 7a00001 is already stored .*vmtp-history delete 7a00001"):
        store.add(make_doc("7a00001", minutes=5))
    assert len(store.list_runs()) == 1


def test_nothing_found_says_what_the_store_holds(store):
    with pytest.raises(RunNotFound) as empty:
        store.find("last")
    assert str(empty.value).endswith("no run stored; it is empty (each pytest-vmtp run adds itself at its end)")
    for i in range(7):
        store.add(make_doc(f"6a0000{i}", minutes=i, cloud="prod" if i % 2 else "staging"), [f"t{i}"])
    with pytest.raises(RunNotFound) as exc:
        store.find("tag:pre-upgrade", cloud="prod")
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith(f"history {store.shown}: no run tagged 'pre-upgrade' of cloud 'prod'; newest runs: "
                           "6a00006 (2025-03-01 12:06, staging), 6a00005 (2025-03-01 12:05, prod), ")
    assert "6a00001" not in text  # the newest few only
    assert "; tags: t0, t1, t2, t3, t4, t5, t6; clouds: " in text
    with pytest.raises(RunNotFound, match=r"no run of cloud 'dev'; newest runs: 6a00006"):
        store.find("last", cloud="dev")
    with pytest.raises(RunNotFound, match=r"no run 'lats'; newest runs: 6a00006"):
        store.find("lats")


@pytest.mark.parametrize("selector, message", [
    ("tag:", "tag '': a tag is"),
    ("tag:a b", "tag 'a b': a tag is"),
    ("", "run '': give 'last', a run id"),
    ("two words", "run 'two words': give 'last'"),
])
def test_bad_selectors_say_what_to_write(store, selector, message):
    with pytest.raises(HistoryError, match=message):
        store.find(selector)


def test_documents_that_are_not_results_are_refused(store):
    with pytest.raises(HistoryError, match="run_id None is not a run id"):
        store.add({"flows": []})
    with pytest.raises(HistoryError, match="no list of flows"):
        store.add({"run_id": "5a00001", "date": "2025-01-01 00:00:00"})
    with pytest.raises(HistoryError, match="date 'yesterday' is not"):
        store.add({"run_id": "5a00001", "date": "yesterday", "flows": []})
    assert store.list_runs() == []


def test_vmtps_own_result_files_are_indexed_by_row(store, store_url):
    """A VMTP 2.x file (one flow per client, no row ids), added with `vmtp-history add`: stored as
    it is, its figures and row counts by VMTP's summary rows."""
    doc = {"run_id": "0000abc", "date": "2024-05-01 10:00:00", "version": "2.4.1", "flows": [
        {"desc": "VM to VM same network fixed IP (inter-node)", "results": [
            {"protocol": "TCP", "pkt_size": 65536, "throughput_kbps": 9_000_000, "tool": "nuttcp-7.3.2"},
            {"protocol": "ICMP", "tool": "ping", "rtt_avg_ms": "0.321", "rtt_min_ms": "0.187", "rtt_max_ms": "0.741",
             "rtt_stddev": "0.212", "rx_packets": "5", "tx_packets": "5"}]},
        {"desc": "Native intra-host", "results": [
            {"protocol": "UDP", "pkt_size": 128, "error": "timeout", "tool": "nuttcp-7.3.2"}]}]}
    store.add(doc, cloud="old-vmtp")
    assert store.find("0000abc") == [doc]
    (run,) = store.list_runs()
    assert (run.cloud, run.passed, run.failed) == ("old-vmtp", 2, 1)
    engine = create_engine(locate(store_url).url)
    with engine.connect() as conn:
        keys = set(conn.execute(select(figures.c.scenario, figures.c.what, figures.c.metric)).all())
    engine.dispose()
    assert {("2.1", "tcp 65536", "tp_kbps"), ("2.3", "icmp", "rtt_avg_ms")} <= keys
    assert all(scenario in ("2.1", "2.3") for scenario, _, _ in keys)
