"""Scale: the aggregate TCP throughput of 1, 2, 4 ... 32 pairs at once on the local cloud (rows
1.1, intra-node: veth and bridges; 2.1, inter-node: VXLAN between the compute hosts; a quadratic
progression), next to this machine's raw limits measured in the same run: nuttcp between two
bare namespaces over one veth pair, and over VXLAN on a veth underlay (no bridge, no filter).
"""

from __future__ import annotations

import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from cloudrun import local_cloud, vmtp
from table import Row

from pytest_vmtp.measure.parse_nuttcp import parse_nuttcp_fparse

BENCH = "scale"
RAW = "vm9r"  # the raw pairs' namespaces and links


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def raw_pair(stack: ExitStack, name: str, vxlan: bool) -> str:
    """Namespaces <RAW>-<name>a/b joined by a veth (and VXLAN over it): the address to reach b."""
    a, b = f"{RAW}-{name}a", f"{RAW}-{name}b"
    for ns in (a, b):
        _ip("netns", "add", ns)
        stack.callback(subprocess.run, ["ip", "netns", "del", ns], capture_output=True)
        _ip("-n", ns, "link", "set", "lo", "up")
    _ip("link", "add", f"{RAW}{name}", "netns", a, "type", "veth", "peer", "name", f"{RAW}{name}p", "netns", b)
    for ns, dev, addr in ((a, f"{RAW}{name}", "10.254.0.1"), (b, f"{RAW}{name}p", "10.254.0.2")):
        _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
        _ip("-n", ns, "link", "set", dev, "up")
    if not vxlan:
        return "10.254.0.2"
    for ns, local, remote, addr in ((a, "10.254.0.1", "10.254.0.2", "10.255.0.1"),
                                    (b, "10.254.0.2", "10.254.0.1", "10.255.0.2")):
        _ip("-n", ns, "link", "add", "vx0", "type", "vxlan", "id", "4242", "local", local, "remote", remote,
            "dstport", "4789")
        _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "vx0")
        _ip("-n", ns, "link", "set", "vx0", "mtu", "1450", "up")
    return "10.255.0.2"


def _raw_kbps(name: str, vxlan: bool, duration: int, flows: int) -> int:
    """The sum of `flows` nuttcp clients at once, each a process with its own server."""
    with ExitStack() as stack:
        dest = raw_pair(stack, name, vxlan)
        for i in range(flows):
            server = subprocess.Popen(["ip", "netns", "exec", f"{RAW}-{name}b", "nuttcp", "-S", "--nofork",
                                       f"-P{5102 + 2 * i}", f"-p{5101 + 2 * i}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            stack.callback(server.wait, 10)
            stack.callback(server.terminate)
        subprocess.run(["sleep", "0.3"])
        clients = [subprocess.Popen(["ip", "netns", "exec", f"{RAW}-{name}a", "nuttcp", f"-T{duration}", "-l65536",
                                     f"-P{5102 + 2 * i}", f"-p{5101 + 2 * i}", "-fparse", dest],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for i in range(flows)]
        return sum(parse_nuttcp_fparse(c.communicate(timeout=120)[0]).throughput_kbps for c in clients)


def figures(duration: int = 5, pairs: int = 32) -> list[Row]:
    rows = []
    for label, vxlan in (("veth", False), ("VXLAN over veth", True)):
        for flows in (1, 2, 4):
            kbps = _raw_kbps("x" if vxlan else "v", vxlan, duration, flows)
            rows.append(Row(BENCH, f"raw limit: {label}, bare namespaces, {flows} nuttcp pair{'s' * (flows > 1)} "
                            "at once", f"{kbps / 1e6:.2f} Gbit/s", "", kbps, "kbit/s"))
    with local_cloud() as (handle, _), tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        doc, _ = vmtp(handle, Path(tmp), {"duration_s": duration, "tcp_runs": 1}, "-k", "1.1 or 2.1",
                      "--vmtp-pairs", str(pairs), "--vmtp-progression", "quadratic", timeout=3600)
    for flow in (f for f in doc["flows"] if f["scenario"] in ("1.1", "2.1")):
        for item in flow["results"]:
            dist = item["distribution"]
            rows.append(Row(BENCH, f"row {flow['scenario']}, {item['pairs']} pair{'s' * (item['pairs'] > 1)} at once",
                            f"{item['throughput_kbps'] / 1e6:.2f} Gbit/s (per pair {dist['min_kbps'] / 1e6:.2f}-"
                            f"{dist['max_kbps'] / 1e6:.2f}, Jain {dist['jain_index']}, skew "
                            f"{item['start_skew_ms']} ms)", "", item["throughput_kbps"], "kbit/s"))
    return rows


if __name__ == "__main__":
    from table import render

    print(render(figures()))
