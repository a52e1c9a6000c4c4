"""Which segment a network gets: Neutron's ML2 type drivers (flat, vlan, vxlan), as configured
on this cloud, with their validation and their errors.

Configuration, in ML2's terms: tenant_network_types = vxlan; flat_networks = the physical
networks (and `public`, the external network's, when the cloud has one); network_vlan_ranges
= each physical network with 1:4094; vni_ranges = 1001:16777215 for tenant networks.
Setting `provider:*` is what an admin does to make a provider network (a network with
`router:external` stays on `public`, flat: the data path's external bridge).
Allocations are read from the networks themselves: nothing else to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .dataplane.model import ProviderSegment
from .errors import ApiError, neutron

if TYPE_CHECKING:
    from .context import Cloud

NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID = (
    "provider:network_type", "provider:physical_network", "provider:segmentation_id")
PROVIDER_KEYS = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
EXTERNAL_PHYSNET = "public"  # the external network's (flat) physical network
MIN_VLAN, MAX_VLAN = 1, 4094
MAX_VNI = (1 << 24) - 1
TENANT_VNI_START = 1001


@dataclass(frozen=True)
class Segment:
    network_type: str  # flat | vlan | vxlan
    physical_network: str | None
    segmentation_id: int | None

    def attributes(self) -> dict[str, Any]:
        return {NETWORK_TYPE: self.network_type, PHYSICAL_NETWORK: self.physical_network,
                SEGMENTATION_ID: self.segmentation_id}

    def provider(self) -> ProviderSegment | None:
        """The data path's view: None for VXLAN (tenant) and the external network."""
        if self.network_type == "vxlan" or self.physical_network == EXTERNAL_PHYSNET:
            return None
        assert self.physical_network is not None
        return ProviderSegment(self.physical_network,
                               self.segmentation_id if self.network_type == "vlan" else None)


def invalid(message: str) -> ApiError:
    """Neutron's InvalidInput (400)."""
    return neutron(400, "InvalidInput", f"Invalid input for operation: {message}.")


def of_network(net: dict[str, Any]) -> Segment:
    return Segment(net[NETWORK_TYPE], net.get(PHYSICAL_NETWORK), net.get(SEGMENTATION_ID))


def _flat_networks(c: Cloud) -> list[str]:
    external = [EXTERNAL_PHYSNET] if c.state.external_network else []
    return external + list(c.state.physical_networks)


def _segmentation_id(body: dict[str, Any]) -> int | None:
    value = body.get(SEGMENTATION_ID)
    if value is None:
        return None
    if isinstance(value, bool):
        value = str(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise neutron(400, "HTTPBadRequest", f"Invalid input for {SEGMENTATION_ID}. Reason: "
                      f"'{value}' is not an integer.") from None


def requested(c: Cloud, body: dict[str, Any], external: bool) -> Segment:
    """The segment of a new network (state lock held): validated, allocated, not in use."""
    if body.get("segments"):
        raise invalid("multi-provider networks (segments) are not supported by this cloud")
    given = {k: body[k] for k in PROVIDER_KEYS if body.get(k) is not None}
    if external and not c.state.external_network:
        raise invalid("this cloud has no external network (its local cloud was started with "
                      "--no-external-network)")
    if not given:
        if external:
            return Segment("flat", EXTERNAL_PHYSNET, None)
        return Segment("vxlan", None, _free_vni(c))
    network_type = given.get(NETWORK_TYPE)
    if network_type is None:
        raise invalid("network_type required")
    physnet = given.get(PHYSICAL_NETWORK)
    seg_id = _segmentation_id(given)
    if network_type == "flat":
        segment = _flat(c, physnet, seg_id)
    elif network_type == "vlan":
        segment = _vlan(c, physnet, seg_id)
    elif network_type == "vxlan":
        segment = _vxlan(c, physnet, seg_id)
    else:
        raise invalid(f"network_type value '{network_type}' not supported")
    on_external = segment.physical_network == EXTERNAL_PHYSNET
    if external and not on_external:
        raise invalid(f"external networks of this cloud are flat on physical network "
                      f"'{EXTERNAL_PHYSNET}' (the data path's external bridge)")
    if on_external and not external:
        raise invalid(f"physical network '{EXTERNAL_PHYSNET}' carries external networks only "
                      "(set router:external)")
    return segment


def _in_use(c: Cloud) -> list[Segment]:
    return [of_network(n) for n in c.state.table("networks").values()]


def _flat(c: Cloud, physnet: str | None, seg_id: int | None) -> Segment:
    if not physnet:
        raise invalid("physical_network required for flat provider network")
    if physnet not in _flat_networks(c):
        raise invalid(f"physical_network '{physnet}' unknown for flat provider network")
    if seg_id is not None:
        raise invalid(f"{SEGMENTATION_ID.removeprefix('provider:')} prohibited for flat "
                      "provider network")
    if any(s.network_type == "flat" and s.physical_network == physnet for s in _in_use(c)):
        raise neutron(409, "FlatNetworkInUse", "Unable to create the flat network. Physical "
                      f"network {physnet} is in use.")
    return Segment("flat", physnet, None)


def _vlan(c: Cloud, physnet: str | None, seg_id: int | None) -> Segment:
    ranges = list(c.state.physical_networks)
    if physnet and physnet not in ranges:
        raise invalid(f"physical_network '{physnet}' unknown for VLAN provider network")
    if not physnet and seg_id is not None:
        raise invalid("segmentation_id requires physical_network for VLAN provider network")
    if seg_id is not None and not MIN_VLAN <= seg_id <= MAX_VLAN:
        raise invalid(f"segmentation_id out of range ({MIN_VLAN} through {MAX_VLAN})")
    used = {(s.physical_network, s.segmentation_id) for s in _in_use(c) if s.network_type == "vlan"}
    if seg_id is not None:
        if (physnet, seg_id) in used:
            raise neutron(409, "VlanIdInUse", f"Unable to create the network. The VLAN {seg_id} "
                          f"on physical network {physnet} is in use.")
        return Segment("vlan", physnet, seg_id)
    for candidate in [physnet] if physnet else ranges:  # a partial segment: allocate an id
        free = next((v for v in range(MIN_VLAN, MAX_VLAN + 1) if (candidate, v) not in used), None)
        if free is not None:
            return Segment("vlan", candidate, free)
    raise neutron(503, "NoNetworkAvailable", "Unable to create the network. No tenant network "
                  "is available for allocation.")


def _vxlan(c: Cloud, physnet: str | None, seg_id: int | None) -> Segment:
    if physnet:
        raise invalid("provider:physical_network specified for vxlan network")
    if seg_id is None:
        return Segment("vxlan", None, _free_vni(c))
    if not 1 <= seg_id <= MAX_VNI:
        raise invalid(f"segmentation_id out of range (1 through {MAX_VNI})")
    if any(s.network_type == "vxlan" and s.segmentation_id == seg_id for s in _in_use(c)):
        raise neutron(409, "TunnelIdInUse", f"Unable to create the network. The tunnel ID "
                      f"{seg_id} is in use.")
    return Segment("vxlan", None, seg_id)


def _free_vni(c: Cloud) -> int:
    """The next tenant VNI not taken (an admin may have chosen one)."""
    used = {s.segmentation_id for s in _in_use(c) if s.network_type == "vxlan"}
    while True:
        vni = c.state.allocate_vni()
        if vni not in used:
            return vni


def check_update(net: dict[str, Any], body: dict[str, Any]) -> None:
    """Provider attributes are set at creation only (a change to the same value is fine)."""
    changed = [k for k in PROVIDER_KEYS if k in body and body[k] != net.get(k)]
    if changed:
        raise invalid("Plugin does not support updating provider attributes")
