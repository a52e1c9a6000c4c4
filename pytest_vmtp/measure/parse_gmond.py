"""Ganglia's XML (what gmond, or gmetad, writes to a TCP client) -> each host's CPU load.

Pure: bytes in, figures out. The XML comes off the network, so it is parsed with defusedxml
(entity expansion and external references refused; gmond's own internal DTD, which declares
elements and attributes only, is fine).

A host's load is VMTP's (vmtp/monitor.py build_cpu_metrics): round((cpu_user + cpu_system) *
cpu_num / 100, 2), i.e. how many CPUs were busy, keyed by the HOST element's IP attribute.
Unlike VMTP, which counted a missing metric as 0, a host lacking one of the three metrics (a
gmond that has not collected them yet, a host that does not send them) has no load in that
sample rather than a false 0.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as SafeET

CPU_METRICS = ("cpu_user", "cpu_system", "cpu_num")


class GmondXmlError(ValueError):
    """Not Ganglia XML that can be read; str() is one line."""


@dataclass(frozen=True)
class GmondHost:
    """One HOST element: its NAME, IP and every METRIC's NAME -> VAL (as text)."""

    name: str
    ip: str
    metrics: dict[str, str]


def parse_hosts(data: bytes) -> list[GmondHost]:
    """Every HOST element with an IP, wherever it sits (gmond: GANGLIA_XML/CLUSTER/HOST;
    gmetad: also under GRID); GmondXmlError when data is not Ganglia XML."""
    try:
        root = SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise GmondXmlError(f"refused XML: {type(exc).__name__}") from None
    except ET.ParseError as exc:
        raise GmondXmlError(f"not XML: {exc}") from None
    if root.tag != "GANGLIA_XML":
        raise GmondXmlError(f"not Ganglia XML: the document is <{root.tag}>, not <GANGLIA_XML>")
    hosts = []
    for host in root.iter("HOST"):
        ip = (host.get("IP") or "").strip()
        if not ip:
            continue
        metrics = {m.get("NAME", ""): m.get("VAL", "") for m in host.iter("METRIC")}
        hosts.append(GmondHost(name=host.get("NAME", ""), ip=ip, metrics=metrics))
    return hosts


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def cpu_load(host: GmondHost) -> float | None:
    """(cpu_user + cpu_system) * cpu_num / 100, rounded to 2 places as VMTP; None without the
    three metrics as numbers."""
    user, system, num = (_number(host.metrics.get(name)) for name in CPU_METRICS)
    if user is None or system is None or num is None:
        return None
    return round((user + system) * int(num) / 100, 2)


def cpu_loads(data: bytes) -> dict[str, float]:
    """{host IP: load} of the hosts in the XML that report the three CPU metrics."""
    loads: dict[str, float] = {}
    for host in parse_hosts(data):
        load = cpu_load(host)
        if load is not None:
            loads.setdefault(host.ip, load)
    return loads
