"""Per-process state of one pytest-vmtp run: config, run id, runners, recorded flows.

One VmtpSession lives in each pytest process (controller and every xdist worker); the run id
and run directory are the controller's, handed to the workers, so all processes name and
find the same cloud resources and share one directory for keys, locks and topology state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_vmtp import rundirs
from pytest_vmtp.config import VmtpConfig
from pytest_vmtp.results import FlowResult

SESSION_KEY = pytest.StashKey["VmtpSession"]()


@dataclass
class VmtpSession:
    config: VmtpConfig
    run_id: str
    run_dir: Path
    owner: bool  # True in the controller (or the only process): it tears down what the run built
    pytest_config: pytest.Config | None = None
    collector: Any = None
    cloud: Any = None  # run_cloud.RunCloud, once a cloud fixture asked for it
    finished: bool = False  # the run's cloud resources were dealt with
    planned_roles: set[str] = field(default_factory=set)  # VMs the selected rows need
    flows: dict[str, FlowResult] = field(default_factory=dict)  # by test node id
    metadata: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.run_dir.is_dir():
            rundirs.claim(self.run_dir)  # how vmtp-cleanup tells a live run's directory

    def progress(self, message: str) -> None:
        """Show a set-up step live in the terminal (set-up on a real cloud takes minutes)."""
        tr = self.pytest_config.pluginmanager.get_plugin("terminalreporter") if self.pytest_config else None
        capman = self.pytest_config.pluginmanager.get_plugin("capturemanager") if self.pytest_config else None
        if tr is None:
            return
        if capman is not None:
            with capman.global_and_fixture_disabled():
                tr.write_line(f"vmtp: {message}")
        else:
            tr.write_line(f"vmtp: {message}")

    def on_close(self, closer: Callable[[], None]) -> None:
        with self._lock:
            self._closers.append(closer)

    def close(self) -> None:
        """Run the registered closers in reverse order; each one runs even if another fails."""
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception as exc:  # noqa: BLE001 - teardown must go on
                self.progress(f"teardown step failed: {exc}")

    def metadata_for_report(self) -> dict[str, Any]:
        return dict(self.metadata)
