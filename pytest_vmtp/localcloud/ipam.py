"""Address management: subnet validation, pools, allocation, EUI-64 (Neutron's rules), for
IPv4 and IPv6 subnets alike."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from .errors import neutron

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def invalid(message: str) -> Exception:
    """Neutron's InvalidInput (400)."""
    return neutron(400, "InvalidInput", f"Invalid input for operation: {message}.")


def parse_cidr(cidr: object, ip_version: int = 4) -> IpNetwork:
    """A subnet CIDR of this IP version, or 400 as Neutron words it."""
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        raise neutron(400, "HTTPBadRequest",
                      f"Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet.") from None
    if net.version != ip_version:
        raise invalid(f"cidr '{cidr}' does not match the ip_version '{ip_version}'")
    if net.version == 6 and net.network_address == ipaddress.IPv6Address("::"):
        raise invalid("IPv6 subnet '::' is not supported")
    if net.version == 4 and net.prefixlen > 30:
        raise invalid(f"Requested subnet {cidr} is too small")
    return net


def parse_ip(value: object, net: IpNetwork, what: str) -> IpAddress:
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        raise neutron(400, "HTTPBadRequest",
                      f"Invalid input for {what}. Reason: '{value}' is not a valid IP address.") from None
    if ip.version != net.version:
        raise invalid(f"{what} '{value}' does not match the ip_version '{net.version}'")
    if ip not in net:
        raise invalid(f"{what} {value} is not in subnet {net}")
    return ip


def default_pools(net: IpNetwork, gateway: str | None) -> list[dict[str, str]]:
    """Neutron's generate_pools: IPv4 without the network and broadcast addresses, IPv6
    without the subnet-router anycast address (the first), then without the gateway.
    Computed from the ends: an IPv6 /64 has 2**64 addresses."""
    first, last = int(net.network_address) + 1, int(net.broadcast_address)
    if net.version == 4:
        last -= 1
    ranges = [(first, last)]
    if gateway:
        gw = int(ipaddress.ip_address(gateway))
        ranges = [(lo, hi) for lo, hi in ((first, gw - 1), (gw + 1, last)) if lo <= hi] \
            if first <= gw <= last else ranges
    make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    return [{"start": str(make(lo)), "end": str(make(hi))} for lo, hi in ranges]


def check_pools(pools: object, net: IpNetwork) -> list[dict[str, str]]:
    if not isinstance(pools, list):
        raise neutron(400, "HTTPBadRequest", "Invalid input for allocation_pools.")
    out = []
    for pool in pools:
        if not isinstance(pool, dict):
            raise neutron(400, "HTTPBadRequest", "Invalid input for allocation_pools.")
        start = parse_ip(pool.get("start"), net, "allocation pool start")
        end = parse_ip(pool.get("end"), net, "allocation pool end")
        if int(end) < int(start):
            raise neutron(400, "InvalidAllocationPool",
                          f"The allocation pool {start}-{end} spans beyond the subnet cidr.")
        out.append({"start": str(start), "end": str(end)})
    return out


def overlaps(net: IpNetwork, others: Iterable[str]) -> bool:
    return any(net.version == o.version and net.overlaps(o)
               for o in (ipaddress.ip_network(x) for x in others))


def allocate(subnet: dict[str, Any], used: set[str]) -> str | None:
    """The first free address of the subnet's pools, or None when exhausted."""
    for pool in subnet["allocation_pools"]:
        start = ipaddress.ip_address(pool["start"])
        make = type(start)
        for number in range(int(start), int(ipaddress.ip_address(pool["end"])) + 1):
            if str(make(number)) not in used:
                return str(make(number))
    return None


def prefixlen(subnet: dict[str, Any]) -> int:
    return ipaddress.ip_network(subnet["cidr"]).prefixlen


def eui64(cidr: str, mac: str) -> str:
    """The address SLAAC gives a MAC in a /64 (RFC 4291 appendix A; Neutron's
    get_ipv6_addr_by_EUI64): the MAC with ff:fe in its middle, its universal/local bit flipped."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    interface_id = int.from_bytes(bytes(octets[:3] + [0xFF, 0xFE] + octets[3:]), "big")
    net = ipaddress.IPv6Network(cidr)
    return str(ipaddress.IPv6Address(int(net.network_address) | interface_id))


AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")


def is_auto_address(subnet: dict[str, Any]) -> bool:
    """SLAAC or DHCPv6-stateless: the port's address is its EUI-64 (ipv6_utils)."""
    return subnet.get("ipv6_address_mode") in AUTO_ADDRESS_MODES or \
        subnet.get("ipv6_ra_mode") in AUTO_ADDRESS_MODES
