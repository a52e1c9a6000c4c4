"""The run's test topology, built lazily: ask for a VM role, get a reachable VmEndpoint.

Roles follow VMTP's flows: the server VM on network 1 / host A; clients on network 1 or 2,
on host A (intra-node) or host B (inter-node). Asking for a role builds only what it needs
(and the server, which every flow measures against). Several roles asked at once boot
together. State is shared across processes through `shared_dir` (see shared.py); teardown
is `cleanup(run_id)`, the same code that cleans up after a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from threading import RLock
from typing import Any

from openstack.connection import Connection

from pytest_vmtp.catalogue import ROLES, Network
from pytest_vmtp.catalogue import SERVER_ROLE as SERVER
from pytest_vmtp.cloud import lookup, naming, sources
from pytest_vmtp.cloud.errors import CloudError
from pytest_vmtp.cloud.keys import make_keypair
from pytest_vmtp.cloud.placement import SCHEDULER, Placement, plan
from pytest_vmtp.cloud.resources import Maker
from pytest_vmtp.cloud.settings import CloudSettings
from pytest_vmtp.cloud.shared import SharedState
from pytest_vmtp.cloud.waits import wait_for_port, wait_for_servers

Progress = Callable[[str], None]




@dataclass(frozen=True)
class VmEndpoint:
    role: str
    name: str
    server_id: str
    fixed_ip: str
    floating_ip: str | None
    ssh_ip: str
    host: str | None  # OS-EXT-SRV-ATTR:host when the credentials can see it
    az: str | None
    network: str  # the Neutron network's name
    login_user: str
    key_path: str
    host_id: str | None = None  # Nova's per-project host hash, visible to everyone

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VmEndpoint:
        return cls(**data)


def _secs(start: float) -> float:
    return round(time.monotonic() - start, 2)


def _add_time(state: dict[str, Any], key: str, secs: float) -> None:
    """Phases add up over lazy builds (e.g. boot_s of every batch of VMs)."""
    state["timings"][key] = round(state["timings"].get(key, 0) + secs, 2)


class Topology:
    """One per run; usable from several processes sharing `shared_dir`."""

    def __init__(self, conn: Connection, settings: CloudSettings, run_id: str, shared_dir: str | Path,
                 progress: Progress | None = None) -> None:
        self.conn = conn
        self.settings = settings
        self.run_id = naming.check_run_id(run_id)
        self.shared_dir = Path(shared_dir)
        self.progress: Progress = progress or (lambda msg: None)
        self.key_path = self.shared_dir / f"vmtp-{run_id}-id_ed25519"
        lock_timeout = 3 * settings.boot_timeout_s + 2 * settings.ssh_timeout_s + 300
        self._state = SharedState(self.shared_dir, self.run_id, lock_timeout)
        self._maker = Maker(conn, self.run_id)
        self._thread_lock = RLock()

    # ---------------------------------------------------------------- public API
    @property
    def timings(self) -> dict[str, float]:
        """Phase durations in seconds (set-up by whichever process built, teardown)."""
        return dict(self._state.read()["timings"])

    def vm(self, role: str) -> VmEndpoint:
        return self.vms([role])[role]

    def vms(self, roles: Iterable[str], *, strict: bool = True) -> dict[str, VmEndpoint]:
        """Build the roles not built yet (booting them together). strict: raise CloudError
        naming every requested VM that could not be built (the others stay usable via vm());
        strict=False: return the VMs that were built and leave the errors to vm(role), so one
        broken VM fails only its own flows (as in VMTP)."""
        roles = list(dict.fromkeys(roles))
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown VM role(s) {unknown}: choose from {sorted(ROLES)}")
        state = self._state.read()
        if not all(r in state["vms"] or r in state["errors"] for r in roles):
            with self._thread_lock, self._state.locked() as state:
                wanted = list(dict.fromkeys([SERVER, *roles]))
                missing = [r for r in wanted if r not in state["vms"] and r not in state["errors"]]
                if missing:
                    self._build(state, missing)
        failed = [state["errors"][r] for r in roles if r in state["errors"]]  # each names its VM
        if failed and strict:
            raise CloudError("; ".join(failed))
        return {r: VmEndpoint.from_json(state["vms"][r]) for r in roles if r in state["vms"]}

    def floating_ip_of(self, role: str) -> str:
        """The role's floating IP, made on demand when SSH does not use floating IPs."""
        endpoint = self.vm(role)
        if endpoint.floating_ip:
            return endpoint.floating_ip
        with self._thread_lock, self._state.locked() as state:
            record = state["vms"][role]
            if not record.get("floating_ip"):
                ext_id = state["resources"]["external_network"]["id"]
                port = self._maker.server_port(record["server_id"])
                fip = self._maker.floating_ip(role, ext_id, port.id)
                record["floating_ip"] = fip.floating_ip_address
                self._allow_floating_ip(state, fip.floating_ip_address)
            return record["floating_ip"]

    def inter_node_reason(self) -> str | None:
        """Why inter-node roles cannot be placed (one compute host), or None."""
        return self.placement().single_host_reason

    def placement(self) -> Placement:
        """Where host A and host B are (decided once per run, on first use)."""
        state = self._state.read()
        if "placement" in state:
            return Placement.from_json(state["placement"])
        with self._thread_lock, self._state.locked() as state:
            return self._placement(state)

    def built(self) -> dict[str, Any]:
        """The shared record of what was built (for metadata and debugging)."""
        return self._state.read()

    def teardown(self) -> list[str]:
        """Delete everything of this run (the controller calls this once); honours keep."""
        from pytest_vmtp.cloud.cleanup import cleanup

        if self.settings.keep:
            self.progress(f"keeping the cloud resources of run {self.run_id}: "
                          f"vmtp-cleanup --run-id {self.run_id} removes them")
            return []
        start = time.monotonic()
        deleted = cleanup(self.conn, self.run_id, progress=self.progress)
        with self._state.locked() as state:
            state["timings"]["teardown_s"] = _secs(start)
            state["torn_down"] = True
        return deleted

    # ---------------------------------------------------------------- building
    def _placement(self, state: dict[str, Any]) -> Placement:
        if "placement" not in state:
            start = time.monotonic()
            placement = plan(self.conn, self.settings)
            state["placement"] = placement.to_json()
            hosts = ", ".join(h.availability_zone() or "any" for h in (placement.a, placement.b) if h)
            self.progress(f"placement: {placement.mode} ({hosts}) in {_secs(start)} s")
        return Placement.from_json(state["placement"])

    def _step(self, state: dict[str, Any], key: str, label: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Make a shared resource once, record it, report its duration."""
        res = state["resources"]
        if key not in res:
            start = time.monotonic()
            res[key] = make()
            secs = _secs(start)
            _add_time(state, "resources_s", secs)
            self.progress(f"{label} in {secs} s")
            self._state.write(state)
        return res[key]

    def _base(self, state: dict[str, Any], networks: set[Network]) -> None:
        s, m = self.settings, self._maker

        def image() -> dict[str, Any]:
            img = lookup.find_image(self.conn, s.image)
            return {"id": img.id, "name": img.name, "login_user": lookup.login_user_of(img, s.login_user)}

        self._step(state, "image", f"found image {s.image}", image)
        self._step(state, "flavor", f"found flavor {s.flavor}",
                   lambda: {"id": (f := lookup.find_flavor(self.conn, s.flavor)).id, "name": f.name})

        def ext() -> dict[str, Any]:
            net = lookup.find_external_network(self.conn, s.external_network)
            return {"id": net.id, "name": net.name}

        ext_net = self._step(state, "external_network", "found external network", ext)

        def keypair() -> dict[str, Any]:
            public = make_keypair(self.key_path, comment=m.name("key"))
            kp = m.keypair(public)
            return {"name": kp.name, "key_path": str(self.key_path)}

        self._step(state, "keypair", f"imported keypair {m.name('key')}", keypair)

        def make_router() -> dict[str, Any]:
            made = m.router(ext_net["id"])
            fixed = (made.external_gateway_info or {}).get("external_fixed_ips") or []
            return {"id": made.id, "name": m.name("router"), "gateway_ips": [f["ip_address"] for f in fixed]}

        router_rec = self._step(state, "router", f"created router {m.name('router')} (gateway on {ext_net['name']})",
                                make_router)

        def security_group() -> dict[str, Any]:
            toward = (router_rec.get("gateway_ips") or [None])[0]
            # VM-to-floating-IP traffic leaves the router SNATed to its gateway address (or to
            # the client's floating IP: those are added as they are made, see _endpoint).
            flows = sources.resolve([*s.cidrs, *router_rec.get("gateway_ips", []), *s.flow_sources], toward)
            ssh = sources.resolve(list(s.ssh_sources), toward)
            sg = m.security_group(s, flows, ssh)
            return {"id": sg.id, "name": sg.name, "flow_sources": flows, "ssh_sources": ssh}

        self._step(state, "security_group", f"created security group {m.name('secgroup')}", security_group)
        for key in sorted(networks):
            cidr = s.cidrs[0 if key == "net1" else 1]

            def make_net(key: str = key, cidr: str = cidr) -> dict[str, Any]:
                net, subnet = m.network(key, cidr, s, router_rec["id"])
                return {"id": net.id, "name": net.name, "subnet_id": subnet.id, "cidr": cidr}

            self._step(state, key, f"created network {m.name(key)} ({cidr}) on the router", make_net)

    def _boot_args(self, state: dict[str, Any], placement: Placement, role: str,
                   server_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """(availability_zone, scheduler_hints) for the role's side, or CloudError if unplaceable.

        Scheduler mode (no admin): side A shares an affinity group; side B has its own and asks
        for a host other than the server's (different_host); _endpoint() checks the result."""
        side = ROLES[role].side
        choice = placement.a if side == "A" else placement.b
        if choice is None:
            raise CloudError(placement.single_host_reason or "no second compute host for inter-node roles")
        if placement.mode != SCHEDULER:
            return choice.availability_zone(), None
        key = f"group-{side.lower()}"
        group = self._step(state, key, f"created server group {self._maker.name(key)}",
                           lambda: {"id": self._maker.server_group(key, "affinity").id})
        hints: dict[str, Any] = {"group": group["id"]}
        if side == "B" and server_id:
            hints["different_host"] = [server_id]
        return choice.availability_zone(), hints

    def _build(self, state: dict[str, Any], roles: list[str]) -> None:
        start_all = time.monotonic()
        networks = {ROLES[r].network for r in roles}
        self._base(state, networks)
        placement = self._placement(state)
        res = state["resources"]
        ordered = sorted(roles, key=lambda r: r != SERVER)  # the server first: hints may name it
        booted: dict[str, str] = {}  # role -> server id

        start = time.monotonic()
        for role in ordered:
            server_id = booted.get(SERVER) or state["vms"].get(SERVER, {}).get("server_id")
            try:
                az, hints = self._boot_args(state, placement, role, server_id)
                server = self._maker.server(role, res["image"]["id"], res["flavor"]["id"],
                                            res[ROLES[role].network]["id"], res["keypair"]["name"],
                                            res["security_group"]["name"], az, hints)
                booted[role] = server.id
            except CloudError as exc:
                msg = str(exc)
                vm_name = self._maker.name(role.replace("_", "-"))
                state["errors"][role] = msg if vm_name in msg else f"{vm_name}: {msg}"
        self._state.write(state)
        if not booted:
            return
        self.progress(f"booting {len(booted)} server(s) ({', '.join(booted)}) ...")
        results = wait_for_servers(self.conn, booted.values(), self.settings.boot_timeout_s)
        boot_s = _secs(start)
        ok = sum(1 for v in results.values() if not isinstance(v, CloudError))
        self.progress(f"booting {len(booted)} server(s) ... {ok} ACTIVE in {boot_s} s")
        _add_time(state, "boot_s", boot_s)

        start = time.monotonic()
        pending: dict[str, dict[str, Any]] = {}
        server_rec = state["vms"].get(SERVER)
        server_host_id = server_rec.get("host_id") if server_rec else None
        booted_server = results[booted[SERVER]] if SERVER in booted else None
        if booted_server is not None and not isinstance(booted_server, CloudError):
            server_host_id = booted_server.host_id
        for role, sid in booted.items():
            server = results[sid]
            if isinstance(server, CloudError):
                state["errors"][role] = str(server)
                continue
            try:
                pending[role] = self._endpoint(state, placement, role, server, server_host_id)
            except CloudError as exc:
                msg = str(exc)
                state["errors"][role] = msg if server.name in msg else f"{server.name}: {msg}"
        _add_time(state, "floating_ips_s", _secs(start))
        self._state.write(state)
        start = time.monotonic()
        self._wait_ssh(state, pending)
        _add_time(state, "ssh_wait_s", _secs(start))
        _add_time(state, "setup_s", _secs(start_all))

    def _endpoint(self, state: dict[str, Any], placement: Placement, role: str, server: Any,
                  server_host_id: str | None) -> dict[str, Any]:
        res = state["resources"]
        port = self._maker.server_port(server.id, server.name)
        fixed_ip = port.fixed_ips[0]["ip_address"]
        floating = None
        if self.settings.use_floating_ip_for_ssh:
            floating = self._maker.floating_ip(role, res["external_network"]["id"], port.id).floating_ip_address
            self._allow_floating_ip(state, floating)
        if placement.mode == SCHEDULER and ROLES[role].side == "B" and server_host_id:
            if server.host_id == server_host_id:
                raise CloudError(f"{server.name} landed on the server VM's host although it is inter-node "
                                 "(the scheduler ignored the different_host hint): give --vmtp-hypervisor twice")
        return VmEndpoint(
            role=role, name=server.name, server_id=server.id, fixed_ip=fixed_ip, floating_ip=floating,
            ssh_ip=floating or fixed_ip, host=server.compute_host, az=server.availability_zone,
            network=res[ROLES[role].network]["name"], login_user=res["image"]["login_user"],
            key_path=str(self.key_path), host_id=server.host_id,
        ).to_json()

    def _allow_floating_ip(self, state: dict[str, Any], address: str) -> None:
        """A VM's floating IP is where its flows to other floating IPs come from (Neutron
        SNATs a VM with a floating IP to it): open the test ports to it."""
        group = state["resources"]["security_group"]
        prefix = sources.resolve([address], None)[0]
        if prefix not in group["flow_sources"]:
            self._maker.allow_flows_from(group["id"], [prefix], self.settings)
            group["flow_sources"].append(prefix)

    def _wait_ssh(self, state: dict[str, Any], pending: dict[str, dict[str, Any]]) -> None:
        if not pending:
            return
        start = time.monotonic()

        def wait(item: tuple[str, dict[str, Any]]) -> tuple[str, CloudError | None]:
            role, ep = item
            try:
                wait_for_port(ep["ssh_ip"], 22, self.settings.ssh_timeout_s, expect=b"SSH-")
                return role, None
            except CloudError as exc:
                return role, exc

        with ThreadPoolExecutor(max_workers=len(pending)) as pool:
            for role, err in pool.map(wait, pending.items()):
                if err is None:
                    state["vms"][role] = pending[role]
                else:
                    state["errors"][role] = f"{pending[role]['name']}: {err}"
        self.progress(f"SSH port open on {len(pending)} VM(s) in {_secs(start)} s")
