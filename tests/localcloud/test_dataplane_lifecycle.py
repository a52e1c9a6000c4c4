"""Concurrent boots (the API layer boots from worker threads) and tearing down piece by piece."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_vmtp.localcloud.dataplane import LinuxDataplane, PortSpec, ServerSpec
from pytest_vmtp.localcloud.dataplane.cleanup import leftovers
from tests.localcloud.dp_fixtures import (  # noqa: F401
    EXT,
    NET1,
    NET2,
    PNS_RULES,
    ROUTER,
    assert_nothing_left,
    build_vmtp_topology,
    in_ns,
    make_key,
    owning_ranges,
    pytestmark,
    tcp_connects,
)

BASE_LINKS = ["vlk-ex", "vlk-mc1", "vlk-mc2", "vlk-mgmt", "vlk-mnet"]
BASE_NS = ["vlk-compute1", "vlk-compute2", "vlk-network"]


@pytest.fixture(autouse=True)
def _ranges() -> Iterator[None]:
    with owning_ranges():
        yield


def test_concurrent_boots_and_piecewise_teardown(tmp_path: Path) -> None:
    _, public = make_key(tmp_path)
    dp = LinuxDataplane("vlk", 2, tmp_path / "state")
    try:
        dp.start()
        vms = build_vmtp_topology(dp, public)
        specs = [ServerSpec(f"bbbb{i:04d}-0000-4000-8000-000000000000", f"compute{i % 2 + 1}",
                            (PortSpec(f"q{i:03d}0000-0000-4000-8000-000000000000", NET1,
                                      f"fa:16:3e:00:20:{i:02x}", f"192.168.1.{50 + i}", 24,
                                      "192.168.1.1"),),
                            public, security_rules=PNS_RULES) for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(dp.boot_server, specs))
        probe = vms["client_net1_remote"].netns
        for spec in specs:
            assert tcp_connects(probe, spec.ports[0].ip, 22), spec.ports[0].ip
        assert len(leftovers("vlk")["namespaces"]) == len(BASE_NS) + 1 + 3 + 8

        # Two ports, the second one straight on the external network (plugged into vlk-ex).
        dual = ServerSpec("cccc0000-0000-4000-8000-000000000000", "compute2", (
            PortSpec("d0000000-0000-4000-8000-000000000000", NET2, "fa:16:3e:00:30:00",
                     "192.168.2.60", 24, "192.168.2.1"),
            PortSpec("d1000000-0000-4000-8000-000000000000", EXT, "fa:16:3e:00:30:01",
                     "203.0.113.60", 24, None)), public, security_rules=PNS_RULES)
        dp.boot_server(dual)
        assert subprocess.run(["ping", "-c1", "-W2", "203.0.113.60"]).returncode == 0
        assert in_ns(dp.server_netns(dual.server_id), "ping", "-c1", "-W2",
                     vms["server"].ip).returncode == 0
        dp.delete_server(dual.server_id)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(dp.delete_server, [s.server_id for s in specs]))
        for vm in vms.values():
            dp.remove_floating_ip(ROUTER, vm.fip)
        # The floating IPs are gone from the router: the root namespace no longer reaches them.
        gone = subprocess.run(["ping", "-c1", "-W1", vms["server"].fip], capture_output=True)
        assert gone.returncode != 0
        for vm in vms.values():
            dp.delete_server(vm.server_id)
        dp.clear_router_gateway(ROUTER)
        dp.delete_router(ROUTER)
        for net in (NET1, NET2, EXT):
            dp.delete_network(net)
        left = leftovers("vlk")
        assert left["namespaces"] == BASE_NS
        assert sorted(left["root_links"]) == BASE_LINKS
        for host in ("compute1", "compute2", "network"):
            links = in_ns(dp.host_netns(host), "ip", "-br", "link").stdout
            assert "brq" not in links and "vxlan" not in links and "tap" not in links, links
    finally:
        dp.stop()
    assert_nothing_left("vlk")
