"""Checks for every value that reaches a tool's command line: addresses, groups, sizes, ports.

The values come from options, config files, host specs and the cloud's API, and the command
lines run as root on hosts. Quoting alone would turn `1.2.3.4 -x` into a harmless but wrong
argument; checking each value for its kind (ipaddress for addresses) refuses it with one line
naming it instead. The builders check, then quote (shlex.quote) what they put in a command.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import replace
from typing import Any

from .errors import MeasureError
from .probe import RunSpec

# nuttcp -w and iperf -w: a number of bytes, or of K / M (both tools read them the same way).
_BUFFER = re.compile(r"[1-9][0-9]{0,9}[kKmM]?")
_SCOPE = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # an IPv6 zone: an interface name or index
MAX_PKT_SIZE = 1 << 24
MAX_RATE_KBPS = 1 << 40


class InvalidValue(MeasureError, ValueError):  # noqa: N818 - a ValueError by its bases
    """A value unfit for a command line; str() is one line naming it and what is expected."""

    def __init__(self, what: str, value: Any, reason: str) -> None:
        super().__init__(f"{what} {value!r}: {reason}")  # repr: a newline stays on the line
        self.value, self.reason = value, reason


def ip_address(value: Any, what: str = "address") -> str:
    """An IPv4 or IPv6 address (a link-local one may carry a zone such as %eth0), as given."""
    if not isinstance(value, str):
        raise InvalidValue(what, value, "not an IP address")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise InvalidValue(what, value, "not an IP address") from None
    _, sep, zone = value.partition("%")
    if sep and not _SCOPE.fullmatch(zone):
        raise InvalidValue(what, value, f"not an IP address (bad zone {zone!r})")
    return value


def is_ipv6(address: str) -> bool:
    """Is this (checked) address an IPv6 one? The tools' IPv6 flags follow the destination."""
    return ipaddress.ip_address(address.partition("%")[0]).version == 6


def multicast_group(value: Any, what: str = "multicast group") -> str:
    """An IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address."""
    address = ip_address(value, what)
    if not ipaddress.ip_address(address.partition("%")[0]).is_multicast:
        raise InvalidValue(what, value, "not a multicast address (224.0.0.0/4 or ff00::/8)")
    return address


def buffer_size(value: Any, what: str = "buffer") -> str:
    """A socket buffer size such as 65536, 128K or 4M."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _BUFFER.fullmatch(text):
        raise InvalidValue(what, value, "use a size in bytes, K or M, such as 128K or 4M")
    return text


def whole_number(value: Any, what: str, largest: int, smallest: int = 1) -> int:
    """An int (or a string of digits) within [smallest, largest]."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    if number is None or not smallest <= number <= largest:
        raise InvalidValue(what, value, f"expected a whole number from {smallest} to {largest}")
    return number


def port(value: Any, what: str = "port") -> int:
    return whole_number(value, what, 65535)


def seconds(value: Any, what: str = "duration") -> float:
    """A positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidValue(what, value, "expected a positive number of seconds")
    return float(value)


PROTOCOLS = ("TCP", "UDP", "Multicast")


def run_spec(spec: RunSpec) -> RunSpec:
    """The spec with every field checked (and numbers as numbers), or InvalidValue."""
    if spec.protocol not in PROTOCOLS:
        raise InvalidValue("protocol", spec.protocol, f"expected one of {', '.join(PROTOCOLS)}")
    return replace(
        spec,
        dest_ip=ip_address(spec.dest_ip, "destination address"),
        duration_s=seconds(spec.duration_s, "duration"),
        pkt_size=None if spec.pkt_size is None else whole_number(spec.pkt_size, "packet size", MAX_PKT_SIZE),
        rate_kbps=None if spec.rate_kbps is None else whole_number(spec.rate_kbps, "rate (kbit/s)", MAX_RATE_KBPS),
        buffer=None if spec.buffer is None else buffer_size(spec.buffer),
        multicast_group=None if spec.multicast_group is None else multicast_group(spec.multicast_group),
    )
