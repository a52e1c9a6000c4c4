"""IPv6 as Neutron's agents and a guest do it: radvd's configuration (the L3 agent's
ra.py template), dnsmasq's command line and files (the DHCP agent's dhcp.py), and the guest
side of a VM: accept router advertisements, start a DHCPv6 client when they say so, wait
for the addresses Neutron gave the port. The renders are pure; the guest part runs in the
VM's namespace.

Why the guest's DHCPv6 client is ISC dhclient (`dhclient -6`, Debian's isc-dhcp-client):
odhcp6c is not in Debian 12, Debian's busybox has no udhcpc6, and dhcpcd keeps its pid and
lease files at fixed paths per interface name, which every "VM" here would share (they all
have an eth0 and this machine's file system); dhclient takes its lease, pid, configuration
and script paths on its command line. It is also what Debian's ifupdown runs for
`iface eth0 inet6 dhcp`. Its script is ours: it sets the leased address and nothing else
(Debian's dhclient-script would rewrite this machine's /etc/resolv.conf).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pyroute2 import IPRoute

from pytest_vmtp.measure.netns import entered_netns

from .model import DHCPV6_STATEFUL, IPV6_SLAAC, DhcpSpec, Ipv6Address

# Neutron's L3 agent defaults (min_rtr_adv_interval, max_rtr_adv_interval).
MIN_RTR_ADV_INTERVAL = 30
MAX_RTR_ADV_INTERVAL = 100
DHCP_LEASE_S = 86400  # Neutron's dhcp_lease_duration
AUTO_MODES = (IPV6_SLAAC, "dhcpv6-stateless")

# rtnetlink: IFLA_INET6_FLAGS bits (the last RA's flags) and address flags
IF_RA_RCVD, IF_RA_MANAGED, IF_RA_OTHERCONF = 0x20, 0x40, 0x80
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40

# A guest's IPv6 settings, set as its namespace's defaults before its ports exist: accept
# router advertisements and form SLAAC addresses from them (EUI-64, as Neutron computes the
# port's address), solicit at once, no temporary addresses, no duplicate address detection
# (Neutron hands out unique MACs and addresses; DAD would add a second to every boot).
GUEST_SYSCTLS = (("accept_ra", "1"), ("autoconf", "1"), ("router_solicitation_delay", "0"),
                 ("use_tempaddr", "0"), ("addr_gen_mode", "0"), ("accept_dad", "0"))
# A router's or DHCP server's namespace: addresses usable at once, no autoconfiguration.
INFRA_SYSCTLS = (("accept_dad", "0"), ("accept_ra", "0"), ("autoconf", "0"))


def radvd_conf(interfaces: Iterable[tuple[str, int, tuple[Ipv6Address, ...]]]) -> str:
    """radvd.conf for the router's interfaces with IPv6 subnets, (ifname, mtu, addresses),
    as Neutron's template writes it: every such interface advertises the router; the M flag
    for DHCPv6-stateful subnets, the O flag for stateless ones; their prefixes on-link,
    autonomous (SLAAC) for slaac and stateless ones. Subnets whose ipv6_ra_mode is unset
    get their RAs from elsewhere: no prefix of theirs is advertised."""
    out = []
    for ifname, mtu, addresses in interfaces:
        if not addresses:
            continue
        modes = {a.ra_mode for a in addresses}
        lines = [f"interface {ifname}", "{", "   AdvSendAdvert on;",
                 f"   MinRtrAdvInterval {MIN_RTR_ADV_INTERVAL};",
                 f"   MaxRtrAdvInterval {MAX_RTR_ADV_INTERVAL};"]
        if mtu >= 1280:
            lines.append(f"   AdvLinkMTU {mtu};")
        if "dhcpv6-stateless" in modes:
            lines.append("   AdvOtherConfigFlag on;")
        if DHCPV6_STATEFUL in modes:
            lines.append("   AdvManagedFlag on;")
        for address in addresses:
            if address.ra_mode is None:
                continue
            autonomous = "on" if address.ra_mode in AUTO_MODES else "off"
            lines += [f"   prefix {address.cidr}", "   {", "        AdvOnLink on;",
                      f"        AdvAutonomous {autonomous};", "   };"]
        lines.append("};")
        out.append("\n".join(lines))
    return "\n".join(out) + ("\n" if out else "")


def dnsmasq_argv(spec: DhcpSpec, ifname: str, directory: Path) -> list[str]:
    """dnsmasq as Neutron's DHCP agent starts it, for the network's DHCPv6 subnets (one
    `static` range each: addresses only for the hosts in the hosts file), in the foreground,
    logging to stderr, no DNS service (port 0: the local cloud has no resolver to offer).
    --user=root: it rereads the hosts file on SIGHUP, which lives in a directory only root
    may read."""
    argv = ["dnsmasq", "--no-hosts", "--no-resolv", "--keep-in-foreground", "--port=0",
            "--user=root", "--log-facility=-", "--log-dhcp", f"--pid-file={directory}/pid",
            f"--dhcp-hostsfile={directory}/host", f"--dhcp-optsfile={directory}/opts",
            f"--dhcp-leasefile={directory}/leases", "--bind-dynamic", f"--interface={ifname}",
            "--except-interface=lo"]
    for subnet_id, cidr, _mode in spec.subnets:
        network, prefixlen = cidr.split("/")
        argv.append(f"--dhcp-range=set:subnet-{subnet_id},{network},static,{prefixlen},"
                    f"{DHCP_LEASE_S}s")
    argv += [f"--dhcp-lease-max={max(16, len(spec.hosts) * 2)}", "--conf-file=/dev/null"]
    return argv


def dnsmasq_hosts(spec: DhcpSpec) -> str:
    """The hosts file: `mac,host-<address>,[address]` per port on a stateful subnet (dnsmasq
    knows a directly connected DHCPv6 client's MAC from its link-local address)."""
    return "".join(f"{mac},host-{ip.replace(':', '-')},[{ip}]\n" for mac, ip in spec.hosts)


def dnsmasq_opts(spec: DhcpSpec) -> str:
    if not spec.dns_servers:
        return ""
    servers = ",".join(f"[{d}]" for d in spec.dns_servers)
    return "".join(f"tag:subnet-{sid},option6:dns-server,{servers}\n" for sid, _, _ in spec.subnets)


def dhclient_script(directory: Path) -> Path:
    """The guest DHCPv6 client's script: puts the leased address on the interface (and takes
    an old one off); touches nothing else of this machine."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    script = directory / "dhclient-script"
    script.write_text(f"""#!/bin/sh
# pytest-vmtp local cloud: a guest's DHCPv6 lease -> its interface address, nothing else.
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6)
    if [ -n "$old_ip6_address" ] && [ "$old_ip6_address" != "$new_ip6_address" ]; then
      {ip} -6 addr del "$old_ip6_address/$old_ip6_prefixlen" dev "$interface" 2>/dev/null
    fi
    if [ -n "$new_ip6_address" ]; then
      {ip} -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" \\
        valid_lft "${{new_max_life:-forever}}" preferred_lft "${{new_preferred_life:-forever}}"
    fi ;;
  EXPIRE6|RELEASE6|STOP6)
    if [ -n "$old_ip6_address" ]; then
      {ip} -6 addr del "$old_ip6_address/$old_ip6_prefixlen" dev "$interface" 2>/dev/null
    fi ;;
esac
exit 0
""")
    script.chmod(0o755)
    (directory / "dhclient6.conf").write_text("# pytest-vmtp local cloud: dhclient's defaults\n")
    return script


def dhclient_argv(ifname: str, directory: Path, stateless: bool) -> list[str]:
    """`dhclient -6` in the foreground; -S: an information request only (DHCPv6-stateless)."""
    argv = ["dhclient", "-6", "-d"] + (["-S"] if stateless else [])
    return argv + ["-cf", str(directory / "dhclient6.conf"), "-sf", str(directory / "dhclient-script"),
                   "-lf", str(directory / f"dhclient6.{ifname}.leases"),
                   "-pf", str(directory / f"dhclient6.{ifname}.pid"), ifname]


def ra_flags(netns: str, ifname: str) -> int:
    """The interface's IPv6 flags, 0 until a router advertisement came: then IF_RA_RCVD, with
    the last one's M (IF_RA_MANAGED) and O (IF_RA_OTHERCONF) flags."""
    with entered_netns(netns):
        with IPRoute() as ipr:
            link = ipr.get_links(ipr.link_lookup(ifname=ifname)[0])[0]
    spec = link.get_attr("IFLA_AF_SPEC")
    inet6 = spec.get_attr("AF_INET6") if spec is not None else None
    flags = int(inet6.get_attr("IFLA_INET6_FLAGS") or 0) if inet6 is not None else 0
    return flags & (IF_RA_RCVD | IF_RA_MANAGED | IF_RA_OTHERCONF) if flags & IF_RA_RCVD else 0


def ready_addresses(netns: str, ifname: str) -> set[str]:
    """The interface's global IPv6 addresses that are usable (not tentative, DAD passed)."""
    with entered_netns(netns):
        with IPRoute() as ipr:
            index = ipr.link_lookup(ifname=ifname)[0]
            addrs = ipr.get_addr(family=10, index=index)
    out = set()
    for addr in addrs:
        flags = addr.get_attr("IFA_FLAGS") or addr["flags"]
        if addr["scope"] == 0 and not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            out.add(str(addr.get_attr("IFA_ADDRESS")))
    return out


def wait_for(check: Callable[[], object], timeout: float) -> bool:
    """Poll check() until it is true (True) or timeout seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
