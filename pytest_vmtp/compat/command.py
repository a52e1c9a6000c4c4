"""The `vmtp` command: VMTP's command line (compat/vmtp_flags.py), run as pytest-vmtp's scenarios
in a pytest of this same interpreter (`-m pytest --pyargs pytest_vmtp.scenarios`), which prints
VMTP's summary table; the exit status is VMTP's (0 passed, 1 a row failed, 2 a bad argument or
--stop-on-error stopped the run).

Credentials, as VMTP took them: `-r openrc` (its OS_* variables replace the environment's;
OS_PASSWORD from the environment when the file asks for one, unless --no-env), else the OS_*
variables already exported (--no-env: not those), or `--cloud NAME` (a clouds.yaml entry, or
`local`; this command's own). With none, as VMTP: only the native rows run (with --host), the
cloud rows are listed as not run. The password travels in the child's environment only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_vmtp.compat.openrc import PASSWORD_VARS, OpenrcError, read_openrc
from pytest_vmtp.compat.vmtp_flags import FlagError, translate

# pytest's exit statuses -> VMTP's
_EXIT = {0: 0, 1: 1, 2: 1, 3: 1, 4: 2, 5: 0}
NO_CLOUD = "no cloud credentials (-r openrc, OS_* variables or --cloud NAME)"
NO_HOSTS = "no --host"


class CommandError(ValueError):
    """A mistake on the command line; str() is the one line to show."""


@dataclass
class Plan:
    """The pytest run the command makes."""

    argv: list[str]  # pytest's arguments
    env: dict[str, str]  # the child's environment
    notes: list[str] = field(default_factory=list)  # said before the run
    stop_on_error: bool = False
    nothing_to_run: bool = False  # no cloud and no host: VMTP printed an all-skipped table
    version: bool = False  # -v: print the version, run nothing


def _known_options() -> set[str]:
    from pytest_vmtp.options import OPTIONS

    return {o.flag for o in OPTIONS}


def credentials(rc: str | None, no_env: bool, environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """(the --vmtp-cloud to use, the child's environment). None: no credentials at all."""
    inherited = {k: v for k, v in environ.items() if not k.startswith("OS_")}
    own = {k: v for k, v in environ.items() if k.startswith("OS_")} if not no_env else {}
    if rc:
        try:
            variables = read_openrc(rc)
        except OpenrcError as exc:
            raise CommandError(str(exc)) from None
        if "OS_CLOUD" in variables and "OS_AUTH_URL" not in variables:
            return variables["OS_CLOUD"], {**inherited, **variables}
        if not any(variables.get(v) for v in PASSWORD_VARS):
            if not own.get("OS_PASSWORD"):
                raise CommandError(f"-r {rc}: it sets no password (a downloaded openrc asks for one; this command "
                                   "does not prompt): export OS_PASSWORD before running vmtp"
                                   + (" (and drop --no-env)" if no_env and environ.get("OS_PASSWORD") else ""))
            variables["OS_PASSWORD"] = own["OS_PASSWORD"]
        return "envvars", {**inherited, **variables}
    if own.get("OS_AUTH_URL"):
        if not any(own.get(v) for v in PASSWORD_VARS):
            raise CommandError("OS_AUTH_URL is set but no password (OS_PASSWORD): export it (this command does not "
                               "prompt)")
        return "envvars", {**inherited, **own}
    if own.get("OS_CLOUD"):
        return own["OS_CLOUD"], {**inherited, **own}
    return None, {**inherited, **own}


def plan(argv: Sequence[str], environ: Mapping[str, str] | None = None, check_options: bool = True) -> Plan:
    """What to run for VMTP's arguments; CommandError for a mistake (SystemExit: --help, -v)."""
    environ = os.environ if environ is None else environ
    try:
        flags = translate(list(argv), _known_options() if check_options else None)
    except FlagError as exc:
        raise CommandError(str(exc)) from None
    opts = flags.opts
    if opts.version:
        return Plan(argv=[], env={}, version=True)
    if opts.cloud and opts.rc:
        raise CommandError("--cloud and -r: give one of them")
    cloud, env = credentials(opts.rc, opts.no_env, environ)
    base = [sys.executable, "-m", "pytest", "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
            "-o", "junit_family=xunit1", "-rs"]
    markers: list[str] = []
    notes: list[str] = []
    nothing = False
    if opts.cloud:
        cloud = None  # --cloud is among the flags' own arguments already
    elif cloud is not None:
        base += ["--vmtp-cloud", cloud]
    elif not opts.show_config:
        notes.append(f"vmtp: {NO_CLOUD}: the VM rows are not run (as VMTP)")
        markers.append("not cloud")
        if not opts.hosts:
            notes.append(f"vmtp: {NO_HOSTS}: the native rows are not run either")
            nothing = True
    return Plan(argv=base + flags.argv(markers), env=env, notes=notes, stop_on_error=opts.stop_on_error,
                nothing_to_run=nothing)


def run(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """Run VMTP's command line; VMTP's exit status."""
    try:
        p = plan(argv, environ)
    except CommandError as exc:
        print(f"vmtp: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse: --help (0) or a bad argument (2, its message printed)
        return exc.code if isinstance(exc.code, int) else 2
    if p.version:
        from pytest_vmtp import __version__

        print(f"vmtp (pytest-vmtp) {__version__}")
        return 0
    for note in p.notes:
        print(note, flush=True)
    if p.nothing_to_run:
        print(_all_skipped(), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="vmtp-cmd-") as tmp:
        # An ini of its own and the scenarios' package as rootdir: the user's current directory
        # (a pytest.ini or conftest.py of some project) plays no part.
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\njunit_family = xunit1\n")
        res = subprocess.run([*p.argv, "--rootdir", _scenarios_dir(), "-c", str(ini)], env=p.env)
    status = _EXIT.get(res.returncode, 1)
    return 2 if status == 1 and p.stop_on_error else status


def _scenarios_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pytest_vmtp.scenarios")
    assert spec is not None and spec.submodule_search_locations
    return str(list(spec.submodule_search_locations)[0])


def _all_skipped() -> str:
    """VMTP's table when nothing can run (no cloud, no host): every row skipped, with why."""
    from pytest_vmtp.catalogue import catalogue
    from pytest_vmtp.report.summary import SummaryRow, render

    return render([SummaryRow(s.id, s.name, "SKIPPED", {}, NO_HOSTS if s.kind == "native" else NO_CLOUD)
                   for s in catalogue()])


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        return 1
