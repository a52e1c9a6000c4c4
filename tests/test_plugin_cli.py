"""The plugin as a user meets it: pytest runs of the installed scenarios (pytester, subprocess)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from pytest_vmtp.report import vmtp_json

SCENARIOS = ["--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider"]


def test_native_rows_skip_without_hosts_and_reports_are_written(pytester: pytest.Pytester):
    out = pytester.path / "r.json"
    junit = pytester.path / "j.xml"
    res = pytester.runpytest_subprocess(*SCENARIOS, "-m", "native", "-rs", "--vmtp-cloud=prod",
                                        f"--vmtp-json={out}", f"--junitxml={junit}",
                                        "--vmtp-description=plugin test")
    res.assert_outcomes(skipped=3)
    text = res.stdout.str()
    assert "Summary of results" in text
    assert "Total Scenarios:   23" in text
    assert "Skipped Scenarios: 23" in text
    assert "| 7.1      | Native Throughput, TCP" in text
    assert "--vmtp-host" in text  # the skip reason says what to do
    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    assert doc["test_description"] == "plugin test"
    assert len(doc["flows"]) == 23
    row = next(f for f in doc["flows"] if f["scenario"] == "7.1")
    assert row["status"] == "SKIPPED" and "--vmtp-host" in row["reason"]
    assert ET.parse(junit).getroot() is not None


def test_collection_ids_markers_and_multicast(pytester: pytest.Pytester):
    res = pytester.runpytest_subprocess(*SCENARIOS, "--co", "-q", "-m", "udp and not native")
    ids = [ln for ln in res.stdout.lines if "::test_flow[" in ln]
    assert len(ids) == 6 and all("-udp]" in i for i in ids)
    res = pytester.runpytest_subprocess(*SCENARIOS, "--co", "-q", "-k", "inter_node")
    assert sum("::test_flow[" in ln for ln in res.stdout.lines) == 9
    res = pytester.runpytest_subprocess(*SCENARIOS, "--co", "-q", "--vmtp-protocols", "TUIM")
    assert "test_flow[7.4-native-multicast]" in res.stdout.str()


@pytest.mark.parametrize("args,fragment", [
    (["--vmtp-tool", "netperf"], "invalid choice: 'netperf'"),
    (["--vmtp-protocols", "X"], "--vmtp-protocols 'X': use letters from T (TCP)"),
    (["--vmtp-host", "root@"], "--vmtp-host 'root@'"),
    (["--vmtp-config", "/nonexistent.yaml"], "--vmtp-config /nonexistent.yaml: file not found"),
    (["--vmtp-bandwidth", "fast"], "bandwidth 'fast': use a number with K, M or G"),
])
def test_bad_options_give_one_error_line(pytester: pytest.Pytester, args, fragment):
    res = pytester.runpytest_subprocess(*SCENARIOS, "--co", *args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    err = res.stderr.str()
    assert fragment in err
    assert "Traceback" not in err and "INTERNALERROR" not in err + res.stdout.str()


def test_show_config_prints_the_merged_settings(pytester: pytest.Pytester):
    cfg = pytester.path / "c.yaml"
    cfg.write_text("ping_count: 4\n")
    res = pytester.runpytest_subprocess("--vmtp-show-config", f"--vmtp-config={cfg}", "--vmtp-time=3",
                                        "--vmtp-cloud=prod")
    assert res.ret == 0
    import yaml

    shown = yaml.safe_load(res.stdout.str())
    assert (shown["duration_s"], shown["ping_count"], shown["tool"], shown["cloud"]) == (3, 4, "nuttcp", "prod")


def _table(text: str) -> dict[str, tuple[str, str]]:
    """Summary rows: id -> (status, Data cell)."""
    return {m[0]: (m[1], m[2]) for m in re.findall(
        r"^\| (\d\.\d) +\| [^|]+\| (PASSED|FAILED|SKIPPED) +\| (.*?) *\|$", text, re.M)}


@pytest.mark.parametrize("letters", ["T", "U", "I", "TI", "TUIM"])
def test_protocols_select_the_rows_that_run(pytester: pytest.Pytester, letters: str):
    """Rows of protocols not selected never run (not even their fixtures): they are SKIPPED
    with the reason in the table, the JSON and JUnit; multicast rows exist only with M."""
    junit, out = pytester.path / "j.xml", pytester.path / "r.json"
    res = pytester.runpytest_subprocess(*SCENARIOS, "-m", "native", "--vmtp-cloud=prod",
                                        "--vmtp-protocols", letters, f"--junitxml={junit}",
                                        f"--vmtp-json={out}", "-o", "junit_family=xunit1")
    rows = _table(res.stdout.str())
    selected = {"T": "1", "U": "2", "I": "3", "M": "4"}
    assert len(rows) == (30 if "M" in letters else 23)
    names = {"1": "TCP", "2": "UDP", "3": "ICMP", "4": "Multicast"}
    for row in ("7.1", "7.2", "7.3") + (("7.4",) if "M" in letters else ()):
        status, data = rows[row]
        assert status == "SKIPPED"
        minor = row[-1]
        if minor in {selected[c] for c in letters}:
            assert "--vmtp-host" in data  # it ran, and skipped for lack of hosts
        else:
            assert f"{names[minor]} not selected (--vmtp-protocols {letters})" in data
    # A deselected VM row of an unselected protocol says why too.
    if "U" not in letters:
        assert "UDP not selected" in rows["2.2"][1]
    doc = json.loads(out.read_text())
    flows = {f["scenario"]: f for f in doc["flows"]}
    if "U" not in letters:
        assert flows["7.2"]["reason"] == f"UDP not selected (--vmtp-protocols {letters})"
    statuses = {tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
                for tc in ET.parse(junit).getroot().iter("testcase")}
    assert all(props.get("vmtp.status") == "SKIPPED" for props in statuses.values()), statuses
