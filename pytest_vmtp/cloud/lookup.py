"""Find the pre-existing things a run uses (image, flavor, external network, and the networks,
router, security group and key pair it reuses by name) or say what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from openstack import exceptions as sdk_exc
from openstack.compute.v2.flavor import Flavor
from openstack.compute.v2.keypair import Keypair
from openstack.connection import Connection
from openstack.image.v2.image import Image
from openstack.network.v2.network import Network
from openstack.network.v2.router import Router
from openstack.network.v2.security_group import SecurityGroup

from pytest_vmtp.cloud.errors import CloudError, cloud_errors

if TYPE_CHECKING:
    from openstack.network.v2.subnet import Subnet

R = TypeVar("R")


def _find(finder: Callable[..., object], name_or_id: str, kind: type[R]) -> R | None:
    """find_* by name or id; None when missing (ignore_missing=True is deprecated in SDK 4)."""
    try:
        found = finder(name_or_id, ignore_missing=False)
    except sdk_exc.NotFoundException:
        return None
    assert isinstance(found, kind), found  # the proxies' find_* are typed as any Resource
    return found


def find_image(conn: Connection, name_or_id: str | None) -> Image:
    if not name_or_id:
        raise CloudError("no image given: set --vmtp-image (a Glance image with sshd and the test tools)")
    with cloud_errors(f"looking up image '{name_or_id}'"):
        image = _find(conn.image.find_image, name_or_id, Image)
    if image is None:
        raise CloudError(f"image '{name_or_id}' not found: upload it or set --vmtp-image")
    if image.status and image.status != "active":
        raise CloudError(f"image '{name_or_id}' is {image.status}, not active: wait for the upload or "
                         "set --vmtp-image")
    return image


def maybe_image(conn: Connection, name_or_id: str) -> Image | None:
    """The image of that name or id, None when there is none (checked as find_image does)."""
    with cloud_errors(f"looking up image '{name_or_id}'"):
        found = _find(conn.image.find_image, name_or_id, Image)
    return None if found is None else find_image(conn, found.id)


def maybe_flavor(conn: Connection, name_or_id: str) -> Flavor | None:
    with cloud_errors(f"looking up flavor '{name_or_id}'"):
        return _find(conn.compute.find_flavor, name_or_id, Flavor)


def find_flavor(conn: Connection, name_or_id: str | None) -> Flavor:
    if not name_or_id:
        raise CloudError("no flavor given: set --vmtp-flavor")
    with cloud_errors(f"looking up flavor '{name_or_id}'"):
        flavor = _find(conn.compute.find_flavor, name_or_id, Flavor)
    if flavor is None:
        raise CloudError(f"flavor '{name_or_id}' not found: create it or set --vmtp-flavor")
    return flavor


NO_EXTERNAL_NETWORK = ("no external (router:external) network on this cloud: the floating-IP rows "
                       "need one (--vmtp-external-network)")


def find_external_network(conn: Connection, name_or_id: str | None) -> Network | None:
    """The named network (it must be router:external; CloudError if not), else the first
    external one, else None: a cloud without one still runs the rows that do not need it."""
    with cloud_errors("looking up the external network"):
        if name_or_id:
            net = _find(conn.network.find_network, name_or_id, Network)
            if net is None:
                raise CloudError(f"external network '{name_or_id}' not found: set --vmtp-external-network")
            if not net.is_router_external:
                raise CloudError(f"network '{name_or_id}' is not an external (router:external) network: "
                                 "set --vmtp-external-network")
            return net
        nets = [n for n in conn.network.networks(is_router_external=True) if n.is_router_external]
    return sorted(nets, key=lambda n: (n.name or "", n.id))[0] if nets else None


def find_network(conn: Connection, name_or_id: str) -> tuple[Network, Subnet]:
    """An existing network to reuse (--vmtp-network) and its first IPv4 subnet."""
    with cloud_errors(f"looking up network '{name_or_id}'"):
        net = _find(conn.network.find_network, name_or_id, Network)
        if net is None:
            raise CloudError(f"network '{name_or_id}' not found: check --vmtp-network (a name or id "
                             "of a network this project can use)")
        subnets = [s for s in conn.network.subnets(network_id=net.id)
                   if s.network_id == net.id and s.ip_version == 4]
    if not subnets:
        raise CloudError(f"network '{name_or_id}' has no IPv4 subnet: the VMs need addresses "
                         "(--vmtp-network)")
    return net, sorted(subnets, key=lambda s: (s.created_at or "", s.id))[0]


def ipv6_cidr(conn: Connection, network_id: str) -> str | None:
    """The CIDR of the network's first IPv6 subnet (None: it has none)."""
    with cloud_errors("looking up the network's IPv6 subnet"):
        subnets = [s for s in conn.network.subnets(network_id=network_id)
                   if s.network_id == network_id and s.ip_version == 6]
    return sorted(subnets, key=lambda s: (s.created_at or "", s.id))[0].cidr if subnets else None


def find_router(conn: Connection, name_or_id: str) -> Router:
    with cloud_errors(f"looking up router '{name_or_id}'"):
        router = _find(conn.network.find_router, name_or_id, Router)
    if router is None:
        raise CloudError(f"router '{name_or_id}' not found: check router: in the --vmtp-config file")
    return router


def find_security_group(conn: Connection, name_or_id: str) -> SecurityGroup:
    with cloud_errors(f"looking up security group '{name_or_id}'"):
        group = _find(conn.network.find_security_group, name_or_id, SecurityGroup)
    if group is None:
        raise CloudError(f"security group '{name_or_id}' not found: check security_group: in the "
                         "--vmtp-config file")
    return group


def find_keypair(conn: Connection, name: str) -> Keypair:
    with cloud_errors(f"looking up key pair '{name}'"):
        keypair = _find(conn.compute.find_keypair, name, Keypair)
    if keypair is None:
        raise CloudError(f"key pair '{name}' not found: check key_pair: in the --vmtp-config file")
    return keypair


def routers_of(conn: Connection, network_id: str) -> list[Router]:
    """The routers with an interface on the network (as far as this project may see)."""
    owners = ("network:router_interface", "network:router_interface_distributed",
              "network:ha_router_replicated_interface")
    with cloud_errors("listing the routers of a network"):
        ids = {p.device_id for p in conn.network.ports(network_id=network_id)
               if p.network_id == network_id and (p.device_owner or "") in owners and p.device_id}
        routers = [_find(conn.network.find_router, rid, Router) for rid in sorted(ids)]
    return [r for r in routers if r is not None]


def gateway_network(router: Router) -> str | None:
    """The id of the network the router's gateway is on (None: no gateway)."""
    return (router.external_gateway_info or {}).get("network_id") or None


def login_user_of(image: Image, configured: str | None) -> str:
    """The configured user, else the image's os_admin_user property, else 'ubuntu' (VMTP's)."""
    if configured:
        return configured
    user = getattr(image, "os_admin_user", None) or (getattr(image, "properties", None) or {}).get("os_admin_user")
    return str(user) if user else "ubuntu"
