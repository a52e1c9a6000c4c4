"""Result data classes shared by measure/, the scenarios and report/.

Field names follow VMTP's JSON file so that report/ can write them without renaming.
Throughput is always in kbit/s with 1 kbit = 1000 bit (VMTP mixes 1024 and 1000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RateSearch:
    """How the UDP send rate was found when no bandwidth was given: every probe, in order."""

    outcome: str  # converged | sender-limited | narrowed | probe-limit (measure/udp_search.py)
    loss_target: list[float]  # percent, [low, high]: the window the search aimed at
    probe_s: float  # length of one probe
    probes: list[dict[str, Any]] = field(default_factory=list)  # rate_kbps, throughput_kbps, loss_rate


@dataclass
class ThroughputResult:
    """One throughput measurement (TCP, UDP or Multicast) as VMTP reports it.

    TCP: one item per run (VMTP runs TCP three times), each with its own rtt and
    retransmissions; `run` numbers them. UDP: one item per packet size.
    """

    protocol: str  # "TCP", "UDP" or "Multicast"
    tool: str  # e.g. "nuttcp-8.2.2", "iperf3-3.12"
    throughput_kbps: int  # what the receiver got
    pkt_size: int | None = None
    loss_rate: float | None = None  # percent, 0..100
    rtt_ms: float | None = None
    retrans: int | None = None
    bandwidth_limit_kbps: int | None = None  # the user's cap (--vmtp-bandwidth) only
    direction: str | None = None  # None (forward) or "reverse"
    # Host CPU from Ganglia, as VMTP: {host IP: [load, ...]}, a load being the CPUs busy,
    # (cpu_user + cpu_system) * cpu_num / 100, sampled at the start and then every
    # gmond_interval_s (measure/gmond.py); absent without a gmond.
    cpu_load: dict[str, list[float]] | None = None
    tool_cpu_pct: dict[str, float] | None = None  # {"tx": %, "rx": %}: the tool's own sender/receiver
    jitter: float | None = None  # ms, the largest the tool reports (VMTP: nuttcp's msmaxjitter)
    jitter_kind: str | None = None  # "max" (nuttcp -j) or "max-interval" (iperf 2), see README
    run: int | None = None  # TCP: 1, 2, 3... of the runs of this size
    search_rate_kbps: int | None = None  # UDP without a cap: the send rate the search chose
    loss_in_target: bool | None = None  # ... and whether the full-length run's loss hit the window
    rate_search: RateSearch | None = None
    multicast_group: str | None = None  # multicast: the group the datagrams went to ...
    multicast_group_asked: str | None = None  # ... and the one asked for (multicast_group setting)
    note: str | None = None  # what differs from what was asked (VMTP's tool, group), and why
    # Scale mode (--vmtp-pairs): `pairs` measured at once; throughput_kbps, loss_rate and retrans
    # are then the pairs' together (sum; loss of all sent), rtt_ms and jitter their mean, each
    # pair's own figures in pair_results, their spread and fairness in distribution.
    pairs: int | None = None
    pair_results: list[dict[str, Any]] | None = None  # pair, throughput_kbps, loss_rate, rtt_ms ...
    distribution: dict[str, Any] | None = None  # min_kbps, median_kbps, max_kbps, jain_index
    start_skew_ms: float | None = None  # the clients' start moments spread over this long

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
    ping_interval_s: float | None = None  # seconds between pings (VMTP: ping's default, 1 s)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "tool": self.tool,
            "results": [r.to_json() for r in self.results],
        }
        if self.ping_interval_s is not None:
            out["ping_interval_s"] = self.ping_interval_s
        return out


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
    ip_version: int | None = None  # the flow's address family: 4, or 6 (--vmtp-ipv6-mode)
    az_from: str | None = None
    az_to: str | None = None
    distro_id: str | None = None
    distro_version: str | None = None
    multicast_address: str | None = None  # multicast rows: the configured group (VMTP's flow key)
    results: list[Measurement] = field(default_factory=list)
    duration_s: float | None = None
    gate: dict[str, Any] | None = None  # the gate's verdict (gate/judge.py Verdict.to_json)
    # A further flow measured for the same row, and which ("intra-host": VMTP's "Native
    # intra-host" flow beside the inter-host one of 7.x); None: the row's own flow, the one its
    # table cell shows. Companions are extra flows of the JSON, never extra rows.
    companion: str | None = None
    companions: list[FlowResult] = field(default_factory=list)  # of the row's own flow
    # Scale mode: pairs (the largest step), progression, steps run, why it stopped early.
    scale: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)  # what went wrong beside the row (a gmond)

    def warn(self, lines: list[str]) -> None:
        self.warnings.extend(line for line in lines if line not in self.warnings)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in asdict(self).items()
            if k not in ("results", "warnings", "companion", "companions") and not (k == "scale" and v is None)
        }
        if self.companion is not None:
            out["companion"] = self.companion
        out["results"] = [r.to_json() for r in self.results]
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out
