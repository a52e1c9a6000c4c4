"""Load: concurrent openstacksdk clients creating and deleting networks, subnets, ports, routers
and servers against the local cloud, then the cloud's state checked against what they did.

Plain script (root): `.venv/bin/python benchmarks/bench_load.py [--clients 16] [--seconds 60]`.
Runs its own cloud (prefix vm8, 198.18.210-211.0/24) in a temporary state dir and removes it.

Each client repeats: network + subnet, a port, a router with an interface on the subnet, a
server on the network (waited for ACTIVE), a GET of each; then deletes them in order (the
server waited for gone). Every call is timed; an HTTP 5xx, a resource that a GET does not find
right after its create (lost), two creates answered with one id (duplicated), and whatever is
left afterwards in the API or the kernel (namespaces, links) are counted. The figures: p50 and
p99 per call, and those counts (the targets: all zero).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openstack
import openstack.config
from openstack import exceptions as sdk_exc
from table import Row, render

from pytest_vmtp.localcloud import control

PREFIX = "vm8"
MGMT, EXT = "198.18.210.0/24", "198.18.211.0/24"
BENCH = "load"


@dataclass
class Tally:
    """What all clients saw; one lock for all."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    status_5xx: int = 0
    other_errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    iterations: int = 0

    def time(self, call: str, fn: Callable[[], Any]) -> Any:
        start = time.monotonic()
        try:
            return fn()
        except sdk_exc.HttpException as exc:
            with self.lock:
                if (exc.status_code or 0) >= 500:
                    self.status_5xx += 1
                self.other_errors.append(f"{call}: HTTP {exc.status_code}: {exc.details or exc}"[:200])
            raise
        finally:
            with self.lock:
                self.latency[call].append(time.monotonic() - start)


def _connect(clouds_yaml: Path) -> openstack.connection.Connection:
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)]).get_one("local")
    return openstack.connection.Connection(config=config)


def _iteration(n: int, i: int, conn: openstack.connection.Connection, tally: Tally, image: str,
               flavor: str) -> None:
    """One round of creates, GETs and deletes; every call timed."""
    net_api, compute, t = conn.network, conn.compute, tally.time
    tag = f"load-{n}-{i}"
    net = t("create network", lambda: net_api.create_network(name=tag))
    subnet = t("create subnet", lambda: net_api.create_subnet(
        network_id=net.id, cidr=f"10.{n}.{i % 250}.0/24", ip_version=4, name=tag))
    port = t("create port", lambda: net_api.create_port(network_id=net.id, name=tag))
    router = t("create router", lambda: net_api.create_router(name=tag))
    t("add router interface", lambda: net_api.add_interface_to_router(router.id, subnet.id))
    booting = t("create server", lambda: compute.create_server(
        name=tag, image_id=image, flavor_id=flavor, networks=[{"uuid": net.id}]))
    server = t("server to ACTIVE", lambda: compute.wait_for_server(booting, interval=0.1, wait=120))
    made = {"network": (net.id, net_api.get_network), "subnet": (subnet.id, net_api.get_subnet),
            "port": (port.id, net_api.get_port), "router": (router.id, net_api.get_router),
            "server": (server.id, compute.get_server)}
    for kind, (rid, getter) in made.items():
        try:
            t(f"get {kind}", lambda g=getter, r=rid: g(r))
        except sdk_exc.NotFoundException:
            with tally.lock:
                tally.lost.append(f"{kind} {rid}")
    with tally.lock:
        tally.ids += [rid for rid, _ in made.values()]
    t("delete server", lambda: compute.delete_server(server.id))
    t("server gone", lambda: compute.wait_for_delete(server, interval=0.1, wait=120))
    t("remove router interface", lambda: net_api.remove_interface_from_router(router.id, subnet.id))
    t("delete router", lambda: net_api.delete_router(router.id))
    t("delete port", lambda: net_api.delete_port(port.id))
    t("delete network", lambda: net_api.delete_network(net.id))
    with tally.lock:
        tally.iterations += 1


def _client(n: int, clouds_yaml: Path, until: float, tally: Tally, image: str, flavor: str) -> None:
    conn = _connect(clouds_yaml)
    i = 0
    try:
        while time.monotonic() < until:
            i += 1
            try:
                _iteration(n, i, conn, tally, image, flavor)
            except (sdk_exc.SDKException, openstack.exceptions.ResourceTimeout) as exc:
                with tally.lock:
                    tally.other_errors.append(f"client {n} iteration {i}: {type(exc).__name__}: {exc}"[:200])
    finally:
        conn.close()


def _kernel(prefix: str) -> tuple[int, int]:
    """(namespaces, links in the root namespace) of the prefix."""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout.split("\n")
    return (sum(1 for n in ns if n.startswith(f"{prefix}-")), sum(1 for ln in links if ln.startswith(prefix)))


def _left(conn: openstack.connection.Connection) -> list[str]:
    """Resources of the clients still in the API."""
    found = [f"server {s.name}" for s in conn.compute.servers() if s.name.startswith("load-")]
    for kind, items in (("network", conn.network.networks()), ("subnet", conn.network.subnets()),
                        ("port", conn.network.ports()), ("router", conn.network.routers())):
        found += [f"{kind} {r.name}" for r in items if (r.name or "").startswith("load-")]
    return found


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(clients: int = 16, seconds: float = 60.0) -> list[Row]:
    state_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    control.clean(state_dir, PREFIX)
    handle = control.start(state_dir, prefix=PREFIX, mgmt_cidr=MGMT, external_cidr=EXT)
    try:
        admin = _connect(handle.clouds_yaml)
        project = admin.current_project_id
        admin.network.update_quota(project, networks=-1, subnets=-1, ports=-1, routers=-1)
        admin.compute.update_quota_set(project, instances=-1, cores=-1, ram=-1)
        image = admin.image.find_image("vmtp-local", ignore_missing=False).id
        flavor = admin.compute.find_flavor("m1.tiny", ignore_missing=False).id  # 512 MiB, 1 vCPU
        baseline = _kernel(PREFIX)
        tally = Tally()
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=_client, args=(n, handle.clouds_yaml, until, tally, image, flavor))
                   for n in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # deletions settle in the data path
        left = _left(admin)
        kernel = _kernel(PREFIX)
        admin.close()
    finally:
        control.stop(handle)
        control.clean(state_dir, PREFIX)
    calls = sum(len(v) for v in tally.latency.values())
    duplicated = len(tally.ids) - len(set(tally.ids))
    rows = [Row(BENCH, f"{clients} clients for {seconds:.0f} s: iterations (network, subnet, port, router, "
                "server; deleted)", f"{tally.iterations} ({calls} calls in {elapsed:.0f} s)", "",
                tally.iterations, "iterations"),
            Row(BENCH, "HTTP 5xx answers", str(tally.status_5xx), f"0: {'met' if not tally.status_5xx else 'MISSED'}",
                tally.status_5xx, "answers"),
            Row(BENCH, "other errors (4xx, timeouts)", str(len(tally.other_errors)),
                f"0: {'met' if not tally.other_errors else 'MISSED'}", len(tally.other_errors), "errors"),
            Row(BENCH, "lost (not found right after its create) / duplicated ids", f"{len(tally.lost)} / {duplicated}",
                f"0 / 0: {'met' if not tally.lost and not duplicated else 'MISSED'}", len(tally.lost) + duplicated, ""),
            Row(BENCH, "left afterwards: API resources / namespaces / links beyond the cloud's own",
                f"{len(left)} / {kernel[0] - baseline[0]} / {kernel[1] - baseline[1]}",
                f"0 / 0 / 0: {'met' if not left and kernel == baseline else 'MISSED'}",
                len(left) + abs(kernel[0] - baseline[0]) + abs(kernel[1] - baseline[1]), "")]
    for call, values in sorted(tally.latency.items(), key=lambda kv: -statistics.median(kv[1])):
        p50, p99 = _pct(values, 0.5) * 1000, _pct(values, 0.99) * 1000
        rows.append(Row(BENCH, f"{call}: p50 / p99 ({len(values)} calls)", f"{p50:.0f} / {p99:.0f} ms", "", p99, "ms"))
    for error in tally.other_errors[:5]:
        print(f"  error: {error}")
    for name in left[:5]:
        print(f"  left: {name}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(render(figures(args.clients, args.seconds)))


if __name__ == "__main__":
    main()
