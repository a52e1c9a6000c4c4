"""Result data classes shared by measure/, the scenarios and report/.

Field names follow VMTP's JSON file so that report/ can write them without renaming.
Throughput is always in kbit/s with 1 kbit = 1000 bit (VMTP mixes 1024 and 1000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ThroughputResult:
    """One throughput measurement (TCP, UDP or Multicast) as VMTP reports it."""

    protocol: str  # "TCP", "UDP" or "Multicast"
    tool: str  # e.g. "nuttcp-8.2.2", "iperf3-3.12"
    throughput_kbps: int
    pkt_size: int | None = None
    loss_rate: float | None = None  # percent, 0..100
    rtt_ms: float | None = None
    retrans: int | None = None
    bandwidth_limit_kbps: int | None = None
    direction: str | None = None  # None (forward) or "reverse"
    cpu_load: dict[str, float] | None = None  # {"tx": %, "rx": %} from the tool itself
    jitter: float | None = None  # ms
    # Spread over repeated runs (TCP is run several times and reported as the mean).
    throughput_kbps_min: int | None = None
    throughput_kbps_max: int | None = None
    runs: int = 1

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class PingSizeResult:
    """ping statistics for one ICMP payload size."""

    packet_size: int
    tx_packets: int
    rx_packets: int
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    rtt_stddev: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IcmpResult:
    """All ping sizes of one flow, VMTP's ICMP item."""

    results: list[PingSizeResult] = field(default_factory=list)
    protocol: str = "ICMP"
    tool: str = "ping"

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "tool": self.tool,
            "results": [r.to_json() for r in self.results],
        }


@dataclass
class ErrorResult:
    """A measurement that could not be made; VMTP's error item."""

    protocol: str
    tool: str
    error: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Measurement = ThroughputResult | IcmpResult | ErrorResult


@dataclass
class FlowResult:
    """One scenario row: the flow it measured, its results and its functional status."""

    scenario: str  # catalogue id, e.g. "2.1"
    name: str  # VMTP's row title
    desc: str  # VMTP's flow description, e.g. "VM to VM same network fixed IP (inter-node)"
    status: str  # "PASSED", "FAILED" or "SKIPPED"
    reason: str | None = None
    ip_from: str | None = None
    ip_to: str | None = None
    az_from: str | None = None
    az_to: str | None = None
    distro_id: str | None = None
    distro_version: str | None = None
    results: list[Measurement] = field(default_factory=list)
    duration_s: float | None = None
    gate: dict[str, Any] | None = None  # the gate's verdict (gate/judge.py Verdict.to_json)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in asdict(self).items() if k != "results"
        }
        out["results"] = [r.to_json() for r in self.results]
        return out
