"""Where a native host's clients reach its server side: VMTP's `--host user@ip::ifname`
(here also `,listen=IFNAME|ADDRESS`). VMTP read the interface's IPv4 address with ifconfig on
that host; this asks `ip -o addr show dev IFNAME` there (IPv4 first, else a global IPv6).
The tool's server still listens on every address, as VMTP's did (nuttcp has no bind option).
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from .errors import MeasureError
from .runner import Runner

# "2: eth0    inet 198.18.202.11/24 brd ... scope global eth0\       valid_lft ..."
_ADDR = re.compile(r"^\d+:\s+\S+\s+(inet6?)\s+([0-9A-Fa-f:.]+)/\d+.*?\bscope\s+(\w+)", re.M)


def parse_ip_addr(output: str) -> str | None:
    """The address clients should use from `ip -o addr show dev X`: the first IPv4 one, else
    the first global IPv6 one; None when the interface has neither."""
    found = [(family, addr, scope) for family, addr, scope in _ADDR.findall(output)]
    for family, addr, _ in found:
        if family == "inet":
            return addr
    for family, addr, scope in found:
        if family == "inet6" and scope == "global":
            return addr
    return None


def listen_address(runner: Runner, listen: str) -> str:
    """listen as an address: an IP address is taken as it is; an interface name is looked up
    on the host itself. MeasureError (one line) when it has no usable address there."""
    try:
        return str(ipaddress.ip_address(listen))
    except ValueError:
        pass
    res = runner.run(f"ip -o addr show dev {shlex.quote(listen)}", timeout=15)
    if not res.ok:
        raise MeasureError(f"{runner.label}: listen={listen}: no such interface there "
                           f"({res.output.strip().splitlines()[0] if res.output.strip() else 'ip failed'})")
    address = parse_ip_addr(res.stdout)
    if address is None:
        raise MeasureError(f"{runner.label}: listen={listen}: the interface has no IPv4 or global IPv6 address")
    return address
