"""vmtp-genchart's command line: files and history runs in, one HTML file out; every mistake is
one line on stderr with exit status 2, never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_vmtp.cli import genchart
from pytest_vmtp.history.store import open_store
from tests.history.docs import make_doc

VMTP_FILE = Path(__file__).parent.parent / "data" / "vmtp_2_5_results.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = genchart.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(make_doc("aaaaaaa")))
    b.write_text(json.dumps(make_doc("bbbbbbb", minutes=60, rate=5_000_000)))
    return a, b


def test_two_files_make_one_self_contained_page(capsys, tmp_path, two_files):
    out = tmp_path / "charts" / "chart.html"
    code, stdout, err = run(capsys, *map(str, two_files), "-o", str(out))
    assert (code, err) == (0, "")
    assert stdout == f"vmtp-genchart: 2 runs, 4 bars -> {out}\n"
    page = out.read_text()
    # Nothing is fetched: no script, style sheet, image or frame from anywhere.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert page.count('class="vmtp-chart"') == 2 and 'data-bars="2"' in page
    assert "VMTP charts: aaaaaaa 2025-03-01 12:00 vs bbbbbbb 2025-03-01 13:00" in page


def test_vmtp_own_file_and_a_title(capsys, tmp_path):
    out = tmp_path / "chart.html"
    code, stdout, _ = run(capsys, str(VMTP_FILE), "-o", str(out), "--title", "staging <before>")
    assert code == 0 and "1 run, 12 bars" in stdout  # TCP 3 rows; UDP, loss and ICMP 3 sizes each
    page = out.read_text()
    assert "<title>staging &lt;before&gt;</title>" in page and "Open vSwitch agent" in page


def test_history_runs_by_tag_and_id(capsys, tmp_path):
    history = tmp_path / "h.sqlite"
    with open_store(str(history)) as store:
        store.add(make_doc("aaaaaaa"), ["pre-upgrade"])
        store.add(make_doc("bbbbbbb", minutes=5), ["pre-upgrade"])
        store.add(make_doc("ccccccc", minutes=60, rate=5_000_000))
    out = tmp_path / "chart.html"
    code, stdout, err = run(capsys, "tag:pre-upgrade", "ccccccc", "--history", str(history), "-o", str(out))
    assert (code, err) == (0, "")
    assert "3 runs, 6 bars" in stdout  # a tag held by two runs: two series
    page = out.read_text()
    assert page.index("bbbbbbb 2025-03-01 12:05") < page.index("aaaaaaa 2025-03-01 12:00")  # newest first


@pytest.mark.parametrize(("argv", "line"), [
    (["missing.json"], "vmtp-genchart: error: missing.json: no such results file"),
    (["bad.json"], "vmtp-genchart: error: bad.json: not a results JSON file (line 1: Expecting value)"),
    (["tag:nope"], "vmtp-genchart: error: "),
])
def test_a_run_that_cannot_be_read_is_one_line(capsys, tmp_path, monkeypatch, argv, line):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text("nope")
    code, stdout, err = run(capsys, *argv, "--history", str(tmp_path / "h.sqlite"), "-o", "c.html")
    assert code == 2 and stdout == ""
    assert err.startswith(line) and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "c.html").exists()


def test_an_output_that_cannot_be_written_is_one_line(capsys, tmp_path, two_files):
    code, _, err = run(capsys, str(two_files[0]), "-o", str(tmp_path))  # a directory
    assert code == 2 and err == f"vmtp-genchart: error: cannot write {tmp_path}: Is a directory\n"


def test_the_output_is_required(capsys, two_files):
    with pytest.raises(SystemExit) as exc:
        genchart.main([str(two_files[0])])
    assert exc.value.code == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err
