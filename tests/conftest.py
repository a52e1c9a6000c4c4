"""Shared fixtures of pytest-vmtp's own tests."""

from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session", autouse=True)
def _private_run_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every pytest-vmtp run a test starts stores itself in the run history (by default the
    user's own, under $XDG_DATA_HOME): point it at a temp directory, so tests never add runs to
    the history that an operator's baselines (`last`) are taken from."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data-home")))
    yield
    mp.undo()


# Parallel runs (bin/run-tests: pytest-xdist): the tests of one group run in one worker, one
# after the other. A folder whose modules share a session, package or fixed-range fixture (a
# local cloud, the PostgreSQL server, the netns lab, the browser) is one group; elsewhere each
# module is its own, as each starts its clouds with its own prefix and ranges.
_FOLDER_GROUPS = {"cloud", "localcloud", "measure", "history", "report", "gate", "identity"}
# Modules that share a folder group's machine-wide resources from another folder: the plugin's
# own local cloud takes the default ranges, as the localcloud data-path tests do.
_MODULE_GROUPS = {"tests/e2e/test_local_cloud_lifecycle.py": "localcloud",
                  # A cloud of its own (prefix vm6b, its own ranges): no need to wait for the folder's.
                  "tests/localcloud/test_boot_api.py": "tests/localcloud/test_boot_api.py",
                  # Data paths of its own (prefix vmr, its own ranges).
                  "tests/localcloud/test_multicast_relay.py": "tests/localcloud/test_multicast_relay.py"}


def group_of(nodeid: str) -> str:
    """The group of a test, from its node id (``tests/cloud/test_x.py::test_y[p]``)."""
    relpath = nodeid.split("::", 1)[0]
    if relpath in _MODULE_GROUPS:
        return _MODULE_GROUPS[relpath]
    parts = relpath.split("/")
    if len(parts) > 2 and parts[1] in _FOLDER_GROUPS:
        return parts[1]
    return relpath


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Schedule whole groups on workers (xdist's own --dist loadgroup reads ``xdist_group``
    marks by renaming node ids, which pytest 9 no longer honours: the groups were split and
    two workers built the same fixed-range cloud at once)."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium per worker, on a fresh, empty profile: Playwright's sync API allows one
    instance per thread, so a second fixture of its own failed in whichever worker ran both."""
    from tests.report.browser import CHROMIUM, chromium

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./bin/setup (it installs Debian's chromium)")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context
