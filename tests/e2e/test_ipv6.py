"""IPv6 end to end, as a user runs it: `--vmtp-ipv6-mode slaac` and `dhcpv6-stateful` on a
local cloud of its own (prefix vm5, 198.18.192.0/24 and 198.18.193.0/24, IPv6 subnets in
fd5e:5::/32). A TCP row across hosts, a UDP row at a fixed rate and an ICMP row through the
router pass over IPv6 (the JSON says ip_version 6 and the VMs' IPv6 addresses); the
floating-IP and external rows skip with the reason; nothing is left behind.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from pytest_vmtp.localcloud import control
from pytest_vmtp.report import vmtp_json
from tests.e2e.test_cloud_scenarios import FAST, status_rows, vmtp_pytest
from tests.support.own_cloud import own_cloud

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vm5"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.192.0/24", "198.18.193.0/24"
IPV6_CIDRS = ("fd5e:5:1::/64", "fd5e:5:2::/64")
# 2.1 TCP and 2.2 UDP between hosts on one network, 4.3 ICMP across the router between hosts:
# three VMs; 6.3 and 8.1 only show their skip.
ROWS = "2.1 or 2.2 or 4.3 or 6.3 or 8.1"
DAEMONS = ("radvd", "dnsmasq", "dhclient")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control.CloudHandle]:
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle
    assert daemons() == []


@pytest.fixture
def env(cloud: control.CloudHandle) -> dict[str, str]:
    e = dict(os.environ)
    e.update(cloud.env())
    e["VMTP_LOCALCLOUD_STATE_DIR"] = str(cloud.state_dir)
    return e


def daemons() -> list[str]:
    """radvd, dnsmasq and dhclient processes of this cloud (their files are in its state dir)."""
    out = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if not line.startswith("Z")
            and any(f" {d} " in f" {line} " or f"/{d} " in line for d in DAEMONS) and f"{PREFIX}-" in line]


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateful"])
def test_ipv6_rows_pass_over_ipv6(mode: str, cloud, env, tmp_path) -> None:
    cfg = tmp_path / "fast.yaml"
    cfg.write_text(FAST + f"ipv6_cidrs: [{IPV6_CIDRS[0]}, {IPV6_CIDRS[1]}]\n")
    out = tmp_path / "r.json"
    res = vmtp_pytest(env, "-k", ROWS, "--vmtp-config", cfg, "--vmtp-ipv6-mode", mode,
                      "--vmtp-hypervisor", "compute1", "--vmtp-hypervisor", "compute2",
                      "--vmtp-no-history", f"--vmtp-json={out}", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
    rows = status_rows(res.stdout)
    assert {k: rows[k] for k in ("2.1", "2.2", "4.3")} == dict.fromkeys(("2.1", "2.2", "4.3"), "PASSED")
    assert rows["6.3"] == rows["8.1"] == "SKIPPED"
    assert f"IPv6 mode (--vmtp-ipv6-mode {mode}): floating IPs are IPv4" in res.stdout
    assert "Traceback" not in res.stdout

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    flows = {f["scenario"]: f for f in doc["flows"]}
    nets = [ipaddress.ip_network(c) for c in IPV6_CIDRS]
    for sid in ("2.1", "2.2", "4.3"):
        flow = flows[sid]
        assert flow["ip_version"] == 6
        assert ipaddress.ip_address(flow["ip_to"]) in nets[0]  # the server's IPv6 address on net 1
        assert ipaddress.ip_address(flow["ip_from"]) in nets[1 if sid == "4.3" else 0]
    if mode == "slaac":  # the EUI-64 of the port's MAC (ff:fe in the middle)
        assert ipaddress.ip_address(flows["2.1"]["ip_to"]).packed[11:13] == b"\xff\xfe"
    udp = flows["2.2"]["results"][0]
    assert udp["protocol"] == "UDP" and udp["bandwidth_limit_kbps"] == 200000 and udp["throughput_kbps"] > 0
    assert all(r["rx_packets"] > 0 for r in flows["4.3"]["results"][0]["results"])
    mode_meta = doc["metadata"]["network_mode"]
    assert mode_meta["ipv6"]["net1"] == {"cidr": IPV6_CIDRS[0], "mode": mode}
    assert daemons() == []  # the run's VMs, routers and networks are gone, and their daemons


def test_the_security_group_opens_the_flows_to_the_ipv6_subnets_only(cloud, tmp_path) -> None:
    """In IPv6 mode every flow is IPv6: ICMPv6 and the tool ports open to the run's IPv6
    subnets (ethertype IPv6, ipv6-icmp), nothing of IPv4 but SSH from this machine."""
    from pytest_vmtp.cloud import CloudSettings, Topology, cleanup, connect, new_run_id

    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(cloud.clouds_yaml)
    conn = connect("local")
    rid = new_run_id()
    try:
        settings = CloudSettings(image="vmtp-local", flavor="m1.tiny", ipv6_mode="slaac", ipv6_cidrs=IPV6_CIDRS,
                                 flow_sources=("this-machine",), ssh_sources=("this-machine",))
        topo = Topology(conn, settings, rid, tmp_path / "topology")
        vm = topo.vm("server")
        assert ipaddress.ip_address(vm.flow_ip) in ipaddress.ip_network(IPV6_CIDRS[0]) and vm.fixed_ip6 == vm.flow_ip
        group = conn.network.find_security_group(f"vmtp-{rid}-secgroup", ignore_missing=False)
        ingress = sorted((r.ether_type, r.protocol, r.port_range_min, r.remote_ip_prefix)
                         for r in conn.network.security_group_rules(security_group_id=group.id)
                         if r.direction == "ingress")
        six = [r for r in ingress if r[0] == "IPv6"]
        assert {r[3] for r in six} == set(IPV6_CIDRS) and {r[1] for r in six} == {"ipv6-icmp", "tcp", "udp"}
        assert [(r[1], r[2]) for r in ingress if r[0] == "IPv4"] == [("tcp", 22)]
    finally:
        cleanup(conn, rid)
        conn.close()
        if old is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old
