"""Quotas per project: limits, what is in use, and updates (Nova's and Neutron's names).

One place for what Nova's os-quota-sets/limits and Neutron's quotas both show, and for the
flavor arithmetic that quota checks, limits and hypervisor statistics share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from . import flavors
from .errors import ApiError
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

COMPUTE = ("instances", "cores", "ram", "key_pairs", "server_groups", "server_group_members",
           "metadata_items")
NETWORK = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
           "floatingip": "floatingips", "security_group": "security_groups",
           "security_group_rule": "security_group_rules"}  # quota -> table it counts


def exceeds(limit: int, used: int, wanted: int = 1) -> bool:
    """True when `wanted` more would go over `limit` (-1: unlimited)."""
    return limit >= 0 and used + wanted > limit


def flavor_usage(c: Cloud, servers: Iterable[Resource]) -> tuple[int, int]:
    """(vcpus, ram MB) the servers' flavors add up to (state lock held): the flavors they were
    booted with, as Nova counts them, even if a flavor was deleted since."""
    vcpus = ram = 0
    for server in servers:
        flavor = flavors.of_server(c, server)
        vcpus += flavor.get("vcpus", 0)
        ram += flavor.get("ram", 0)
    return vcpus, ram


def limits(c: Cloud, project_id: str) -> dict[str, int]:
    """Every quota's limit for the project, by name."""
    return asdict(c.state.quotas_of(project_id))


def compute_usage(c: Cloud, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What Nova's quotas count now for the project (key pairs: the user's), by quota name."""
    with c.state.lock:
        servers = [s for s in c.state.table("servers").values() if s["tenant_id"] == project_id]
        cores, ram = flavor_usage(c, servers)
        return {"instances": len(servers), "cores": cores, "ram": ram,
                "key_pairs": sum(1 for k in c.state.table("keypairs").values()
                                 if k["user_id"] == user_id),
                "server_groups": sum(1 for g in c.state.table("server_groups").values()
                                     if g["project_id"] == project_id),
                "server_group_members": 0, "metadata_items": 0}


def used_by(c: Cloud, table: str, project_id: str) -> int:
    """How many of a Neutron table's resources the project owns (as Neutron counts quotas)."""
    with c.state.lock:
        return sum(1 for item in c.state.table(table).values()
                   if item.get("project_id", project_id) == project_id)


def network_usage(c: Cloud, project_id: str) -> dict[str, int]:
    """What Neutron's quotas count now for the project, by quota name."""
    return {name: used_by(c, table, project_id) for name, table in NETWORK.items()}


def update(c: Cloud, project_id: str, body: Mapping[str, Any], names: Iterable[str],
           invalid: Callable[[str], ApiError]) -> None:
    """Set the project's named quotas found in body (others are ignored); invalid(name) for a
    value that is not an integer. Under the state lock, as every other change."""
    names = set(names)
    with c.state.edit():
        changes: dict[str, int] = {}
        for name, value in body.items():
            if name in names:
                try:
                    changes[name] = int(value)
                except (TypeError, ValueError):
                    raise invalid(name) from None
        c.state.set_quotas(project_id, replace(c.state.quotas_of(project_id), **changes))
