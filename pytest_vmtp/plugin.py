"""pytest hooks of pytest-vmtp, and nothing else.

pytest loads this module in every run of the environment it is installed in, so it imports
only pytest and the small option and scenario tables; a run starts (session.start) only when a
--vmtp-* option is given or a VMTP scenario is collected. The logic lives in session.py,
config.py, catalogue.py, run_cloud.py, fixtures/ and report/.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from pytest_vmtp import catalogue, options
from pytest_vmtp import session as vsession

if TYPE_CHECKING:
    from pytest_vmtp.catalogue import Scenario

FIXTURE_MODULES = ("pytest_vmtp.fixtures.core", "pytest_vmtp.fixtures.hosts", "pytest_vmtp.fixtures.cloud")


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser.getgroup("vmtp", "VMTP data-path scenarios (pytest-vmtp)"))


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--vmtp-show-config (VMTP's -sc): the merged settings as YAML, secrets masked."""
    if not config.option.vmtp_show_config:
        return None
    import yaml

    from pytest_vmtp.report.vmtp_json import mask_secrets

    cfg = vsession.build_config(config)
    if cfg.files:
        print(f"# read: {', '.join(cfg.files)}")
    for warning in cfg.warnings:
        print(f"vmtp: WARNING {warning}", file=sys.stderr)
    print(yaml.safe_dump(mask_secrets({**cfg.raw, "cloud": cfg.cloud_name}), sort_keys=False), end="")
    return 0


def pytest_configure(config: pytest.Config) -> None:
    for name, text in catalogue.MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    for mod in FIXTURE_MODULES:  # cheap: they import what they use when a fixture runs
        config.pluginmanager.import_plugin(mod)
    if options.any_given(config.option):
        vsession.start(config)  # a bad option or config file stops the run here


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Say at once which config keys were not taken (VMTP keys without an equivalent)."""
    run = vsession.get(session.config)
    if run is not None and run.owner:
        for warning in run.config.warnings:
            run.progress(f"WARNING {warning}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run id and run directory to each worker."""
    run_id, run_dir = vsession.run_identity(node.config)
    node.workerinput["vmtp_run_id"] = run_id
    node.workerinput["vmtp_run_dir"] = str(run_dir)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist controller: a worker ended; one that crashed leaves its processes to us."""
    vsession.worker_down(node.config, str(node.workerinput["workerid"]), crashed=error is not None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist controller (which collects nothing itself): start when a worker found a scenario."""
    if vsession.get(node.config) is None and any(map(catalogue.is_scenario_nodeid, ids)):
        vsession.start(node.config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize each scenario module's test from the catalogue (its VMTP_KIND rows); rows
    of protocols not selected are skipped with the reason, as VMTP lists them."""
    if "vmtp_scenario" not in metafunc.fixturenames:
        return
    session = vsession.start(metafunc.config)
    kind = getattr(metafunc.module, "VMTP_KIND", None)
    if kind not in catalogue.KINDS:
        raise pytest.UsageError(f"{metafunc.module.__name__}: VMTP_KIND must be one of {', '.join(catalogue.KINDS)}")
    params = []
    for row in catalogue.by_kind(kind, multicast=session.config.multicast):
        marks = [getattr(pytest.mark, m) for m in row.markers]
        reason = catalogue.unselected_reason(row, session.config.protocols)
        if reason:
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(row, id=row.test_id, marks=marks))
    metafunc.parametrize("vmtp_scenario", params)


def _scenario_of(item: pytest.Item) -> Scenario | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("vmtp_scenario") if callspec else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After -k/-m: run the rows in VMTP's order, and plan the VMs of the rows that will run
    so that they boot in one go."""
    rows = [i for i in items if _scenario_of(i) is not None]
    if not rows:
        return
    session = vsession.start(config)
    first = items.index(rows[0])
    others = [i for i in items if _scenario_of(i) is None]
    minimal = session.config.cloud["footprint"] == "minimal"
    # --vmtp-footprint minimal boots one client VM at a time: VMTP's order, client by client.
    rows.sort(key=lambda i: _row_order(_scenario_of(i), minimal))
    items[:] = others[:first] + rows + others[first:]
    running = [r for r in (_scenario_of(i) for i in rows if not i.get_closest_marker("skip")) if r]
    scale = session.config.scale
    session.planned_roles.update(catalogue.roles_needed(running, scale.pairs if scale.active else 1))
    session.planned_floating_roles.update(catalogue.floating_roles_needed(running))


def _row_order(row: Scenario | None, minimal: bool) -> tuple[int, ...]:
    assert row is not None
    return catalogue.footprint_sort_key(row) if minimal else row.sort_key


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the scenario's flow (for the collector, also across xdist) and, once the row's
    outcome is known, its metrics and status as JUnit properties and an HTML table."""
    report = yield
    scenario = _scenario_of(item)
    session = vsession.get(item.config)
    if scenario is None or session is None:
        return report
    flow = session.flows.get(item.nodeid)
    flow_json = flow.to_json() if flow else None
    companions = [c.to_json() for c in flow.companions] if flow else []
    report.vmtp = {"scenario": scenario.id, "flow": flow_json, "companions": companions,
                   "metadata": dict(session.metadata)}
    final = call.when == "call" or (call.when == "setup" and report.outcome != "passed")
    if final:
        from pytest_vmtp.report import metrics

        status = metrics.status_of(report.outcome)
        props = metrics.properties({**(flow_json or {}), "scenario": scenario.id, "status": status})
        for companion in companions:  # the row's further flows: 'intra-host.tcp.65536.throughput_kbps'
            props += [(f"{companion['companion']}.{name}", value) for name, value in
                      metrics.properties({**companion, "scenario": scenario.id}) if name != "vmtp.scenario"]
        item.user_properties.extend(props)
        table = metrics.html_table(flow_json) if flow_json else ""
        if table:
            from pytest_html import extras as html_extras

            report.extras = [*getattr(report, "extras", []), html_extras.html(table)]
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Tear down once, in the controller, before the reports are written: also after
    failures, Ctrl-C and SIGTERM (pytest still finishes the session then)."""
    vsession.finish_session(vsession.get(session.config))


def pytest_unconfigure(config: pytest.Config) -> None:
    if vsession.get(config) is not None:
        vsession.finish_session(vsession.get(config))  # a no-op unless the session never finished (a crash)
        vsession.finish(config)
