"""Multicast: which tool can send to the configured group, and the route the group needs.

VMTP measured multicast with its own nuttcp 8 (`-m32 -o -j -g<group>`): throughput, loss and
the receiver's max jitter, to the configured group (231.1.1.1). nuttcp before 7.2.1 (Debian 12
ships 6.1.2) has neither -g nor -j: it sends to a group of its own choosing and measures no
jitter. iperf 2 sends to any group and its server reports jitter. `multicast_tool: auto` takes
nuttcp where both ends can do what VMTP did, else iperf 2, else old nuttcp, and every result
says what differed (flows.py records the note).

VMTP also added a 224.0.0.0/4 route on every VM and host it measured from (instance.py,
add_multicast_route: on the default route's interface, removed at the end): a host without a
default route, such as the local cloud's compute hosts, cannot send to nor join a group without
one ("Network is unreachable"). multicast_route() does the same for one row, only where no
route covers the group, on the interface towards the peer, and removes it afterwards.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import validate
from .errors import MeasureError, ToolMissing
from .runner import Runner
from .settings import MULTICAST_TOOLS, MeasureSettings
from .tool_iperf2 import Iperf2
from .tool_nuttcp import GROUP_SINCE, NUTTCP_GROUPS, Nuttcp, supports
from .tools import tool_version

ROUTE = "224.0.0.0/4"
ROUTE6 = "ff00::/8"  # IPv6 groups (Linux usually has it on every interface already)
ROUTE_WAIT_S = 10.0
_ADDR_DEV = re.compile(r"^\d+:\s+(\S+)\s+inet6?\s", re.M)  # `ip -o addr show to ADDR`: "2: eth0    inet ..."
_DEV = re.compile(r"\bdev\s+(\S+)")

# Runs as the route's keeper in the background: adds the route (with sudo when the login user
# is not root), says whether it could, and deletes it when stopped (TERM), or when whoever
# started its session is gone (this process, for a local runner; the ssh session's launcher):
# a run killed with kill -9 leaves no route. Its session's leader is found in /proc (a shell
# started by the runner may wait for it, outliving that starter).
_KEEPER = """\
r="{route} dev {dev}"
if ip {family}route add $r 2>/dev/null; then s=""
elif sudo -n ip {family}route add $r 2>/dev/null; then s="sudo -n"
else echo "vmtp-route failed: $(ip {family}route add $r 2>&1)"; exit 1; fi
trap '$s ip {family}route del $r 2>/dev/null; exit 0' TERM INT HUP
echo "vmtp-route added"
p=$PPID
if l=$(cat /proc/$$/stat 2>/dev/null); then
  set -- ${{l##*) }}; l=$(cat /proc/$4/stat 2>/dev/null) && set -- ${{l##*) }} && p=$2
fi
while kill -0 $p 2>/dev/null; do sleep 1; done
$s ip {family}route del $r 2>/dev/null
"""

@dataclass(frozen=True)
class MulticastTool:
    tool: Nuttcp | Iperf2
    note: str | None = None  # how this differs from VMTP's measurement, and why; None: it does not


def choose_tool(client: Runner, server: Runner, settings: MeasureSettings) -> MulticastTool:
    """The tool for this pair of hosts (see the module's docstring); ToolMissing if none."""
    wanted = settings.multicast_tool
    if wanted not in MULTICAST_TOOLS:
        raise MeasureError(f"multicast_tool {wanted!r}: pick one of {', '.join(MULTICAST_TOOLS)}")
    lacking = {name: next((r.label for r in (client, server) if not r.has_binary(name)), None)
               for name in ("nuttcp", "iperf")}
    if wanted != "auto" and lacking[wanted]:
        extra = " (iperf 2: Debian's package iperf)" if wanted == "iperf" else ""
        raise ToolMissing(f"multicast_tool {wanted}: {wanted} not found on host {lacking[wanted]}: "
                          f"install it{extra}")
    nuttcp, oldest = None, ""
    if lacking["nuttcp"] is None:
        versions = [tool_version(r, "nuttcp") for r in (client, server)]
        oldest = next((v for v in versions if not supports(v, GROUP_SINCE)), "")
        nuttcp = Nuttcp(settings, versions[0], multicast_group=not oldest)
    iperf = Iperf2(settings, tool_version(client, "iperf")) if lacking["iperf"] is None else None
    old_note = (f"{oldest} has neither -g nor -j (nuttcp 7.2.1+): it sent to a group of its own, "
                f"not {settings.multicast_group}, and measured no jitter")
    if wanted == "nuttcp" and nuttcp is not None:
        return MulticastTool(nuttcp, old_note if oldest else None)
    if wanted == "iperf" and iperf is not None:
        return MulticastTool(iperf)
    group = ipaddress.ip_address(validate.multicast_group(settings.multicast_group).partition("%")[0])
    nuttcp_takes_it = group.version == 6 or group in NUTTCP_GROUPS
    if nuttcp is not None and not oldest and nuttcp_takes_it and settings.tool != "iperf":
        return MulticastTool(nuttcp)  # VMTP's own measurement
    if iperf is not None:
        if settings.tool == "iperf":
            return MulticastTool(iperf)
        if nuttcp is None:
            why = f"nuttcp is not on host {lacking['nuttcp']}"
        elif oldest:
            why = f"{oldest} cannot send to a chosen group nor measure jitter (nuttcp 7.2.1+ can)"
        else:
            why = f"nuttcp sends only to 231.x.y.z groups, not {settings.multicast_group}"
        return MulticastTool(iperf, f"measured with {iperf.version}: {why}")
    if nuttcp is not None:
        return MulticastTool(nuttcp, old_note if oldest else None)
    raise ToolMissing(f"multicast needs nuttcp or iperf (2) on both hosts; neither is on host "
                      f"{lacking['nuttcp']}: install one")


def _device_towards(runner: Runner, peer: str | None) -> str:
    """The interface a packet to peer leaves by (else the default route's). A peer that is
    this host itself (VMTP's native intra-host flow: the route to it is lo's) is reached on the
    interface that holds its address."""
    peer = validate.ip_address(peer) if peer else None
    tries = ([f"ip route get {peer}", f"ip -o addr show to {peer}"] if peer else []) + ["ip route show default"]
    for command in tries:
        res = runner.run(command, timeout=15)
        found = (_DEV.search(res.stdout) or _ADDR_DEV.search(res.stdout)) if res.ok else None
        if found and found.group(1) != "lo":
            return found.group(1)
    raise MeasureError(f"host {runner.label}: no route towards {peer or 'the peer'} nor a default "
                       f"route to send multicast by: add a {ROUTE} route there")


@contextmanager
def multicast_route(runner: Runner, peer: str | None, group: str) -> Iterator[str | None]:
    """A route for `group` on runner's host while the block runs: nothing when one exists
    (yields None), else 224.0.0.0/4 on the interface towards peer (yields it), removed after."""
    group = validate.multicast_group(group)
    six = validate.is_ipv6(group)
    family, route = ("-6 ", ROUTE6) if six else ("", ROUTE)
    if runner.run(f"ip {family}route get {group.partition('%')[0]}", timeout=15).ok:
        yield None
        return
    dev = _device_towards(runner, peer)
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,15}", dev):
        raise MeasureError(f"host {runner.label}: unexpected interface name {dev!r}")
    keeper = runner.start("sh -c " + shlex.quote(_KEEPER.format(route=route, dev=dev.split("@")[0],
                                                                 family=family)))
    try:
        deadline = time.monotonic() + ROUTE_WAIT_S
        while "vmtp-route" not in (log := keeper.log()):
            if time.monotonic() > deadline or not keeper.alive():
                log = keeper.log()
                break
            time.sleep(0.05)
        if "vmtp-route added" not in log:
            why = log.replace("vmtp-route failed:", "").strip() or "no answer"
            raise MeasureError(f"host {runner.label}: cannot add the multicast route {route} dev {dev} "
                               f"({' '.join(why.split())[:200]}): add one there, or log in as root")
        yield dev
    finally:
        keeper.stop()

