"""Find the pre-existing things a run uses (image, flavor, external network) or say what to do."""

from __future__ import annotations

from typing import Any

from openstack import exceptions as sdk_exc
from openstack.connection import Connection

from pytest_vmtp.cloud.errors import CloudError, cloud_errors


def _find(finder: Any, name_or_id: str) -> Any:
    """find_* by name or id; None when missing (ignore_missing=True is deprecated in SDK 4)."""
    try:
        return finder(name_or_id, ignore_missing=False)
    except sdk_exc.NotFoundException:
        return None


def find_image(conn: Connection, name_or_id: str | None) -> Any:
    if not name_or_id:
        raise CloudError("no image given: set --vmtp-image (a Glance image with sshd and the test tools)")
    with cloud_errors(f"looking up image '{name_or_id}'"):
        image = _find(conn.image.find_image, name_or_id)
    if image is None:
        raise CloudError(f"image '{name_or_id}' not found: upload it or set --vmtp-image")
    if image.status and image.status != "active":
        raise CloudError(f"image '{name_or_id}' is {image.status}, not active: wait for the upload or "
                         "set --vmtp-image")
    return image


def find_flavor(conn: Connection, name_or_id: str | None) -> Any:
    if not name_or_id:
        raise CloudError("no flavor given: set --vmtp-flavor")
    with cloud_errors(f"looking up flavor '{name_or_id}'"):
        flavor = _find(conn.compute.find_flavor, name_or_id)
    if flavor is None:
        raise CloudError(f"flavor '{name_or_id}' not found: create it or set --vmtp-flavor")
    return flavor


def find_external_network(conn: Connection, name_or_id: str | None) -> Any:
    """The named network (it must be router:external) or the first external one."""
    with cloud_errors("looking up the external network"):
        if name_or_id:
            net = _find(conn.network.find_network, name_or_id)
            if net is None:
                raise CloudError(f"external network '{name_or_id}' not found: set --vmtp-external-network")
            if not net.is_router_external:
                raise CloudError(f"network '{name_or_id}' is not an external (router:external) network: "
                                 "set --vmtp-external-network")
            return net
        nets = [n for n in conn.network.networks(is_router_external=True) if n.is_router_external]
    if not nets:
        raise CloudError("no external (router:external) network found: ask the cloud admin for one or "
                         "set --vmtp-external-network")
    return sorted(nets, key=lambda n: (n.name or "", n.id))[0]


def login_user_of(image: Any, configured: str | None) -> str:
    """The configured user, else the image's os_admin_user property, else 'ubuntu' (VMTP's)."""
    if configured:
        return configured
    user = getattr(image, "os_admin_user", None) or (getattr(image, "properties", None) or {}).get("os_admin_user")
    return str(user) if user else "ubuntu"
