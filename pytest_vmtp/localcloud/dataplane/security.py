"""Security groups as Neutron's iptables firewall driver applies them: at the host, stateful.

Each filtered port gets two chains in its host namespace's filter table, reached from FORWARD
through physdev matches on its tap (br_netfilter hands bridged frames to iptables; nftables'
bridge family would need nf_conntrack_bridge, which kernels without that module lack):
  sg-i<port>: to the VM  - established/related back in, invalid dropped, rules, else DROP
  sg-o<port>: from the VM - no egress rules given: everything goes out (Neutron's default group
              allows all egress); with egress rules: those plus replies, else DROP.
iptables-restore --noflush replaces just these chains in one atomic transaction.
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


def _match(rule: SecurityRule) -> str | None:
    """iptables match of one rule, or None when it does not apply to IPv4."""
    if rule.ethertype != "IPv4":
        return None
    parts: list[str] = []
    if rule.remote_ip_prefix:
        parts.append(("-s " if rule.direction == "ingress" else "-d ") + rule.remote_ip_prefix)
    proto = (rule.protocol or "").lower()
    if proto in ("", "any", "0"):
        return " ".join(parts)
    if proto in ("icmp", "1"):
        parts.append("-p icmp")
        if rule.port_range_min is not None:  # Neutron: min = ICMP type, max = code
            code = f"/{rule.port_range_max}" if rule.port_range_max is not None else ""
            parts.append(f"--icmp-type {rule.port_range_min}{code}")
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
        lines.append(f"-A {chain_out} ! -s {ip}/32 -j DROP")
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


def apply(netns: str, tap: str, port_id: str, rules: tuple[SecurityRule, ...], new: bool,
          source: tuple[str, str] | None = None) -> None:
    """Install (new=True) or replace the port's filter; caller holds the host's lock."""
    run_in(netns, ["iptables-restore", "-w", "--noflush"],
           stdin=render(tap, port_id, rules, new, source))


def remove(netns: str, tap: str, port_id: str) -> None:
    """Drop the port's jumps and chains; caller holds the host's lock."""
    chains = [Names.sg_chain(port_id, d) for d in ("ingress", "egress")]
    lines = ["*filter"] + [f"-D {jump}" for jump in _jumps(tap, port_id)]
    lines += [f"-F {c}" for c in chains] + [f"-X {c}" for c in chains] + ["COMMIT"]
    run_in(netns, ["iptables-restore", "-w", "--noflush"], stdin="\n".join(lines) + "\n")
