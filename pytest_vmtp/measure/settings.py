"""What to measure and how: the measurement engine's whole input besides hosts.

Defaults are defaults.yaml's (which mirror VMTP's cfg.default.yaml); config.py fills the rest
from the user's YAML and options.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_vmtp.catalogue import MULTICAST_TOOLS, TOOLS, Tool
from pytest_vmtp.defaults import value

__all__ = ["MULTICAST_TOOLS", "TOOLS", "MeasureSettings"]


@dataclass(frozen=True)
class MeasureSettings:
    """Field defaults come from defaults.yaml (pytest_vmtp.defaults), the one table of them."""

    tool: Tool = value("tool")
    duration_s: int = value("duration_s")
    tcp_pkt_sizes: tuple[int, ...] = value("tcp_pkt_sizes")
    tcp_runs: int = value("tcp_runs")  # TCP runs per size, one result item each
    udp_pkt_sizes: tuple[int, ...] = value("udp_pkt_sizes")
    icmp_pkt_sizes: tuple[int, ...] = value("icmp_pkt_sizes")
    ping_count: int = value("ping_count")
    ping_interval_s: float = value("ping_interval_s")
    bandwidth_kbps: int | None = None  # cap (defaults.yaml `bandwidth`, null); None = search the UDP rate
    udp_loss_target: tuple[float, float] = value("udp_loss_target")
    udp_probe_s: int = value("udp_probe_s")  # length of one rate-search probe
    udp_search_max_probes: int = value("udp_search_max_probes")
    udp_search_start_kbps: int = value("udp_search_start_kbps")  # the search goes down from it
    nuttcp_data_port: int = value("nuttcp_data_port")
    nuttcp_control_port: int = value("nuttcp_control_port")
    iperf_port: int = value("iperf_port")
    multicast_group: str = value("multicast_group")
    multicast_tool: str = value("multicast_tool")  # auto | nuttcp | iperf (measure/multicast.py)
    tcp_buffer: str | None = value("tcp_buffer")  # e.g. "128K" (nuttcp -w / iperf -w)
    udp_buffer: str | None = value("udp_buffer")
    # Deadlines: a command ends within its own length plus this grace; an SSH connection that
    # gets no answer for as long is lost (keepalives every ssh_keepalive_s notice it).
    command_grace_s: float = value("command_grace_s")
    ssh_keepalive_s: float = value("ssh_keepalive_s")
