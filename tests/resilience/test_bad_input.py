"""One table of bad inputs, each given as a user gives it: options, --vmtp-config files (with
gate rules and SLAs), host specs, clouds.yaml entries, and malformed API bodies sent to the
local cloud. Each must give one clear line saying what to do, no traceback, and leave nothing
behind (no run directory, no cloud resource, no 5xx or traceback in the cloud's log).

pytest runs in this process (pytester) so that the 40-odd runs take seconds; a local cloud of
the module's own (prefix vm8c, 198.18.208-209.0/24) stands for the clouds.yaml entries that
authenticate and for the API bodies.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

import openstack
import pytest
import requests
import yaml

from tests.support.own_cloud import own_cloud

PREFIX = "vm8c"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.208.0/24", "198.18.209.0/24"
ONE_ROW = ("-m", "icmp and same_network and intra_node and fixed_ip")  # row 1.3 alone


@dataclass(frozen=True)
class Bad:
    """A bad input and the line it must give. kind: "start" (a usage error before any test),
    "row" (the selected row fails), "api" (an HTTP call: method path, its status)."""

    id: str
    expect: str  # a regular expression the one line must match (re.search)
    args: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # written in the case's directory
    kind: str = "start"
    body: Any = None  # api: the JSON body (a str: sent as it is)
    status: int = 400


def cfg(text: str) -> dict[str, str]:
    return {"vmtp.yaml": text}


C = ("--vmtp-config", "vmtp.yaml")
HOST_FORM = re.escape("expected user@host[:port][,key=PATH]")
CLOUDS = """\
clouds:
  wrongpw:
    auth: {{auth_url: "{url}", username: admin, password: not-it, project_name: admin,
            user_domain_name: Default, project_domain_name: Default}}
  ghostproject:
    auth: {{auth_url: "{url}", username: admin, password: not-it, project_name: ghost,
            user_domain_name: Default, project_domain_name: Default}}
  noauthurl:
    auth: {{username: admin, password: x, project_name: admin}}
  notaurl:
    auth: {{auth_url: "not a url", username: admin, password: x, project_name: admin}}
  badplugin:
    auth_type: nosuchplugin
    auth: {{auth_url: "{url}"}}
  notamapping: 5
"""

CASES = [
    # --- options ---------------------------------------------------------------------------
    Bad("time-zero", r"^--vmtp-time 0: expected a positive whole number$", ("--vmtp-time", "0")),
    Bad("time-word", r"argument --vmtp-time: invalid int value: 'abc'", ("--vmtp-time", "abc")),
    Bad("tool", r"argument --vmtp-tool: invalid choice: 'netperf' \(choose from", ("--vmtp-tool", "netperf")),
    Bad("protocols", r"^--vmtp-protocols 'X': use letters from T \(TCP\)", ("--vmtp-protocols", "X")),
    Bad("bandwidth", r"^bandwidth '5Q': use a number with K, M or G, e.g. 500M$", ("--vmtp-bandwidth", "5Q")),
    Bad("udp-size-zero", r"^--vmtp-udp-pkt-sizes '0': use a comma-separated list", ("--vmtp-udp-pkt-sizes", "0")),
    Bad("tcp-size-words", r"^--vmtp-tcp-pkt-sizes 'a,b':", ("--vmtp-tcp-pkt-sizes", "a,b")),
    Bad("icmp-size-huge", r"^--vmtp-icmp-pkt-sizes '70000': sizes must be between 1 and 65507 bytes$",
        ("--vmtp-icmp-pkt-sizes", "70000")),
    Bad("ping-count", r"^--vmtp-ping-count 0: expected a positive whole number$", ("--vmtp-ping-count", "0")),
    Bad("three-hypervisors", r"^--vmtp-hypervisor: give it at most twice",
        ("--vmtp-hypervisor", "a", "--vmtp-hypervisor", "b", "--vmtp-hypervisor", "c")),
    Bad("three-networks", r"^--vmtp-network: give at most 2",
        ("--vmtp-network", "a", "--vmtp-network", "b", "--vmtp-network", "c")),
    Bad("dns", r"^--vmtp-dns-nameservers 'notip': not an IP address$", ("--vmtp-dns-nameservers", "notip")),
    Bad("baseline-file", r"^--vmtp-baseline: /nonexistent/r.json: no such results file$",
        ("--vmtp-baseline", "/nonexistent/r.json")),
    Bad("history-url", r"^--vmtp-history ftp://x/y: unsupported kind of database 'ftp'", ("--vmtp-history", "ftp://x/y")),
    Bad("tag-blank", r"^--vmtp-tag 'bad tag': a tag is 1-64 letters", ("--vmtp-tag", "bad tag")),
    Bad("tag-no-history", r"^--vmtp-tag x: the run is not stored", ("--vmtp-tag", "x", "--vmtp-no-history")),
    Bad("mongod", r"^--vmtp-mongod-server 'x:y': give HOST\[:PORT\]", ("--vmtp-mongod-server", "x:y")),
    # --- host specs --------------------------------------------------------------------------
    Bad("host-no-user", rf"^--vmtp-host 'bad': bad host spec 'bad': 'bad' is not user@host; {HOST_FORM}",
        ("--vmtp-host", "bad")),
    Bad("host-injection", r"^--vmtp-host 'root@1.2.3.4;id': .*is neither an IP address nor a DNS name",
        ("--vmtp-host", "root@1.2.3.4;id")),
    Bad("host-port", r"port '99999' is not a number in 1-65535", ("--vmtp-host", "root@h:99999")),
    Bad("host-option",
        r"unknown option 'color' \(known: key, jump, known_hosts, hostkey, password_env, agent, listen\)",
        ("--vmtp-host", "root@h,color=red")),
    Bad("three-hosts", r"^--vmtp-host: give one host \(intra-host\) or two \(intra-host and inter-host\)$",
        ("--vmtp-host", "a@b", "--vmtp-host", "a@c", "--vmtp-host", "a@d")),
    Bad("external-host", r"^--vmtp-external-host 'root@': bad host spec", ("--vmtp-external-host", "root@")),
    Bad("jump-host", r"^--vmtp-ssh-jump 'nobody': bad host spec", ("--vmtp-ssh-jump", "nobody")),
    # --- config files -------------------------------------------------------------------------
    Bad("config-missing", r"^--vmtp-config /nonexistent.yaml: file not found$", ("--vmtp-config", "/nonexistent.yaml")),
    Bad("config-not-yaml", r"^--vmtp-config vmtp.yaml: line 2: not valid YAML", C, cfg("a: [1\n")),
    Bad("config-list", r"^--vmtp-config vmtp.yaml: expected a mapping of keys to values$", C, cfg("- 1\n")),
    Bad("config-typo", r"^--vmtp-config vmtp.yaml: unknown key\(s\) durationn_s; see pytest_vmtp/defaults.yaml$",
        C, cfg("durationn_s: 1\n")),
    Bad("config-boot-timeout", r"^boot_timeout_s 'abc': expected a positive number$", C, cfg("boot_timeout_s: abc\n")),
    Bad("config-loss-target", r"^udp_loss_target 5: give \[low, high\] in percent", C, cfg("udp_loss_target: 5\n")),
    Bad("config-loss-order", r"^udp_loss_target \[5, 2\]: give \[low, high\]", C, cfg("udp_loss_target: [5, 2]\n")),
    Bad("config-retries", r"^api_retries -1: expected a whole number from 0 to 100$", C, cfg("api_retries: -1\n")),
    Bad("config-grace", r"^command_grace_s 0: expected a positive number$", C, cfg("command_grace_s: 0\n")),
    Bad("config-probe", r"^udp_probe_s 0.5: expected a positive whole number$", C, cfg("udp_probe_s: 0.5\n")),
    Bad("config-cidrs", r"^cidrs \['10.0.0.0/8'\]: give two subnets", C, cfg("cidrs: [10.0.0.0/8]\n")),
    Bad("config-key-pair", r"^key_pair and private_key go together", C, cfg("key_pair: mine\n")),
    Bad("config-port", r"^nuttcp_data_port 70000:", C, cfg("nuttcp_data_port: 70000\n")),
    Bad("config-history", r"^history 5: give a file path, a postgresql:// URL, null or false$", C, cfg("history: 5\n")),
    Bad("config-ssh-from", r"^ssh_from 'anywhere': give a list of prefixes", C, cfg("ssh_from: anywhere\n")),
    # --- gate rules and SLAs -----------------------------------------------------------------
    Bad("sla-operator", r"^vmtp.yaml:2: SLA 'tp_kbps >> 5G': write '<metric> <op> <value>'", C,
        cfg('sla:\n  - "tp_kbps >> 5G"\n')),
    Bad("sla-metric", r"^vmtp.yaml:2: SLA 'speed >= 5': unknown metric 'speed': use one of", C,
        cfg('sla:\n  - "speed >= 5"\n')),
    Bad("sla-not-a-list", r"^vmtp.yaml:1: sla: expected a list of checks", C, cfg("sla: 5\n")),
    Bad("gate-threshold", r"^vmtp.yaml:2: tp_kbps: 'fast' is not a threshold", C,
        cfg("gate:\n  thresholds: {tp_kbps: fast}\n")),
    Bad("gate-rows", r"^vmtp.yaml:3: rows: '9.\*' matches no VMTP row", C,
        cfg('gate:\n  rules:\n    - {rows: "9.*", tp_kbps: -5%}\n')),
    Bad("gate-marker", r"^vmtp.yaml:3: marker: unknown marker 'inter_nod'", C,
        cfg("gate:\n  rules:\n    - {marker: inter_nod, tp_kbps: -5%}\n")),
    # --- clouds.yaml entries and cloud resources named wrong: the row fails in one line ----------
    Bad("cloud-unknown", r"^cloud 'nosuch' not found in clouds.yaml \(searched: .*known clouds: .*\): check "
        "--vmtp-cloud$", ("--vmtp-cloud", "nosuch"), kind="row"),
    Bad("cloud-password", r"^cloud 'wrongpw': authentication failed at http://127.0.0.1:\d+/identity \(HTTP 401\): "
        "check user, password and project", ("--vmtp-cloud", "wrongpw"), kind="row"),
    Bad("cloud-project", r"^cloud 'ghostproject': authentication failed", ("--vmtp-cloud", "ghostproject"), kind="row"),
    Bad("cloud-no-auth-url", r"^cloud 'noauthurl': incomplete credentials: .*auth_url",
        ("--vmtp-cloud", "noauthurl"), kind="row"),
    Bad("cloud-not-a-url", r"^cloud 'notaurl': auth_url 'not a url' is not an http:// or https:// URL",
        ("--vmtp-cloud", "notaurl"), kind="row"),
    Bad("cloud-auth-plugin", r"^cloud 'badplugin': .*nosuchplugin could not be found",
        ("--vmtp-cloud", "badplugin"), kind="row"),
    Bad("cloud-not-a-mapping", r"^clouds.yaml \S+: cloud 'notamapping' is 5, not a mapping of settings",
        ("--vmtp-cloud", "notamapping"), kind="row"),
    Bad("cloud-file-not-yaml", r"^clouds.yaml \S+broken.yaml: line 2: not valid YAML",
        ("--vmtp-cloud", "anything"), {"broken.yaml": "clouds: [\n"}, kind="row"),
    Bad("image", r"^image 'nosuch' not found: upload it, give --vmtp-image-url, or set --vmtp-image$",
        ("--vmtp-image", "nosuch"), kind="row"),
    Bad("image-file", r"^--vmtp-image-url '/nonexistent/cirros.img': /nonexistent/cirros.img is not a readable file$",
        ("--vmtp-image", "nosuch", "--vmtp-image-url", "/nonexistent/cirros.img")),
    Bad("network", r"^network 'nosuch' not found: check --vmtp-network", ("--vmtp-network", "nosuch"), kind="row"),
    # --- malformed API bodies sent to the local cloud (method path, body) ----------------------------
    Bad("POST /compute/v2.1/servers", r"^The request body is invalid: 'server' is a required property$",
        kind="api", body="{not json"),
    Bad("POST /compute/v2.1/servers", r"^The request body is invalid", kind="api", body=[1, 2]),
    Bad("POST /compute/v2.1/servers", r"^Flavor None could not be found.$", kind="api",
        body={"server": {"name": "bi"}}),
    Bad("POST /compute/v2.1/servers", r"^Invalid input for field/attribute name.$", kind="api",
        body={"server": {"name": ["x"], "flavorRef": "1", "imageRef": "x"}}),
    Bad("POST /compute/v2.1/os-keypairs", r"^Keypair data is invalid", kind="api",
        body={"keypair": {"name": "bi-kp", "public_key": "garbage"}}),
    Bad("POST /network/v2.0/networks", r"^Resource body must contain 'network'.$", kind="api", body={"network": 5}),
    Bad("POST /network/v2.0/networks", r"^Invalid input for admin_state_up. Reason: 'maybe' cannot be converted",
        kind="api", body={"network": {"name": "bi-net", "admin_state_up": "maybe"}}),
    Bad("POST /network/v2.0/subnets", r"^Invalid input for cidr. Reason: '10.0.0.0/33' is not a valid IP subnet.$",
        kind="api", body={"subnet": {"network_id": "{net}", "cidr": "10.0.0.0/33", "ip_version": 4}}),
    Bad("POST /network/v2.0/ports", r"^Invalid input for fixed_ips. Reason: Invalid data format", kind="api",
        body={"port": {"network_id": "{net}", "fixed_ips": "garbage"}}),
    Bad("POST /network/v2.0/ports", r"^Invalid input for fixed_ips. Reason: 'x.y' is not a valid IP address.$",
        kind="api", body={"port": {"network_id": "{net}", "fixed_ips": [{"ip_address": "x.y"}]}}),
    Bad("POST /identity/v3/auth/tokens", r"^Expecting to find auth in request.$", kind="api", body={}),
    Bad("POST /admin/faults", r"^data_path\[0\].rate: 'fast' is not a rate such as 100mbit$", kind="api",
        body={"data_path": [{"server": "x", "rate": "fast"}]}),
    Bad("POST /admin/faults", r"^api_errors\[0\].after_commit: give the status or reset", kind="api",
        body={"api_errors": [{"path": "x", "delay_s": 1, "after_commit": True}]}),
]


def _import_the_plugin() -> None:
    """pytester's in-process runs forget the modules first imported during a run: one imported
    anew by the next run would raise an exception class that an older module no longer catches.
    Importing the plugin's modules here once keeps one copy of each."""
    import pytest_vmtp

    skip = (".migrations", "pytest_vmtp.scenarios", "pytest_vmtp.fixtures")
    for info in pkgutil.walk_packages(pytest_vmtp.__path__, "pytest_vmtp."):
        if not any(part in info.name for part in skip):
            importlib.import_module(info.name)


_import_the_plugin()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle
        log = (state / "server.log").read_text()
    assert "Traceback" not in log and "Internal error" not in log, log[-3000:]


@pytest.fixture(scope="module")
def api(cloud):
    """(base URL, admin token headers, a network to hang subnets and ports on)."""
    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)]).get_one("local")
    conn = openstack.connection.Connection(config=config)
    net = conn.network.create_network(name="bi-net-base")
    try:
        yield f"http://127.0.0.1:{cloud.port}", {"X-Auth-Token": conn.session.get_token()}, net.id, conn
    finally:
        conn.network.delete_network(net.id)
        conn.close()


def _one_line(out: str, expect: str) -> str:
    lines = [ln for ln in out.splitlines() if re.search(expect, ln.removeprefix("ERROR: "))]
    assert lines, f"no line matches {expect!r}:\n{out[-3000:]}"
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}-{c.id}" for c in CASES])
def test_a_bad_input_is_one_line_saying_what_to_do(case: Bad, cloud, api, pytester: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    base, headers, net_id, conn = api
    if case.kind == "api":
        _api_case(case, base, headers, net_id, conn)
        return
    for name, text in case.files.items():
        (pytester.path / name).write_text(text)
    clouds = pytester.path / "clouds.yaml"
    clouds.write_text(CLOUDS.format(url=cloud.auth_url))
    broken = [pytester.path / n for n in case.files if n.endswith(("clouds.yaml", "broken.yaml"))]
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(broken[0] if broken else clouds))
    monkeypatch.setenv("VMTP_LOCALCLOUD_STATE_DIR", str(cloud.state_dir))
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.delenv("OS_CLOUD", raising=False)
    runs = pytester.path / "tmp"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))  # where the run directory goes
    result = pytester.runpytest_inprocess("--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider",
                                          *(ONE_ROW if case.kind == "row" else ()), *case.args)
    out = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in out and "INTERNALERROR" not in out, out[-3000:]
    if case.kind == "start":
        assert result.ret == pytest.ExitCode.USAGE_ERROR, out[-3000:]
        assert len([ln for ln in result.errlines if ln.startswith("ERROR: ")]) == 1, out[-3000:]
        _one_line("\n".join(result.errlines), case.expect)
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED, out[-3000:]
        line = _one_line(out, r"^(FAILED|ERROR) \S+\[1\.3-\S+\] - Failed: ")
        assert re.search(case.expect, line.split(" - Failed: ", 1)[1]), line
    assert list(runs.iterdir()) == []  # the run directory went with the run
    left = [s.name for s in conn.compute.servers()] + [n.name for n in conn.network.networks()
                                                        if (n.name or "").startswith("vmtp-")]
    assert left == []


def _api_case(case: Bad, base: str, headers: dict[str, str], net_id: str, conn) -> None:
    method, path = case.id.split(" ", 1)
    before = _inventory(conn)
    if isinstance(case.body, str):
        answer = requests.request(method, base + path, data=case.body, timeout=10,
                                  headers={**headers, "Content-Type": "application/json"})
    else:
        body = yaml.safe_load(yaml.safe_dump(case.body).replace("'{net}'", net_id).replace("{net}", net_id))
        answer = requests.request(method, base + path, json=body, headers=headers, timeout=10)
    assert answer.status_code == case.status, answer.text
    doc = answer.json()
    inner = next(iter(doc.values()))  # {"badRequest": {...}}, {"NeutronError": {...}}, {"error": {...}}
    message = inner["message"]
    assert "\n" not in message and re.search(case.expect, message), message
    assert _inventory(conn) == before  # nothing half-made


def _inventory(conn) -> list[str]:
    return sorted([f"server {s.id}" for s in conn.compute.servers()]
                  + [f"network {n.id}" for n in conn.network.networks()]
                  + [f"port {p.id}" for p in conn.network.ports()]
                  + [f"subnet {s.id}" for s in conn.network.subnets()]
                  + [f"keypair {k.name}" for k in conn.compute.keypairs()])


def test_the_table_is_large_enough():
    assert len(CASES) >= 40 and len({c.kind for c in CASES}) == 3
