"""The API server killed with SIGKILL mid-run, then `vmtp-localcloud start` on the same state
dir: the snapshot's resources come back, the kernel holds exactly what the API shows (and
nothing it does not), open clients go on, and `stop` leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openstack
import pytest

from pytest_vmtp.localcloud import control, process
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers, root_links
from pytest_vmtp.localcloud.dataplane.names import Names
from pytest_vmtp.localcloud.dataplane.nl import list_ns, ns_pids
from pytest_vmtp.procgroup import alive
from tests.localcloud.lc_support import connect, processes_mentioning, ssh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")

PREFIX = "vhg"
RANGES = ["--mgmt-cidr", "198.18.152.0/24", "--external-cidr", "198.18.153.0/24"]
NAMES = Names(PREFIX)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_vmtp.localcloud.cli", *args],
                          capture_output=True, text=True, timeout=120)


def build(conn: openstack.connection.Connection, key: str) -> dict[str, str]:
    """A router with a gateway, a network, two servers (one per host), a floating IP each."""
    conn.compute.create_keypair(name="rk", public_key=key)
    ext = conn.network.find_network("public", ignore_missing=False)
    router = conn.network.create_router(name="r", external_gateway_info={"network_id": ext.id})
    net = conn.network.create_network(name="n")
    subnet = conn.network.create_subnet(network_id=net.id, cidr="10.153.0.0/24", ip_version=4)
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = conn.network.find_security_group("default", ignore_missing=False)
    for proto in ("icmp", "tcp"):
        conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                protocol=proto, remote_ip_prefix="0.0.0.0/0")
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    fips = {}
    for name, host in (("s1", "compute1"), ("s2", "compute2")):
        server = conn.compute.create_server(name=name, image_id=image.id, flavor_id="10",
                                            key_name="rk", availability_zone=f"nova:{host}",
                                            networks=[{"uuid": net.id}])
        server = conn.compute.wait_for_server(server, interval=0.1, wait=60)
        port = next(conn.network.ports(device_id=server.id))
        fips[name] = conn.network.create_ip(floating_network_id=ext.id,
                                            port_id=port.id).floating_ip_address
    return fips


def kernel_view(state_dir: Path) -> dict[str, object]:
    """Namespaces, root links, sshd and gmond processes per namespace, NAT rules of the router."""
    namespaces = list_ns(PREFIX + "-")
    sshd = {ns: sorted(p for p in ns_pids(ns) if "sshd" in " ".join(_cmd(p)))
            for ns in namespaces}
    gmond = {ns: sorted(p for p in ns_pids(ns) if (_cmd(p) or [""])[0].endswith("/gmond")) for ns in namespaces}
    nat = {ns: subprocess.run(["ip", "netns", "exec", ns, "iptables", "-t", "nat", "-S"],
                              capture_output=True, text=True).stdout
           for ns in namespaces if "-qrouter-" in ns}
    return {"namespaces": namespaces, "links": sorted(root_links(PREFIX)), "sshd": sshd, "gmond": gmond,
            "nat": nat, "record": json.loads((state_dir / "dataplane" /
                                              f"{PREFIX}-dataplane.json").read_text())}


def _cmd(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        return []


def test_sigkill_then_start_recovers_everything(tmp_path: Path) -> None:
    state_dir = tmp_path / "cloud"
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    try:
        assert cli("start", "--state-dir", str(state_dir), "--prefix", PREFIX,
                   *RANGES).returncode == 0
        info = process.read_server_file(state_dir)
        handle = control.running(state_dir)
        assert handle is not None
        conn = connect(handle)
        fips = build(conn, (tmp_path / "id.pub").read_text())
        servers = {s.name: s for s in conn.compute.servers()}
        ports = sorted((p.id, p.mac_address, p.status) for p in conn.network.ports())
        before = kernel_view(state_dir)
        os.kill(info["pid"], signal.SIGKILL)
        process.wait_gone(info["pid"], 10)
        # Something the snapshot never heard of (made just before a crash): it must go.
        subprocess.run(["ip", "netns", "add", NAMES.server_ns("deadbeef-0000")], check=True)

        started = cli("start", "--state-dir", str(state_dir), "--prefix", PREFIX, *RANGES)
        assert started.returncode == 0, started.stderr
        again = process.read_server_file(state_dir)
        assert again["pid"] != info["pid"] and again["port"] == info["port"]

        # The client of the crashed server goes on (same port, same password; re-auth).
        assert {s.name: (s.id, s.status) for s in conn.compute.servers()} == \
            {n: (s.id, "ACTIVE") for n, s in servers.items()}
        assert sorted((p.id, p.mac_address, p.status) for p in conn.network.ports()) == ports
        assert {f.floating_ip_address for f in conn.network.ips()} == set(fips.values())
        after = kernel_view(state_dir)
        assert after["namespaces"] == before["namespaces"]  # not the stranger
        expected = sorted([NAMES.host_ns(h) for h in ("network", "compute1", "compute2")]
                          + [NAMES.router_ns(r.id) for r in conn.network.routers()]
                          + [NAMES.server_ns(s.id) for s in servers.values()])
        assert after["namespaces"] == expected
        assert after["links"] == before["links"]
        assert after["nat"] == before["nat"]  # DNAT/SNAT of both floating IPs
        for name, server in servers.items():
            vm = NAMES.server_ns(server.id)
            assert len(after["sshd"][vm]) == 1 and after["sshd"][vm] != before["sshd"][vm]
            assert ssh(key, fips[name], "hostname").returncode == 0  # through the NAT
        for host in ("compute1", "compute2"):  # each compute host's gmond: the crashed one's gone, a new one
            ns = NAMES.host_ns(host)
            assert len(after["gmond"][ns]) == 1 and after["gmond"][ns] != before["gmond"][ns]
            assert not any(alive(pid) for pid in before["gmond"][ns])  # (a zombie init has yet to reap is gone)
        record = after["record"]
        assert sorted(record["namespaces"]) == expected
        assert sorted(record["root_links"]) == after["links"]
        live = [p for daemon in ("sshd", "gmond") for ns in after[daemon].values() for p in ns]
        assert sorted(record["pids"]) == sorted(live)  # hosts' and servers' sshd, hosts' gmond, no other
        status = cli("status", "--state-dir", str(state_dir))
        assert "servers (2)" in status.stdout and "floating IPs (2)" in status.stdout
        conn.close()
    finally:
        stop = cli("stop", "--state-dir", str(state_dir))
        control.clean(state_dir, PREFIX)
    assert stop.returncode == 0, stop.stderr
    assert leftovers(PREFIX) == {"namespaces": [], "root_links": [], "root_rules": []}
    assert processes_mentioning(str(state_dir)) == []
