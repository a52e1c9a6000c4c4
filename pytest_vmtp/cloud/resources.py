"""Create one marked (named and tagged) cloud resource each; the topology decides which ones.

Tags are set after creation (PUT .../tags) rather than in the create body, which older
Neutrons reject; a cloud without the tag extension still has the name mark.

A create whose answer is lost (a reset connection, a timeout, a 503 from a proxy) may have
been carried out all the same: before it is tried again (retry.call) the resource is looked up
by its mark, and only made again when it is not there, so that nothing is made twice.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from openstack import exceptions as sdk_exc
from openstack import utils
from openstack.connection import Connection

from pytest_vmtp.cloud import naming, retry
from pytest_vmtp.cloud.errors import CloudError, cloud_errors
from pytest_vmtp.cloud.settings import CloudSettings

if TYPE_CHECKING:
    from openstack.compute.v2.keypair import Keypair
    from openstack.compute.v2.server import Server
    from openstack.compute.v2.server_group import ServerGroup
    from openstack.network.v2.floating_ip import FloatingIP
    from openstack.network.v2.network import Network
    from openstack.network.v2.port import Port
    from openstack.network.v2.router import Router
    from openstack.network.v2.security_group import SecurityGroup
    from openstack.network.v2.subnet import Subnet
    from openstack.resource import Resource

T = TypeVar("T")


def _named(items: Iterable[Any], name: str) -> Any | None:
    """The first of items called exactly name (list filters may match more loosely)."""
    return next((i for i in items if getattr(i, "name", None) == name), None)


class Maker:
    """Creates resources for one run, all carrying the run's mark."""

    def __init__(self, conn: Connection, run_id: str) -> None:
        self.conn = conn
        self.run_id = run_id
        self.tagging = True  # switched off after the first refusal

    def name(self, role: str) -> str:
        return naming.name(self.run_id, role)

    def _create(self, what: str, make: Callable[[], T], find: Callable[[], T | None]) -> T:
        """make(), retried after a transient failure once find() says it was not made."""
        return retry.call(self.conn, what, make, find)

    def tag(self, resource: Resource) -> None:
        if not self.tagging:
            return
        try:  # PUT of the whole tag list: the same again is harmless
            retry.call(self.conn, f"tagging {getattr(resource, 'name', None) or resource.id}",
                       lambda: self.conn.network.set_tags(resource, naming.tags(self.run_id)))
        except (sdk_exc.SDKException, AttributeError):
            self.tagging = False  # no tag extension: the name prefix remains the mark

    @functools.cached_property
    def server_tags(self) -> bool:
        """Nova takes tags in the create body from microversion 2.52; older clouds get metadata only."""
        try:
            return bool(utils.supports_microversion(self.conn.compute, "2.52"))
        except (sdk_exc.SDKException, ValueError):
            return False

    def keypair(self, public_key: str) -> Keypair:
        name = self.name("key")
        with cloud_errors(f"importing keypair {name}"):
            return self._create(f"importing keypair {name}",
                                lambda: self.conn.compute.create_keypair(name=name, public_key=public_key),
                                lambda: _named(self.conn.compute.keypairs(), name))

    def security_group(self, settings: CloudSettings, flow_sources: list[str], ssh_sources: list[str]) -> SecurityGroup:
        """Ingress: SSH from ssh_sources; ICMP and the tool ports from flow_sources only.
        Neutron's default egress rules stay. Prefixes: "a.b.c.d/n" or IPv6, already resolved."""
        name = self.name("secgroup")
        with cloud_errors(f"creating security group {name}"):
            sg = self._create(
                f"creating security group {name}",
                lambda: self.conn.network.create_security_group(name=name,
                                                                description=f"pytest-vmtp run {self.run_id}"),
                lambda: _named(self.conn.network.security_groups(name=name), name))
            self.tag(sg)
            for prefix in ssh_sources:
                self._rule(self._rule_body(sg.id, prefix, {"protocol": "tcp", "port_range_min": 22,
                                                           "port_range_max": 22}))
        self.allow_flows_from(sg.id, flow_sources, settings)
        return sg

    def allow_flows_from(self, security_group_id: str, prefixes: list[str], settings: CloudSettings) -> None:
        """Open ICMP and the tool ports to these source prefixes (a rule that exists is fine).
        In one bulk request (Neutron applies a group's rules to every port using it after each
        request: scale mode adds rules for 64 floating IPs at once); one by one when the bulk
        is refused (a rule there already)."""
        rules: list[dict[str, Any]] = [{"protocol": "icmp"}]
        rules += [{"protocol": "tcp", "port_range_min": lo, "port_range_max": hi} for lo, hi in settings.tcp_ports]
        rules += [{"protocol": "udp", "port_range_min": lo, "port_range_max": hi} for lo, hi in settings.udp_ports]
        bodies = [self._rule_body(security_group_id, prefix, rule) for prefix in prefixes for rule in rules]
        if not bodies:
            return
        with cloud_errors(f"adding security group rules for {', '.join(prefixes)}"):
            try:  # one made by a try whose answer was lost: the next is a 409, then one by one
                retry.call(self.conn, "adding security group rules",
                           lambda: list(self.conn.network.create_security_group_rules(bodies)))
                return
            except (sdk_exc.ConflictException, sdk_exc.BadRequestException) as exc:
                if "already exists" not in str(exc) and not isinstance(exc, sdk_exc.BadRequestException):
                    raise  # a quota, say, is a real error
            for body in bodies:
                self._rule(body)

    @staticmethod
    def _rule_body(security_group_id: str, prefix: str, rule: dict[str, Any]) -> dict[str, Any]:
        network = ipaddress.ip_network(prefix, strict=False)
        if network.version == 6 and rule.get("protocol") == "icmp":
            rule = {**rule, "protocol": "ipv6-icmp"}
        return {"security_group_id": security_group_id, "direction": "ingress",
                "ethertype": f"IPv{network.version}", "remote_ip_prefix": str(network), **rule}

    def _rule(self, body: dict[str, Any]) -> None:
        try:  # made by a try whose answer was lost: the next one is a 409 "already exists"
            retry.call(self.conn, "adding a security group rule",
                       lambda: self.conn.network.create_security_group_rule(**body))
        except sdk_exc.ConflictException as exc:
            if "already exists" not in str(exc):  # a quota, say, is a real error
                raise
            # else the same rule is there (e.g. a floating IP met twice)

    def router(self, external_network_id: str | None) -> Router:
        """The run's router, with a gateway on the external network when one is given."""
        name = self.name("router")
        gateway = {"external_gateway_info": {"network_id": external_network_id}} if external_network_id else {}
        with cloud_errors(f"creating router {name}"):
            router = self._create(f"creating router {name}",
                                  lambda: self.conn.network.create_router(name=name, **gateway),
                                  lambda: _named(self.conn.network.routers(name=name), name))
            self.tag(router)
        return router

    def network(self, key: str, cidr: str, settings: CloudSettings, router_id: str | None,
                cidr6: str | None = None) -> tuple[Network, Subnet, Subnet | None]:
        """Network + subnet (DHCP as settings.dhcp says, the settings' DNS servers) attached to
        the router (a router of the run's, or one it reuses: cleanup removes the interface, not
        the router); with cidr6, an IPv6 subnet beside it of settings.ipv6_mode (both of
        Neutron's mode attributes, as VMTP set them), on the router too (it routes and
        advertises it)."""
        net_name, subnet_name = self.name(key), self.name(f"{key}-subnet")
        with cloud_errors(f"creating network {net_name} ({cidr})"):
            network = self._create(f"creating network {net_name}",
                                   lambda: self.conn.network.create_network(name=net_name),
                                   lambda: _named(self.conn.network.networks(name=net_name), net_name))
            self.tag(network)
            subnet = self._subnet(network.id, subnet_name, cidr, settings,
                                  {"ip_version": 4, "enable_dhcp": settings.dhcp})
            if router_id:
                self._attach(router_id, subnet)
        subnet6 = None
        if cidr6:
            with cloud_errors(f"creating the IPv6 subnet {cidr6} ({settings.ipv6_mode}) of network {net_name}"):
                subnet6 = self._subnet(network.id, self.name(f"{key}-subnet6"), cidr6, settings,
                                       {"ip_version": 6, "ipv6_ra_mode": settings.ipv6_mode,
                                        "ipv6_address_mode": settings.ipv6_mode})
                if router_id:
                    self._attach(router_id, subnet6)
        return network, subnet, subnet6

    def _subnet(self, network_id: str, name: str, cidr: str, settings: CloudSettings,
                kwargs: dict[str, Any]) -> Subnet:
        """A subnet with DHCP on (unless kwargs say otherwise) and the settings' DNS servers of
        its family (Neutron refuses the other family's)."""
        version = kwargs["ip_version"]
        dns = [d for d in settings.dns_nameservers if ipaddress.ip_address(d).version == version]
        if dns:
            kwargs = {**kwargs, "dns_nameservers": dns}
        body = {"enable_dhcp": True, **kwargs}
        subnet = self._create(
            f"creating subnet {name}",
            lambda: self.conn.network.create_subnet(network_id=network_id, name=name, cidr=cidr, **body),
            lambda: _named(self.conn.network.subnets(name=name, network_id=network_id), name))
        self.tag(subnet)
        return subnet

    def _attach(self, router_id: str, subnet: Subnet) -> None:
        """The subnet on the router (positional arguments: renamed in SDK 4)."""
        self._create(f"attaching {subnet.name} to the router",
                     lambda: self.conn.network.add_interface_to_router(router_id, subnet.id),
                     lambda: self._interface(router_id, subnet.id))

    def server_group(self, key: str, policy: str) -> ServerGroup:
        name = self.name(key)
        with cloud_errors(f"creating server group {name} ({policy})"):
            return self._create(f"creating server group {name}",
                                lambda: self.conn.compute.create_server_group(name=name, policy=policy),
                                lambda: _named(self.conn.compute.server_groups(), name))

    def port(self, role: str, network_id: str, vnic_type: str, security_group_id: str) -> Port:
        """A VM's port made before its server, as SR-IOV needs (binding:vnic_type); Nova does
        not delete a port it did not make: cleanup finds it by its mark."""
        name = self.name(f"{role.replace('_', '-')}-port")
        with cloud_errors(f"creating port {name} (vnic_type {vnic_type})"):
            port = self._create(
                f"creating port {name}",
                lambda: self.conn.network.create_port(network_id=network_id, name=name, binding_vnic_type=vnic_type,
                                                      security_group_ids=[security_group_id]),
                lambda: _named(self.conn.network.ports(name=name, network_id=network_id), name))
            self.tag(port)
        return port

    def server(self, role: str, image_id: str, flavor_id: str, network_id: str, key_name: str,
               security_group: str, availability_zone: str | None, hints: dict[str, Any] | None, *,
               port_id: str | None = None, config_drive: bool = False, user_data: str | None = None) -> Server:
        """The role's server on network_id, or on port_id (made by port(), which carries the
        security group); with a config drive and user data (base64) when asked."""
        name = self.name(role.replace("_", "-"))
        kwargs: dict[str, Any] = {}
        if availability_zone:
            kwargs["availability_zone"] = availability_zone
        if hints:
            kwargs["scheduler_hints"] = hints
        if self.server_tags:
            kwargs["tags"] = naming.tags(self.run_id)
        if config_drive:
            kwargs["config_drive"] = True
        if user_data:
            kwargs["user_data"] = user_data
        if port_id:
            kwargs["networks"] = [{"port": port_id}]
        else:
            kwargs.update(networks=[{"uuid": network_id}], security_groups=[{"name": security_group}])
        with cloud_errors(f"creating server {name}"):
            return self._create(
                f"creating server {name}",
                lambda: self.conn.compute.create_server(
                    name=name, image_id=image_id, flavor_id=flavor_id, key_name=key_name,
                    metadata={naming.SERVER_META_KEY: self.run_id}, **kwargs),
                lambda: _named(self.conn.compute.servers(name=f"^{re.escape(name)}$"), name))

    def server_port(self, server_id: str, label: str | None = None) -> Port:
        with cloud_errors("finding the server's port"):
            ports = [p for p in self.conn.network.ports(device_id=server_id) if p.device_id == server_id]
        if not ports:
            raise CloudError(f"server {label or server_id} is ACTIVE but has no Neutron port")
        return ports[0]

    def floating_ip(self, role: str, external_network_id: str, port_id: str) -> FloatingIP:
        label = self.name(f"fip-{role.replace('_', '-')}")
        with cloud_errors(f"creating floating IP {label}"):
            fip = self._create(
                f"creating floating IP {label}",
                lambda: self.conn.network.create_ip(floating_network_id=external_network_id, port_id=port_id,
                                                    description=label),
                lambda: next((f for f in self.conn.network.ips(port_id=port_id)
                              if f.port_id == port_id and f.description == label), None))
            self.tag(fip)
        return fip

    def _interface(self, router_id: str, subnet_id: str) -> Port | None:
        """The router's interface port on the subnet, if it has one."""
        return next((p for p in self.conn.network.ports(device_id=router_id) if p.device_id == router_id
                     and any(ip.get("subnet_id") == subnet_id for ip in p.fixed_ips or [])), None)
