"""LocalRunner with real processes, in the root namespace and in the lab's namespaces."""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from pytest_vmtp.measure.errors import RunnerError
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.runner import Runner

from .conftest import tool_processes_in


def test_is_a_runner() -> None:
    assert isinstance(LocalRunner(), Runner)


def test_run_reports_exit_code_and_streams() -> None:
    with LocalRunner() as r:
        res = r.run("echo out; echo err >&2; exit 3", timeout=10)
    assert (res.exit_code, res.stdout, res.stderr) == (3, "out\n", "err\n")


def test_run_in_namespace_sees_its_address(lab, h1: LocalRunner) -> None:
    res = h1.run("ip -4 -o addr show dev eth0", timeout=10)
    assert res.ok and lab.hosts[0].ip in res.stdout
    assert h1.label == f"local netns {lab.hosts[0].netns}"


def test_timeout_is_a_runner_error_and_kills_the_tree(lab, h1: LocalRunner) -> None:
    start = time.monotonic()
    with pytest.raises(RunnerError, match=r"timed out after 0.5 s: sleep 30 & sleep 31$"):
        h1.run("sleep 30 & sleep 31", timeout=0.5)
    assert time.monotonic() - start < 5
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_missing_namespace_is_a_runner_error() -> None:
    with pytest.raises(RunnerError, match="vtst-does-not-exist"):
        LocalRunner("vtst-does-not-exist").run("true", timeout=5)


def test_background_stop_kills_children_and_is_idempotent(lab, h1: LocalRunner) -> None:
    bg = h1.start("sleep 60 & sleep 61 & echo started; wait")
    deadline = time.monotonic() + 5
    while "started" not in bg.log() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bg.alive() and tool_processes_in(lab.hosts[0].netns) == ["sleep", "sleep"]
    bg.stop()
    bg.stop()
    assert not bg.alive() and "started" in bg.log()
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_close_stops_forgotten_servers(lab) -> None:
    with LocalRunner(lab.hosts[0].netns) as r:
        r.start("sleep 60")
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_has_binary_and_env(tmp_path) -> None:
    assert LocalRunner().has_binary("sh")
    assert not LocalRunner().has_binary("vtst-no-such-tool")
    assert not LocalRunner(env={"PATH": str(tmp_path)}).has_binary("nuttcp")


def test_put_file(tmp_path) -> None:
    src = tmp_path / "tool"
    src.write_text("#!/bin/sh\necho hi\n")
    with LocalRunner() as r:
        r.put_file(str(src), str(tmp_path / "copy"), 0o750)
        assert r.run(f"{tmp_path}/copy", timeout=5).stdout == "hi\n"
    assert os.stat(tmp_path / "copy").st_mode & 0o777 == 0o750


def test_background_log_leaves_no_file(tmp_path, monkeypatch) -> None:
    """A killed run cannot remove files: the server's log has no name to leave behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runner = LocalRunner()
    bg = runner.start("echo hello; sleep 30")
    try:
        deadline = time.monotonic() + 5
        while "hello" not in bg.log() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert bg.log() == "hello\n"
        assert list(tmp_path.iterdir()) == []
    finally:
        runner.close()
    assert bg.log() == "hello\n"
