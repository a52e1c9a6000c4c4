"""ML2's port binding: which mechanism driver plugs a port on a compute host, and how.

Nova binds a server's ports when it boots it (binding:host_id). Two drivers, as a cloud with
SR-IOV NICs configures them:
- vnic_type `normal`: the agent's tap on the network's bridge, with the security groups
  (vif_type `ovs`, as this cloud has always shown it);
- vnic_type `direct` and `macvtap`: the SR-IOV NIC switch driver, vif_type `hw_veb`, which
  binds only segments of network_type flat or vlan on a physical network the hosts' SR-IOV
  NICs are mapped to (here: every physical network of the cloud). The data path plugs such a
  port beside the network's bridge, so neither the bridge nor the security groups see it.
Any other case ends as Neutron's does: binding:vif_type `binding_failed`, and Nova's build
fails with PortBindingFailed ("Binding failed for port ..."); the reason is logged, as ML2
logs it, in server.log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import segments
from .errors import neutron

if TYPE_CHECKING:
    from .context import Cloud

# Neutron's portbindings.VNIC_TYPES.
VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder",
              "smart-nic", "vdpa", "remote-managed", "accelerator-direct",
              "accelerator-direct-physical")
SRIOV = ("direct", "macvtap")
HW_VEB = "hw_veb"
FAILED = "binding_failed"
UNBOUND = "unbound"


def check_vnic_type(value: object) -> str:
    """binding:vnic_type of a create body (normal when absent); Neutron's 400 otherwise."""
    if value is None:
        return "normal"
    if value not in VNIC_TYPES:
        raise neutron(400, "HTTPBadRequest", f"Invalid input for binding:vnic_type. Reason: "
                      f"'{value}' is not in {list(VNIC_TYPES)}.")
    return str(value)


def failure_reason(c: Cloud, port: dict[str, Any]) -> str | None:
    """Why no mechanism driver can bind the port (None: it binds)."""
    vnic = port.get("binding:vnic_type") or "normal"
    if vnic == "normal":
        return None
    if vnic not in SRIOV:
        return f"no mechanism driver of this cloud binds vnic_type {vnic}"
    net = c.state.table("networks")[port["network_id"]]
    segment = segments.of_network(net)
    physnets = c.state.physical_networks
    if segment.network_type not in ("flat", "vlan") or segment.provider() is None:
        return (f"vnic_type {vnic} (SR-IOV) binds only to flat or vlan networks of a physical "
                f"network ({', '.join(physnets) or 'none here'}); network {net['id']} is "
                f"{segment.network_type}")
    return None


def bind(c: Cloud, port: dict[str, Any], host: str | None) -> str | None:
    """Bind the port on host (state lock held); returns why it failed, or None."""
    port["binding:host_id"] = host or ""
    if not host:
        port.update({"binding:vif_type": UNBOUND, "binding:vif_details": {}})
        return None
    reason = failure_reason(c, port)
    if reason is not None:
        port.update({"binding:vif_type": FAILED, "binding:vif_details": {}})
        logging.warning("neutron: failed to bind port %s on host %s: %s", port["id"], host, reason)
        return reason
    if port.get("binding:vnic_type") in SRIOV:
        net = c.state.table("networks")[port["network_id"]]
        segment = segments.of_network(net)
        vlan = segment.segmentation_id if segment.network_type == "vlan" else 0
        # Nova puts the VF's PCI details in the profile; an emulated VF has no PCI address.
        port.update({"binding:vif_type": HW_VEB,
                     "binding:vif_details": {"port_filter": False, "vlan": str(vlan),
                                             "connectivity": "l2"},
                     "binding:profile": {"physical_network": segment.physical_network}})
    else:
        port.update({"binding:vif_type": "ovs",
                     "binding:vif_details": {"port_filter": True, "connectivity": "l2"}})
    return None


def unbind(port: dict[str, Any]) -> None:
    """The server is gone: the port is free again (a port Nova did not create stays)."""
    port.update({"binding:host_id": "", "binding:vif_type": UNBOUND, "binding:vif_details": {},
                 "binding:profile": {}})


def failed_message(port_id: str) -> str:
    """Nova's PortBindingFailed, as the server's fault shows it."""
    return f"Binding failed for port {port_id}, please check neutron logs for more information."
