"""Where the VMs go: host A (server, intra-node clients) and host B (inter-node clients).

Three ways, best first, like VMTP: explicit `[az:]host` hypervisors (a host given without a
zone gets the zone its nova-compute service is in); with admin credentials, the first two
enabled and up nova-compute services (booted with availability_zone "zone:host"); otherwise
(a project member, who may neither list the services nor force a host) server groups and
scheduler hints, checked after boot via hostId. Explicit hypervisors need an admin: without
one the VM rows skip, saying so (needs_admin), instead of failing on Nova's 403.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from openstack.connection import Connection

from pytest_vmtp.cloud.errors import CloudError, cloud_errors
from pytest_vmtp.cloud.settings import CloudSettings

EXPLICIT, ADMIN, SCHEDULER = "explicit", "admin", "scheduler"


@dataclass(frozen=True)
class HostChoice:
    zone: str | None
    host: str | None

    def availability_zone(self) -> str | None:
        """Nova's "zone:host" form forces the host (admin only); the zone alone just narrows."""
        if self.host:
            return f"{self.zone or 'nova'}:{self.host}"
        return self.zone


@dataclass(frozen=True)
class Placement:
    mode: str
    a: HostChoice
    b: HostChoice | None  # None: no second host, inter-node roles cannot be placed
    single_host_reason: str | None = None
    needs_admin: str | None = None  # why no VM can be placed with these settings and rights
    # Every host the pairs of scale mode spread over, a and b first (empty: the scheduler's choice).
    hosts: tuple[HostChoice, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Placement:
        b = data.get("b")
        return cls(mode=data["mode"], a=HostChoice(**data["a"]), b=HostChoice(**b) if b else None,
                   single_host_reason=data.get("single_host_reason"),
                   hosts=tuple(HostChoice(**h) for h in data.get("hosts") or ()),
                   needs_admin=data.get("needs_admin"))

    def host_for(self, side: str, pair: int = 1) -> HostChoice | None:
        """Where a VM of this side (A: the pair's server and intra-node clients, B: its
        inter-node clients) and pair goes. Pair 1 is host a / b; pair k's side A is the k-th
        host and its side B the next, round the list: pairs spread over every host, and each
        host serves as many pairs' servers as clients."""
        if pair == 1 or len(self.hosts) < 2:
            return self.a if side == "A" else self.b
        index = (pair - 1) % len(self.hosts) + (0 if side == "A" else 1)
        return self.hosts[index % len(self.hosts)]


def parse_hypervisor(spec: str, default_zone: str | None) -> HostChoice:
    """'[az:]host' -> HostChoice (without a zone: default_zone, else Nova's default, nova)."""
    zone, sep, host = spec.rpartition(":")
    if not host:
        raise CloudError(f"--vmtp-hypervisor {spec!r}: expected [az:]host")
    return HostChoice(zone=zone if sep and zone else (default_zone or "nova"), host=host)


def _services(conn: Connection) -> list[Any] | None:
    """Nova's services; None when the credentials may not list them."""
    try:
        return list(conn.compute.services())
    except (sdk_exc.ForbiddenException, sdk_exc.NotFoundException, ksa_exc.Forbidden):
        return None
    except sdk_exc.HttpException as exc:
        if exc.status_code in (401, 403, 404, 501):
            return None
        raise


def with_zone(conn: Connection, spec: str, zone: str | None) -> HostChoice:
    """'[az:]host' -> HostChoice; a host without a zone gets its nova-compute service's zone
    (where Nova may tell it: admins), else the --vmtp-availability-zone, else "nova"."""
    if ":" in spec:
        return parse_hypervisor(spec, zone)
    with cloud_errors("listing compute services"):
        services = _services(conn)
    if services is None:
        return parse_hypervisor(spec, zone)
    computes = [svc for svc in services if svc.binary == "nova-compute"]
    found = next((svc for svc in computes if svc.host == spec), None)
    if found is None:
        hosts = ", ".join(sorted({str(svc.host) for svc in computes})) or "none"
        raise CloudError(f"--vmtp-hypervisor {spec}: no nova-compute service on host {spec} "
                         f"(compute hosts: {hosts})")
    real = found.availability_zone or "nova"
    if zone and real != zone:
        raise CloudError(f"--vmtp-hypervisor {spec}: the host is in availability zone {real}, "
                         f"not in --vmtp-availability-zone {zone}")
    return HostChoice(zone=real, host=spec)


def compute_hosts(conn: Connection, zone: str | None) -> list[HostChoice] | None:
    """Enabled, up compute hosts in listing order; None when the credentials may not list them."""
    services = _services(conn)
    if services is None:
        return None
    hosts: list[HostChoice] = []
    for svc in services:
        if svc.binary != "nova-compute" or svc.status != "enabled" or svc.state != "up":
            continue
        svc_zone = svc.availability_zone or "nova"
        if zone and svc_zone != zone:
            continue
        choice = HostChoice(zone=svc_zone, host=svc.host)
        if choice not in hosts:
            hosts.append(choice)
    return hosts


NEEDS_ADMIN = ("--vmtp-hypervisor needs an admin: this user may not list Nova's compute services "
               "(403), and forcing a VM onto a host is an admin's by default "
               "(os_compute_api:servers:create:forced_host); leave it out to place the VMs with "
               "server groups")


def plan(conn: Connection, settings: CloudSettings) -> Placement:
    if settings.hypervisors:
        if len(settings.hypervisors) > 2:
            raise CloudError("--vmtp-hypervisor: give it at most twice (server host, client host)")
        with cloud_errors("listing compute services"):
            if _services(conn) is None:
                specs = [parse_hypervisor(h, settings.availability_zone) for h in settings.hypervisors]
                return Placement(EXPLICIT, specs[0], specs[-1], needs_admin=NEEDS_ADMIN)
        choices = [with_zone(conn, h, settings.availability_zone) for h in settings.hypervisors]
        if len(choices) == 1:
            return Placement(EXPLICIT, choices[0], None,
                             f"only one --vmtp-hypervisor given ({settings.hypervisors[0]}): "
                             "inter-node flows need two hosts")
        return Placement(EXPLICIT, choices[0], choices[1], hosts=tuple(choices))
    with cloud_errors("listing compute services"):
        hosts = compute_hosts(conn, settings.availability_zone)
    if hosts is None:
        anywhere = HostChoice(zone=settings.availability_zone, host=None)
        return Placement(SCHEDULER, anywhere, anywhere)
    where = f" in zone '{settings.availability_zone}'" if settings.availability_zone else ""
    if not hosts:
        raise CloudError(f"no enabled nova-compute service is up{where}: check the compute hosts "
                         "or --vmtp-availability-zone")
    if len(hosts) == 1:
        return Placement(ADMIN, hosts[0], None,
                         f"the cloud has one enabled compute host{where} ({hosts[0].host}): "
                         "inter-node flows need two")
    return Placement(ADMIN, hosts[0], hosts[1], hosts=tuple(hosts))
