"""Host selection: forced `zone:host`/`zone::node`, server-group policies, least loaded."""

from __future__ import annotations

from typing import Any

from .errors import nova

ZONE = "nova"


class NoValidHost(Exception):
    """No host satisfies the request; the server goes to ERROR (as in Nova)."""


def parse_zone(value: object, hosts: list[str]) -> str | None:
    """The forced host named by availability_zone, None for any; 400 for unknown zones."""
    if not value:
        return None
    zone, _, rest = str(value).partition(":")
    if zone not in ("", ZONE):
        raise nova(400, "The requested availability zone is not available")
    host, _, node = rest.partition(":")
    forced = host or node
    if forced and forced not in hosts:
        raise nova(400, f"Compute host {forced} could not be found.")
    return forced or None


def pick(hosts: list[str], servers: list[dict[str, Any]], forced: str | None,
         group: dict[str, Any] | None) -> str:
    """Choose a compute host; raises NoValidHost."""
    load = {h: 0 for h in hosts}
    for s in servers:
        if s.get("OS-EXT-SRV-ATTR:host") in load:
            load[s["OS-EXT-SRV-ATTR:host"]] += 1
    candidates = [forced] if forced else list(hosts)
    if group is not None:
        used = {s["OS-EXT-SRV-ATTR:host"] for s in servers if s["id"] in group["members"]}
        policy = group["policy"]
        if policy == "affinity" and used:
            candidates = [h for h in candidates if h in used]
        elif policy == "anti-affinity":
            candidates = [h for h in candidates if h not in used]
    if not candidates:
        raise NoValidHost("No valid host was found. There are not enough hosts available.")
    return min(candidates, key=lambda h: (load[h], hosts.index(h)))
