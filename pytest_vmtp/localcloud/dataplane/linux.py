"""LinuxDataplane: the local cloud's data path built from real Linux network objects."""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path
from typing import TypeVar

from pytest_vmtp import gmond_daemon
from pytest_vmtp.gmond_daemon import GmondHandle, start_gmond
from pytest_vmtp.procgroup import cmdline, kill_groups
from pytest_vmtp.sshd import SshdHandle, start_sshd

from . import cleanup, impair, mcast_relay, physnets
from .addressing import NETWORK_NODE, Addressing
from .dhcp import DhcpServers
from .hosts import Host, Underlay
from .model import (
    DhcpSpec,
    End,
    Leg,
    LegState,
    PortSpec,
    ProviderSegment,
    SecurityRule,
    ServerSpec,
)
from .names import MGMT_LEG, Names, check_prefix
from .networks import Network, add_bridge, plug_network, unplug_network
from .nl import DataplaneError, Ns, kill_named, named_pids, ns_pids, remove_ns
from .record import Record, record_path
from .routers import Gateway, Routers
from .servers import SRIOV_KINDS, Servers

_Part = TypeVar("_Part")


class LinuxDataplane:
    """Implements model.Dataplane. See the package README section in __init__ for the layout.

    prefix: 1-5 characters; every namespace and root-ns link starts with "<prefix>-".
    state_dir: where the crash record (<prefix>-dataplane.json) and sshd directories live.
    mgmt_cidr / external_cidr: the two root-ns ranges; one cloud owns a pair at a time.
    physical_networks: names of the physical networks provider networks use (physnets.py;
    the server passes vmtp-localcloud's --physical-networks, physnet1 by default).
    external: False = no external network (its range and bridge are not used).
    multicast_relay: routers relay IPv4 multicast between their internal networks, as OVN's
    with mcast_relay (mcast_relay.py); False: they forward none, as Neutron's L3 agent.
    """

    def __init__(self, prefix: str = "vlc", compute_hosts: int = 2,
                 state_dir: Path | str = Path("/tmp/vmtp-localcloud"), *,
                 mgmt_cidr: str = "198.51.100.0/24",
                 external_cidr: str = "203.0.113.0/24",
                 physical_networks: tuple[str, ...] = (),
                 external: bool = True, multicast_relay: bool = True) -> None:
        if not 1 <= compute_hosts <= 200:
            raise ValueError("compute_hosts must be between 1 and 200")
        if len(physical_networks) > 9 or len(set(physical_networks)) != len(physical_networks):
            raise ValueError("physical_networks: at most 9, each named once")
        self.physnets = list(physical_networks)
        self.external = external
        self.multicast_relay = multicast_relay
        self.prefix = check_prefix(prefix)
        self.names = Names(prefix)
        self.compute_hosts = compute_hosts
        self.state_dir = Path(state_dir)
        self.addressing = Addressing(mgmt_cidr, external_cidr)
        self.workdir = cleanup.workdir_path(self.state_dir, prefix)
        self._lock = threading.RLock()  # networks dict, start/stop
        self._started = False
        self._root: Ns | None = None
        self._record: Record | None = None
        self._underlay: Underlay | None = None
        self._servers: Servers | None = None
        self._routers: Routers | None = None
        self._dhcp: DhcpServers | None = None
        self._networks: dict[str, Network] = {}
        self._host_sshd: dict[str, SshdHandle] = {}
        self._host_gmond: dict[str, GmondHandle] = {}
        self.impairer = impair.Impairer()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self, host_authorized_keys: str | None = None) -> None:
        """Build root bridges, host namespaces (and host sshd when keys are given)."""
        with self._lock:
            if self._started:
                return
            self.addressing.check_free(external=self.external)
            if self.multicast_relay:
                mcast_relay.check_available()
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path = record_path(self.state_dir, self.prefix)
            if path.exists() or cleanup.leftovers(self.prefix)["namespaces"]:
                raise DataplaneError(
                    f"leftovers of a dataplane with prefix {self.prefix!r} exist; run "
                    f"LinuxDataplane.clean({self.prefix!r}, {str(self.state_dir)!r}) first")
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._record = Record(path, self.prefix)
            self._record.save()  # the file exists before any kernel object does
            self._root = Ns(None)
            self._started = True
            try:
                host_key = self._host_key()
                self._underlay = Underlay(self.names, self.addressing, self._record, self._root)
                self._underlay.build(self.compute_hosts, len(self.physnets), self.external)
                for index in range(1, len(self.physnets) + 1):
                    for node in self._underlay.hosts.values():
                        physnets.plug_host(self._root, self.names, self._record, index, node)
                self._servers = Servers(self.names, self._record, self._root, self.workdir,
                                        host_key)
                self._routers = Routers(self.names, self._record, self._root, self.workdir,
                                        self.multicast_relay)
                self._dhcp = DhcpServers(self.names, self._record, self.workdir)
                if host_authorized_keys:
                    for host in self.hosts():
                        self._start_host_sshd(self._host(host), host_authorized_keys, host_key)
                if gmond_daemon.available():
                    for host in self.hosts():
                        self._start_host_gmond(self._host(host))
                else:
                    logging.warning("no gmond (install ganglia-monitor): the compute hosts report no CPU load")
            except BaseException:
                self.stop()
                raise

    def _host_key(self) -> Path:
        """One host key per cloud, so booting a server costs no ssh-keygen."""
        key = self.workdir / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.prefix,
                            "-f", str(key)], check=True, capture_output=True)
        return key

    def _start_host_sshd(self, host: Host, keys: str, host_key: Path) -> None:
        handle = start_sshd(self.workdir / host.netns, keys, netns=host.netns, listen=host.ip,
                            host_key_from=host_key)
        self._host_sshd[host.name] = handle
        self._require_record().add("pids", handle.pid)

    def _start_host_gmond(self, host: Host) -> None:
        """Ganglia's gmond on the host's management address, as on a monitored compute node
        (gmond_daemon.py); its pid goes into the crash record once it listens (killed before
        that, it is still found by `clean`, which kills every process of the host's namespace)."""
        handle = start_gmond(self.workdir / host.netns, host.ip, netns=host.netns, location=host.name)
        self._host_gmond[host.name] = handle
        self._require_record().add("pids", handle.pid)

    def host_gmond_port(self) -> int | None:
        """The TCP port the compute hosts' gmond answers on at their management address; None
        when they run none (ganglia-monitor not installed)."""
        return gmond_daemon.PORT if self._host_gmond else None

    def stop(self) -> None:
        """Remove every kernel object and process this dataplane made (idempotent)."""
        with self._lock:
            if not self._started:
                return
            pids = [h.pid for h in self._host_sshd.values()] + [g.pid for g in self._host_gmond.values()]
            if self._servers is not None:
                pids += [s.sshd.pid for s in self._servers.servers.values() if s.sshd]
                self._servers.servers.clear()
            self._host_sshd.clear()
            self._host_gmond.clear()
            self.impairer.stop()
            kill_groups(pids, wait=5.0)  # neither sshd nor gmond needs a graceful stop
            for pid in pids:
                self._require_record().discard("pids", pid)
            if self._routers is not None:
                self._routers.routers.clear()
            if self._dhcp is not None:
                self._dhcp.clear()
            if self._underlay is not None:
                self._underlay.teardown()
            self._networks.clear()
            self._started = False
            # Whatever the record missed (none expected) goes by scanning.
            cleanup.clean(self.prefix, self.state_dir)

    @classmethod
    def clean(cls, prefix: str, state_dir: Path | str) -> None:
        """Remove everything with this prefix, from the record and by scanning."""
        cleanup.clean(prefix, state_dir)

    def __enter__(self) -> LinuxDataplane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- hosts --------------------------------------------------------------------------------
    def hosts(self) -> list[str]:
        return [f"compute{i}" for i in range(1, self.compute_hosts + 1)]

    def host_address(self, host: str) -> str:
        if host not in self.hosts():
            raise KeyError(f"unknown compute host {host!r}")
        return self.addressing.host_ip(host)

    def host_public_key(self) -> str:
        public = (self.workdir / "ssh_host_ed25519_key.pub").read_text().split()
        return " ".join(public[:2])

    def external_gateway(self) -> tuple[str, int]:
        return self.addressing.root_external_ip, self.addressing.external.prefixlen

    def physical_networks(self) -> list[str]:
        return list(self.physnets)

    def host_netns(self, host: str) -> str:
        """Namespace name of a compute host (or "network"), for tests and native runs."""
        return self.names.host_ns(host)

    def server_netns(self, server_id: str) -> str:
        return self.names.server_ns(server_id)

    # -- networks -----------------------------------------------------------------------------
    def ensure_network(self, network_id: str, vni: int, mtu: int, external: bool = False,
                       provider: ProviderSegment | None = None) -> None:
        if external and not self.external:
            raise DataplaneError("this data path has no external network")
        index = physnets.check_segment(self.physnets, provider) if provider else 0
        net = Network(network_id, vni, mtu, external, provider)
        with self._lock:
            self._require_started()
            self._networks[network_id] = net
        if external:
            return  # the root namespace's <prefix>-ex bridge is that network
        hosts = list(self._ready(self._underlay).hosts.values())
        for host in hosts:
            if provider is None:
                plug_network(host, net, [h.ip for h in hosts if h is not host])
            else:
                add_bridge(host, net)
                physnets.plug_segment(host, index, provider, net.bridge)

    def delete_network(self, network_id: str) -> None:
        with self._lock:
            net = self._networks.pop(network_id, None)
        if net is None or net.external or self._underlay is None:
            return
        if net.provider is not None:
            index = physnets.check_segment(self.physnets, net.provider)
            for host in self._underlay.hosts.values():
                physnets.unplug_segment(host, index, net.provider)
            physnets.drop_gateway_port(self._require_root(), self.names, self._require_record(),
                                       index, net.provider)
        for host in self._underlay.hosts.values():
            unplug_network(host, net)

    def update_dhcp(self, network_id: str, spec: DhcpSpec | None) -> None:
        with self._lock:
            net = self._networks.get(network_id)
        if spec is not None and (net is None or net.external):
            raise DataplaneError(f"DHCP server of network {network_id}: not ensured or external")
        if self._dhcp is None or self._underlay is None:
            return
        self._dhcp.update(network_id, spec, net, self._underlay.hosts[NETWORK_NODE])

    def add_provider_gateway(self, network_id: str, ip: str, prefixlen: int) -> None:
        net, index = self._provider(network_id)
        assert net.provider is not None
        physnets.add_gateway(self._require_root(), self.names, self._require_record(), index,
                             net.provider, ip, prefixlen)

    def remove_provider_gateway(self, network_id: str, ip: str, prefixlen: int) -> None:
        net, index = self._provider(network_id)
        assert net.provider is not None
        physnets.remove_gateway(self._require_root(), self.names, index, net.provider, ip,
                                prefixlen)

    def _provider(self, network_id: str) -> tuple[Network, int]:
        with self._lock:
            net = self._networks.get(network_id)
        if net is None or net.provider is None:
            raise DataplaneError(f"network {network_id} is not a provider network of this data path")
        return net, physnets.check_segment(self.physnets, net.provider)

    # -- servers ------------------------------------------------------------------------------
    def boot_server(self, spec: ServerSpec) -> None:
        self._require_started()
        host = self._host(spec.host)
        with self._lock:
            missing = [p.network_id for p in spec.ports if p.network_id not in self._networks]
            networks = dict(self._networks)
        if missing:
            raise DataplaneError(f"server {spec.server_id}: networks {missing} not ensured")
        vf_lowers = {}
        for port in spec.ports:
            if port.vnic_type in SRIOV_KINDS:
                segment = networks[port.network_id].provider
                if segment is None:  # binding.py refuses these before a boot is asked for
                    raise DataplaneError(f"port {port.port_id}: vnic_type {port.vnic_type} needs "
                                         "a flat or VLAN provider network")
                index = physnets.check_segment(self.physnets, segment)
                vf_lowers[port.port_id] = physnets.plug_vf_uplink(host, index, segment)
        servers = self._ready(self._servers)
        try:
            servers.boot(spec, host, networks, vf_lowers)
        except BaseException:
            servers.delete(spec.server_id)
            raise
        self._forget_neighbours(spec.ports, networks)

    def delete_server(self, server_id: str) -> None:
        if self._servers is not None:
            server = self._servers.servers.get(server_id)
            self._servers.delete(server_id)
            if server is not None:
                with self._lock:
                    networks = dict(self._networks)
                self._forget_neighbours(server.spec.ports, networks)

    def _forget_neighbours(self, ports: tuple[PortSpec, ...], networks: dict[str, Network]) -> None:
        """This machine forgets the MACs it knew for these ports' addresses on provider
        networks (the address may have had another port before)."""
        for port in ports:
            net = networks.get(port.network_id)
            if net is not None and net.provider is not None:
                physnets.forget_neighbour(self._require_root(), self.names,
                                          physnets.check_segment(self.physnets, net.provider),
                                          net.provider, port.ip)

    def update_security(self, server_id: str, rules: tuple[SecurityRule, ...]) -> None:
        self._ready(self._servers).update_security(server_id, rules)

    # -- routers ------------------------------------------------------------------------------
    def create_router(self, router_id: str) -> None:
        self._ready(self._routers).create(router_id)

    def delete_router(self, router_id: str) -> None:
        if self._routers is None:
            return
        router = self._routers.routers.get(router_id)
        if router is not None:
            for port_id in list(router.ports):
                self.remove_router_interface(router_id, port_id)
        self._routers.delete(router_id)

    def set_router_gateway(self, router_id: str, ip: str, prefixlen: int, gateway: str | None,
                           snat: bool = True) -> None:
        self._ready(self._routers).set_gateway(router_id, Gateway(ip, prefixlen, gateway, snat))

    def clear_router_gateway(self, router_id: str) -> None:
        self._ready(self._routers).clear_gateway(router_id)

    def add_router_interface(self, router_id: str, port: PortSpec) -> None:
        self._require_started()
        with self._lock:
            net = self._networks.get(port.network_id)
        if net is None or net.external:
            raise DataplaneError(f"router {router_id}: network {port.network_id} not ensured "
                                 "or external")
        self._ready(self._routers).add_interface(router_id, port, net,
                                                 self._ready(self._underlay).hosts[NETWORK_NODE])
        self._forget_neighbours((port,), {net.network_id: net})

    def remove_router_interface(self, router_id: str, port_id: str) -> None:
        self._ready(self._routers).remove_interface(
            router_id, port_id, self._ready(self._underlay).hosts[NETWORK_NODE])

    def add_floating_ip(self, router_id: str, floating_ip: str, fixed_ip: str) -> None:
        self._ready(self._routers).add_floating_ip(router_id, floating_ip, fixed_ip)

    def remove_floating_ip(self, router_id: str, floating_ip: str) -> None:
        self._ready(self._routers).remove_floating_ip(router_id, floating_ip)

    # -- faults -------------------------------------------------------------------------------
    def server_legs(self, server_id: str) -> dict[str, Leg]:
        """port id -> leg of each port of a server in the data path ({} when not booted)."""
        server = self._servers.servers.get(server_id) if self._servers else None
        if server is None:
            return {}
        legs = {}
        for index, port in enumerate(server.spec.ports):
            device = End(server.netns, f"eth{index}")
            if port.port_id in server.vfs:
                continue  # an SR-IOV VF has no far end on this machine to impair
            if port.port_id in server.external:
                legs[port.port_id] = Leg(device, End(None, self.names.external_tap(port.port_id)))
            else:
                legs[port.port_id] = Leg(device, End(server.host.netns, Names.tap(port.port_id)),
                                         far_bridged=True)
        return legs

    def router_legs(self, router_id: str) -> dict[str, Leg]:
        """port id -> leg of each router interface, and "gateway" -> its qg- leg."""
        router = self._routers.routers.get(router_id) if self._routers else None
        if router is None or self._underlay is None:
            return {}
        node = self._underlay.hosts[NETWORK_NODE].netns
        legs = {port_id: Leg(End(router.netns, Names.router_port(port_id)),
                             End(node, Names.tap(port_id))) for port_id in router.ports}
        if router.gateway is not None:
            legs["gateway"] = Leg(End(router.netns, router.qg),
                                  End(None, self.names.gateway_leg(router_id)))
        return legs

    def host_leg(self, host: str) -> Leg:
        """A compute host's underlay leg: mgmt0 in its namespace, the root-side veth."""
        return Leg(End(self._host(host).netns, MGMT_LEG), End(None, self.names.host_mgmt_leg(host)))

    def impair(self, leg: Leg, state: LegState) -> None:
        """Bring a leg to a fault state (LegState() clears it); DataplaneError."""
        self.impairer.apply(leg, state)

    def forget_leg(self, leg: Leg) -> None:
        """The leg went with its server or router: forget what was applied to it."""
        self.impairer.forget(leg)

    def kill_sshd(self, server_id: str) -> bool:
        """SIGKILL the server's sshd and its sessions; False when it had none running."""
        server = self._servers.servers.get(server_id) if self._servers else None
        if server is None or server.sshd is None:
            return False
        kill_groups([server.sshd.pid], wait=2.0)
        pids = [p for p in ns_pids(server.netns) if "sshd" in cmdline(p)]
        kill_groups(pids, wait=2.0)
        self._require_record().discard("pids", server.sshd.pid)
        server.sshd = None
        return True

    def kill_namespace(self, server_id: str) -> bool:
        """The VM dies: every process in its namespace killed, the namespace removed (its
        ports' taps go with it). delete_server() still cleans up after it."""
        server = self._servers.servers.get(server_id) if self._servers else None
        if server is None:
            return False
        for leg in self.server_legs(server_id).values():
            self.impairer.forget(leg)
        self.impairer.delayer.forget(server.netns)
        if server.sshd is not None:
            kill_groups([server.sshd.pid], wait=2.0)
            self._require_record().discard("pids", server.sshd.pid)
            server.sshd = None
        remove_ns(server.netns)
        return True

    def kill_tool(self, server_id: str, tool: str) -> int:
        """SIGKILL every process named tool in the server's namespace; how many there were."""
        server = self._servers.servers.get(server_id) if self._servers else None
        if server is None:
            return 0
        return kill_named(server.netns, tool)

    def tool_running(self, server_id: str, tool: str) -> bool:
        server = self._servers.servers.get(server_id) if self._servers else None
        return server is not None and bool(named_pids(server.netns, tool))

    # -- helpers ------------------------------------------------------------------------------
    def _require_started(self) -> None:
        if not self._started:
            raise DataplaneError("dataplane not started")

    def _require_record(self) -> Record:
        return self._ready(self._record)

    def _require_root(self) -> Ns:
        return self._ready(self._root)

    def _ready(self, part: _Part | None) -> _Part:
        """A part made by start(), once started."""
        self._require_started()
        if part is None:
            raise DataplaneError("dataplane not started")
        return part

    def _host(self, name: str) -> Host:
        try:
            return self._ready(self._underlay).hosts[name]
        except KeyError:
            raise DataplaneError(f"unknown host {name!r}; hosts are {self.hosts()}") from None


def clean(prefix: str, state_dir: Path | str) -> None:
    """Module-level alias of LinuxDataplane.clean."""
    cleanup.clean(prefix, state_dir)
