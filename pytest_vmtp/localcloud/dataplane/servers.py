"""Emulated VMs: a namespace per server, a veth per port on the host's network bridge (or, for
an SR-IOV port, a macvlan/macvtap on the segment's VF uplink), its config drive, sshd.

A port's IPv4 address is set on the VM when its subnet has DHCP (standing for the DHCP
agent's lease); on a subnet without DHCP the VM has none unless its config drive's
network_data.json gives it one, applied by a first-boot step inside the VM (firstboot.py, as
cloud-init does) before sshd starts. Its IPv6 addresses the guest learns as a real one does
(ipv6.py): from router advertisements (SLAAC), and from a DHCPv6 client when the
advertisement's M flag asks for one (or O: options only). The boot waits (boundedly) until
every IPv6 address Neutron gave the port is there, so that a server is ACTIVE with the
addresses its ports show.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pytest_vmtp.procgroup import stop_group
from pytest_vmtp.sshd import SshdHandle, start_sshd

from . import daemons, ipv6, security
from .daemons import Daemon
from .hosts import Host
from .model import PortSpec, SecurityRule, ServerSpec
from .names import Names
from .networks import Network, plug_veth
from .nl import DataplaneError, Ns, Session, create_ns, remove_ns, sysctl
from .record import Record

RA_TIMEOUT_S = 5.0  # the kernel solicits at once; radvd answers within half a second
ADDRESS_TIMEOUT_S = 15.0  # dhclient waits up to a second before soliciting, then 2 round trips


@dataclass
class Server:
    spec: ServerSpec
    netns: str
    host: Host
    directory: Path
    filtered: list[str] = field(default_factory=list)  # port ids with a filter installed
    external: set[str] = field(default_factory=set)  # port ids plugged into <prefix>-ex
    vfs: set[str] = field(default_factory=set)  # port ids plugged as SR-IOV VFs (no tap, no filter)
    sshd: SshdHandle | None = None
    daemons: list[Daemon] = field(default_factory=list)  # its DHCPv6 clients


SRIOV_KINDS = {"direct": "macvlan", "macvtap": "macvtap"}  # vnic_type -> the VF's device
CONFIG_DRIVE_DIR = "config-drive"
CONFIG_DRIVE_ENV = "VMTP_CONFIG_DRIVE"  # where a VM's sshd sessions find its config drive
FIRSTBOOT = Path(__file__).with_name("firstboot.py")


def _vm_ifname(index: int) -> str:
    return f"eth{index}"


class Servers:
    """Boots and deletes servers; safe to call from several threads at once."""

    def __init__(self, names: Names, record: Record, root: Ns, workdir: Path,
                 host_key: Path) -> None:
        self.names, self.record, self.root = names, record, root
        self.workdir, self.host_key = workdir, host_key
        self.servers: dict[str, Server] = {}

    def boot(self, spec: ServerSpec, host: Host, networks: dict[str, Network],
             vf_lowers: dict[str, str] | None = None) -> Server:
        """vf_lowers: port id -> the host's lower device of each SR-IOV port's VF."""
        booted = self.servers.get(spec.server_id)
        if booted is not None and (booted.sshd is not None or not spec.start_sshd):
            return booted  # a retry of a boot that completed
        netns = self.names.server_ns(spec.server_id)
        server = Server(spec, netns, host, self.workdir / netns)
        self.servers[spec.server_id] = server
        self.record.add("namespaces", netns)
        create_ns(netns)
        for key, value in ipv6.GUEST_SYSCTLS:  # before its ports exist: they inherit them
            sysctl(netns, f"net.ipv6.conf.default.{key}", value)
        sysctl(netns, "net.ipv6.conf.all.accept_dad", "0")
        with Ns(netns).session() as vm:
            for index, port in enumerate(spec.ports):
                lower = (vf_lowers or {}).get(port.port_id)
                if port.vnic_type in SRIOV_KINDS and lower is not None:
                    self._plug_vf(server, vm, index, port, lower)
                else:
                    self._plug(server, vm, index, port, networks[port.network_id])
        environment = {}
        if spec.config_drive:
            drive = self._write_config_drive(server)
            environment[CONFIG_DRIVE_ENV] = str(drive)
            _first_boot(netns, drive)
        if spec.port_security:
            self._filter(server, spec.security_rules)
        self._configure_ipv6(server)
        if spec.start_sshd:
            server.directory.mkdir(parents=True, exist_ok=True)
            server.sshd = start_sshd(server.directory, spec.authorized_keys, netns=netns,
                                     host_key_from=self.host_key, environment=environment)
            self.record.add("pids", server.sshd.pid)
        return server

    def _plug_vf(self, server: Server, vm: Session, index: int, port: PortSpec, lower: str) -> None:
        """An SR-IOV port: a macvlan (direct) or macvtap (macvtap) in bridge mode on the segment's
        VF uplink, made straight into the VM's namespace with the port's MAC."""
        ifname = _vm_ifname(index)
        with server.host.ns.session() as ns:
            kind = SRIOV_KINDS[port.vnic_type]
            ns.ipr.link("add", ifname=ifname, kind=kind, link=ns.must_index(lower),
                        address=port.mac, mtu=port.mtu, net_ns_fd=server.netns,
                        **{f"{kind}_mode": "bridge"})
        server.vfs.add(port.port_id)
        self._address(vm, index, ifname, port)

    def _write_config_drive(self, server: Server) -> Path:
        """The drive's files, read-only, in the VM's directory (a namespace VM shares this
        machine's file system: the directory stands for the config-2 disk)."""
        drive = server.directory / CONFIG_DRIVE_DIR
        shutil.rmtree(drive, ignore_errors=True)  # a retried or recovered boot writes it anew
        root = drive.resolve()
        for relative, content in server.spec.config_drive:
            path = drive / relative
            if root not in path.resolve().parents:
                raise DataplaneError(f"config drive file {relative!r} is outside the drive")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(0o444)
        return drive

    def _plug(self, server: Server, vm: Session, index: int, port: PortSpec, net: Network) -> None:
        ifname = _vm_ifname(index)
        peer = {"ifname": ifname, "net_ns_fd": server.netns, "address": port.mac}
        if net.external:
            server.external.add(port.port_id)
            leg = self.names.external_tap(port.port_id)
            self.record.add("root_links", leg)
            with self.root.session() as root:
                if root.index(leg) is None:
                    root.ipr.link("add", ifname=leg, kind="veth", mtu=port.mtu,
                                  peer={**peer, "mtu": port.mtu})
                root.up(leg, master=root.must_index(self.names.ex_bridge))
        else:
            plug_veth(server.host, net, Names.tap(port.port_id), peer, port.mtu)
        self._address(vm, index, ifname, port)

    @staticmethod
    def _address(vm: Session, index: int, ifname: str, port: PortSpec) -> None:
        """Up, with the IPv6 addresses of subnets of no mode (nothing tells the guest); with
        DHCP, the port's IPv4 address and (first port) the default route, as the DHCP agent's
        lease gives them; without, no IPv4 address: the VM's own first boot decides."""
        for address in port.ipv6:
            if address.address_mode is None:
                vm.add_addr(ifname, address.ip, address.prefixlen)
        idx = vm.up(ifname)
        if not port.ip or not port.dhcp:
            return
        vm.add_addr(ifname, port.ip, port.prefixlen)
        if port.gateway and index == 0:
            vm.ipr.route("replace", dst="0.0.0.0/0", gateway=port.gateway, oif=idx)

    def _configure_ipv6(self, server: Server) -> None:
        """The guest's side: wait for a router advertisement on each port with an IPv6
        subnet of a mode, start dhclient -6 when it says M (-S for O only), then wait until
        every address Neutron gave the port is on it and usable. A guest that gets none
        boots all the same, as on a real cloud (a subnet on no router yet): the server log
        says why."""
        for index, port in enumerate(server.spec.ports):
            expected = {a.ip for a in port.ipv6 if a.address_mode is not None}
            if not expected:
                continue
            ifname = _vm_ifname(index)
            modes = ", ".join(sorted({a.address_mode or "" for a in port.ipv6}))
            if not ipv6.wait_for(partial(ipv6.ra_flags, server.netns, ifname), RA_TIMEOUT_S):
                logging.warning("%s of server %s got no router advertisement within %g s (%s): "
                                "it has no IPv6 address (is the subnet on a router, with "
                                "ipv6_ra_mode set?)", ifname, server.spec.server_id,
                                RA_TIMEOUT_S, modes)
                continue
            flags = ipv6.ra_flags(server.netns, ifname)
            if flags & (ipv6.IF_RA_MANAGED | ipv6.IF_RA_OTHERCONF):
                server.directory.mkdir(parents=True, exist_ok=True)
                ipv6.dhclient_script(server.directory)
                stateless = not flags & ipv6.IF_RA_MANAGED
                server.daemons.append(daemons.start(
                    f"dhclient6-{ifname}", server.netns,
                    ipv6.dhclient_argv(ifname, server.directory, stateless),
                    server.directory, self.record))
            arrived = partial(ipv6.ready_addresses, server.netns, ifname)
            if not ipv6.wait_for(lambda got=arrived, want=expected: want <= got(),  # type: ignore[misc]
                                 ADDRESS_TIMEOUT_S):
                logging.warning("%s of server %s did not get %s (%s) within %g s of its router "
                                "advertisement (flags 0x%x)", ifname, server.spec.server_id,
                                ", ".join(sorted(expected - arrived())), modes,
                                ADDRESS_TIMEOUT_S, flags)

    def _filter(self, server: Server, rules: tuple[SecurityRule, ...]) -> None:
        host = server.host
        with host.ns.lock:
            for port in server.spec.ports:
                if port.port_id not in server.external and port.port_id not in server.vfs:
                    new = port.port_id not in server.filtered
                    security.apply(host.netns, Names.tap(port.port_id), port.port_id, rules,
                                   new, source=(port.ip, port.mac),
                                   ipv6=tuple(a.ip for a in port.ipv6))
                    if new:
                        server.filtered.append(port.port_id)

    def update_security(self, server_id: str, rules: tuple[SecurityRule, ...]) -> None:
        server = self.servers.get(server_id)
        if server is None:
            raise DataplaneError(f"server {server_id} is not in the data path")
        if server.spec.port_security:
            self._filter(server, rules)

    def delete(self, server_id: str) -> None:
        server = self.servers.pop(server_id, None)
        if server is None:
            netns = self.names.server_ns(server_id)  # not ours in memory: still remove the ns
            remove_ns(netns)
            self.record.discard("namespaces", netns)
            return
        if server.sshd is not None:
            stop_group(server.sshd.pid, 1.0)
            self.record.discard("pids", server.sshd.pid)
        for daemon in server.daemons:
            daemons.stop(daemon, self.record)
        host = server.host
        with host.ns.session() as ns:
            for port_id in server.filtered:
                try:
                    security.remove(host.netns, Names.tap(port_id), port_id)
                except Exception:  # noqa: BLE001
                    pass  # chains half gone already: nothing else refers to them
            for port in server.spec.ports:
                if port.port_id not in server.vfs:  # a VF goes with the VM's namespace
                    ns.del_link(Names.tap(port.port_id))
        for port_id in server.external:
            leg = self.names.external_tap(port_id)
            with self.root.session() as root:
                root.del_link(leg)
            self.record.discard("root_links", leg)
        remove_ns(server.netns)
        self.record.discard("namespaces", server.netns)
        shutil.rmtree(server.directory, ignore_errors=True)


def _first_boot(netns: str, drive: Path) -> None:
    """The VM's first boot step (firstboot.py, standard library only) in its namespace: the
    static networks of the drive's network_data.json onto its interfaces."""
    done = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-I", str(FIRSTBOOT),
                           str(drive)], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise DataplaneError(f"first boot in {netns}: {(done.stderr or done.stdout).strip()[-300:]}")
