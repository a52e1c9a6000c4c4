"""What to measure and how: the measurement engine's whole input besides hosts.

Defaults mirror VMTP's cfg.default.yaml; config.py fills this from YAML and options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOOLS = ("nuttcp", "iperf3", "iperf")  # the throughput tools, VMTP's two and iperf3


@dataclass(frozen=True)
class MeasureSettings:
    tool: str = "nuttcp"  # nuttcp | iperf3 | iperf
    duration_s: int = 10
    tcp_pkt_sizes: tuple[int, ...] = (65536,)
    tcp_runs: int = 3  # TCP runs per size, reported as their mean (min/max kept)
    udp_pkt_sizes: tuple[int, ...] = (128, 1024, 8192)
    icmp_pkt_sizes: tuple[int, ...] = (64, 391, 1500)
    ping_count: int = 10
    ping_interval_s: float = 0.2
    bandwidth_kbps: int | None = None  # cap; None = search the UDP rate (loss 2-5 %)
    udp_loss_target: tuple[float, float] = (2.0, 5.0)
    udp_probe_s: int = 1  # length of one rate-search probe
    udp_search_max_probes: int = 12
    udp_search_start_kbps: int = 10_000_000  # first probe's rate; the search goes down from it
    nuttcp_data_port: int = 5001
    nuttcp_control_port: int = 5002
    iperf_port: int = 5001
    multicast_group: str = "231.1.1.1"
    tcp_buffer: str | None = None  # e.g. "128K" (nuttcp -w / iperf -w)
    udp_buffer: str | None = None
    extra: dict = field(default_factory=dict)
