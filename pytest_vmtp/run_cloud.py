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
from typing import TYPE_CHECKING

from filelock import FileLock

from pytest_vmtp.config import VmtpConfig

if TYPE_CHECKING:
    from openstack.connection import Connection

    from pytest_vmtp.cloud.retry import RetryPolicy
    from pytest_vmtp.cloud.topology import Topology, VmEndpoint
    from pytest_vmtp.measure.hostspec import SshTarget
    from pytest_vmtp.measure.ssh_runner import SshRunner

LOCAL_STARTED = "localcloud-started"  # contains the state dir of a local cloud this run started
CLOUD_USED = "cloud-used"  # this run created cloud resources
VM_KNOWN_HOSTS = "known_hosts"  # the run's VMs' SSH host keys, learnt on first contact


def tool_ports(cfg: VmtpConfig) -> dict[str, tuple[tuple[int, int], ...]]:
    """The security group's tool ports: those of the selected tool only (VMTP opened a fixed
    5001-5002 for all), plus nuttcp's for multicast; UDP ones only when UDP or multicast runs.
    nuttcp: TCP data + control, UDP data; iperf3 and iperf 2: their one port for both."""
    m = cfg.measure
    tools = {m.tool} if {"tcp", "udp"} & set(cfg.protocols) else set()
    if cfg.multicast:
        tools.add("nuttcp")
    udp = "udp" in cfg.protocols or cfg.multicast
    tcp_ports: set[int] = set()
    udp_ports: set[int] = set()
    for tool in tools:
        data = m.nuttcp_data_port if tool == "nuttcp" else m.iperf_port
        tcp_ports |= {data, m.nuttcp_control_port} if tool == "nuttcp" else {data}
        udp_ports |= {data} if udp else set()
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
    ssh = cfg.raw.get("ssh_from", "auto")
    if ssh == "auto":  # through a jump host, SSH comes from its address: unknown here
        ssh = [THIS_MACHINE] if cfg.is_local_cloud and not cfg.cloud.get("ssh_jump") else ["0.0.0.0/0"]
    return {"flow_sources": tuple(flows), "ssh_sources": tuple(ssh)}


def cloud_settings(cfg: VmtpConfig) -> dict[str, object]:
    """The topology's settings (CloudSettings keys) from the configuration."""
    values: dict[str, object] = {**cfg.cloud, **tool_ports(cfg), **security_sources(cfg)}
    values["use_floating_ips"] = cfg.cloud.get("floating_ips", True)
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

    def metadata(self) -> dict:
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
        from pytest_vmtp.localcloud.control import HOSTS_KEY, HOSTS_KNOWN_HOSTS

        conn = self.connection()
        key, known = local_state_dir() / HOSTS_KEY, local_state_dir() / HOSTS_KNOWN_HOSTS
        hyps = sorted(conn.compute.hypervisors(details=True), key=lambda h: h.name)
        return [f"root@{h.host_ip},key={key},known_hosts={known}" for h in hyps[:2] if h.host_ip]

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

