"""IPv4 address management: subnet validation, pools, allocation (Neutron's rules)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from .errors import neutron


def parse_cidr(cidr: object) -> ipaddress.IPv4Network:
    """A subnet CIDR, or 400 as Neutron words it."""
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        raise neutron(400, "HTTPBadRequest",
                      f"Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet.") from None
    if net.version != 4:
        raise neutron(400, "HTTPBadRequest",
                      f"Invalid input for cidr. Reason: '{cidr}' is not an IPv4 subnet.")
    if net.prefixlen > 30:
        raise neutron(400, "InvalidInput",
                      f"Invalid input for operation: Requested subnet {cidr} is too small.")
    return net


def parse_ip(value: object, net: ipaddress.IPv4Network, what: str) -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.IPv4Address(str(value))
    except ValueError:
        raise neutron(400, "HTTPBadRequest",
                      f"Invalid input for {what}. Reason: '{value}' is not a valid IP address.") from None
    if ip not in net:
        raise neutron(400, "InvalidInput",
                      f"Invalid input for operation: {what} {value} is not in subnet {net}.")
    return ip


def default_pools(net: ipaddress.IPv4Network, gateway: str | None) -> list[dict[str, str]]:
    """All usable hosts except the gateway, as Neutron computes them."""
    hosts = list(net.hosts())
    gw = ipaddress.IPv4Address(gateway) if gateway else None
    pools: list[dict[str, str]] = []
    start = prev = None
    for ip in hosts:
        if ip == gw:
            if start is not None:
                pools.append({"start": str(start), "end": str(prev)})
            start = prev = None
            continue
        if start is None:
            start = ip
        prev = ip
    if start is not None:
        pools.append({"start": str(start), "end": str(prev)})
    return pools


def check_pools(pools: object, net: ipaddress.IPv4Network) -> list[dict[str, str]]:
    if not isinstance(pools, list):
        raise neutron(400, "HTTPBadRequest", "Invalid input for allocation_pools.")
    out = []
    for pool in pools:
        if not isinstance(pool, dict):
            raise neutron(400, "HTTPBadRequest", "Invalid input for allocation_pools.")
        start = parse_ip(pool.get("start"), net, "allocation pool start")
        end = parse_ip(pool.get("end"), net, "allocation pool end")
        if end < start:
            raise neutron(400, "InvalidAllocationPool",
                          f"The allocation pool {start}-{end} spans beyond the subnet cidr.")
        out.append({"start": str(start), "end": str(end)})
    return out


def overlaps(net: ipaddress.IPv4Network, others: Iterable[str]) -> bool:
    return any(net.overlaps(ipaddress.ip_network(o)) for o in others)


def allocate(subnet: dict[str, Any], used: set[str]) -> str | None:
    """The first free address of the subnet's pools, or None when exhausted."""
    for pool in subnet["allocation_pools"]:
        ip = ipaddress.IPv4Address(pool["start"])
        end = ipaddress.IPv4Address(pool["end"])
        while ip <= end:
            if str(ip) not in used:
                return str(ip)
            ip += 1
    return None


def prefixlen(subnet: dict[str, Any]) -> int:
    return ipaddress.ip_network(subnet["cidr"]).prefixlen
