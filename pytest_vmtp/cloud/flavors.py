"""The test VMs' flavor: the one of the configured name, else one the run makes from the
config's spec (VMTP's `flavor`: vcpus, ram, disk, extra_specs), named vmtp-<run id>-flavor so
that the run's cleanup and vmtp-cleanup find it (flavors take no tags), deleted at the end."""

from __future__ import annotations

from typing import Any

from openstack import exceptions as sdk_exc
from openstack.compute.v2.flavor import Flavor
from openstack.connection import Connection

from pytest_vmtp.cloud import lookup
from pytest_vmtp.cloud.errors import CloudError, cloud_errors, http_details
from pytest_vmtp.cloud.settings import FlavorSpec

ROLE = "flavor"  # its name: vmtp-<run id>-flavor


def describe(spec: FlavorSpec) -> str:
    specs = ", ".join(f"{k}={v}" for k, v in spec.extra_specs)
    return f"{spec.vcpus} vCPU, {spec.ram} MB RAM, {spec.disk} GB disk" + (f", {specs}" if specs else "")


def record(flavor: Flavor, created: bool = False) -> dict[str, Any]:
    """What the topology keeps of the flavor (the quota check reads vcpus and ram)."""
    return {"id": flavor.id, "name": flavor.name, "vcpus": int(flavor.vcpus or 0),
            "ram": int(flavor.ram or 0), "created": created}


def find(conn: Connection, name: str) -> Flavor | None:
    return lookup.maybe_flavor(conn, name)


def create(conn: Connection, wanted: str, spec: FlavorSpec, name: str) -> Flavor:
    """Make the flavor `name` from spec for the missing `wanted` one, with its extra specs (a
    flavor whose extra specs fail is deleted again). Needs an admin: a 403 says so."""
    try:
        flavor = conn.compute.create_flavor(name=name, vcpus=spec.vcpus, ram=spec.ram, disk=spec.disk,
                                            is_public=True)
    except sdk_exc.ForbiddenException as exc:
        raise CloudError(f"flavor '{wanted}' not found, and making it ({describe(spec)}) was refused "
                         f"(HTTP 403: {http_details(exc)}): it needs an admin; create it or set "
                         "--vmtp-flavor") from None
    except sdk_exc.SDKException as exc:
        with cloud_errors(f"creating flavor {name} for the missing '{wanted}'"):
            raise exc
    if spec.extra_specs:
        try:
            with cloud_errors(f"setting the extra specs of flavor {name}"):
                conn.compute.create_flavor_extra_specs(flavor, dict(spec.extra_specs))
        except CloudError:
            with cloud_errors(f"deleting flavor {name} whose extra specs failed"):
                conn.compute.delete_flavor(flavor, ignore_missing=True)
            raise
    return flavor
