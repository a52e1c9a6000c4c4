"""The run's test topology, built lazily: ask for a VM role, get a reachable VmEndpoint.

Roles follow VMTP's flows: the server VM on network 1 / host A; clients on network 1 or 2,
on host A (intra-node) or host B (inter-node). Asking for a role builds only what it needs
(and the server, which every flow measures against). Several roles asked at once boot
together. State is shared across processes through `shared_dir` (see shared.py); teardown
is `cleanup(run_id)`, the same code that cleans up after a crash.

The network mode (modes.py) is decided first: networks, router, security group and key pair
made or reused by name, the external network looked up only for floating IPs, SSH to floating
IPs, to fixed IPs, or through a jump host. Whatever is reused carries no mark of the run, so
no cleanup ever deletes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from threading import RLock
from typing import TYPE_CHECKING, Any

from openstack.connection import Connection

from pytest_vmtp import config_boot
from pytest_vmtp.catalogue import ROLES, Network, VmName, pair_role, role_of
from pytest_vmtp.catalogue import SERVER_ROLE as SERVER
from pytest_vmtp.cloud import flavors, images, lookup, naming, quotas, sources
from pytest_vmtp.cloud.errors import CloudError, cloud_errors
from pytest_vmtp.cloud.keys import make_keypair
from pytest_vmtp.cloud.modes import (
    NEED_FLOATING_IP,
    NEED_NET2,
    NEED_SSH,
    Facts,
    NetworkPlan,
    Unavailable,
    decide,
)
from pytest_vmtp.cloud.placement import SCHEDULER, Placement, plan
from pytest_vmtp.cloud.resources import Maker
from pytest_vmtp.cloud.settings import MINIMAL_VMS, SRIOV_VNIC_TYPES, CloudSettings
from pytest_vmtp.cloud.shared import SharedState
from pytest_vmtp.cloud.waits import retry_conflict, wait_for_port, wait_for_servers, wait_gone

if TYPE_CHECKING:
    from openstack.compute.v2.server import Server

Progress = Callable[[str], None]
NETWORKS: tuple[Network, Network] = ("net1", "net2")


@dataclass(frozen=True)
class VmEndpoint:
    role: VmName
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
    fixed_ip6: str | None = None  # its IPv6 address on the network, with --vmtp-ipv6-mode

    @property
    def flow_ip(self) -> str:
        """Where the fixed-IP flows go: the IPv6 address in IPv6 mode, else the IPv4 one."""
        return self.fixed_ip6 or self.fixed_ip

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VmEndpoint:
        return cls(**data)


Reach = Callable[[VmEndpoint, float], None]  # wait until SSH reaches the VM, else CloudError
Retired = Callable[[VmEndpoint], None]  # a VM deleted to make room (minimal footprint)


def _known(role: str) -> bool:
    try:
        role_of(role)
        return True
    except KeyError:
        return False


def reach_directly(vm: VmEndpoint, timeout: float) -> None:
    """SSH's port answers from this machine (a login is the runner's job)."""
    wait_for_port(vm.ssh_ip, 22, timeout, expect=b"SSH-")


def _secs(start: float) -> float:
    return round(time.monotonic() - start, 2)


def _add_time(state: dict[str, Any], key: str, secs: float) -> None:
    """Phases add up over lazy builds (e.g. boot_s of every batch of VMs)."""
    state["timings"][key] = round(state["timings"].get(key, 0) + secs, 2)


class Topology:
    """One per run; usable from several processes sharing `shared_dir`."""

    def __init__(self, conn: Connection, settings: CloudSettings, run_id: str, shared_dir: str | Path,
                 progress: Progress | None = None, reach: Reach | None = None,
                 retired: Retired | None = None) -> None:
        """reach: how to wait for a booted VM's SSH (default: its port, from this machine; a
        jump host's caller passes its own). retired: told of each client VM a minimal
        footprint deletes (its SSH connections and host keys are stale)."""
        self.conn = conn
        self.reach = reach or reach_directly
        self.retired: Retired = retired or (lambda vm: None)
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

    def vm(self, role: VmName) -> VmEndpoint:
        return self.vms([role])[role]

    def vms(self, roles: Iterable[VmName], *, strict: bool = True) -> dict[VmName, VmEndpoint]:
        """Build the roles not built yet (booting them together). strict: raise CloudError
        naming every requested VM that could not be built (the others stay usable via vm());
        strict=False: return the VMs that were built and leave the errors to vm(role), so one
        broken VM fails only its own flows (as in VMTP)."""
        roles = list(dict.fromkeys(roles))
        unknown = [r for r in roles if not _known(r)]
        if unknown:
            raise ValueError(f"unknown VM role(s) {unknown}: choose from {sorted(ROLES)} (pair roles: "
                             "<role>_p<N>)")
        state = self._state.read()
        if not all(r in state["vms"] or r in state["errors"] for r in roles):
            with self._thread_lock, self._state.locked() as state:
                network_plan = self._plan(state)
                # Each VM's pair server too: an inter-node client is placed away from it.
                wanted = list(dict.fromkeys([SERVER, *(pair_role(SERVER, role_of(r).pair) for r in roles), *roles]))
                missing = [r for r in wanted if r not in state["vms"] and r not in state["errors"]]
                no_ssh, no_net2 = network_plan.unavailable(NEED_SSH), network_plan.unavailable(NEED_NET2)
                for role in list(missing):
                    gone = no_ssh or (no_net2 if role_of(role).network == "net2" else None)
                    if gone is not None:  # not booted: it could not be reached or placed
                        state["errors"][role] = gone.reason if no_ssh else \
                            f"{self._maker.name(role.replace('_', '-'))}: {gone.reason}"
                        missing.remove(role)
                if missing and "quota" not in state:  # no reserve() before: these roles are the run's
                    state["quota"] = self._check_quotas(state, set(missing), set())
                elif missing and self.settings.raise_quota:
                    self._raise_for(state, set(missing))
                if missing and state["quota"].get("short"):
                    raise CloudError(state["quota"]["short"])
                if missing and self.settings.minimal:
                    self._make_room(state, keep=set(wanted))
                if missing:
                    self._build(state, missing)
        failed = [state["errors"][r] for r in roles if r in state["errors"]]  # each names its VM
        if failed and strict:
            raise CloudError("; ".join(failed))
        return {r: VmEndpoint.from_json(state["vms"][r]) for r in roles if r in state["vms"]}

    def floating_ip_of(self, role: VmName) -> str:
        """The role's floating IP, made on demand when SSH does not use floating IPs
        (CloudError with the reason when the run has none)."""
        gone = self.unavailable(NEED_FLOATING_IP)
        if gone is not None:
            raise CloudError(gone.reason)
        endpoint = self.vm(role)
        if endpoint.floating_ip:
            return endpoint.floating_ip
        with self._thread_lock, self._state.locked() as state:
            record = state["vms"][role]
            if not record.get("floating_ip"):
                ext_id = state["resources"]["external_network"]["id"]
                port = self._maker.server_port(record["server_id"])
                fip = self._maker.floating_ip(role, ext_id, port.id)
                state["ids"].setdefault(role, {})["floating_ip_id"] = fip.id
                record["floating_ip"] = fip.floating_ip_address
                self._allow_floating_ips(state, [fip.floating_ip_address])
            return record["floating_ip"]

    def network_plan(self) -> NetworkPlan:
        """The run's network mode (decided once per run, on first use; looks up what is
        reused, makes nothing)."""
        state = self._state.read()
        if "plan" in state:
            return NetworkPlan.from_json(state["plan"])
        with self._thread_lock, self._state.locked() as state:
            return self._plan(state)

    def unavailable(self, need: str) -> Unavailable | None:
        """Why the rows needing `need` (modes.NEEDS) cannot run here, or None."""
        return self.network_plan().unavailable(need)

    def role_available(self, role: str) -> bool:
        return not (self.unavailable(NEED_SSH) or (role_of(role).network == "net2" and self.unavailable(NEED_NET2)))

    def inter_node_reason(self) -> str | None:
        """Why inter-node roles cannot be placed (one compute host), or None."""
        return self.placement().single_host_reason

    def placement_reason(self) -> str | None:
        """Why no VM can be placed with the settings and the user's rights, or None."""
        return self.placement().needs_admin

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

    def reserve(self, roles: Iterable[VmName], floating_roles: Iterable[VmName] = ()) -> None:
        """Before the first boot, once per run: do the project's quotas hold what the run will
        make for these roles (the VMs the selected rows need; floating_roles: those given a
        floating IP when SSH does not use them)? CloudError with the one line saying which
        quota is short, every time it is asked, else nothing. Makes nothing."""
        state = self._state.read()
        if "quota" not in state:
            with self._thread_lock, self._state.locked() as state:
                if "quota" not in state:
                    state["quota"] = self._check_quotas(state, set(roles), set(floating_roles))
        problem = state["quota"].get("short")
        if problem:
            raise CloudError(problem)

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

    def _plan(self, state: dict[str, Any]) -> NetworkPlan:
        """Look up what is reused and whether floating IPs can work; decide (lock held)."""
        if "plan" in state:
            return NetworkPlan.from_json(state["plan"])
        s, res = self.settings, state["resources"]
        start = time.monotonic()
        for index, name in enumerate(s.networks[:2]):
            key = NETWORKS[index]
            net, subnet = lookup.find_network(self.conn, name)
            res[key] = {"id": net.id, "name": net.name, "subnet_id": subnet.id, "cidr": subnet.cidr,
                        "gateway_ip": subnet.gateway_ip, "reused": True}
            if s.ipv6_mode:  # its IPv6 subnet, as it is (the VMs' rows fail without one)
                res[key]["cidr6"] = lookup.ipv6_cidr(self.conn, net.id)
        router = lookup.find_router(self.conn, s.router) if s.router else None
        if router is not None:
            fixed = (router.external_gateway_info or {}).get("external_fixed_ips") or []
            res["router"] = {"id": router.id, "name": router.name, "reused": True,
                             "gateway_ips": [f["ip_address"] for f in fixed]}
        external_problem = router_problem = None
        if s.use_floating_ips:
            try:
                ext = lookup.find_external_network(self.conn, s.external_network)
            except CloudError as exc:  # named, but missing: a mistake, its rows fail
                ext, external_problem = None, Unavailable(str(exc), fail=True)
            if ext is None and external_problem is None:
                external_problem = Unavailable(lookup.NO_EXTERNAL_NETWORK)
            if ext is not None:
                res["external_network"] = {"id": ext.id, "name": ext.name}
                router_problem = self._floating_ip_path(router, res.get("net1"), ext)
        facts = Facts(reused_networks=tuple(s.networks), reused_router=s.router,
                      floating_ips_off=not s.use_floating_ips, ssh_jump=s.ssh_jump,
                      ssh_to_floating_ip=s.use_floating_ip_for_ssh,
                      external_problem=external_problem, router_problem=router_problem,
                      ipv6_mode=s.ipv6_mode)
        network_plan = decide(facts)
        state["plan"] = network_plan.to_json()
        reused = [f"network {res[k]['name']}" for k in NETWORKS if k in res] + (
            [f"router {router.name}"] if router is not None else [])
        why = "; ".join(f"no {need}: {u.reason}" for need, u in network_plan.missing.items())
        ssh = f"fixed IPs through {s.ssh_jump}" if network_plan.ssh == "jump" else f"{network_plan.ssh} IPs"
        self.progress(f"network mode: SSH to the {ssh}" + (f", reusing {', '.join(reused)}" if reused else "")
                      + (f"; {why}" if why else "") + f" ({_secs(start)} s)")
        self._state.write(state)
        return network_plan

    def _floating_ip_path(self, router: Any, net1: dict[str, Any] | None, ext: Any) -> str | None:
        """Why network 1's VMs cannot have floating IPs on ext (no router with a gateway to
        it), or None. Only what the run reuses can lack one: its own router gets a gateway."""
        if router is not None:
            if lookup.gateway_network(router) != ext.id:
                return (f"router {router.name} has no gateway on external network {ext.name}: "
                        "the floating-IP rows need one")
            return None
        if net1 is not None:
            if not any(lookup.gateway_network(r) == ext.id for r in lookup.routers_of(self.conn, net1["id"])):
                return (f"network {net1['name']} is not behind a router with a gateway on external network "
                        f"{ext.name} (a provider network?): the floating-IP rows need one")
        return None

    def _quota_plan(self, state: dict[str, Any], roles: set[VmName], floating_roles: set[VmName]
                    ) -> quotas.Plan | None:
        """What making these VMs (and what the run still lacks around them) asks of the quotas;
        None when none of them can be made."""
        s, res = self.settings, state["resources"]
        plan = self._plan(state)
        roles = {r for r in roles if self.role_available(r)}
        if not roles:
            return None
        flavor = res.get("flavor") or (flavors.record(f) if (f := flavors.find(self.conn, s.flavor)) else None)
        vcpus, ram = (flavor["vcpus"], flavor["ram"]) if flavor else (s.flavor_spec.vcpus, s.flavor_spec.ram)
        made = [k for k in NETWORKS if k not in res and any(role_of(r).network == k for r in roles)]
        router = plan.router == "create" or "router" in res
        floating = roles if plan.ssh == "floating" else (
            floating_roles & roles if plan.unavailable(NEED_FLOATING_IP) is None else set())
        per_network = 2 if s.ipv6_mode else 1  # an IPv6 subnet beside each IPv4 one, on the router too
        return quotas.Plan(vms=len(roles), vcpus=vcpus, ram=ram, floating_vms=len(floating), networks=len(made),
                           router=plan.router == "create" and "router" not in res,
                           interfaces=len(made) * per_network if router else 0,
                           security_group=not s.security_group and "security_group" not in res,
                           key_pair=not s.key_pair and "keypair" not in res, subnets_per_network=per_network)

    def _check_quotas(self, state: dict[str, Any], roles: set[VmName], floating_roles: set[VmName]) -> dict[str, Any]:
        """Once, before the run's first boot: the one line naming the short quotas, or the needs."""
        s = self.settings
        start = time.monotonic()
        wanted = self._quota_plan(state, roles, floating_roles) if not state["vms"] else None
        if wanted is None:
            return {}
        rooms, unread = quotas.headroom(self.conn)
        problem = quotas.verdict(wanted, s.minimal, rooms)
        need = quotas.needs(wanted, s.minimal)
        if problem and s.raise_quota:
            with cloud_errors("raising the local cloud's quotas"):
                raised = quotas.raise_to_fit(self.conn, need, rooms)
            self.progress(f"local cloud: quotas raised for {wanted.vms} VMs ({' '.join(raised)})")
            problem = None
        listed = ", ".join(f"{quotas.LABELS[k]} {v}" for k, v in need.items().items() if v and k in rooms)
        self.progress(f"quotas: the run needs {listed or 'nothing that is counted'}"
                      + (f" ({'minimal footprint: ' + str(MINIMAL_VMS) + ' VMs at a time'})" if s.minimal else "")
                      + ("; SHORT" if problem else "; they fit")
                      + (f"; not checked: {', '.join(unread)}" if unread else "") + f" ({_secs(start)} s)")
        return {"short": problem} if problem else {"needs": need.items()}

    def _raise_for(self, state: dict[str, Any], roles: set[VmName]) -> None:
        """Scale mode on the local cloud: a later batch of VMs (more pairs) gets the quota it lacks."""
        wanted = self._quota_plan(state, roles, set())
        if wanted is None:
            return
        rooms, _ = quotas.headroom(self.conn)
        need = quotas.needs(wanted, False)
        if quotas.shortfalls(need, rooms):
            with cloud_errors("raising the local cloud's quotas"):
                raised = quotas.raise_to_fit(self.conn, need, rooms)
            self.progress(f"local cloud: quotas raised for {wanted.vms} more VMs ({' '.join(raised)})")

    def _image(self, state: dict[str, Any]) -> dict[str, Any]:
        """The image of the configured name, else uploaded from the image URL."""
        s, res = self.settings, state["resources"]
        if "image" in res:
            return dict(res["image"])
        start = time.monotonic()
        img = lookup.maybe_image(self.conn, s.image)
        uploaded = img is None
        if img is None:
            if not s.image_url:
                raise CloudError(f"image '{s.image}' not found: upload it, give --vmtp-image-url, or set --vmtp-image")
            self.progress(f"image {s.image} not found: uploading it from {s.image_url} ...")
            tags = naming.tags(self.run_id) if s.delete_image_after_run else []
            img = images.upload(self.conn, s.image, s.image_url, self.shared_dir, tags)
        res["image"] = {"id": img.id, "name": img.name, "login_user": lookup.login_user_of(img, s.login_user),
                        "uploaded": uploaded}
        secs = _secs(start)
        _add_time(state, "resources_s", secs)
        kept = "deleted after the run" if s.delete_image_after_run else "kept for the next runs"
        self.progress(f"uploaded image {img.name} ({img.size} bytes, {kept}) in {secs} s" if uploaded
                      else f"found image {s.image} in {secs} s")
        self._state.write(state)
        return dict(res["image"])

    def _flavor(self, state: dict[str, Any]) -> dict[str, Any]:
        """The flavor of the configured name, else one made from the flavor spec (deleted with
        the run's resources: it carries the run's name)."""
        s, res = self.settings, state["resources"]
        if "flavor" in res:
            return dict(res["flavor"])
        start = time.monotonic()
        found = flavors.find(self.conn, s.flavor)
        if found is not None:
            res["flavor"] = flavors.record(found)
            label = f"found flavor {s.flavor}"
        else:
            name = self._maker.name(flavors.ROLE)
            res["flavor"] = flavors.record(flavors.create(self.conn, s.flavor, s.flavor_spec, name), created=True)
            label = f"flavor {s.flavor} not found: created {name} ({flavors.describe(s.flavor_spec)})"
        secs = _secs(start)
        _add_time(state, "resources_s", secs)
        self.progress(f"{label} in {secs} s")
        self._state.write(state)
        return dict(res["flavor"])

    def _explain(self, exc: CloudError) -> str:
        """A boot failure, with what to do when it is an SR-IOV port that could not be bound."""
        msg = str(exc)
        if "Binding failed for port" in msg and self.settings.vnic_type in SRIOV_VNIC_TYPES:
            msg += (f" (--vmtp-vnic-type {self.settings.vnic_type}: SR-IOV ports bind only on flat or VLAN "
                    "provider networks of a physical network with SR-IOV NICs: give one with --vmtp-network)")
        return msg

    def _make_room(self, state: dict[str, Any], keep: set[VmName]) -> None:
        """Minimal footprint: delete every client VM but those in keep (the server VM stays),
        with their floating IPs and ports, and wait until Nova has let them go."""
        gone = [r for r in state["ids"] if r != SERVER and r not in keep]
        if not gone:
            return
        start = time.monotonic()
        for role in gone:
            self._retire(state, role)
        _add_time(state, "retire_s", _secs(start))
        self.progress(f"footprint minimal: deleted {', '.join(gone)} to make room in {_secs(start)} s")
        self._state.write(state)

    def _retire(self, state: dict[str, Any], role: VmName) -> None:
        ids = state["ids"].pop(role)
        record = state["vms"].pop(role, None)
        net, compute = self.conn.network, self.conn.compute
        if ids.get("floating_ip_id"):
            with cloud_errors(f"deleting the floating IP of {role}"):
                net.delete_ip(ids["floating_ip_id"], ignore_missing=True)
        if ids.get("server_id"):
            with cloud_errors(f"deleting server {self._maker.name(role.replace('_', '-'))}"):
                compute.delete_server(ids["server_id"], ignore_missing=True)

            def exists() -> bool:
                with cloud_errors("waiting for a deleted server"):
                    return compute.find_server(ids["server_id"], ignore_missing=True) is not None

            wait_gone(exists, f"server of {role}", self.settings.boot_timeout_s)
        if ids.get("port_id"):
            retry_conflict(f"deleting the port of {role}", lambda: net.delete_port(ids["port_id"]),
                           timeout=self.settings.boot_timeout_s)
        if record is not None:
            self.retired(VmEndpoint.from_json(record))

    def _base(self, state: dict[str, Any], networks: set[Network]) -> None:
        s, m, res = self.settings, self._maker, state["resources"]
        network_plan = self._plan(state)

        self._image(state)
        self._flavor(state)

        def keypair() -> dict[str, Any]:
            if s.key_pair:
                kp = lookup.find_keypair(self.conn, s.key_pair)
                key = Path(s.private_key or "")
                if not s.private_key or not key.is_file():
                    raise CloudError(f"key pair {s.key_pair}: private_key {s.private_key or '(not set)'} is not a "
                                     "readable file: give its private half in the --vmtp-config file")
                return {"name": kp.name, "key_path": str(key), "reused": True}
            public = make_keypair(self.key_path, comment=m.name("key"))
            kp = m.keypair(public)
            return {"name": kp.name, "key_path": str(self.key_path)}

        self._step(state, "keypair", f"key pair {s.key_pair} found" if s.key_pair else
                   f"imported keypair {m.name('key')}", keypair)

        router_rec: dict[str, Any] | None = res.get("router")
        if network_plan.router == "create":
            ext_net = res.get("external_network") if network_plan.gateway else None

            def make_router() -> dict[str, Any]:
                made = m.router(ext_net["id"] if ext_net else None)
                fixed = (made.external_gateway_info or {}).get("external_fixed_ips") or []
                return {"id": made.id, "name": m.name("router"), "gateway_ips": [f["ip_address"] for f in fixed]}

            gone = network_plan.unavailable(NEED_FLOATING_IP)
            where = f"gateway on {ext_net['name']}" if ext_net else f"no gateway: {gone.reason if gone else 'none'}"
            router_rec = self._step(state, "router", f"created router {m.name('router')} ({where})", make_router)

        def security_group() -> dict[str, Any]:
            if s.security_group:
                sg = lookup.find_security_group(self.conn, s.security_group)
                return {"id": sg.id, "name": sg.name, "reused": True, "flow_sources": [], "ssh_sources": []}
            toward = self._toward(res, router_rec)
            # VM-to-floating-IP traffic leaves the router SNATed to its gateway address (or to
            # the client's floating IP: those are added as they are made, see _endpoint).
            gateways = (router_rec or {}).get("gateway_ips", [])
            if s.ipv6_mode:  # every flow is IPv6 then (the IPv4-only rows skip): IPv6 sources only
                flows = [f for f in sources.resolve([*self._cidrs(res, network_plan), *s.flow_sources], toward)
                         if ":" in f]
            else:
                flows = sources.resolve([*self._cidrs(res, network_plan), *gateways, *s.flow_sources], toward)
            ssh = sources.resolve(list(s.ssh_sources), toward)
            sg = m.security_group(s, flows, ssh)
            return {"id": sg.id, "name": sg.name, "flow_sources": flows, "ssh_sources": ssh}

        self._step(state, "security_group", f"security group {s.security_group} found" if s.security_group
                   else f"created security group {m.name('secgroup')}", security_group)
        for key in sorted(networks):
            cidr = s.cidrs[NETWORKS.index(key)]
            router_id = router_rec["id"] if router_rec else None

            cidr6 = s.ipv6_cidrs[NETWORKS.index(key)] if s.ipv6_mode else None

            def make_net(key: Network = key, cidr: str = cidr, router_id: str | None = router_id,
                         cidr6: str | None = cidr6) -> dict[str, Any]:
                net, subnet, subnet6 = m.network(key, cidr, s, router_id, cidr6)
                rec = {"id": net.id, "name": net.name, "subnet_id": subnet.id, "cidr": cidr}
                if subnet6 is not None:
                    rec.update({"subnet6_id": subnet6.id, "cidr6": cidr6, "ipv6_mode": s.ipv6_mode})
                return rec

            on = f"on router {router_rec['name']}" if router_rec else "with no router"
            both = f"{cidr}, {cidr6} {s.ipv6_mode}" if cidr6 else cidr
            self._step(state, key, f"created network {m.name(key)} ({both}) {on}", make_net)

    def _cidrs(self, res: dict[str, Any], network_plan: NetworkPlan) -> list[str]:
        """The run's subnets: those it reuses, or those it makes (with their IPv6 ones in
        IPv6 mode: the flows come from there then)."""
        keys = [k for k in NETWORKS if not (k == "net2" and network_plan.unavailable(NEED_NET2))]
        cidrs = [res[k]["cidr"] if k in res else self.settings.cidrs[NETWORKS.index(k)] for k in keys]
        if self.settings.ipv6_mode:
            for k in keys:
                six = res[k].get("cidr6") if k in res else self.settings.ipv6_cidrs[NETWORKS.index(k)]
                if six:
                    cidrs.append(six)
        return cidrs

    def _toward(self, res: dict[str, Any], router_rec: dict[str, Any] | None) -> str:
        """Where this machine's own address is seen from (sources.THIS_MACHINE): the router's
        gateway, else network 1's gateway (a provider network's router: this machine's next
        hop), else an address of network 1."""
        gateways = (router_rec or {}).get("gateway_ips") or []
        if gateways:
            return str(gateways[0])
        net1 = res.get("net1") or {}
        if net1.get("gateway_ip"):
            return str(net1["gateway_ip"])
        import ipaddress

        return str(next(ipaddress.ip_network(net1.get("cidr") or self.settings.cidrs[0]).hosts()))

    def _boot_args(self, state: dict[str, Any], placement: Placement, role: VmName,
                   server_id: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """(availability_zone, scheduler_hints) for the role's side, or CloudError if unplaceable.

        Scheduler mode (no admin): side A shares an affinity group; side B has its own and asks
        for a host other than the server's (different_host); _endpoint() checks the result.
        Scale mode's pairs: each pair's sides on hosts of their own (Placement.host_for), or
        groups of their own."""
        if placement.needs_admin:
            raise CloudError(placement.needs_admin)
        vm = role_of(role)
        side = vm.side
        choice = placement.host_for(side, vm.pair)
        if choice is None:
            raise CloudError(placement.single_host_reason or "no second compute host for inter-node roles")
        if placement.mode != SCHEDULER:
            return choice.availability_zone(), None
        key = f"group-{side.lower()}" + (f"-p{vm.pair}" if vm.pair > 1 else "")
        group = self._step(state, key, f"created server group {self._maker.name(key)}",
                           lambda: {"id": self._maker.server_group(key, "affinity").id})
        hints: dict[str, Any] = {"group": group["id"]}
        if side == "B" and server_id:
            hints["different_host"] = [server_id]
        return choice.availability_zone(), hints

    def _build(self, state: dict[str, Any], roles: list[VmName]) -> None:
        start_all = time.monotonic()
        networks = {role_of(r).network for r in roles}
        self._base(state, networks)
        placement = self._placement(state)
        res = state["resources"]
        # The servers first: hints may name them.
        ordered = sorted(roles, key=lambda r: (role_of(r).base != SERVER, role_of(r).pair))
        booted: dict[str, str] = {}  # role -> server id
        user_data = config_boot.user_data_b64(self.settings.user_data) if self.settings.user_data else None

        start = time.monotonic()
        for role in ordered:
            its_server = pair_role(SERVER, role_of(role).pair)
            server_id = booted.get(its_server) or state["vms"].get(its_server, {}).get("server_id")
            try:
                az, hints = self._boot_args(state, placement, role, server_id)
                ids = state["ids"].setdefault(role, {})
                if self.settings.vnic_type in SRIOV_VNIC_TYPES and not ids.get("port_id"):
                    ids["port_id"] = self._maker.port(role, res[role_of(role).network]["id"], self.settings.vnic_type,
                                                      res["security_group"]["id"]).id
                server = self._maker.server(role, res["image"]["id"], res["flavor"]["id"],
                                            res[role_of(role).network]["id"], res["keypair"]["name"],
                                            res["security_group"]["name"], az, hints, port_id=ids.get("port_id"),
                                            config_drive=self.settings.config_drive, user_data=user_data)
                booted[role] = ids["server_id"] = server.id
            except CloudError as exc:
                msg = str(exc)
                vm_name = self._maker.name(role.replace("_", "-"))
                state["errors"][role] = msg if vm_name in msg else f"{vm_name}: {msg}"
        self._state.write(state)
        if not booted:
            return
        shown = ", ".join(list(booted)[:6]) + (f", ... ({len(booted) - 6} more)" if len(booted) > 6 else "")
        self.progress(f"booting {len(booted)} server(s) ({shown}) ...")
        results = wait_for_servers(self.conn, booted.values(), self.settings.boot_timeout_s)
        boot_s = _secs(start)
        ok = sum(1 for v in results.values() if not isinstance(v, CloudError))
        self.progress(f"booting {len(booted)} server(s) ... {ok} ACTIVE in {boot_s} s")
        _add_time(state, "boot_s", boot_s)

        start = time.monotonic()
        pending: dict[str, dict[str, Any]] = {}
        for role, sid in booted.items():
            active = results[sid]
            if isinstance(active, CloudError):
                state["errors"][role] = self._explain(active)
                continue
            try:
                server_host_id = self._server_host_id(state, booted, results, role_of(role).pair)
                pending[role] = self._endpoint(state, placement, role, active, server_host_id)
            except CloudError as exc:
                msg = str(exc)
                state["errors"][role] = msg if active.name in msg else f"{active.name}: {msg}"
        try:  # all of the batch's floating IPs in one request (scale mode: dozens)
            self._allow_floating_ips(state, [ep["floating_ip"] for ep in pending.values() if ep["floating_ip"]])
        except CloudError as exc:
            for role, ep in pending.items():
                state["errors"][role] = f"{ep['name']}: {exc}"
            pending = {}
        _add_time(state, "floating_ips_s", _secs(start))
        self._state.write(state)
        start = time.monotonic()
        self._wait_ssh(state, pending)
        _add_time(state, "ssh_wait_s", _secs(start))
        _add_time(state, "setup_s", _secs(start_all))

    @staticmethod
    def _server_host_id(state: dict[str, Any], booted: dict[str, str], results: dict[str, Any],
                        pair: int) -> str | None:
        """Nova's hostId of the pair's server VM (booted now, or before)."""
        name = pair_role(SERVER, pair)
        if name in booted and not isinstance(results[booted[name]], CloudError):
            return str(results[booted[name]].host_id)
        record = state["vms"].get(name)
        return record.get("host_id") if record else None

    def _endpoint(self, state: dict[str, Any], placement: Placement, role: str, server: Server,
                  server_host_id: str | None) -> dict[str, Any]:
        res = state["resources"]
        port = self._maker.server_port(server.id, server.name)
        fixed_ip = next((ip["ip_address"] for ip in port.fixed_ips if ":" not in ip["ip_address"]),
                        port.fixed_ips[0]["ip_address"])
        fixed_ip6 = None
        if self.settings.ipv6_mode:
            fixed_ip6 = next((ip["ip_address"] for ip in port.fixed_ips if ":" in ip["ip_address"]), None)
            if fixed_ip6 is None:
                raise CloudError(f"{server.name} has no IPv6 address on network {res[role_of(role).network]['name']}: "
                                 "--vmtp-ipv6-mode needs an IPv6 subnet there (a reused network must have one)")
        floating = None
        if NetworkPlan.from_json(state["plan"]).ssh == "floating":
            fip = self._maker.floating_ip(role, res["external_network"]["id"], port.id)
            state["ids"].setdefault(role, {})["floating_ip_id"] = fip.id
            floating = fip.floating_ip_address  # its security-group rules: in one request per batch
        if placement.mode == SCHEDULER and role_of(role).side == "B" and server_host_id:
            if server.host_id == server_host_id:
                raise CloudError(f"{server.name} landed on the server VM's host although it is inter-node "
                                 "(the scheduler ignored the different_host hint): give --vmtp-hypervisor twice")
        return VmEndpoint(
            role=role, name=server.name, server_id=server.id, fixed_ip=fixed_ip, floating_ip=floating,
            ssh_ip=floating or fixed_ip, host=server.compute_host, az=server.availability_zone,
            network=res[role_of(role).network]["name"], login_user=res["image"]["login_user"],
            key_path=res["keypair"]["key_path"], host_id=server.host_id, fixed_ip6=fixed_ip6,
        ).to_json()

    def _allow_floating_ips(self, state: dict[str, Any], addresses: list[str]) -> None:
        """A VM's floating IP is where its flows to other floating IPs come from (Neutron
        SNATs a VM with a floating IP to it): open the test ports to them."""
        group = state["resources"]["security_group"]
        if group.get("reused") or not addresses or self.settings.ipv6_mode:  # never edit the user's; IPv6
            return  # mode: no flow goes to or from a floating IP
        prefixes = [p for p in dict.fromkeys(sources.resolve(addresses, None)) if p not in group["flow_sources"]]
        if prefixes:
            self._maker.allow_flows_from(group["id"], prefixes, self.settings)
            group["flow_sources"].extend(prefixes)

    def _wait_ssh(self, state: dict[str, Any], pending: dict[str, dict[str, Any]]) -> None:
        if not pending:
            return
        start = time.monotonic()

        fixed = NetworkPlan.from_json(state["plan"]).ssh == "fixed"

        def wait(item: tuple[str, dict[str, Any]]) -> tuple[str, CloudError | None]:
            role, ep = item
            try:
                self.reach(VmEndpoint.from_json(ep), self.settings.ssh_timeout_s)
                return role, None
            except CloudError as exc:
                if fixed:  # no floating IP: this machine itself must reach the VMs' network
                    gone = self.unavailable(NEED_FLOATING_IP)
                    why = f" ({gone.reason})" if gone else ""
                    exc = CloudError(f"{exc}; SSH goes to the fixed IP without a floating IP{why}: "
                                     "this machine must reach the VMs' network (a provider network), "
                                     "else give --vmtp-ssh-jump user@host")
                return role, exc

        with ThreadPoolExecutor(max_workers=len(pending)) as pool:
            for role, err in pool.map(wait, pending.items()):
                if err is None:
                    state["vms"][role] = pending[role]
                else:
                    state["errors"][role] = f"{pending[role]['name']}: {err}"
        self.progress(f"SSH port open on {len(pending)} VM(s) in {_secs(start)} s")
