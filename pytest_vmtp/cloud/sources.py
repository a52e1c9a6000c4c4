"""Source prefixes of security group rules: who may reach the test VMs' ports.

Given as IPv4/IPv6 prefixes or addresses, or THIS_MACHINE: this machine's own address toward
the run's router, as the kernel's routing picks it (the address the VMs see when no NAT lies
between; on the local cloud, this machine's address on its external network).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from pytest_vmtp.cloud.errors import CloudError
from pytest_vmtp.cloud.settings import THIS_MACHINE


def this_machine_toward(address: str) -> str:
    """This machine's source address for packets to address (no packet is sent)."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 9))
            return str(probe.getsockname()[0])
    except OSError as exc:
        raise CloudError(f"cannot tell this machine's address toward {address} ({exc.strerror or exc}): "
                         "give prefixes in ssh_from / flow_sources instead of this-machine") from None


def resolve(prefixes: Iterable[str], toward: str | None) -> list[str]:
    """Normalised prefixes ("a.b.c.d/32" for an address), THIS_MACHINE replaced, no duplicates.
    toward: the address THIS_MACHINE is seen from (the router's external address)."""
    out: list[str] = []
    for prefix in prefixes:
        if prefix == THIS_MACHINE:
            if toward is None:
                raise CloudError("this-machine needs the router's external address, and the router has none")
            prefix = this_machine_toward(toward)
        try:
            network = str(ipaddress.ip_network(str(prefix), strict=False))
        except ValueError:
            raise CloudError(f"source {prefix!r} is not an IP prefix") from None
        if network not in out:
            out.append(network)
    return out
