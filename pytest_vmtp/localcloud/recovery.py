"""A restart after a crash: the snapshot's resources rebuilt on a clean data path.

When the server dies without its teardown (SIGKILL, OOM), its kernel objects stay behind and
the snapshot (state.json) holds every resource. `vmtp-localcloud start` on that state dir
then starts a server with --recover, which
  1. removes every kernel object and process of the prefix (from the data path's record and
     by scanning, as `clean` does) but keeps the shared SSH host key, so hosts and VMs keep
     the key clients already trust;
  2. takes the snapshot's resources, ids, addresses, MACs and floating IPs unchanged;
  3. rebuilds them: networks (provider ones on their segments, with this machine's gateway
     addresses), routers (gateway, interfaces, floating IPs, radvd), the networks' DHCPv6
     servers (dnsmasq), then every ACTIVE
     server, as a hypervisor does with resume_guests_state_on_host_boot (what ran inside a VM
     does not survive); servers still in BUILD boot again, deletions in flight finish;
     images whose upload the crash cut are queued again (their data went with it).
So nothing in the kernel is unknown to the API and nothing the API shows is missing from
the kernel. The faults set through the API are not kept (faults.yaml is read again).
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from . import builder, glance, neutron, segments
from .common import now
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud
    from .dataplane.model import DataplaneClass

HOST_KEY = "ssh_host_ed25519_key"


def clean_keeping_host_key(dataplane_class: DataplaneClass, prefix: str, dp_dir: Path, workdir: Path
                           ) -> None:
    """Remove the crashed data path's objects; put its host key pair back afterwards."""
    kept = {name: (workdir / name).read_bytes() for name in (HOST_KEY, HOST_KEY + ".pub")
            if (workdir / name).exists()}
    dataplane_class.clean(prefix, dp_dir)
    if kept:
        workdir.mkdir(parents=True, exist_ok=True)
        for name, data in kept.items():
            (workdir / name).write_bytes(data)
            (workdir / name).chmod(0o600 if not name.endswith(".pub") else 0o644)


def rebuild(c: Cloud) -> None:
    """Rebuild the data path of the restored state (called before the API serves)."""
    tables = c.state.tables
    for net in tables["networks"].values():
        c.dataplane.ensure_network(net["id"], int(net["_vni"]), int(net["mtu"]),
                                   external=bool(net["router:external"]),
                                   provider=segments.of_network(net).provider())
    for subnet in tables["subnets"].values():
        if neutron.provider_gateway(c, subnet):
            c.dataplane.add_provider_gateway(subnet["network_id"], subnet["gateway_ip"],
                                             ipaddress.ip_network(subnet["cidr"]).prefixlen)
    for router in tables["routers"].values():
        _router(c, router)  # with radvd for its IPv6 interfaces
    for net in tables["networks"].values():
        if not net["router:external"]:
            neutron.sync_dhcp(c, net["id"])  # the DHCPv6 servers, before the guests ask them
    for server in list(tables["servers"].values()):
        _server(c, server)
    for image in tables["images"].values():
        if image["status"] == "saving":  # the upload died with the server: upload again
            glance.finish_upload(c, image["id"], None)
    c.state.save()
    logging.info("recovered %d networks, %d routers, %d servers, %d floating IPs",
                 len(tables["networks"]), len(tables["routers"]), len(tables["servers"]),
                 len(tables["floatingips"]))


def _router(c: Cloud, router: Resource) -> None:
    c.dataplane.create_router(router["id"])
    info = router.get("external_gateway_info")
    if info:
        ip = info["external_fixed_ips"][0]
        subnet = c.state.table("subnets")[ip["subnet_id"]]
        prefixlen = ipaddress.ip_network(subnet["cidr"]).prefixlen
        c.dataplane.set_router_gateway(router["id"], ip["ip_address"], prefixlen,
                                       subnet["gateway_ip"], bool(info["enable_snat"]))
    for port in c.state.table("ports").values():
        if port["device_id"] == router["id"] and port["device_owner"] == neutron.ROUTER_INTERFACE:
            c.dataplane.add_router_interface(router["id"], neutron.port_spec(c, port))
    for fip in c.state.table("floatingips").values():
        if fip["router_id"] == router["id"] and fip["fixed_ip_address"]:
            c.dataplane.add_floating_ip(router["id"], fip["floating_ip_address"],
                                        fip["fixed_ip_address"])


def _server(c: Cloud, server: Resource) -> None:
    server.update({"_booted": False, "_plugged": False, "_boot_started": False})
    task = server.get("OS-EXT-STS:task_state")
    if task == "deleting":
        builder.delete(c, server["id"])  # nothing in the kernel any more: state only
    elif server["status"] == "BUILD":
        server["OS-EXT-STS:task_state"] = "scheduling"
        builder.boot(c, server["id"])
    elif server["status"] == "ACTIVE":
        _resume(c, server)


def _resume(c: Cloud, server: Resource) -> None:
    spec = builder.spec_of(c, server, start_sshd=True)
    try:
        c.dataplane.boot_server(spec)
    except Exception as exc:
        logging.exception("recovering server %s failed", server["id"])
        builder.fail_server(c, server, 500, f"Recovery of instance {server['id']} failed: "
                            f"{exc}")
        return
    server.update({"_boot_started": True, "_booted": True, "_plugged": True,
                   "updated": now(), "OS-EXT-STS:task_state": None})
    c.pushed_rules[server["id"]] = spec.security_rules
