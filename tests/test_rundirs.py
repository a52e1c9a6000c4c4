"""Run directories of killed runs are found and removed; those of live runs are not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pytest_vmtp import rundirs

HOLD = """
import sys, time
from pathlib import Path
from pytest_vmtp import rundirs
rundirs.claim(Path(sys.argv[1]))
print("claimed", flush=True)
time.sleep(600)
"""


def _holder(run_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "claimed\n"
    return proc


def test_a_run_is_alive_while_a_process_holds_its_directory_and_over_after_kill_9(tmp_path: Path):
    run_dir = tmp_path / "vmtp-1a2b3c4-abcd1234"
    run_dir.mkdir()
    holder = _holder(run_dir)
    try:
        assert rundirs.state(run_dir) == rundirs.ALIVE
        assert rundirs.sweep(None, temp_dir=tmp_path) == [(run_dir, "left alone: its run is still going")]
        assert rundirs.sweep("1a2b3c4", temp_dir=tmp_path) == [(run_dir, "left alone: its run is still going")]
        assert run_dir.exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert rundirs.state(run_dir) == rundirs.OVER
    assert rundirs.sweep(None, dry_run=True, temp_dir=tmp_path) == [(run_dir, "would remove")]
    assert run_dir.exists()
    assert rundirs.sweep(None, temp_dir=tmp_path) == [(run_dir, "removed")]
    assert not run_dir.exists()


def test_only_this_users_run_directories_by_name(tmp_path: Path):
    mine = tmp_path / "vmtp-0123abc-x"
    other_run = tmp_path / "vmtp-fedcba9-y"
    for d in (mine, other_run):
        d.mkdir()
        (d / rundirs.OWNER).touch()
    (tmp_path / "vmtp-testlock-cloud").touch()  # other vmtp- names are not run directories
    (tmp_path / "vmtp-0123abc-file").touch()
    (tmp_path / "vmtp-0123abc-link").symlink_to(mine)
    (tmp_path / "vmtp-localcloud").mkdir()
    assert rundirs.run_dirs(None, tmp_path) == [mine, other_run]
    assert rundirs.run_dirs("0123abc", tmp_path) == [mine]
    assert rundirs.sweep("0123abc", temp_dir=tmp_path) == [(mine, "removed")]
    assert other_run.exists() and (tmp_path / "vmtp-0123abc-link").is_symlink()


def test_a_directory_without_owner_record_goes_only_when_named(tmp_path: Path):
    old = tmp_path / "vmtp-00000aa-zz"
    old.mkdir()
    assert rundirs.state(old) == rundirs.UNKNOWN
    assert rundirs.sweep(None, temp_dir=tmp_path)[0][1].startswith("left alone: no owner record")
    assert rundirs.sweep("00000aa", temp_dir=tmp_path) == [(old, "removed")]


def test_this_process_claims_and_releases(tmp_path: Path):
    run_dir = tmp_path / "vmtp-abcdef0-1"
    run_dir.mkdir()
    rundirs.claim(run_dir)
    try:
        # Another process sees it alive (this process' own probe would share the lock holder).
        probe = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from pytest_vmtp import rundirs; print(rundirs.state(Path(sys.argv[1])))",
                                str(run_dir)], capture_output=True, text=True)
        assert probe.stdout.strip() == rundirs.ALIVE
    finally:
        rundirs.release(run_dir)
    assert rundirs.state(run_dir) == rundirs.OVER


def test_vmtp_cleanup_local_only_says_what_it_did_with_each(tmp_path: Path):
    over, unknown = tmp_path / "vmtp-1111111-a", tmp_path / "vmtp-2222222-b"
    over.mkdir()
    (over / rundirs.OWNER).touch()
    unknown.mkdir()
    res = subprocess.run([str(Path(sys.executable).parent / "vmtp-cleanup"), "--local-only", "--all-runs"],
                         env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"removed run directory {over}",
        f"run directory {unknown}: left alone: no owner record; vmtp-cleanup --run-id 2222222 removes it",
        "removed 1 run directory on this machine (every vmtp run)"]
    assert not over.exists() and unknown.exists()
    named = subprocess.run([str(Path(sys.executable).parent / "vmtp-cleanup"), "--local-only", "--run-id", "2222222"],
                           env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert named.stdout.splitlines() == [f"removed run directory {unknown}",
                                         "removed 1 run directory on this machine (run 2222222)"]
    assert list(tmp_path.iterdir()) == []
