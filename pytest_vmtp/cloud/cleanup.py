"""Delete a run's resources (or every run's) by their vmtp mark, in dependency order.

The normal teardown and the post-crash `vmtp-cleanup` are this same code: it finds resources
from the cloud, not from a local record, so it works after any crash. Only marked resources
(tag `vmtp-run-<id>`, or a `vmtp-<id>-` name) are touched: the ports made before their servers
(SR-IOV), the flavor made from the config's spec, an uploaded image that is to go with its run
are marked too. Other ports are deleted only when they sit on a marked network and belong to
nothing, to a deleted server or to a marked router.
What a run reuses by name (networks, router, security group, key pair) carries no mark and is
never deleted: of a reused router, only the interfaces on the run's own networks go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from openstack import exceptions as sdk_exc
from openstack.connection import Connection

from pytest_vmtp.cloud import naming, retry
from pytest_vmtp.cloud.errors import CloudError, cloud_errors
from pytest_vmtp.cloud.waits import retry_conflict, wait_gone

if TYPE_CHECKING:
    from openstack.compute.v2.server import Server
    from openstack.network.v2.network import Network
    from openstack.network.v2.router import Router
    from openstack.resource import Resource

Progress = Callable[[str], None]
R = TypeVar("R", bound="Resource")
# Router ports removed with remove_router_interface (legacy, DVR and HA routers).
_INTERFACE_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                     "network:ha_router_replicated_interface")


class CleanupError(CloudError):
    """Some deletions failed; `deleted` lists the ones that worked."""

    def __init__(self, message: str, deleted: list[str]) -> None:
        super().__init__(message)
        self.deleted = deleted


def _marked(resource: Resource, run_id: str | None, label_attr: str = "name") -> bool:
    return naming.is_marked(getattr(resource, label_attr, None), getattr(resource, "tags", None), run_id)


def _server_marked(server: Server, run_id: str | None) -> bool:
    meta_run = (server.metadata or {}).get(naming.SERVER_META_KEY)
    if meta_run and naming.RUN_ID_RE.match(str(meta_run)) and (run_id is None or meta_run == run_id):
        return True
    return _marked(server, run_id)


class _Cleaner:
    def __init__(self, conn: Connection, run_id: str | None, dry_run: bool, progress: Progress,
                 timeout: float) -> None:
        self.conn, self.run_id, self.dry_run = conn, run_id, dry_run
        self.progress, self.timeout = progress, timeout
        self.done: list[str] = []
        self.failures: list[str] = []

    def delete(self, what: str, fn: Callable[[], Any]) -> bool:
        """Delete (retrying 409s) or, in a dry run, only record; failures are collected."""
        if self.dry_run:
            self.done.append(what)
            return True
        try:
            retry_conflict(f"deleting {what}", fn, timeout=self.timeout / 3)
        except CloudError as exc:
            self.failures.append(str(exc))
            return False
        self.done.append(what)
        self.progress(f"deleted {what}")
        return True

    def run(self) -> list[str]:
        c, net = self.conn, self.conn.network
        rid = self.run_id
        with cloud_errors("listing the run's resources"):
            project = c.current_project_id
            mine = {"project_id": project} if project else {}

            def own(items: Iterable[R], label: str = "name") -> list[R]:
                """Marked and in this project (an admin's listings span every project)."""
                return [i for i in items if _marked(i, rid, label)
                        and (not project or getattr(i, "project_id", project) in (project, None))]

            servers = [s for s in c.compute.servers(details=True) if _server_marked(s, rid)]
            fips = own(net.ips(**mine), "description")
            routers = own(net.routers(**mine))
            networks = own(net.networks(**mine))
            net_ids = {n.id for n in networks}
            subnets = [s for s in net.subnets(**mine) if s.network_id in net_ids or own([s])]
            groups = own(net.security_groups(**mine))
            keypairs = [k for k in c.compute.keypairs() if _marked(k, rid)]
            server_groups = [g for g in c.compute.server_groups() if _marked(g, rid)]
            # Ports the run made before their servers (SR-IOV), on its networks or reused ones.
            made_ports = own(net.ports(**mine))
            flavors = [f for f in c.compute.flavors() if _marked(f, rid)]  # public (as made); by name only
            images = [i for i in c.image.images(tag=naming.run_tag(rid) if rid else naming.RUN_TAG)
                      if _marked(i, rid)]  # only an upload to delete after its run is tagged

        for server in servers:
            self.delete(f"server {server.name}", partial(c.compute.delete_server, server.id))
        if servers and not self.dry_run:
            start = time.monotonic()
            try:
                wait_gone(lambda: self._any_server(servers), f"{len(servers)} deleted server(s)", self.timeout)
                self.progress(f"{len(servers)} server(s) gone in {time.monotonic() - start:.1f} s")
            except CloudError as exc:
                self.failures.append(str(exc))
        for fip in fips:
            self.delete(f"floating IP {fip.floating_ip_address}", partial(net.delete_ip, fip.id))
        for router in routers:
            self._router(router)
        for port in made_ports:
            self.delete(f"port {port.name or port.id}", partial(net.delete_port, port.id))
        self._ports(networks, {s.id for s in servers}, {r.id for r in routers},
                    skip={p.id for p in made_ports})
        for subnet in subnets:
            self.delete(f"subnet {subnet.name or subnet.id}", partial(net.delete_subnet, subnet.id))
        for network in networks:
            self.delete(f"network {network.name}", partial(net.delete_network, network.id))
        for group in groups:
            self.delete(f"security group {group.name}", partial(net.delete_security_group, group.id))
        for kp in keypairs:
            self.delete(f"keypair {kp.name}", partial(c.compute.delete_keypair, kp.name))
        for sg in server_groups:
            self.delete(f"server group {sg.name}", partial(c.compute.delete_server_group, sg.id))
        for flavor in flavors:
            self.delete(f"flavor {flavor.name}", partial(c.compute.delete_flavor, flavor.id))
        for image in images:
            self.delete(f"image {image.name}", partial(c.image.delete_image, image.id))
        if self.failures:
            raise CleanupError("cleanup incomplete: " + "; ".join(self.failures), self.done)
        return self.done

    def _put(self, what: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        """A PUT retried after transient failures (the HTTP layer retries only reads and
        deletes); one whose answer was lost finds the interface gone next time: a 404, done."""
        return partial(retry.call, self.conn, f"deleting {what}", fn)

    def _any_server(self, servers: list[Server]) -> bool:
        for server in servers:
            try:
                self.conn.compute.get_server(server.id)
                return True
            except sdk_exc.NotFoundException:
                continue
        return False

    def _router(self, router: Router) -> None:
        net = self.conn.network
        with cloud_errors(f"listing the ports of router {router.name}"):
            ports = [p for p in net.ports(device_id=router.id) if p.device_id == router.id]
        for port in ports:
            if (port.device_owner or "") not in _INTERFACE_OWNERS:
                continue  # the gateway, HA and SNAT ports go with the gateway or the router
            ip = (port.fixed_ips or [{}])[0].get("ip_address", port.id)
            what = f"router interface {router.name}:{ip}"
            self.delete(what, self._put(what, partial(net.remove_interface_from_router, router.id, None, port.id)))
        if router.external_gateway_info:
            what = f"router gateway {router.name}"
            self.delete(what, self._put(what, partial(net.update_router, router.id, external_gateway_info={})))
        self.delete(f"router {router.name}", partial(net.delete_router, router.id))

    def _ports(self, networks: list[Network], server_ids: set[str], router_ids: set[str], skip: set[str]) -> None:
        """Leftover ports on the run's networks (DHCP ports go with their network); the
        interfaces of routers the run did not make (one it reused) are detached, the router stays."""
        net = self.conn.network
        for network in networks:
            with cloud_errors(f"listing the ports of network {network.name}"):
                ports = [p for p in net.ports(network_id=network.id) if p.network_id == network.id]
            for port in ports:
                if port.id in skip:
                    continue  # deleted above already
                owner = port.device_owner or ""
                if owner in _INTERFACE_OWNERS and port.device_id and port.device_id not in router_ids:
                    ip = (port.fixed_ips or [{}])[0].get("ip_address", port.id)
                    what = (f"interface {ip} of network {network.name} on router {port.device_id} "
                            "(the router is not the run's: it stays)")
                    self.delete(what, self._put(what, partial(net.remove_interface_from_router, port.device_id,
                                                              None, port.id)))
                    continue
                ours = not port.device_id or port.device_id in server_ids | router_ids or _marked(port, self.run_id)
                if owner.startswith("network:dhcp") or not ours:
                    continue
                if self.dry_run and (port.device_id in server_ids | router_ids):
                    continue  # goes with its server or router interface
                self.delete(f"port {port.name or port.id} on {network.name}", partial(net.delete_port, port.id))


def cleanup(conn: Connection, run_id: str | None, all_runs: bool = False, dry_run: bool = False,
            progress: Progress | None = None, timeout: float = 300) -> list[str]:
    """Delete the resources of run_id (or of every vmtp run with all_runs) and return what was
    deleted (with dry_run: what would be). Raises CleanupError if something stays behind."""
    if all_runs == (run_id is not None):
        raise ValueError("give exactly one of run_id and all_runs=True")
    if run_id is not None:
        naming.check_run_id(run_id)
    say = progress or (lambda msg: None)
    start = time.monotonic()
    deleted = _Cleaner(conn, None if all_runs else run_id, dry_run, say, timeout).run()
    what = "every vmtp run" if all_runs else f"run {run_id}"
    verb = "would delete" if dry_run else "deleted"
    say(f"cleanup of {what}: {verb} {len(deleted)} resource(s) in {time.monotonic() - start:.1f} s")
    return deleted
