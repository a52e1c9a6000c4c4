"""What one client run of any throughput tool yields, whatever the tool."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOutcome:
    throughput_kbps: int
    loss_rate: float | None = None
    rtt_ms: float | None = None
    retrans: int | None = None
    jitter_ms: float | None = None  # the largest the tool reports (VMTP's "jitter")
    cpu_tx: float | None = None
    cpu_rx: float | None = None
    rx_bytes: int | None = None  # UDP: what the receiver got; 0 = nothing arrived
    multicast_group: str | None = None  # multicast: the group the datagrams went to, as reported


@dataclass(frozen=True)
class RunSpec:
    """One client invocation: what to send, how long, how fast, which way."""

    protocol: str  # "TCP", "UDP" or "Multicast"
    dest_ip: str
    duration_s: float
    pkt_size: int | None = None
    rate_kbps: int | None = None
    reverse: bool = False
    buffer: str | None = None
    multicast_group: str | None = None
