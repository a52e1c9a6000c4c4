"""Host selection: forced `zone:host`/`zone::node`, a zone alone, server-group policies,
different_host/same_host hints, least loaded. Each compute host is in one availability zone
(CloudState.zones)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import nova

ZONE = "nova"


class NoValidHost(Exception):  # noqa: N818 - Nova's own name for it
    """No host satisfies the request; the server goes to ERROR (as in Nova)."""


def parse_zone(value: object, zones: dict[str, str]) -> tuple[str | None, str | None]:
    """(the forced host, the zone) named by availability_zone ("zone", "zone:host",
    "zone::node", ":host"), None for any; 400 for unknown zones and hosts.
    zones: each compute host's zone."""
    if not value:
        return None, None
    zone, _, rest = str(value).partition(":")
    if zone and zone not in zones.values():
        raise nova(400, "The requested availability zone is not available")
    host, _, node = rest.partition(":")
    forced = host or node
    if forced and forced not in zones:
        raise nova(400, f"Compute host {forced} could not be found.")
    return forced or None, zone or None


def pick(hosts: list[str], servers: list[dict[str, Any]], forced: str | None,
         group: dict[str, Any] | None, zone: str | None = None,
         zones: dict[str, str] | None = None, different_host: Iterable[str] = (),
         same_host: Iterable[str] = ()) -> str:
    """Choose a compute host (in zone, when given); raises NoValidHost.

    different_host / same_host: the scheduler hints of Nova's DifferentHostFilter and
    SameHostFilter (a host with none, or with one, of those servers), which this scheduler
    runs as a deployment that enables them does."""
    load = {h: 0 for h in hosts}
    for s in servers:
        if s.get("OS-EXT-SRV-ATTR:host") in load:
            load[s["OS-EXT-SRV-ATTR:host"]] += 1
    candidates = [forced] if forced else [h for h in hosts
                                          if zone is None or (zones or {}).get(h, ZONE) == zone]
    if group is not None:
        used = {s["OS-EXT-SRV-ATTR:host"] for s in servers if s["id"] in group["members"]}
        policy = group["policy"]
        if policy == "affinity" and used:
            candidates = [h for h in candidates if h in used]
        elif policy == "anti-affinity":
            candidates = [h for h in candidates if h not in used]
    placed = {s["id"]: s.get("OS-EXT-SRV-ATTR:host") for s in servers}
    away = {placed[i] for i in different_host if placed.get(i)}
    near = {placed[i] for i in same_host if placed.get(i)}
    candidates = [h for h in candidates if h not in away and (not near or h in near)]
    if not candidates:
        raise NoValidHost("No valid host was found. There are not enough hosts available.")
    return min(candidates, key=lambda h: (load[h], hosts.index(h)))
