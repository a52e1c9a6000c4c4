"""Security groups as Neutron's iptables firewall driver applies them: at the host, stateful.

Each filtered port gets two chains in its host namespace's filter table, reached from FORWARD
through physdev matches on its tap (br_netfilter hands bridged frames to iptables; nftables'
bridge family would need nf_conntrack_bridge, which kernels without that module lack):
  sg-i<port>: to the VM  - established/related back in, invalid dropped, rules, else DROP
  sg-o<port>: from the VM - no egress rules given: everything goes out (Neutron's default group
              allows all egress); with egress rules: those plus replies, else DROP.
iptables-restore --noflush replaces just these chains in one atomic transaction.

IPv6 rules get the same two chains in ip6tables (bridged IPv6 frames reach it through
br_netfilter's bridge-nf-call-ip6tables), with what Neutron's firewall adds by itself there:
neighbour discovery and MLD in, router advertisements in and DHCPv6 replies to the port's
addresses (securitygroups_rpc_base's provider rules); out, a spoof chain sg-s<port> (the
port's IPv6 addresses and its link-local one, with its MAC), no router advertisements nor
DHCPv6 replies from the VM, every other ICMPv6 and DHCPv6 requests allowed.
"""

from __future__ import annotations

from .model import SecurityRule
from .names import Names
from .nl import run_in


def _jumps(tap: str, port_id: str) -> list[str]:
    return [
        f"FORWARD -m physdev --physdev-out {tap} --physdev-is-bridged "
        f"-j {Names.sg_chain(port_id, 'ingress')}",
        f"FORWARD -m physdev --physdev-in {tap} --physdev-is-bridged "
        f"-j {Names.sg_chain(port_id, 'egress')}",
    ]


def _match(rule: SecurityRule, ethertype: str = "IPv4") -> str | None:
    """iptables (ip6tables) match of one rule, or None when it is of the other family."""
    if rule.ethertype != ethertype:
        return None
    parts: list[str] = []
    if rule.remote_ip_prefix:
        parts.append(("-s " if rule.direction == "ingress" else "-d ") + rule.remote_ip_prefix)
    proto = (rule.protocol or "").lower()
    if proto in ("", "any", "0"):
        return " ".join(parts)
    if proto in ("icmp", "1", "ipv6-icmp", "icmpv6", "58"):
        six = ethertype == "IPv6"
        parts.append("-p ipv6-icmp" if six else "-p icmp")
        if rule.port_range_min is not None:  # Neutron: min = ICMP type, max = code
            code = f"/{rule.port_range_max}" if rule.port_range_max is not None else ""
            parts.append(f"-m icmp6 --icmpv6-type {rule.port_range_min}{code}" if six
                         else f"--icmp-type {rule.port_range_min}{code}")
        return " ".join(parts)
    parts.append(f"-p {proto}")
    if proto in ("tcp", "udp") and rule.port_range_min is not None:
        hi = rule.port_range_max if rule.port_range_max is not None else rule.port_range_min
        ports = f"{rule.port_range_min}" if hi == rule.port_range_min \
            else f"{rule.port_range_min}:{hi}"
        parts.append(f"-m {proto} --dport {ports}")
    return " ".join(parts)


def render(tap: str, port_id: str, rules: tuple[SecurityRule, ...], new: bool,
           source: tuple[str, str] | None = None) -> str:
    """iptables-restore input (for --noflush) that (re)defines the port's two chains.

    source: the port's (ip, mac); when given, frames from the VM with another source address
    are dropped first, as Neutron's anti-spoofing chain does for port-security ports."""
    chain_in, chain_out = Names.sg_chain(port_id, "ingress"), Names.sg_chain(port_id, "egress")
    lines = ["*filter", f":{chain_in} - [0:0]", f":{chain_out} - [0:0]"]
    if new:
        lines += [f"-A {jump}" for jump in _jumps(tap, port_id)]
    stateful = "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
    invalid = "-m conntrack --ctstate INVALID -j DROP"
    lines += [f"-A {chain_in} {stateful}", f"-A {chain_in} {invalid}"]
    for rule in rules:
        match = _match(rule) if rule.direction == "ingress" else None
        if match is not None:
            lines.append(f"-A {chain_in} {match} -j RETURN".replace("  ", " "))
    lines.append(f"-A {chain_in} -j DROP")
    if source is not None:
        ip, mac = source
        # A port without an IPv4 address sends no IPv4 at all.
        lines.append(f"-A {chain_out} ! -s {ip}/32 -j DROP" if ip else f"-A {chain_out} -j DROP")
        lines.append(f"-A {chain_out} -m mac ! --mac-source {mac} -j DROP")
    egress = [r for r in rules if r.direction == "egress"]
    if egress:
        lines += [f"-A {chain_out} {stateful}", f"-A {chain_out} {invalid}"]
        for rule in egress:
            match = _match(rule)
            if match is not None:
                lines.append(f"-A {chain_out} {match} -j RETURN".replace("  ", " "))
        lines.append(f"-A {chain_out} -j DROP")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


ICMPV6_INGRESS = (130, 135, 136)  # MLD query, neighbour solicitation and advertisement
ICMPV6_UNSPECIFIED = (131, 135, 143)  # MLD reports, NS: from :: during DAD
ICMPV6_RA = 134


def _lla(mac: str) -> str:
    """The link-local address the kernel gives a MAC (EUI-64 in fe80::/64)."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    words = [octets[0] << 8 | octets[1], octets[2] << 8 | 0xFF, 0xFE00 | octets[3],
             octets[4] << 8 | octets[5]]
    return "fe80::" + ":".join(f"{w:x}" for w in words)


def render6(tap: str, port_id: str, rules: tuple[SecurityRule, ...], new: bool,
            source: tuple[tuple[str, ...], str] | None = None) -> str:
    """ip6tables-restore input (for --noflush) that (re)defines the port's IPv6 chains.

    source: (the port's IPv6 addresses, its MAC) for the spoof chain; given for port-security
    ports as in render()."""
    chain_in, chain_out = Names.sg_chain(port_id, "ingress"), Names.sg_chain(port_id, "egress")
    spoof = Names.sg_chain(port_id, "spoof")
    lines = ["*filter", f":{chain_in} - [0:0]", f":{chain_out} - [0:0]", f":{spoof} - [0:0]"]
    if new:
        lines += [f"-A {jump}" for jump in _jumps(tap, port_id)]
    stateful = "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
    invalid = "-m conntrack --ctstate INVALID -j DROP"
    icmp6 = "-p ipv6-icmp -m icmp6 --icmpv6-type"
    lines.append(f"-A {chain_in} {stateful}")
    lines += [f"-A {chain_in} {icmp6} {kind} -j RETURN" for kind in ICMPV6_INGRESS]
    addresses, mac = source if source is not None else ((), "")
    if addresses:  # the provider rules: RAs in, DHCPv6 replies to the port's addresses
        lines.append(f"-A {chain_in} {icmp6} {ICMPV6_RA} -j RETURN")
        for dest in [f"{a}/128" for a in addresses] + ["fe80::/64"]:
            lines.append(f"-A {chain_in} -d {dest} -p udp -m udp --sport 547 --dport 546 "
                         "-j RETURN")
    lines.append(f"-A {chain_in} {invalid}")
    for rule in rules:
        match = _match(rule, "IPv6") if rule.direction == "ingress" else None
        if match is not None:
            lines.append(f"-A {chain_in} {match} -j RETURN".replace("  ", " "))
    lines.append(f"-A {chain_in} -j DROP")
    if source is not None:
        lines += [f"-A {chain_out} -s ::/128 -d ff02::/16 {icmp6} {kind} -j RETURN"
                  for kind in ICMPV6_UNSPECIFIED]
        for address in (*addresses, _lla(mac)):
            lines.append(f"-A {spoof} -s {address}/128 -m mac --mac-source {mac} -j RETURN")
        lines += [f"-A {spoof} -j DROP", f"-A {chain_out} -j {spoof}"]
        lines += [f"-A {chain_out} {icmp6} {ICMPV6_RA} -j DROP",
                  f"-A {chain_out} -p ipv6-icmp -j RETURN",
                  f"-A {chain_out} -p udp -m udp --sport 546 --dport 547 -j RETURN",
                  f"-A {chain_out} -p udp -m udp --sport 547 --dport 546 -j DROP"]
    egress = [r for r in rules if r.direction == "egress"]
    if egress:
        lines += [f"-A {chain_out} {stateful}", f"-A {chain_out} {invalid}"]
        for rule in egress:
            match = _match(rule, "IPv6")
            if match is not None:
                lines.append(f"-A {chain_out} {match} -j RETURN".replace("  ", " "))
        lines.append(f"-A {chain_out} -j DROP")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def apply(netns: str, tap: str, port_id: str, rules: tuple[SecurityRule, ...], new: bool,
          source: tuple[str, str] | None = None, ipv6: tuple[str, ...] = ()) -> None:
    """Install (new=True) or replace the port's filters, IPv4 and IPv6; caller holds the
    host's lock. ipv6: the port's IPv6 addresses (its spoof chain's, with source's MAC)."""
    run_in(netns, ["iptables-restore", "-w", "--noflush"],
           stdin=render(tap, port_id, rules, new, source))
    run_in(netns, ["ip6tables-restore", "-w", "--noflush"],
           stdin=render6(tap, port_id, rules, new, (ipv6, source[1]) if source else None))


def remove(netns: str, tap: str, port_id: str) -> None:
    """Drop the port's jumps and chains (both families); caller holds the host's lock."""
    for command, directions in (("iptables-restore", ("ingress", "egress")),
                                ("ip6tables-restore", ("ingress", "egress", "spoof"))):
        chains = [Names.sg_chain(port_id, d) for d in directions]
        lines = ["*filter"] + [f"-D {jump}" for jump in _jumps(tap, port_id)]
        lines += [f"-F {c}" for c in chains] + [f"-X {c}" for c in chains] + ["COMMIT"]
        run_in(netns, [command, "-w", "--noflush"], stdin="\n".join(lines) + "\n")
