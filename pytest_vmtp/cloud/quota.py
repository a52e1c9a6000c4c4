"""Does the project's quota hold the VMs a run is about to boot?

Checked before the many VMs of scale mode boot, so that a short quota is one line saying what
to raise instead of a batch of failed boots. On the local cloud, of which the run holds the
admin credentials, the quotas are raised instead (openstack quota set, through the API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openstack.connection import Connection

from pytest_vmtp.cloud.errors import CloudError, cloud_errors

# Security-group rules each floating IP adds (ICMP, the tool's TCP and UDP ports) and a margin.
RULES_PER_FLOATING_IP = 4
RULES_MARGIN = 20


@dataclass(frozen=True)
class Need:
    """What booting `instances` more VMs of a flavor takes."""

    instances: int
    cores: int
    ram: int
    floating_ips: int
    ports: int

    @classmethod
    def of(cls, instances: int, flavor: dict[str, Any], floating_ips: bool) -> Need:
        return cls(instances, instances * int(flavor.get("vcpus") or 1), instances * int(flavor.get("ram") or 0),
                   instances if floating_ips else 0, instances)


@dataclass(frozen=True)
class Short:
    name: str  # the `openstack quota set` option: instances, cores, ram, floating-ips, ports
    limit: int
    used: int
    wanted: int

    @property
    def enough(self) -> int:
        return self.used + self.wanted


def _short(name: str, limit: Any, used: Any, wanted: int) -> Short | None:
    if wanted <= 0 or limit is None or int(limit) < 0:  # -1: unlimited
        return None
    return Short(name, int(limit), int(used or 0), wanted) if int(used or 0) + wanted > int(limit) else None


def _network_used(details: Any, key: str) -> tuple[Any, Any]:
    value = getattr(details, key, None) or {}
    return value.get("limit"), value.get("used")


def shortfalls(conn: Connection, need: Need) -> list[Short]:
    """The quotas that cannot hold `need` on top of what the project uses."""
    with cloud_errors("reading the project's limits"):
        absolute = conn.compute.get_limits().absolute
        details = conn.network.get_quota(str(conn.current_project_id), details=True)
    found = [
        _short("instances", absolute.instances, absolute.instances_used, need.instances),
        _short("cores", absolute.total_cores, absolute.total_cores_used, need.cores),
        _short("ram", absolute.total_ram, absolute.total_ram_used, need.ram),
        _short("floating-ips", *_network_used(details, "floating_ips"), need.floating_ips),
        _short("ports", *_network_used(details, "ports"), need.ports),
        _short("secgroup-rules", *_network_used(details, "security_group_rules"),
               need.floating_ips * RULES_PER_FLOATING_IP + RULES_MARGIN if need.floating_ips else 0),
    ]
    return [s for s in found if s is not None]


_NOVA = {"instances": "instances", "cores": "cores", "ram": "ram"}
_NEUTRON = {"floating-ips": "floatingip", "ports": "port", "secgroup-rules": "security_group_rule"}


def ensure(conn: Connection, need: Need, raise_them: bool, progress: Callable[[str], None]) -> None:
    """Raise CloudError naming what to raise (one line), or raise the quotas (raise_them)."""
    short = shortfalls(conn, need)
    if not short:
        return
    settings = " ".join(f"--{s.name} {s.enough}" for s in short)
    if not raise_them:
        what = ", ".join(f"{s.name} {s.used} used + {s.wanted} needed > {s.limit}" for s in short)
        raise CloudError(f"the project's quota cannot hold the {need.instances} VMs to boot ({what}): "
                         f"raise it, e.g. `openstack quota set {settings} <project>`")
    project = str(conn.current_project_id)
    with cloud_errors("raising the local cloud's quotas"):
        nova = {_NOVA[s.name]: s.enough for s in short if s.name in _NOVA}
        neutron = {_NEUTRON[s.name]: s.enough for s in short if s.name in _NEUTRON}
        if nova:
            conn.set_compute_quotas(project, **nova)
        if neutron:
            conn.set_network_quotas(project, **neutron)
    progress(f"local cloud: quotas raised for {need.instances} more VMs ({settings})")
