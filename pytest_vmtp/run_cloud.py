"""The cloud one pytest-vmtp run uses, across its processes (controller and xdist workers).

- Which cloud: a clouds.yaml entry, or the local cloud (started on first need, under a file
  lock so that two workers do not both start it, and stopped at the end if this run started it).
- The topology: built lazily by whichever process first needs a VM (cloud/ shares it).
- The end: the controller deletes everything tagged with the run id (the same code as
  `vmtp-cleanup --run-id`), whether the run passed, failed or was interrupted.
Markers in the run directory tell the controller what the workers did.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from pytest_vmtp.config import VmtpConfig

if TYPE_CHECKING:
    from openstack.connection import Connection

    from pytest_vmtp.cloud.retry import RetryPolicy
    from pytest_vmtp.cloud.topology import Topology, VmEndpoint
    from pytest_vmtp.measure.gmond import GmondTarget
    from pytest_vmtp.measure.hostspec import SshTarget
    from pytest_vmtp.measure.ssh_runner import SshRunner

LOCAL_STARTED = "localcloud-started"  # contains the state dir of a local cloud this run started
CLOUD_USED = "cloud-used"  # this run created cloud resources
VM_KNOWN_HOSTS = "known_hosts"  # the run's VMs' SSH host keys, learnt on first contact


def tool_ports(cfg: VmtpConfig) -> dict[str, tuple[tuple[int, int], ...]]:
    """The security group's tool ports: those of the selected tool only (VMTP opened a fixed
    5001-5002 for all), UDP ones only when UDP runs; nuttcp: TCP data + control, UDP data; iperf3
    and iperf 2: their one port for both. Multicast adds its tools' (multicast_tool auto: nuttcp
    and iperf 2): nuttcp's as above, iperf 2's UDP port (it has no control connection)."""
    m = cfg.measure
    tcp_ports: set[int] = set()
    udp_ports: set[int] = set()

    def add(tool: str, udp: bool, tcp: bool = True) -> None:
        data = m.nuttcp_data_port if tool == "nuttcp" else m.iperf_port
        if tcp:
            tcp_ports.update({data, m.nuttcp_control_port} if tool == "nuttcp" else {data})
        if udp:
            udp_ports.add(data)

    if {"tcp", "udp"} & set(cfg.protocols):
        add(m.tool, "udp" in cfg.protocols)
    if cfg.multicast:
        for tool in ("nuttcp", "iperf") if m.multicast_tool == "auto" else (m.multicast_tool,):
            add(tool, True, tcp=tool == "nuttcp")
    return {"tcp_ports": _ranges(tcp_ports), "udp_ports": _ranges(udp_ports)}


def _ranges(ports: set[int]) -> tuple[tuple[int, int], ...]:
    """Sorted ports as ranges, neighbours merged: {5001, 5002, 6000} -> ((5001, 5002), (6000, 6000))."""
    ranges: list[tuple[int, int]] = []
    for port in sorted(ports):
        if ranges and ranges[-1][1] == port - 1:
            ranges[-1] = (ranges[-1][0], port)
        else:
            ranges.append((port, port))
    return tuple(ranges)


def security_sources(cfg: VmtpConfig) -> dict[str, tuple[str, ...]]:
    """Who may reach the VMs besides the run's own subnets, router and floating IPs: the
    external host (this machine for 'local'; a name is resolved here) and flow_sources for the
    test ports; ssh_from for SSH ('auto': this machine on the local cloud, else anyone)."""
    from pytest_vmtp.cloud.settings import THIS_MACHINE

    flows = list(cfg.raw.get("flow_sources") or [])
    external = cfg.external_host or ("local" if cfg.is_local_cloud else None)
    if external == "local":
        flows.append(THIS_MACHINE)
    elif external:
        flows += _addresses(external)
    ssh = cfg.raw["ssh_from"]
    if ssh == "auto":  # through a jump host, SSH comes from its address: unknown here
        ssh = [THIS_MACHINE] if cfg.is_local_cloud and not cfg.cloud.get("ssh_jump") else ["0.0.0.0/0"]
    return {"flow_sources": tuple(flows), "ssh_sources": tuple(ssh)}


def cloud_settings(cfg: VmtpConfig) -> dict[str, object]:
    """The topology's settings (CloudSettings keys) from the configuration."""
    values: dict[str, object] = {**cfg.cloud, **tool_ports(cfg), **security_sources(cfg)}
    values["use_floating_ips"] = cfg.cloud["floating_ips"]
    values["image_url"] = cfg.cloud.get("vm_image_url")
    values["raise_quota"] = cfg.scale.active and cfg.is_local_cloud
    if cfg.cloud.get("ssh_jump"):
        values["use_floating_ip_for_ssh"] = False
    return values


def _addresses(spec: str) -> list[str]:
    """The external host's addresses, as this machine resolves its host spec's name."""
    import socket

    from pytest_vmtp.cloud.errors import CloudError
    from pytest_vmtp.measure.hostspec import parse_host_spec

    host = parse_host_spec(spec).host
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError) as exc:
        raise CloudError(f"--vmtp-external-host {host}: cannot resolve it for the security group: {exc}") from None


def local_state_dir() -> Path:
    """Which local cloud a run uses: $VMTP_LOCALCLOUD_STATE_DIR; else, when
    OS_CLIENT_CONFIG_FILE names the clouds.yaml of a running local cloud (one the user started
    with `vmtp-localcloud start --state-dir DIR`), that one; else the default state dir."""
    from pytest_vmtp.localcloud import control

    if not os.environ.get(control.STATE_DIR_ENV):
        named = os.environ.get("OS_CLIENT_CONFIG_FILE")
        if named and control.running(Path(named).parent) is not None:
            return Path(named).parent
    return control.default_state_dir()


def clouds_yaml(cfg: VmtpConfig) -> str | None:
    """The clouds.yaml to read: the local cloud's own (handed to openstacksdk, not exported
    to the environment); None for any other cloud (openstacksdk's usual search path)."""
    from pytest_vmtp.localcloud import control

    return str(local_state_dir() / control.CLOUDS_FILE) if cfg.is_local_cloud else None


def retry_policy(cfg: VmtpConfig) -> RetryPolicy:
    """How the run retries the cloud API's transient failures (the api_* settings)."""
    from pytest_vmtp.cloud.retry import RetryPolicy

    return RetryPolicy.from_dict(cfg.cloud)


class RunCloud:
    """Lazily connects to the run's cloud and builds its topology (thread- and process-safe)."""

    def __init__(self, cfg: VmtpConfig, run_id: str, run_dir: Path, progress: Callable[[str], None]):
        self.cfg = cfg
        self.run_id = run_id
        self.run_dir = run_dir
        self.progress = progress
        self._conn: Connection | None = None
        self._topology: Topology | None = None
        self._lock = threading.Lock()
        self._runners: dict[str, SshRunner] = {}
        self._meta: dict = {}
        self._meta_key: tuple[str, ...] | None = None
        self._jump_checked: str | None = None  # None: not tried; "": reached; else why not
        self._gmonds: list[GmondTarget] | None = None

    # -- connection -----------------------------------------------------------------------
    def connection(self) -> Connection:
        with self._lock:
            if self._conn is None:
                from pytest_vmtp.cloud.connect import connect

                if self.cfg.is_local_cloud:
                    self._ensure_local_cloud()
                self._conn = connect(self.cfg.cloud_name, clouds_yaml(self.cfg), retry_policy(self.cfg),
                                     self.progress)
            return self._conn

    def _ensure_local_cloud(self) -> None:
        from pytest_vmtp.localcloud import control

        state_dir = local_state_dir()
        with FileLock(str(self.run_dir / "localcloud.lock")):
            if not control.is_running(state_dir):
                self.progress(f"starting the local cloud (state in {state_dir}) ...")
                handle = control.start(state_dir=state_dir)
                (self.run_dir / LOCAL_STARTED).write_text(str(state_dir))
                self.progress(f"local cloud up: {handle.clouds_yaml}")

    # -- topology -------------------------------------------------------------------------
    def topology(self) -> Topology:
        conn = self.connection()
        with self._lock:
            if self._topology is None:
                from pytest_vmtp.cloud.settings import CloudSettings
                from pytest_vmtp.cloud.topology import Topology

                (self.run_dir / CLOUD_USED).touch()
                settings = CloudSettings.from_dict(cloud_settings(self.cfg))
                self._topology = Topology(
                    conn, settings, run_id=self.run_id,
                    shared_dir=self.run_dir / "topology", progress=self.progress,
                    reach=self._reach_through_jump if self._jump() else None,
                    retired=self._forget_vm,
                )
            return self._topology

    # -- SSH to the VMs ---------------------------------------------------------------------
    def _jump(self) -> SshTarget | None:
        """--vmtp-ssh-jump's host (its own key, known_hosts and host key policy)."""
        from pytest_vmtp.measure import deadlines
        from pytest_vmtp.measure.hostspec import parse_host_spec

        spec = self.cfg.cloud.get("ssh_jump")
        if not spec:
            return None
        return deadlines.ssh(parse_host_spec(spec, host_key_policy=self.cfg.host_key_policy), self.cfg.measure)

    def _vm_target(self, vm: VmEndpoint) -> SshTarget:
        """A VM's SSH target: its fresh host key is accepted into the run's private known_hosts
        (never ~/.ssh), then checked there; through the jump host when there is one."""
        from pytest_vmtp.measure import deadlines
        from pytest_vmtp.measure.hostspec import ACCEPT_NEW, SshTarget

        return deadlines.ssh(SshTarget(host=vm.ssh_ip, user=vm.login_user, key_file=vm.key_path,
                                       known_hosts=str(self.run_dir / VM_KNOWN_HOSTS), host_key_policy=ACCEPT_NEW,
                                       jump=self._jump()), self.cfg.measure)

    def _reach_through_jump(self, vm: VmEndpoint, timeout: float) -> None:
        """Wait until SSH through the jump host logs in to the VM (its port cannot be probed
        from here). The jump host itself is tried once first: a mistake there fails at once."""
        from pytest_vmtp.cloud.errors import CloudError
        from pytest_vmtp.measure.errors import RunnerError
        from pytest_vmtp.measure.ssh_runner import SshRunner

        jump = self._jump()
        assert jump is not None
        with self._lock:
            if self._jump_checked is None:
                with SshRunner(jump) as runner:
                    try:
                        runner.connect()
                        self._jump_checked = ""
                    except RunnerError as exc:
                        self._jump_checked = f"--vmtp-ssh-jump: {exc}"
            if self._jump_checked:  # once per process: the other VMs fail at once too
                raise CloudError(self._jump_checked)
        deadline = time.monotonic() + timeout
        while True:
            with SshRunner(replace(self._vm_target(vm), connect_timeout=5)) as runner:
                try:
                    runner.connect()
                    return
                except RunnerError as exc:
                    last = str(exc)
            if time.monotonic() > deadline:
                raise CloudError(f"{vm.name}: no SSH login through the jump host {jump.label} within "
                                 f"{timeout:.0f} s ({last}): check that it reaches the VMs' network "
                                 "and that the security group lets SSH in from it")
            time.sleep(1)

    def metadata(self) -> dict[str, Any]:
        """VMTP's run metadata for clouds; recomputed only when more VMs were built."""
        topo = self._topology
        key = tuple(sorted(topo.built()["vms"])) if topo is not None else ()
        if self._meta_key != key:
            from pytest_vmtp.cloud.metadata import metadata

            self._meta = metadata(self.connection(), topo)
            self._meta_key = key
        return self._meta

    def hypervisor_hosts(self) -> list[str]:
        """Local cloud only: its compute hosts as native hosts, "root@<host_ip>,key=<operator
        key>,known_hosts=<their host keys>", found like an operator would: Nova's hypervisor
        list, the deployer's key and the host keys the cloud publishes in its state dir."""
        from openstack import exceptions as sdk_exc

        from pytest_vmtp.cloud.errors import AdminRequiredError, translate
        from pytest_vmtp.localcloud.control import HOSTS_KEY, HOSTS_KNOWN_HOSTS

        conn = self.connection()
        key, known = local_state_dir() / HOSTS_KEY, local_state_dir() / HOSTS_KNOWN_HOSTS
        try:
            hyps = sorted(conn.compute.hypervisors(details=True), key=lambda h: h.name)
        except sdk_exc.ForbiddenException:
            raise AdminRequiredError(f"the native rows on the local cloud run on its compute hosts, found in "
                             f"Nova's hypervisor list, which only an admin may read (403 for cloud "
                             f"'{self.cfg.cloud_name}'): run them as `--vmtp-cloud local`, or give "
                             "--vmtp-host") from None
        except sdk_exc.SDKException as exc:
            raise translate(exc, "listing the hypervisors") from None
        return [f"root@{h.host_ip},key={key},known_hosts={known}" for h in hyps[:2] if h.host_ip]

    def gmond_targets(self) -> list[GmondTarget]:
        """Local cloud only, once the run uses it: its compute hosts' gmonds, found as an
        operator would: Nova's hypervisor list (host_ip) and the gmond port the cloud
        publishes in its state dir (none published: no gmond runs there)."""
        if not self.cfg.is_local_cloud or self._conn is None:
            return []
        with self._lock:
            if self._gmonds is None:
                self._gmonds = self._find_gmonds()
            return list(self._gmonds)

    def _find_gmonds(self) -> list[GmondTarget]:
        import json

        from pytest_vmtp.localcloud.control import HOSTS_GMOND
        from pytest_vmtp.measure.gmond import GmondTarget

        try:
            port = int(json.loads((local_state_dir() / HOSTS_GMOND).read_text())["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return []
        from openstack.exceptions import ForbiddenException, SDKException

        assert self._conn is not None
        try:
            hyps = sorted(self._conn.compute.hypervisors(details=True), key=lambda h: h.name)
        except ForbiddenException:  # host CPU is extra: the rows measure without it
            self.progress(f"host CPU: Nova's hypervisor list, where the hosts' gmonds are found, is an admin's "
                          f"(403 for cloud '{self.cfg.cloud_name}'): no cpu_load unless --vmtp-gmond is given")
            return []
        except SDKException as exc:
            self.progress(f"WARNING host CPU: cannot list the local cloud's hypervisors: {exc}")
            return []
        return [GmondTarget(h.host_ip, port) for h in hyps if h.host_ip]

    def _forget_vm(self, vm: VmEndpoint) -> None:
        """A VM the run deleted (minimal footprint): close this process's connection to it and
        forget its host key, whose address a later VM may take with a key of its own."""
        from pytest_vmtp.measure.host_keys import forget_known_hosts

        with self._lock:
            runner = self._runners.pop(vm.name, None)
        if runner is not None:
            runner.close()
        forget_known_hosts(self.run_dir / VM_KNOWN_HOSTS, {ip for ip in (vm.ssh_ip, vm.fixed_ip, vm.floating_ip) if ip})

    def runner(self, vm: VmEndpoint) -> SshRunner:
        """One SSH connection per VM per process (see _vm_target)."""
        from pytest_vmtp.measure.ssh_runner import SshRunner

        with self._lock:
            if vm.name not in self._runners:
                self._runners[vm.name] = SshRunner(self._vm_target(vm))
            return self._runners[vm.name]

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()
        self._runners.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def finish(cfg: VmtpConfig, run_id: str, run_dir: Path, progress: Callable[[str], None]) -> None:
    """Controller, at the very end: delete the run's resources, stop a local cloud it started."""
    started = run_dir / LOCAL_STARTED
    used = (run_dir / CLOUD_USED).exists()
    keep = bool(cfg.cloud.get("keep"))
    if keep:
        if used:
            progress(f"--vmtp-keep: resources of run {run_id} kept (SSH key in {run_dir}); delete them "
                     f"with `vmtp-cleanup --cloud {cfg.cloud_name} --run-id {run_id}`")
        if started.exists():
            progress("--vmtp-keep: the local cloud keeps running; stop it with `vmtp-localcloud stop`")
        return
    if used and not started.exists():
        from pytest_vmtp.cloud.cleanup import cleanup
        from pytest_vmtp.cloud.connect import connect

        conn = connect(cfg.cloud_name, clouds_yaml(cfg), retry_policy(cfg), progress)
        try:
            deleted = cleanup(conn, run_id, progress=progress)
            progress(f"deleted {len(deleted)} resources of run {run_id}")
        finally:
            conn.close()
    if started.exists():
        from pytest_vmtp.localcloud import control

        progress("stopping the local cloud this run started ...")
        control.stop(state_dir=Path(started.read_text()))

