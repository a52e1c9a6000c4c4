"""A router's IPv4 multicast relay between its tenant networks, as OVN's does when a logical
router has `options:mcast_relay=true` (and its networks IGMP snooping, Neutron's
`[ovs] igmp_snooping_enable`): the router learns from the IGMP reports arriving on each of
its internal interfaces which groups have listeners behind it, and forwards a datagram sent
to such a group from another internal interface there, TTL decremented, with the router
port's MAC as source (ovn-northd's IP_INPUT/IP_ROUTING/DELIVERY flows for relay).

How: one nftables table in the qrouter namespace, all in the kernel, no process:
  snoop  (prerouting, raw): an IGMPv2 report or IGMPv3 join (record types 2 and 4) on qr-X
         puts the group in set m_<qr-X> for 300 s (OVN's mcast_idle_timeout), renewed by
         every report; an IGMPv2 leave or IGMPv3 TO_IN({}) (type 3, no sources) takes it out.
         Only the first record of an IGMPv3 report is read (Linux reports one group change
         per record, one record per report for a single join).
  relay  (prerouting, filter): a datagram to 224.0.0.0/4 (not the link-local 224.0.0.0/24),
         TTL above 1, from another internal interface, to a group in m_<qr-Y>: `dup to <the
         group> device qr-Y` (the kernel's nf_dup_ipv4, which decrements the TTL of what it
         copies in prerouting); the original, like all multicast here, is not routed further.
Never to or from the gateway (qg-) leg: the external network gets no tenant multicast.

Why not the kernel's multicast routing driven by a routing daemon (smcroute, pimd,
igmpproxy, all in Debian): they need CONFIG_IP_MROUTE, which kernels built without it (this
project's test machines') lack: pimd stops with "Cannot enable multicast routing in kernel:
Protocol not available". nf_tables and its dup expression are in every distribution
kernel. IPv6 groups (MLD) are not relayed. Neutron configures no IGMP querier for OVN, and
neither is there one here: a listener that stays longer than 300 s without reporting again
loses the relay, as on such a cloud.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable

from .nl import DataplaneError, run_in

TABLE = "vmtp_mcast_relay"
MEMBERSHIP_TIMEOUT_S = 300  # OVN's default mcast_idle_timeout
LINK_LOCAL = "224.0.0.0/24"  # never routed (RFC 5771)


def set_name(ifname: str) -> str:
    return f"m_{ifname}"


def render(ifnames: Iterable[str], gone: Iterable[str] = ()) -> str:
    """nft input bringing the table to relay between ifnames (the router's internal legs with
    an IPv4 address), keeping the groups already learned; gone: legs relayed before and
    removed since, whose sets go. Pure."""
    names = sorted(set(ifnames))
    t = f"ip {TABLE}"
    lines = [f"add table {t}"]
    for ifname in names:
        lines.append(f"add set {t} {set_name(ifname)} {{ type ipv4_addr; flags dynamic,timeout; "
                     f"timeout {MEMBERSHIP_TIMEOUT_S}s; }}")
    lines += [f"add chain {t} snoop {{ type filter hook prerouting priority raw; policy accept; }}",
              f"add chain {t} relay {{ type filter hook prerouting priority filter; policy accept; }}",
              f"flush chain {t} snoop", f"flush chain {t} relay"]
    for ifname in names:
        members, iif = f"@{set_name(ifname)}", f'iifname "{ifname}" ip protocol igmp'
        lines += [f"add rule {t} snoop {iif} igmp type membership-report-v2 update {members} {{ ip daddr }}",
                  f"add rule {t} snoop {iif} igmp type membership-report-v3 @th,64,8 {{ 2, 4 }} "
                  f"update {members} {{ @th,96,32 }}",
                  f"add rule {t} snoop {iif} igmp type membership-report-v3 @th,64,8 3 @th,80,16 0 "
                  f"delete {members} {{ @th,96,32 }}",
                  f"add rule {t} snoop {iif} igmp type leave-group delete {members} {{ @th,32,32 }}"]
    if len(names) > 1:
        lines += [f"add rule {t} relay ip daddr != 224.0.0.0/4 return",
                  f"add rule {t} relay ip daddr {LINK_LOCAL} return",
                  f"add rule {t} relay ip ttl <= 1 return"]
        for ifname in names:
            others = ", ".join(f'"{n}"' for n in names if n != ifname)
            lines.append(f"add rule {t} relay iifname {{ {others} }} ip daddr @{set_name(ifname)} "
                         f'dup to ip daddr device "{ifname}"')
    lines += [f"delete set {t} {set_name(ifname)}" for ifname in sorted(set(gone) - set(names))]
    return "\n".join(lines) + "\n"


def apply(netns: str, ifnames: Iterable[str], before: Iterable[str] = ()) -> None:
    """Bring the router's relay to ifnames in one nft transaction; none left: no table."""
    names = list(ifnames)
    if not names:
        if list(before):
            run_in(netns, ["nft", "delete", "table", "ip", TABLE])
        return
    run_in(netns, ["nft", "-f", "-"], stdin=render(names, before))


def members(netns: str, ifname: str) -> list[str]:
    """The groups the router has listeners for behind ifname (for tests and status)."""
    out = run_in(netns, ["nft", "-j", "list", "set", "ip", TABLE, set_name(ifname)])
    found = []
    for item in json.loads(out).get("nftables", []):
        for element in item.get("set", {}).get("elem", []):
            value = element.get("elem", {}).get("val") if isinstance(element, dict) else element
            found.append(str(value))
    return sorted(found)


def check_available() -> None:
    """DataplaneError saying what to do when nft is missing."""
    if shutil.which("nft") is None:
        raise DataplaneError("the routers' multicast relay needs nft (Debian's nftables): run "
                             "bin/setup, or start the local cloud with --no-multicast-relay")
