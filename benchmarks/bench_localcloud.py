"""Local cloud figures: start-up, one server ACTIVE + SSH-ready, VMTP topology build, stop.

Plain script (root): `.venv/bin/python benchmarks/bench_localcloud.py [--servers 3]`.
Runs its own cloud (prefix vlba, 198.18.50.0/23) in a temporary state dir and removes it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import openstack
import openstack.config
from table import Row, render

from pytest_vmtp.localcloud import control

PREFIX = "vlba"


def ssh_ready(key: Path, ip: str, deadline: float) -> None:
    while True:
        done = subprocess.run(
            ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
             "-o", "ConnectTimeout=2", f"root@{ip}", "true"], capture_output=True)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"ssh to {ip} not ready")
        time.sleep(0.05)


BENCH = "local cloud"


def figures(servers: int = 3) -> list[Row]:
    """Seconds per step, as table rows."""
    state_dir = Path(tempfile.mkdtemp(prefix="bench-localcloud-"))
    steps: list[tuple[str, float]] = []
    t0 = time.monotonic()
    handle = control.start(state_dir, prefix=PREFIX, mgmt_cidr="198.18.50.0/24",
                         external_cidr="198.18.51.0/24")
    steps.append(("start (vmtp-localcloud start until API answers)", time.monotonic() - t0))
    try:
        config = openstack.config.OpenStackConfig(config_files=[str(handle.clouds_yaml)])
        conn = openstack.connection.Connection(config=config.get_one("local"))
        conn.authorize()
        image = conn.image.find_image("vmtp-local", ignore_missing=False)
        flavor = conn.compute.find_flavor("vmtp", ignore_missing=False)
        ext = conn.network.find_network("public", ignore_missing=False)
        key = state_dir / "bench-key"
        key.write_text(conn.compute.create_keypair(name="bench").private_key)
        os.chmod(key, 0o600)

        t0 = time.monotonic()
        router = conn.network.create_router(name="pns-router",
                                            external_gateway_info={"network_id": ext.id})
        nets = []
        for i in (1, 2):
            net = conn.network.create_network(name=f"pns-net{i}")
            sub = conn.network.create_subnet(network_id=net.id, cidr=f"10.{i}.0.0/24",
                                             ip_version=4)
            conn.network.add_interface_to_router(router, subnet=sub.id)
            nets.append(net)
        sg = conn.network.create_security_group(name="pns-security")
        for proto, low, high in (("icmp", None, None), ("tcp", 22, 22), ("tcp", 5001, 5002),
                                 ("udp", 5001, 5002)):
            conn.network.create_security_group_rule(
                security_group_id=sg.id, direction="ingress", protocol=proto,
                port_range_min=low, port_range_max=high)
        steps.append(("network topology (router, 2 networks, security group)",
                        time.monotonic() - t0))

        t1 = time.monotonic()
        one = conn.compute.create_server(name="bench-1", image_id=image.id, flavor_id=flavor.id,
                                         networks=[{"uuid": nets[0].id}], key_name="bench",
                                         security_groups=[{"name": sg.name}],
                                         availability_zone="nova:compute1")
        one = conn.compute.wait_for_server(one, interval=0.05, wait=60)
        t_active = time.monotonic() - t1
        port = next(conn.network.ports(device_id=one.id))
        fip = conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
        ssh_ready(key, fip.floating_ip_address, time.monotonic() + 30)
        steps.append(("one server: create -> ACTIVE", t_active))
        steps.append(("one server: create -> ACTIVE + floating IP + SSH ok",
                        time.monotonic() - t1))

        t2 = time.monotonic()
        more = [conn.compute.create_server(
            name=f"bench-{i + 2}", image_id=image.id, flavor_id=flavor.id,
            networks=[{"uuid": nets[i % 2].id}], key_name="bench",
            security_groups=[{"name": sg.name}],
            availability_zone=f"nova:compute{1 + (i % 2)}") for i in range(servers - 1)]
        for server in more:
            conn.compute.wait_for_server(server, interval=0.05, wait=60)
        steps.append((f"VMTP topology total ({servers} servers ACTIVE, 1 FIP)",
                        time.monotonic() - t0))
        steps.append((f"{len(more)} more servers in parallel -> ACTIVE", time.monotonic() - t2))
        conn.close()
    finally:
        t3 = time.monotonic()
        try:
            control.stop(handle)
            steps.append(("stop (every kernel object removed)", time.monotonic() - t3))
        finally:
            control.clean(state_dir, PREFIX)
    return [Row(BENCH, name, f"{seconds:.2f} s", "", seconds, "s") for name, seconds in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=3)
    print(render(figures(parser.parse_args().servers)))


if __name__ == "__main__":
    main()
