"""The gate's usage errors as a user meets them: a bad SLA stops pytest at start-up with one
line naming the file and line (exit 4, nothing measured), and vmtp-compare given a file it
cannot read says so in one line with exit status 2 (1 is kept for "a row regressed")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def test_a_bad_sla_is_one_line_at_start_up(tmp_path: Path) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text('sla:\n  - "tp_kbps >= 1G"\n  - {marker: udp, check: "loss_rate => 2"}\n')
    res = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
                          "--vmtp-config", str(config)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == pytest.ExitCode.USAGE_ERROR == 4
    assert res.stderr.strip().splitlines() == [
        f"ERROR: {config}:3: SLA 'loss_rate => 2': write '<metric> <op> <value>', op one of >=, >, <=, <, ==, "
        "e.g. 'tp_kbps >= 5G' or 'loss_rate <= 2'"]
    assert res.stdout == ""  # nothing collected, nothing run, no cloud started
    assert not (tmp_path / "history.sqlite").exists()


@pytest.mark.parametrize("content, message", [
    (None, "no such results file"),
    ('{"flows": [', "not a results JSON file (line 1: Expecting value)"),
    (b"\xe0\x80garbage", "cannot read it ('utf-8' codec can't decode byte 0xe0"),
    ('{"run_id": "abc1234"}', "not a VMTP results file (no 'flows' list)"),
    ("", "is a directory"),
])
def test_vmtp_compare_on_an_input_it_cannot_read_is_one_line_and_exit_2(tmp_path: Path, content, message) -> None:
    good = Path(__file__).parents[1] / "data" / "vmtp_2_5_results.json"
    bad = tmp_path / "after.json"
    if message == "is a directory":
        bad.mkdir()
        message = f"cannot read it ([Errno 21] Is a directory: '{bad}')"
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    for args in ([str(good), str(bad)], [str(bad), str(good)]):  # either side
        res = subprocess.run([str(BIN / "vmtp-compare"), *args, "--history", str(tmp_path / "h.sqlite")],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 2, res.stdout + res.stderr
        [line] = res.stderr.strip().splitlines()
        assert line.startswith(f"vmtp-compare: error: {bad}: {message}"), line
        assert res.stdout == ""
