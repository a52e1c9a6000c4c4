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

    def check_free(self) -> None:
        """Refuse to start when either range is already routed or addressed on this machine."""
        mine = [self.mgmt, self.external]
        with IPRoute() as ipr:
            for route in ipr.get_routes(family=socket.AF_INET, table=254):
                dst, plen = route.get("RTA_DST"), route["dst_len"]
                if dst is None or plen == 0:
                    continue
                _refuse_overlap(ipaddress.IPv4Network(f"{dst}/{plen}", strict=False), mine,
                                f"route to {dst}/{plen}")
            for addr in ipr.get_addr(family=socket.AF_INET):
                ip = addr.get("IFA_ADDRESS")
                net = ipaddress.IPv4Network(f"{ip}/{addr['prefixlen']}", strict=False)
                _refuse_overlap(net, mine, f"address {ip}/{addr['prefixlen']}")


def _refuse_overlap(net: ipaddress.IPv4Network, mine: list[ipaddress.IPv4Network],
                    what: str) -> None:
    for own in mine:
        if net.overlaps(own):
            raise DataplaneError(
                f"{own} is already in use on this machine ({what}); another local cloud may "
                "own it: stop it (or run its clean-up) or give this one other ranges")
