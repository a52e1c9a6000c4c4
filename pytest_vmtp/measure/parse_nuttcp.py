"""Pure parsers of nuttcp's `-fparse` output: key=value pairs on the final line, or, with -v
(multicast), on several lines of each side ("nuttcp-t:" the transmitter, "nuttcp-r:" the
receiver).

TCP lines carry retrans/rtt_ms, UDP lines drop/pkt/data_loss. With -j (nuttcp 7.0.1+) the
receiver adds jitter: msmaxjitter alone in the brief line (what VMTP read), msmin/avg/max with -v.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MeasureError, one_line


@dataclass(frozen=True)
class NuttcpReport:
    megabytes: float
    real_seconds: float
    rate_mbps: float
    tx_cpu: float | None = None
    rx_cpu: float | None = None
    retrans: int | None = None
    rtt_ms: float | None = None
    drop: int | None = None
    pkt: int | None = None
    jitter_ms: float | None = None  # msmaxjitter (nuttcp 7.0.1+ with -j): VMTP's "jitter"
    multicast_group: str | None = None  # the group the receiver joined (-v output)

    @property
    def throughput_kbps(self) -> int:
        return round(self.rate_mbps * 1000)

    @property
    def loss_rate(self) -> float | None:
        """Percent of datagrams lost; nuttcp's drop can be negative (reordering): clamp."""
        if self.drop is None or not self.pkt:
            return None
        return min(100.0, max(0.0, self.drop * 100.0 / self.pkt))


_PAIR = re.compile(r"(\w+)=(-?[0-9.]+)")


def nuttcp_error_text(text: str) -> str:
    """The part of nuttcp's output that says what went wrong."""
    if text.lstrip().startswith("Usage:"):
        return "nuttcp rejected its command line (printed its usage text)"
    errors = [line.strip() for line in text.splitlines() if "Error" in line or "error" in line]
    return one_line("\n".join(errors) if errors else text) or "no output"


def parse_nuttcp_fparse(text: str) -> NuttcpReport:
    lines = [line for line in text.splitlines() if "rate_Mbps=" in line]
    if not lines:
        raise MeasureError(f"nuttcp: {nuttcp_error_text(text)}")
    values = dict(_PAIR.findall(lines[-1]))

    def num(key: str) -> float | None:
        return float(values[key]) if key in values else None

    def integer(key: str) -> int | None:
        return int(float(values[key])) if key in values else None

    return NuttcpReport(
        megabytes=float(values.get("megabytes", 0.0)),
        real_seconds=float(values.get("real_seconds", 0.0)),
        rate_mbps=float(values["rate_Mbps"]),
        tx_cpu=num("tx_cpu"),
        rx_cpu=num("rx_cpu"),
        retrans=integer("retrans"),
        rtt_ms=num("rtt_ms"),
        drop=integer("drop"),
        pkt=integer("pkt"),
        jitter_ms=num("msmaxjitter"),
    )


_SIDE = re.compile(r"^nuttcp-([tr])[^:]*:\s*(.*)$")
_GROUP = re.compile(r"\bmulticast_group=([0-9A-Fa-f.:]+)")


def parse_nuttcp_verbose(text: str) -> NuttcpReport:
    """`nuttcp -v -fparse` (multicast): the receiver's figures, spread over its lines, and the
    group it joined. A transmitter that sent while the receiver reported nothing gives a report
    of nothing received (nuttcp 6 prints no figures when its receiver could not join)."""
    sides: dict[str, dict[str, str]] = {"t": {}, "r": {}}
    group = None
    for line in text.splitlines():
        match = _SIDE.match(line.strip())
        if not match:
            continue
        side, rest = match.groups()
        if "=" in rest and not rest.startswith(("stats=", "Error")):
            sides[side].update(_PAIR.findall(rest))
        found = _GROUP.search(rest)
        if found and (side == "r" or group is None):
            group = found.group(1)
    received = sides["r"]
    if "rate_Mbps" not in received:
        if "rate_Mbps" in sides["t"]:
            return NuttcpReport(megabytes=0.0, real_seconds=0.0, rate_mbps=0.0, multicast_group=group)
        raise MeasureError(f"nuttcp: {nuttcp_error_text(text)}")

    def num(key: str) -> float | None:
        return float(received[key]) if key in received else None

    def integer(key: str) -> int | None:
        return int(float(received[key])) if key in received else None

    return NuttcpReport(
        megabytes=float(received.get("megabytes", 0.0)),
        real_seconds=float(received.get("real_seconds", 0.0)),
        rate_mbps=float(received["rate_Mbps"]),
        drop=integer("drop"),
        pkt=integer("pkt"),
        jitter_ms=num("msmaxjitter"),
        multicast_group=group,
    )


def parse_nuttcp_version(text: str) -> str:
    """`nuttcp -V` prints e.g. "nuttcp-6.1.2"; returns it as the result's tool name."""
    match = re.search(r"nuttcp-v?(\d+(?:\.\d+)+)", text)
    if not match:
        raise MeasureError(f"nuttcp -V: unexpected output: {one_line(text)}")
    return f"nuttcp-{match.group(1)}"
