"""Fidelity: the plugin's figure against nuttcp run by hand between the same two namespaces of
the local cloud, in one run. Targets: TCP within 3 %, UDP within 5 %.

Row 1.1 (TCP, 5 runs of --time s) and 1.2 (UDP 1024 B, the rate the plugin's search found),
kept (--vmtp-keep); then nuttcp by hand between the client and server VMs' namespaces with the
same options, as often. Medians compared (a shared machine has outliers).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from statistics import median

from cloudrun import local_cloud, nuttcp, run_dirs_of, server_netns, vmtp
from table import Row

BENCH = "fidelity"
TARGETS = {"TCP": 3.0, "UDP": 5.0}


def figures(duration: int = 5) -> list[Row]:
    with local_cloud() as (handle, _), tempfile.TemporaryDirectory(prefix="bench-fidelity-") as tmp:
        doc, _ = vmtp(handle, Path(tmp), {"duration_s": duration, "tcp_runs": 5, "udp_pkt_sizes": [1024],
                                          "icmp_pkt_sizes": [64]}, "-k", "1.1 or 1.2", "--vmtp-keep")
        run = doc["run_id"]
        try:
            flows = {f["scenario"]: f for f in doc["flows"]}
            client = server_netns(handle, f"vmtp-{run}-same-intra")
            server = server_netns(handle, f"vmtp-{run}-server")
            dest = flows["1.1"]["ip_to"]
            plugin_tcp = [i["throughput_kbps"] for i in flows["1.1"]["results"]]
            hand_tcp = nuttcp(client, server, dest, f"-T{duration} -l65536", len(plugin_tcp))
            (udp,) = flows["1.2"]["results"]
            rate = udp["search_rate_kbps"]
            plugin_udp = [udp["throughput_kbps"]]
            hand_udp = nuttcp(client, server, dest, f"-T{duration} -u -l1024 -R{rate}K", 1)
        finally:
            run_dirs_of(run)
    rows = []
    for proto, plugin, hand, what in (("TCP", plugin_tcp, hand_tcp, f"row 1.1, {len(plugin_tcp)} x {duration} s"),
                                      ("UDP", plugin_udp, hand_udp, f"row 1.2, 1024 B at {rate} kbit/s")):
        diff = 100 * (median(plugin) - median(hand)) / median(hand)
        verdict = "met" if abs(diff) <= TARGETS[proto] else "MISSED"
        rows.append(Row(BENCH, f"{proto}: plugin vs nuttcp by hand, same namespaces ({what})",
                        f"{median(plugin) / 1e6:.3f} vs {median(hand) / 1e6:.3f} Gbit/s ({diff:+.1f} %)",
                        f"within {TARGETS[proto]:g} %: {verdict}", round(diff, 2), "%"))
    return rows


if __name__ == "__main__":
    from table import render

    print(render(figures()))
