"""Shared fixtures of pytest-vmtp's own tests."""

from collections.abc import Iterator

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


# Parallel runs (bin/run-tests: pytest-xdist, --dist loadgroup): the tests of one group run in
# one worker, one after the other. A folder whose modules share a session, package or fixed-
# range fixture (a local cloud, the PostgreSQL server, the netns lab, the browser) is one group;
# elsewhere each module is its own, as each starts its clouds with its own prefix and ranges.
_FOLDER_GROUPS = {"cloud", "localcloud", "measure", "history", "report", "gate"}
# Modules that share a folder group's machine-wide resources from another folder: the plugin's
# own local cloud takes the default ranges, as the localcloud data-path tests do.
_MODULE_GROUPS = {"tests/e2e/test_local_cloud_lifecycle.py": "localcloud"}


def _group_of(relpath: str) -> str:
    if relpath in _MODULE_GROUPS:
        return _MODULE_GROUPS[relpath]
    parts = relpath.split("/")
    if len(parts) > 2 and parts[1] in _FOLDER_GROUPS:
        return parts[1]
    return relpath


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        rel = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else item.path.name
        item.add_marker(pytest.mark.xdist_group(_group_of(rel)))
