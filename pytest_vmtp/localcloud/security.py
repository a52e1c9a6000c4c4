"""Security groups -> the data path's flat rules, pushed to every server they affect.

Remote-group rules are resolved to the /32s of the member ports, so a membership change
can alter other servers' filters too: `push` recomputes every booted server and sends only
the filters that changed.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from .dataplane.model import SecurityRule
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp"}
# IPv6 rules: Neutron reads "icmp" and "icmpv6" as ICMPv6 there (IPV6_ICMP_LEGACY_PROTO_LIST).
_PROTOCOLS6 = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "ipv6-icmp",
               "icmpv6": "ipv6-icmp", "ipv6-icmp": "ipv6-icmp", "58": "ipv6-icmp"}
_ANY = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}


def server_ports(c: Cloud, server_id: str) -> list[Resource]:
    return [p for p in c.state.table("ports").values()
            if p["device_id"] == server_id and p["device_owner"].startswith("compute:")]


def _group_prefixes(c: Cloud, group_id: str, ethertype: str) -> list[str]:
    """The member ports' addresses of the rule's family, as host prefixes."""
    version = 6 if ethertype == "IPv6" else 4
    return sorted({str(ipaddress.ip_network(ip["ip_address"]))
                   for p in c.state.table("ports").values()
                   if group_id in (p.get("security_groups") or []) for ip in p["fixed_ips"]
                   if ipaddress.ip_address(ip["ip_address"]).version == version})


def _flatten(c: Cloud, rule: Resource) -> list[SecurityRule]:
    ethertype = rule["ethertype"]
    if ethertype not in _ANY:
        return []
    proto = rule.get("protocol")
    if proto is not None:
        proto = (_PROTOCOLS6 if ethertype == "IPv6" else _PROTOCOLS).get(str(proto).lower())
        if proto is None:
            return []
    prefixes: list[str | None]
    if rule.get("remote_group_id"):
        prefixes = list(_group_prefixes(c, rule["remote_group_id"], ethertype))
    elif rule.get("remote_ip_prefix") in (None, _ANY[ethertype]):
        prefixes = [None]
    else:
        prefixes = [rule["remote_ip_prefix"]]
    return [SecurityRule(direction=rule["direction"], ethertype=ethertype, protocol=proto,
                         port_range_min=rule.get("port_range_min"),
                         port_range_max=rule.get("port_range_max"), remote_ip_prefix=prefix)
            for prefix in prefixes]


def rules_for_groups(c: Cloud, group_ids: list[str]) -> tuple[SecurityRule, ...]:
    out: list[SecurityRule] = []
    for rule in c.state.table("security_group_rules").values():
        if rule["security_group_id"] in group_ids:
            for flat in _flatten(c, rule):
                if flat not in out:
                    out.append(flat)
    return tuple(out)


def server_security(c: Cloud, server_id: str) -> tuple[tuple[SecurityRule, ...], bool]:
    """(rules, port_security) of a server: the union over its ports."""
    ports = server_ports(c, server_id)
    groups: list[str] = []
    for port in ports:
        groups += [g for g in port.get("security_groups") or [] if g not in groups]
    port_security = all(p.get("port_security_enabled", True) for p in ports)
    return rules_for_groups(c, groups), port_security


def push(c: Cloud) -> None:
    """Send changed filters of every booted server to the data path (state lock held)."""
    for server in c.state.table("servers").values():
        if not server.get("_booted") or server.get("OS-EXT-STS:task_state") == "deleting":
            continue
        rules, port_security = server_security(c, server["id"])
        if not port_security:
            rules = (SecurityRule("ingress"), SecurityRule("egress"),
                     SecurityRule("ingress", "IPv6"), SecurityRule("egress", "IPv6"))
        if c.pushed_rules.get(server["id"]) != rules:
            try:  # like Neutron's agents: a data-path failure never fails the API call
                c.dataplane.update_security(server["id"], rules)
            except Exception:
                logging.exception("security update of server %s failed", server["id"])
                continue
            c.pushed_rules[server["id"]] = rules
