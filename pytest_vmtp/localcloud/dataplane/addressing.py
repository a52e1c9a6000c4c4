"""The two fixed address ranges a local cloud owns in the root namespace.

Both default to documentation ranges (RFC 5737) so they never collide with a real network.
Only one cloud at a time can own a pair of ranges; a second cloud needs other ranges.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from pyroute2 import IPRoute

from .nl import DataplaneError

NETWORK_NODE = "network"


@dataclass(frozen=True)
class Addressing:
    mgmt_cidr: str = "198.51.100.0/24"
    external_cidr: str = "203.0.113.0/24"

    @property
    def mgmt(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.mgmt_cidr)

    @property
    def external(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.external_cidr)

    @property
    def root_mgmt_ip(self) -> str:
        return str(self.mgmt[1])

    @property
    def root_external_ip(self) -> str:
        return str(self.external[1])

    def host_ip(self, host: str) -> str:
        """network node .10, compute<i> .10+i."""
        offset = 10 if host == NETWORK_NODE else 10 + int(host.removeprefix("compute"))
        return str(self.mgmt[offset])

    def check_free(self, external: bool = True) -> None:
        """Refuse to start when either range (the management one only, for a cloud without
        an external network) is already routed or addressed on this machine."""
        mine = [self.mgmt, self.external] if external else [self.mgmt]
        for own in mine:
            used = in_use(own)
            if used:
                raise DataplaneError(
                    f"{own} is already in use on this machine ({used}); another local cloud "
                    "may own it: stop it (or run its clean-up) or give this one other ranges")


def in_use(net: ipaddress.IPv4Network) -> str | None:
    """What on this machine (root namespace) already covers part of net: a route or an
    address, in words; None when the range is free."""
    with IPRoute() as ipr:
        for route in ipr.get_routes(family=socket.AF_INET, table=254):
            dst, plen = route.get("RTA_DST"), route["dst_len"]
            if dst is not None and plen != 0 and \
                    ipaddress.IPv4Network(f"{dst}/{plen}", strict=False).overlaps(net):
                return f"route to {dst}/{plen}"
        for addr in ipr.get_addr(family=socket.AF_INET):
            ip = addr.get("IFA_ADDRESS")
            if ipaddress.IPv4Network(f"{ip}/{addr['prefixlen']}", strict=False).overlaps(net):
                return f"address {ip}/{addr['prefixlen']}"
    return None
