"""What a run needs of the project's quotas, what the project has free, and the one line that
says which quota is short, before anything is made (rather than a quota error halfway).

needs() and shortfalls() are pure; headroom() reads Nova's limits and Neutron's quota details
(a quota the credentials cannot read is not checked). Counted: what the run itself makes.
Ports made by the cloud for the project (a DHCP agent's, one per subnet with DHCP, on clouds
that run one) are not: they are the cloud's choice, and a quota short of them still fails as
Neutron says it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from openstack.connection import Connection

from pytest_vmtp.cloud.settings import MINIMAL_VMS

# quota name -> how people say it; Nova's limits first, then Neutron's quotas.
LABELS = {"instances": "instances", "cores": "cores", "ram": "RAM (MB)", "key_pairs": "key pairs",
          "ports": "ports", "floating_ips": "floating IPs", "networks": "networks", "subnets": "subnets",
          "routers": "routers", "security_groups": "security groups"}
# Nova's absolute limits: (quota, max key, used key); key pairs have no "used" there.
_NOVA = (("instances", "instances", "instances_used"), ("cores", "total_cores", "total_cores_used"),
         ("ram", "total_ram", "total_ram_used"))
_NEUTRON = ("ports", "floating_ips", "networks", "subnets", "routers", "security_groups")


@dataclass(frozen=True)
class Needs:
    instances: int = 0
    cores: int = 0
    ram: int = 0
    key_pairs: int = 0
    ports: int = 0
    floating_ips: int = 0
    networks: int = 0
    subnets: int = 0
    routers: int = 0
    security_groups: int = 0

    def items(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """What decides the needs: the VMs, their flavor, and what the run makes."""

    vms: int  # VMs the selected rows need (the server included)
    vcpus: int
    ram: int  # MB per VM
    floating_vms: int  # VMs that get a floating IP
    networks: int  # networks (and subnets) the run makes
    router: bool  # the run makes its router
    interfaces: int  # router interfaces the run adds (on its own networks' subnets)
    security_group: bool
    key_pair: bool
    subnets_per_network: int = 1  # 2 in IPv6 mode: an IPv6 subnet beside each IPv4 one


def needs(plan: Plan, minimal: bool) -> Needs:
    """The run's needs, with every VM at once (fast) or at most MINIMAL_VMS at a time."""
    vms = min(plan.vms, MINIMAL_VMS) if minimal else plan.vms
    floating = min(plan.floating_vms, MINIMAL_VMS) if minimal else plan.floating_vms
    return Needs(instances=vms, cores=vms * plan.vcpus, ram=vms * plan.ram, key_pairs=int(plan.key_pair),
                 ports=vms + plan.interfaces, floating_ips=floating,
                 networks=plan.networks, subnets=plan.networks * plan.subnets_per_network, routers=int(plan.router),
                 security_groups=int(plan.security_group))


@dataclass(frozen=True)
class Room:
    limit: int  # -1: unlimited
    used: int

    @property
    def free(self) -> int | None:
        return None if self.limit < 0 else max(self.limit - self.used, 0)


def shortfalls(wanted: Needs, rooms: dict[str, Room]) -> list[str]:
    """'instances: needs 5, 2 free (limit 2, 0 in use)' for each quota that is short."""
    out = []
    for name, amount in wanted.items().items():
        room = rooms.get(name)
        if room is None or room.free is None or amount <= room.free:
            continue
        out.append(f"{LABELS[name]}: needs {amount}, {room.free} free (limit {room.limit}, {room.used} in use)")
    return out


def verdict(plan: Plan, minimal: bool, rooms: dict[str, Room]) -> str | None:
    """None when the run fits; else the one line saying which quotas are short and what helps."""
    short = shortfalls(needs(plan, minimal), rooms)
    if not short:
        return None
    line = "the project's quotas are short for this run: " + "; ".join(short)
    if not minimal and plan.vms > MINIMAL_VMS and not shortfalls(needs(plan, True), rooms):
        return line + (f": give --vmtp-footprint minimal (at most {MINIMAL_VMS} VMs and {MINIMAL_VMS} "
                       "floating IPs at a time, which fits), or raise them (openstack quota set)")
    return line + ": raise them (openstack quota set), or select fewer rows"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def headroom(conn: Connection) -> tuple[dict[str, Room], list[str]]:
    """(quota -> limit and use, what could not be read): Nova's absolute limits, Neutron's
    quota details of the current project."""
    rooms: dict[str, Room] = {}
    unread: list[str] = []
    try:
        absolute = conn.compute.get_limits().absolute
        for name, limit_key, used_key in _NOVA:
            limit, used = _int(getattr(absolute, limit_key, None)), _int(getattr(absolute, used_key, None))
            if limit is not None and used is not None:
                rooms[name] = Room(limit, used)
    except (sdk_exc.SDKException, ksa_exc.ClientException) as exc:
        unread.append(f"Nova limits ({type(exc).__name__})")
    try:
        details = conn.network.get_quota(conn.current_project_id or "", details=True)
        for name in _NEUTRON:
            item = getattr(details, name, None)
            if isinstance(item, dict) and _int(item.get("limit")) is not None:
                rooms[name] = Room(int(item["limit"]), int(item.get("used") or 0) + int(item.get("reserved") or 0))
    except (sdk_exc.SDKException, ksa_exc.ClientException) as exc:
        unread.append(f"Neutron quota details ({type(exc).__name__})")
    return rooms, unread


# `openstack quota set` names of the quotas above, per service; what raise_to_fit may raise.
_SET_NOVA = {"instances": "instances", "cores": "cores", "ram": "ram", "key_pairs": "key_pairs"}
_SET_NEUTRON = {"ports": "port", "floating_ips": "floatingip", "networks": "network", "subnets": "subnet",
                "routers": "router", "security_groups": "security_group"}
# Security-group rules each floating IP adds (ICMP, the tool's TCP and UDP ports), and the
# group's own: only raised here, an estimate (the rules depend on the sources and the tool).
RULES_PER_FLOATING_IP = 4
RULES_BASE = 20


def raise_to_fit(conn: Connection, wanted: Needs, rooms: dict[str, Room]) -> list[str]:
    """Raise the current project's quotas that cannot hold `wanted` to what they need (scale
    mode on the local cloud, whose admin the run is); the `openstack quota set` options used."""
    project = conn.current_project_id or ""
    nova: dict[str, int] = {}
    neutron: dict[str, int] = {}
    for name, amount in wanted.items().items():
        room = rooms.get(name)
        if room is None or room.free is None or amount <= room.free:
            continue
        if name in _SET_NOVA:
            nova[_SET_NOVA[name]] = room.used + amount
        elif name in _SET_NEUTRON:
            neutron[_SET_NEUTRON[name]] = room.used + amount
    if wanted.floating_ips:
        neutron["security_group_rule"] = max(neutron.get("security_group_rule", 0),
                                             RULES_BASE + RULES_PER_FLOATING_IP * wanted.floating_ips
                                             + _rules_in_use(conn, project))
    if nova:
        conn.set_compute_quotas(project, **nova)
    if neutron:
        conn.set_network_quotas(project, **neutron)
    return [f"--{k.replace('_', '-')} {v}" for k, v in {**nova, **neutron}.items()]


def _rules_in_use(conn: Connection, project: str) -> int:
    details = conn.network.get_quota(project, details=True)
    item = getattr(details, "security_group_rules", None)
    return int(item.get("used") or 0) if isinstance(item, dict) else 0
