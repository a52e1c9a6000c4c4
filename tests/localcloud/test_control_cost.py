"""control.py is all the plugin loads of the local cloud: none of the server's code comes with
it, nor do the errors every module shares (errors.py, user_error.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SERVER_SIDE = ("flask", "werkzeug", "openstack", "keystoneauth1", "pyroute2", "cryptography",
               "pytest_vmtp.localcloud.server", "pytest_vmtp.localcloud.api",
               "pytest_vmtp.localcloud.dataplane", "pytest_vmtp.localcloud.app",
               "pytest_vmtp.localcloud.neutron", "pytest_vmtp.localcloud.nova")


def _loaded(module: str) -> list[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return [m for m in out.split() if m.startswith(SERVER_SIDE)]


@pytest.mark.parametrize("module", ["pytest_vmtp.localcloud.control",
                                    "pytest_vmtp.localcloud.cli", "pytest_vmtp.errors"])
def test_loads_nothing_of_the_server(module: str) -> None:
    assert _loaded(module) == []


def test_errors_loads_no_local_cloud_at_all() -> None:
    code = "import sys, pytest_vmtp.errors; print([m for m in sys.modules if 'localcloud' in m])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
