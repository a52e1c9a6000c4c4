"""Time the local cloud's data path: start, server boot to SSH-ready, VMTP topology build.

Run as root:  .venv/bin/python benchmarks/bench_dataplane.py [--servers 10] [--rounds 3]
Uses prefix "vlb" and the default ranges, so no other local cloud may be running.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytest_vmtp.localcloud.dataplane import LinuxDataplane, PortSpec, SecurityRule, ServerSpec

PREFIX = "vlb"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the tests' topology helper
from tests.localcloud.dp_fixtures import NET1 as NET, build_vmtp_topology  # noqa: E402
RULES = (SecurityRule("ingress", protocol="icmp"),
         SecurityRule("ingress", protocol="tcp", port_range_min=22, port_range_max=22))


def _spec(i: int, public: str) -> ServerSpec:
    port = PortSpec(f"{i:08x}-1111-4000-8000-000000000000", NET, f"fa:16:3e:01:{i // 256:02x}:"
                    f"{i % 256:02x}", f"192.168.1.{20 + i % 200}", 24, "192.168.1.1")
    return ServerSpec(f"{i:08x}-2222-4000-8000-000000000000", f"compute{i % 2 + 1}", (port,),
                      public, security_rules=RULES)


def _fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"mean {statistics.mean(ms):7.1f} ms  min {min(ms):7.1f}  max {max(ms):7.1f}"
            f"  (n={len(ms)})")


def _key(directory: Path) -> tuple[Path, str]:
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, (directory / "id_ed25519.pub").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dp-"))
    key, public = _key(tmp)
    starts, stops, boots, topo, parallel, first_ssh = [], [], [], [], [], []
    LinuxDataplane.clean(PREFIX, tmp / "state")
    try:
        for _ in range(args.rounds):
            dp = LinuxDataplane(PREFIX, 2, tmp / "state")
            t0 = time.perf_counter()
            dp.start()
            starts.append(time.perf_counter() - t0)
            try:
                # The VMTP topology: router + gateway, 2 networks, 3 servers, 3 floating IPs.
                t0 = time.perf_counter()
                vms = build_vmtp_topology(dp, public)
                topo.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                res = subprocess.run(
                    ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o",
                     "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o",
                     "LogLevel=ERROR", f"root@{vms['server'].fip}", "true"])
                first_ssh.append(time.perf_counter() - t0)
                if res.returncode != 0:
                    print("ssh through the floating IP failed", file=sys.stderr)
                    return 1
                for i in range(args.servers):  # one at a time: boot + sshd listening
                    t0 = time.perf_counter()
                    dp.boot_server(_spec(i, public))
                    boots.append(time.perf_counter() - t0)
                specs = [_spec(100 + i, public) for i in range(args.servers)]
                t0 = time.perf_counter()
                with ThreadPoolExecutor(args.servers) as pool:
                    list(pool.map(dp.boot_server, specs))
                parallel.append(time.perf_counter() - t0)
            finally:
                t0 = time.perf_counter()
                dp.stop()
                stops.append(time.perf_counter() - t0)
    finally:
        LinuxDataplane.clean(PREFIX, tmp / "state")
        subprocess.run(["rm", "-rf", str(tmp)])
    print(f"start (bridges, 2 computes + network node)   {_fmt(starts)}")
    print(f"VMTP topology (router, 2 nets, 3 VMs, 3 FIPs) {_fmt(topo)}")
    print(f"boot_server to SSH-ready, one at a time       {_fmt(boots)}")
    print(f"{args.servers} servers booted from {args.servers} threads (wall)   {_fmt(parallel)}")
    print(f"first ssh login via floating IP (client side) {_fmt(first_ssh)}")
    print(f"stop (everything above removed)               {_fmt(stops)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
