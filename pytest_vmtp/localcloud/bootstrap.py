"""What a fresh cloud contains: flavors, the `vmtp-local` image, network `public` (unless the
cloud has no external network)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from . import keystone, neutron
from .common import new_id, now

if TYPE_CHECKING:
    from .context import Cloud

FLAVORS = (  # id, name, vcpus, ram MB, disk GB
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("10", "vmtp", 1, 2048, 0),
)
IMAGE_NAME = "vmtp-local"
PUBLIC_NETWORK = "public"


def _os_distro() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("ID="):
                return line[3:].strip().strip('"')
    except OSError:
        pass
    return "linux"


def populate(c: Cloud) -> None:
    """Fill an empty state (keystone.bootstrap made the users); the external network maps to
    the data path's br-ex. What the cloud makes for itself is the admin project's."""
    admin = keystone.admin_caller(c)
    with c.state.edit():
        for flavor_id, name, vcpus, ram, disk in FLAVORS:
            c.state.table("flavors")[flavor_id] = {"id": flavor_id, "name": name, "vcpus": vcpus,
                                                   "ram": ram, "disk": disk}
        image_id = new_id()
        stamp = now()
        c.state.table("images")[image_id] = {
            "id": image_id, "name": IMAGE_NAME, "status": "active", "visibility": "public",
            "protected": False, "os_hidden": False, "container_format": "bare",
            "disk_format": "raw", "size": 0, "virtual_size": None, "min_disk": 0, "min_ram": 0,
            "checksum": None, "os_hash_algo": None, "os_hash_value": None,
            "owner": admin.project_id, "created_at": stamp, "updated_at": stamp,
            "tags": [], "os_distro": _os_distro(), "os_admin_user": "root",
            "description": "The host's own userland, run in a network namespace per server."}
        neutron.default_group(c, admin.project_id)
        if not c.state.external_network:
            return
        gw_ip, prefixlen = c.dataplane.external_gateway()
        cidr = ipaddress.ip_network(f"{gw_ip}/{prefixlen}", strict=False)
        net = neutron.create_network(c, {"name": PUBLIC_NETWORK, "router:external": True,
                                         "shared": False}, admin)
        pools = ([{"start": str(cidr.network_address + 10), "end": str(cidr.network_address + 250)}]
                 if prefixlen == 24 else None)
        body = {"network_id": net["id"], "name": f"{PUBLIC_NETWORK}-subnet", "cidr": str(cidr),
                "gateway_ip": gw_ip, "enable_dhcp": False}
        if pools:
            body["allocation_pools"] = pools
        neutron.create_subnet(c, body, admin)
