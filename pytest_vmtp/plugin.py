"""pytest hooks of pytest-vmtp. Kept thin: options, configuration, parametrization and the
report hand-off; the logic lives in config.py, catalogue.py, fixtures/ and report/."""

from __future__ import annotations

import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from pytest_vmtp import catalogue, run_cloud
from pytest_vmtp import config as vconfig
from pytest_vmtp.errors import USER_ERRORS
from pytest_vmtp.report import metrics
from pytest_vmtp.report.collector import ResultCollector
from pytest_vmtp.session import SESSION_KEY, VmtpSession

FIXTURE_MODULES = ("pytest_vmtp.fixtures.core", "pytest_vmtp.fixtures.hosts", "pytest_vmtp.fixtures.cloud")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("vmtp", "VMTP data-path scenarios (pytest-vmtp)")
    add = g.addoption
    add("--vmtp-cloud", metavar="NAME", help="clouds.yaml entry to test; 'local' (default) starts the local cloud")
    add("--vmtp-config", metavar="FILE", help="YAML file overriding pytest_vmtp/defaults.yaml")
    add("--vmtp-host", metavar="SPEC", action="append",
        help="native host user@host[:port][,key=PATH][,jump=user@host][,known_hosts=PATH][,hostkey=accept-new]; "
             "once (intra-host) or twice (inter-host)")
    add("--vmtp-external-host", metavar="SPEC",
        help="external host for 8.1/8.2: 'local' (this machine) or user@host[,key=PATH]; local cloud default: local")
    add("--vmtp-accept-new-host-keys", action="store_true", default=None,
        help="accept unknown SSH host keys of --vmtp-host/--vmtp-external-host hosts and add them to known_hosts "
             "(default: refuse them; a changed key is always refused)")
    add("--vmtp-tool", choices=vconfig.TOOLS, help="throughput tool (default nuttcp)")
    add("--vmtp-protocols", metavar="TUIM", help="T=TCP U=UDP I=ICMP M=multicast (default TUI)")
    add("--vmtp-time", metavar="SEC", type=int, dest="vmtp_duration", help="seconds per throughput test (default 10)")
    add("--vmtp-bandwidth", metavar="RATE", help="cap, e.g. 500M (default: search the UDP rate with 2-5%% loss)")
    add("--vmtp-tcp-pkt-sizes", metavar="LIST", help="TCP message sizes, comma-separated (default 65536)")
    add("--vmtp-udp-pkt-sizes", metavar="LIST", help="UDP packet sizes (default 128,1024,8192)")
    add("--vmtp-icmp-pkt-sizes", metavar="LIST", help="ping payload sizes (default 64,391,1500)")
    add("--vmtp-ping-count", metavar="N", type=int, help="pings per size (default 10)")
    add("--vmtp-image", metavar="NAME", help="Glance image of the test VMs")
    add("--vmtp-flavor", metavar="NAME", help="Nova flavor of the test VMs")
    add("--vmtp-external-network", metavar="NAME", help="external network for the router and floating IPs")
    add("--vmtp-hypervisor", metavar="[AZ:]HOST", action="append",
        help="compute host for the server VM, then for the inter-node client VM")
    add("--vmtp-keep", action="store_true", default=None, help="keep the cloud resources after the run")
    add("--vmtp-json", metavar="PATH", help="write VMTP-compatible JSON results to PATH")
    add("--vmtp-description", metavar="TEXT", help="test_description recorded in the JSON file")
    add("--vmtp-show-config", action="store_true",
        help="print the effective configuration (defaults + --vmtp-config + options) and exit")


def _overrides(config: pytest.Config) -> dict:
    opt = config.option
    return {
        "cloud": opt.vmtp_cloud,
        "hosts": opt.vmtp_host,
        "external_host": opt.vmtp_external_host,
        "accept_new_host_keys": opt.vmtp_accept_new_host_keys,
        "tool": opt.vmtp_tool,
        "protocols": opt.vmtp_protocols,
        "duration_s": opt.vmtp_duration,
        "bandwidth": opt.vmtp_bandwidth,
        "tcp_pkt_sizes": opt.vmtp_tcp_pkt_sizes,
        "udp_pkt_sizes": opt.vmtp_udp_pkt_sizes,
        "icmp_pkt_sizes": opt.vmtp_icmp_pkt_sizes,
        "ping_count": opt.vmtp_ping_count,
        "image": opt.vmtp_image,
        "flavor": opt.vmtp_flavor,
        "external_network": opt.vmtp_external_network,
        "hypervisors": opt.vmtp_hypervisor,
        "keep": opt.vmtp_keep,
        "json": opt.vmtp_json,
        "description": opt.vmtp_description,
    }


def pytest_configure(config: pytest.Config) -> None:
    for name, text in catalogue.MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    # openstacksdk's notes to its own maintainers would bury the VMTP summary in warnings.
    config.addinivalue_line("filterwarnings", "ignore::openstack.warnings.OpenStackDeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore::openstack.warnings._RemovedInSDKWarning")
    try:
        cfg = vconfig.build(_overrides(config), config.option.vmtp_config)
    except vconfig.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # xdist worker: the controller chose run id and run dir
        run_id, run_dir, owner = workerinput["vmtp_run_id"], Path(workerinput["vmtp_run_dir"]), False
    else:
        run_id = secrets.token_hex(4)[:7]
        run_dir = Path(tempfile.mkdtemp(prefix=f"vmtp-{run_id}-"))
        owner = True
    session = VmtpSession(config=cfg, run_id=run_id, run_dir=run_dir, owner=owner, pytest_config=config)
    config.stash[SESSION_KEY] = session
    for mod in FIXTURE_MODULES:
        config.pluginmanager.import_plugin(mod)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # SIGTERM (Jenkins aborting a job) then cleans up like Ctrl-C does.
        signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    if owner:
        collector = ResultCollector(
            run_id=run_id, multicast=cfg.multicast, args=dict(cfg.raw),
            description=cfg.description, json_path=cfg.json_path,
        )
        session.collector = collector
        config.pluginmanager.register(collector, "vmtp-collector")


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--vmtp-show-config (VMTP's -sc): the merged settings as YAML, secrets masked."""
    if not config.option.vmtp_show_config:
        return None
    import yaml

    from pytest_vmtp.report.vmtp_json import mask_secrets

    try:
        cfg = vconfig.build(_overrides(config), config.option.vmtp_config)
    except vconfig.ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    print(yaml.safe_dump(mask_secrets({**cfg.raw, "cloud": cfg.cloud_name}), sort_keys=False), end="")
    return 0


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller: hand the run id and run directory to each worker."""
    session: VmtpSession = node.config.stash[SESSION_KEY]
    node.workerinput["vmtp_run_id"] = session.run_id
    node.workerinput["vmtp_run_dir"] = str(session.run_dir)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize each scenario module's test from the catalogue (its VMTP_KIND rows)."""
    if "vmtp_scenario" not in metafunc.fixturenames:
        return
    kind = getattr(metafunc.module, "VMTP_KIND", None)
    session: VmtpSession = metafunc.config.stash[SESSION_KEY]
    rows = catalogue.by_kind(kind, multicast=session.config.multicast)
    metafunc.parametrize(
        "vmtp_scenario",
        [pytest.param(sc, id=sc.test_id, marks=[getattr(pytest.mark, m) for m in sc.markers]) for sc in rows],
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After -k/-m: run the rows in VMTP's order, and remember which VMs they need so that
    they boot in one go."""
    session: VmtpSession = config.stash[SESSION_KEY]

    def scenario_of(item: pytest.Item):
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("vmtp_scenario") if callspec else None

    rows = [i for i in items if scenario_of(i) is not None]
    if rows:
        first = items.index(rows[0])
        others = [i for i in items if scenario_of(i) is None]
        items[:] = others[:first] + sorted(rows, key=lambda i: scenario_of(i).sort_key) + others[first:]
    for item in rows:
        scenario = scenario_of(item)
        if scenario.kind in ("vm", "external"):
            session.planned_roles.add("server")
            if scenario.group is not None:
                session.planned_roles.add(scenario.group.client_role)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the scenario's flow (for the collector, also across xdist) and its metrics."""
    report = yield
    callspec = getattr(item, "callspec", None)
    scenario = callspec.params.get("vmtp_scenario") if callspec else None
    if scenario is None:
        return report
    session: VmtpSession = item.config.stash[SESSION_KEY]
    flow = session.flows.get(item.nodeid)
    flow_json = flow.to_json() if flow else None
    report.vmtp = {"scenario": scenario.id, "flow": flow_json, "metadata": session.metadata_for_report()}
    if call.when == "call" and flow_json:
        flow_json.setdefault("scenario", scenario.id)
        flow_json.setdefault("status", report.outcome.upper())
        item.user_properties.extend(metrics.properties(flow_json))
        table = metrics.html_table(flow_json)
        if table:
            from pytest_html import extras as html_extras

            report.extras = list(getattr(report, "extras", [])) + [html_extras.html(table)]
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Tear down once, in the controller, before the reports are written: also after
    failures, Ctrl-C and SIGTERM (pytest still finishes the session then)."""
    vsession: VmtpSession = session.config.stash[SESSION_KEY]
    vsession.close()
    if vsession.owner:
        _finish_cloud(vsession)


def _finish_cloud(vsession: VmtpSession) -> None:
    if vsession.finished:
        return
    vsession.finished = True
    started = time.monotonic()
    try:
        run_cloud.finish(vsession.config, vsession.run_id, vsession.run_dir, vsession.progress)
    except USER_ERRORS as exc:
        vsession.progress(f"cleanup failed: {exc}; run `vmtp-cleanup --cloud {vsession.config.cloud_name} "
                          f"--run-id {vsession.run_id}`")
    if vsession.collector is not None:
        timings = vsession.collector.metadata.setdefault("timings", {})
        timings["teardown_s"] = round(time.monotonic() - started, 3)


def pytest_unconfigure(config: pytest.Config) -> None:
    vsession: VmtpSession | None = config.stash.get(SESSION_KEY, None)
    if vsession is None:
        return
    vsession.close()
    if vsession.owner:
        _finish_cloud(vsession)  # no-op unless the session never finished (e.g. a crash)
        if not vsession.config.cloud.get("keep"):
            shutil.rmtree(vsession.run_dir, ignore_errors=True)


def _sigterm_to_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt("SIGTERM")
