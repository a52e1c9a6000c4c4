"""Per-process state of one pytest-vmtp run, and its start: config, run id, run directory.

One VmtpSession lives in each pytest process that takes part in a run (the controller and
every xdist worker). The run id and run directory are the controller's, handed to the workers,
so that all processes name and find the same cloud resources and share one directory for keys,
locks and topology state.

A run starts only when it is needed (a --vmtp-* option, or a VMTP scenario collected): an
installed plugin must cost an unrelated pytest run nothing. Starting builds the configuration
once, creates the run directory, turns SIGTERM into KeyboardInterrupt (so Jenkins' abort cleans
up like Ctrl-C) and, in the controller, registers the result collector.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_vmtp.catalogue import Role, VmName
    from pytest_vmtp.config import VmtpConfig
    from pytest_vmtp.gate.run_gate import RunGate
    from pytest_vmtp.report.collector import ResultCollector
    from pytest_vmtp.results import FlowResult
    from pytest_vmtp.run_cloud import RunCloud

SESSION_KEY = pytest.StashKey["VmtpSession"]()
_RUN_KEY = pytest.StashKey["tuple[str, Path]"]()
_SIGTERM_KEY = pytest.StashKey["signal._HANDLER"]()
# In the environment of every process a run starts on this machine (tools of the external host
# 'local'): "<run id>/<xdist worker>", so that the controller can end what a killed worker left.
PROCESS_MARK_ENV = "VMTP_RUN_PROCESS"
COLLECTOR_NAME = "vmtp-collector"
HTML_REPORT_NAME = "vmtp-html"
RUN_DIR_PREFIX = "vmtp-"


class SigtermInterrupt(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C so that the run cleans up."""


def _sigterm_to_interrupt(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise SigtermInterrupt("SIGTERM")


@dataclass
class VmtpSession:
    config: VmtpConfig
    run_id: str
    run_dir: Path
    owner: bool  # True in the controller (or the only process): it tears down what the run built
    pytest_config: pytest.Config | None = None
    collector: ResultCollector | None = None
    cloud: RunCloud | None = None  # once a cloud fixture asked for it
    finished: bool = False  # the run's cloud resources were dealt with
    planned_roles: set[VmName] = field(default_factory=set)  # VMs the selected rows need
    planned_floating_roles: set[Role] = field(default_factory=set)  # ... and those given a floating IP
    flows: dict[str, FlowResult] = field(default_factory=dict)  # by test node id
    metadata: dict[str, Any] = field(default_factory=dict)
    gate: RunGate | None = None  # baseline and SLAs, when the run has either
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def process_mark(self) -> str:
        """The PROCESS_MARK_ENV value of this process's children."""
        return process_mark(self.run_id, _worker_id(self.pytest_config))

    def child_env(self) -> dict[str, str]:
        """The environment for a process this one starts here: ours, marked."""
        return {**os.environ, PROCESS_MARK_ENV: self.process_mark}

    def progress(self, message: str) -> None:
        """Show a set-up step live in the terminal (set-up on a real cloud takes minutes)."""
        pm = self.pytest_config.pluginmanager if self.pytest_config else None
        tr = pm.get_plugin("terminalreporter") if pm else None
        if tr is None:
            return
        capman = pm.get_plugin("capturemanager") if pm else None
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


def process_mark(run_id: str, worker: str) -> str:
    return f"{run_id}/{worker}"


def _worker_id(config: pytest.Config | None) -> str:
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "controller"


def worker_down(config: pytest.Config, worker: str, crashed: bool) -> None:
    """xdist controller: a worker ended. One that crashed (kill -9, OOM) never ran its teardown:
    end the processes it started here, which its own end did not take with it. Its cloud
    resources carry the run's mark: the controller deletes them with the rest at the end."""
    session = get(config)
    if session is None or not crashed:
        return
    from pytest_vmtp import procgroup

    pids = procgroup.marked(PROCESS_MARK_ENV, process_mark(session.run_id, worker))
    procgroup.kill_groups(pids, wait=5.0)
    session.progress(f"worker {worker} died without its teardown: "
                     + (f"stopped the {len(pids)} process(es) it had left here" if pids
                        else "it left no process here") + "; its cloud resources go at the end with the rest")


def build_config(config: pytest.Config) -> VmtpConfig:
    """Defaults + --vmtp-config + options, built once per process; a mistake is a usage error."""
    from pytest_vmtp import config as vconfig
    from pytest_vmtp.options import given

    try:
        return vconfig.build(given(config.option), config.option.vmtp_config)
    except vconfig.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def run_identity(config: pytest.Config) -> tuple[str, Path]:
    """(run id, run directory path): the controller's, chosen once; workers get it from xdist.
    The directory is not made here (see ensure_run_dir)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return workerinput["vmtp_run_id"], Path(workerinput["vmtp_run_dir"])
    if _RUN_KEY not in config.stash:
        run_id = secrets.token_hex(4)[:7]
        path = Path(tempfile.gettempdir()) / f"{RUN_DIR_PREFIX}{run_id}-{secrets.token_hex(4)}"
        config.stash[_RUN_KEY] = (run_id, path)
    return config.stash[_RUN_KEY]


def ensure_run_dir(path: Path) -> None:
    """Make the run directory (mode 0700); one that exists must be ours, not a symlink."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        st = path.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise pytest.UsageError(f"run directory {path} exists and is not this user's: remove it") from None


def load_gate(cfg: VmtpConfig) -> RunGate | None:
    """The run's gate, its baseline read now: a missing one stops the run here, in one line."""
    if not cfg.baseline and not cfg.gate.slas:
        return None
    from pytest_vmtp.gate import run_gate
    from pytest_vmtp.user_error import UserError

    try:
        return run_gate.load(cfg.gate, cfg.baseline, cfg.history.location if cfg.history else None,
                             cfg.cloud_name)
    except UserError as exc:
        raise pytest.UsageError(f"--vmtp-baseline: {exc}") from None


def get(config: pytest.Config) -> VmtpSession | None:
    return config.stash.get(SESSION_KEY, None)


def start(config: pytest.Config) -> VmtpSession:
    """Start this process's part of the run (idempotent)."""
    session = get(config)
    if session is not None:
        return session
    cfg = build_config(config)
    if cfg.cloud["footprint"] == "minimal" and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("--vmtp-footprint minimal boots one client VM at a time, row after row: "
                                "run it without -n (pytest-xdist)")
    gate = load_gate(cfg)
    run_id, run_dir = run_identity(config)
    owner = getattr(config, "workerinput", None) is None
    ensure_run_dir(run_dir)
    from pytest_vmtp import rundirs

    rundirs.claim(run_dir)  # how vmtp-cleanup tells a live run's directory from a killed one's
    session = VmtpSession(config=cfg, run_id=run_id, run_dir=run_dir, owner=owner, pytest_config=config,
                          gate=gate)
    config.stash[SESSION_KEY] = session
    # openstacksdk's notes to its own maintainers would bury the VMTP summary in warnings.
    config.addinivalue_line("filterwarnings", "ignore::openstack.warnings.OpenStackDeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore::openstack.warnings._RemovedInSDKWarning")
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        config.stash[_SIGTERM_KEY] = signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    if owner:
        from pytest_vmtp.report.collector import ResultCollector

        session.collector = ResultCollector(
            run_id=run_id, multicast=cfg.multicast, protocols=cfg.protocols, args=dict(cfg.raw),
            description=cfg.description, json_path=cfg.json_path,
            history=cfg.history, mongod=cfg.mongod, cloud_name=cfg.cloud_name, gated=gate is not None,
        )
        config.pluginmanager.register(session.collector, COLLECTOR_NAME)
        # Config keys not taken (VMTP keys without equivalent): said at the session's start (the
        # plugin's pytest_sessionstart) and beside the summary.
        session.collector.notes.extend(f"vmtp: WARNING {warning}" for warning in cfg.warnings)
        from pytest_vmtp.report.html_plugin import HtmlReport

        config.pluginmanager.register(HtmlReport(session.collector), HTML_REPORT_NAME)
    return session


def finish(config: pytest.Config) -> None:
    """Undo start(): collector unregistered, SIGTERM handler restored, run directory removed
    (unless the resources are kept: it holds their SSH key)."""
    session = get(config)
    if session is None:
        return
    session.close()
    if session.collector is not None and config.pluginmanager.is_registered(session.collector):
        config.pluginmanager.unregister(session.collector)
    html_report = config.pluginmanager.get_plugin(HTML_REPORT_NAME)
    if html_report is not None:
        config.pluginmanager.unregister(html_report)
    if _SIGTERM_KEY in config.stash:
        signal.signal(signal.SIGTERM, config.stash[_SIGTERM_KEY])
        del config.stash[_SIGTERM_KEY]
    if session.owner and not session.config.cloud.get("keep"):
        shutil.rmtree(session.run_dir, ignore_errors=True)


def finish_session(session: VmtpSession | None) -> None:
    """End of a process's part of the run: close its connections; in the controller, once,
    deal with the run's cloud (finish) and record how long that took."""
    if session is None:
        return
    session.close()
    if not session.owner or session.finished:
        return
    session.finished = True
    from pytest_vmtp.errors import USER_ERRORS
    from pytest_vmtp.run_cloud import finish

    started = time.monotonic()
    try:
        finish(session.config, session.run_id, session.run_dir, session.progress)
    except USER_ERRORS as exc:
        session.progress(f"cleanup failed: {exc}; run `vmtp-cleanup --cloud {session.config.cloud_name} "
                         f"--run-id {session.run_id}`")
    if session.collector is not None:
        session.collector.metadata.setdefault("timings", {})["teardown_s"] = round(time.monotonic() - started, 3)
