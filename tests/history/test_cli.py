"""vmtp-history list|show|tag|delete|add|upgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_vmtp.cli.history import main
from pytest_vmtp.history import open_store
from pytest_vmtp.history.location import locate
from tests.history.docs import make_doc

VMTP_HISTORY = str(Path(sys.executable).with_name("vmtp-history"))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def filled(store_url):
    with open_store(store_url) as store:
        store.add(make_doc("00000a1", minutes=1, failed=True, description="before the upgrade"), ["pre-upgrade"])
        store.add(make_doc("00000a2", minutes=2, cloud="staging"), ["nightly"])
        store.add(make_doc("00000a3", minutes=3), ["nightly", "post-upgrade"])
    return store_url


def test_list(capsys, filled):
    code, out, err = cli(capsys, "list", "--history", filled)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["run", "date", "cloud", "tags", "passed", "failed", "description"]
    assert re.split(r"\s{2,}", lines[2].strip()) == ["00000a3", "2025-03-01 12:03:00", "prod", "nightly,post-upgrade",
                                                     "2", "0", "nightly"]
    assert re.split(r"\s{2,}", lines[4].strip()) == ["00000a1", "2025-03-01 12:01:00", "prod", "pre-upgrade",
                                                     "1", "1", "before the upgrade"]
    _, out, _ = cli(capsys, "list", "--history", filled, "--cloud", "staging")
    assert [ln.split()[0] for ln in out.splitlines()[2:]] == ["00000a2"]
    _, out, _ = cli(capsys, "list", "--history", filled, "--tag", "nightly", "-n", "1")
    assert [ln.split()[0] for ln in out.splitlines()[2:]] == ["00000a3"]


def test_show_prints_the_stored_document(capsys, filled):
    code, out, _ = cli(capsys, "show", "--history", filled, "00000a2")
    assert code == 0 and json.loads(out) == json.loads(json.dumps(make_doc("00000a2", minutes=2, cloud="staging")))
    assert out.startswith('{\n    "args"')  # as VMTP writes it: sorted keys, indent 4
    _, out, _ = cli(capsys, "show", "--history", filled, "tag:nightly")
    assert [d["run_id"] for d in json.loads(out)] == ["00000a3", "00000a2"]
    _, out, _ = cli(capsys, "show", "--history", filled, "last", "--cloud", "prod")
    assert json.loads(out)["run_id"] == "00000a3"


def test_show_table_is_vmtps_summary(capsys, filled):
    code, out, _ = cli(capsys, "show", "--history", filled, "00000a1", "--table")
    assert code == 0
    assert out.splitlines()[0] == ("run 00000a1 | 2025-03-01 12:01:00 | cloud prod | tags pre-upgrade | "
                                   "before the upgrade")
    assert "Passed Scenarios:  1 [50.00%]" in out
    assert re.search(r"^\| 2.1 +\| row 2.1, TCP +\| FAILED +\| \{\} \(it failed\)", out, re.M)
    assert re.search(r"^\| 2.3 +\| row 2.3, ICMP +\| PASSED +\| "
                     r"\{'rtt avg/min/max/stddev msec': \{'64-byte': '0.2/0.1/0.4/0.01'\}\}", out, re.M)


def test_tag_untag_and_delete(capsys, filled):
    assert cli(capsys, "tag", "--history", filled, "00000a2", "pre-upgrade", "x")[1] == \
        "00000a2: tags nightly, pre-upgrade, x\n"
    assert cli(capsys, "tag", "--history", filled, "--remove", "00000a2", "x", "nightly")[1] == \
        "00000a2: tags pre-upgrade\n"
    code, _, err = cli(capsys, "delete", "--history", filled, "00000a1", "0000bad")
    assert code == 1 and err.startswith(f"vmtp-history: history {locate(filled).shown}: no run '0000bad'; ")
    assert "00000a1" in cli(capsys, "list", "--history", filled)[1]  # none deleted
    assert cli(capsys, "delete", "--history", filled, "00000a1", "00000a2")[1] == \
        f"history {locate(filled).shown}: deleted 00000a1, 00000a2\n"
    _, out, _ = cli(capsys, "list", "--history", filled)
    assert [ln.split()[0] for ln in out.splitlines()[2:]] == ["00000a3"]


def test_add_a_results_file(capsys, store_url, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(make_doc("00000b1", cloud=None)))
    code, out, _ = cli(capsys, "add", "--history", store_url, str(path), "--tag", "imported", "--cloud", "lab")
    assert code == 0 and out == f"history {locate(store_url).shown}: stored run 00000b1\n"
    _, out, _ = cli(capsys, "list", "--history", store_url)
    assert re.split(r"\s{2,}", out.splitlines()[2].strip())[:4] == ["00000b1", "2025-03-01 12:00:00", "lab", "imported"]
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = cli(capsys, "add", "--history", store_url, str(tmp_path / "bad.json"))
    assert code == 1 and err.startswith(f"vmtp-history: {tmp_path}/bad.json: not valid JSON")


def test_reading_commands_never_create_a_store(capsys, tmp_path):
    path = tmp_path / "none.sqlite"
    code, _, err = cli(capsys, "list", "--history", str(path))
    assert code == 1 and err == f"vmtp-history: history {path}: no such file yet (a pytest-vmtp run creates it)\n"
    assert not path.exists()


def test_the_console_script(filled):
    res = subprocess.run([VMTP_HISTORY, "show", "--history", filled, "tag:nope"], capture_output=True, text=True)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == (f"vmtp-history: history {locate(filled).shown}: no run tagged 'nope'; newest runs: "
                          "00000a3 (2025-03-01 12:03, prod), 00000a2 (2025-03-01 12:02, staging), "
                          "00000a1 (2025-03-01 12:01, prod); tags: nightly, post-upgrade, pre-upgrade\n")
    usage = subprocess.run([VMTP_HISTORY, "frobnicate"], capture_output=True, text=True)
    assert usage.returncode == 2 and "invalid choice: 'frobnicate'" in usage.stderr
