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
