"""An installed plugin costs an unrelated pytest run nothing: no heavy import, no temp
directory, no SIGTERM handler, no collector, no environment change, until a --vmtp-* option
is given or a VMTP scenario is collected. (The time it costs is in benchmarks/.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("openstack", "flask", "werkzeug", "pyroute2", "paramiko", "fabric", "jsonschema",
         "pytest_vmtp.localcloud", "pytest_vmtp.cloud", "pytest_vmtp.measure.ssh_runner",
         "sqlalchemy", "alembic", "psycopg", "pymongo", "pytest_vmtp.history",
         "plotly", "narwhals", "pytest_vmtp.report.charts", "pytest_vmtp.report.chart_data")

# Runs inside the unrelated project's test: what the plugin has done to this process so far.
PROBE = f"""
import os, signal, sys, tempfile
from pathlib import Path

def test_probe(pytestconfig):
    heavy = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))
    runs = sorted(p.name for p in Path(tempfile.gettempdir()).glob("vmtp-*"))
    print("PROBE heavy=%s runs=%s sigterm_default=%s collector=%s env=%s" % (
        heavy, runs, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
        pytestconfig.pluginmanager.get_plugin("vmtp-collector") is not None,
        "OS_CLIENT_CONFIG_FILE" in os.environ))
"""


def _probe(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(test_unrelated=PROBE)
    tmp = pytester.path / "tmp"
    tmp.mkdir(exist_ok=True)
    pytester._monkeypatch.setenv("TMPDIR", str(tmp))
    pytester._monkeypatch.delenv("OS_CLIENT_CONFIG_FILE", raising=False)
    res = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args)
    res.assert_outcomes(passed=1)
    text = res.stdout.str()
    line = text[text.index("PROBE"):].splitlines()[0]
    assert list(tmp.glob("vmtp-*")) == [], "the run directory outlived the run"
    return line


# Not heavy for a run that uses them, but the bare import of the plugin must not read YAML
# (settings classes read defaults.yaml when imported: options.py must not import them).
NOT_AT_IMPORT = HEAVY + ("yaml", "pytest_vmtp.defaults", "pytest_vmtp.measure.settings", "pytest_vmtp.config")


def test_importing_the_plugin_loads_no_cloud_code():
    code = f"import sys, pytest_vmtp.plugin; print(sorted(m for m in sys.modules if m.startswith({NOT_AT_IMPORT!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unrelated_run_is_untouched(pytester: pytest.Pytester):
    line = _probe(pytester)
    assert line == "PROBE heavy=[] runs=[] sigterm_default=True collector=False env=False"


def test_a_vmtp_option_starts_the_run(pytester: pytest.Pytester):
    line = _probe(pytester, "--vmtp-time", "1")
    assert "sigterm_default=False collector=True" in line
    assert "plotly" not in line and "chart" not in line  # the charts load when a report is written
    assert "runs=['vmtp-" in line  # the run directory exists while the run does
    assert "env=False" in line


def test_bad_option_stops_before_anything_starts(pytester: pytest.Pytester):
    pytester.makepyfile(test_unrelated=PROBE)
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vmtp-time", "0")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--vmtp-time 0: expected a positive whole number" in res.stderr.str()


def test_help_shows_the_defaults_of_defaults_yaml(pytester: pytest.Pytester):
    text = " ".join(pytester.runpytest_subprocess("--help").stdout.str().split())
    assert "seconds per throughput test (default: 10)" in text
    assert "throughput tool (default: nuttcp)" in text
    assert "UDP packet sizes, comma-separated (default: 128,1024,8192)" in text
    assert "(default: $OS_CLOUD, else 'local')" in text


def test_scenario_run_directory_is_private_and_removed(pytester: pytest.Pytester, tmp_path: Path):
    """Collecting the scenarios starts the run; its directory is mode 0700 and goes at the end."""
    pytester._monkeypatch.setenv("TMPDIR", str(tmp_path))
    pytester.makepyfile(rundir_probe="""
import os, stat, tempfile
from pathlib import Path
def pytest_collection_finish(session):
    for p in Path(tempfile.gettempdir()).glob("vmtp-*"):
        print("RUNDIR", oct(stat.S_IMODE(os.stat(p).st_mode)))
""")
    res = pytester.runpytest_subprocess("--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-s",
                                        "-p", "rundir_probe", "--co", "-q", "-m", "native")
    assert "RUNDIR 0o700" in res.stdout.str()
    assert list(tmp_path.glob("vmtp-*")) == []
