"""The suite's parallel schedule keeps each group of tests in one worker (tests/conftest.py)."""

from pathlib import Path

import pytest

from tests.conftest import group_of

SUITE_CONFTEST = Path(__file__).with_name("conftest.py")


def test_group_of_folders_and_modules() -> None:
    assert group_of("tests/cloud/test_topology.py::test_x[a-b]") == "cloud"
    assert group_of("tests/localcloud/dataplane/test_x.py::test_y") == "localcloud"
    assert group_of("tests/e2e/test_local_cloud_lifecycle.py::test_z") == "localcloud"
    assert group_of("tests/e2e/test_cloud_scenarios.py::test_z") == "tests/e2e/test_cloud_scenarios.py"
    assert group_of("tests/test_config.py::test_a") == "tests/test_config.py"


def test_a_group_runs_in_one_worker(pytester: pytest.Pytester) -> None:
    """Two modules of one folder group, two workers: every test lands on the same worker
    (xdist's marker-based loadgroup split them under pytest 9)."""
    pytester.makeconftest(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('suite_conftest', {str(SUITE_CONFTEST)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "pytest_xdist_make_scheduler = module.pytest_xdist_make_scheduler\n")
    body = "\n".join(
        f"def test_{i}(worker_id):\n    open('workers.txt', 'a').write(worker_id + '\\n')\n" for i in range(4))
    for name in ("test_a.py", "test_b.py"):
        path = pytester.path / "tests" / "cloud" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    for name in ("test_c.py", "test_d.py"):
        (pytester.path / "tests" / name).write_text(body.replace("workers.txt", "others.txt"))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:vmtp", "tests")
    result.assert_outcomes(passed=16)
    workers = (pytester.path / "workers.txt").read_text().split()
    assert len(workers) == 8 and len(set(workers)) == 1, workers


def test_one_browser_per_worker() -> None:
    """Only the suite's session fixture starts Chromium: a second Playwright instance in one
    worker fails ("Sync API inside the asyncio loop") when xdist puts both users there."""
    tests = Path(__file__).parent
    starters = sorted(
        str(path.relative_to(tests)) for path in tests.rglob("*.py")
        if path.name != "browser.py" and path != Path(__file__) and "chromium(" in path.read_text())
    assert starters == ["conftest.py"]
