"""The fault document's `data_path` entries, applied to the data path and kept applied.

Names become kernel objects here: an entry selects servers (name regex), a compute host
(name) or networks (name regex); each selected port or host is a leg (a veth) whose state
(model.LegState) the data path brings about. What each selector reaches:
  server   every port of the server, both directions (leaving the VM, and towards it)
  host     the host's underlay leg, both directions (VXLAN and the host's own traffic)
  network  every port on the network (VMs', routers' interfaces and gateways), in the
           direction into the network: a packet crossing it is hit once
Entries reaching the same leg combine, a later entry's setting winning. `after_s` delays an
entry's start from when the document was set; `down_s` is how long its legs then carry no
packets (IP is dropped both ways). The desired states are recomputed when the document changes, when an entry starts
or a down window ends, when a server's ports are plugged (before it goes ACTIVE) and when
routers change; only the differences reach the kernel.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from .dataplane.model import NORMAL, Effect, Leg, LegState
from .faultspec import DataPathFault, FaultDoc

if TYPE_CHECKING:
    from .context import Cloud

CRASH_POLL_S = 0.05
FILE_POLL_S = 0.25
ROUTER_OWNERS = ("network:router_interface", "network:router_gateway")


class FaultPlane:
    """One per server process, started after the data path; stop() before it stops."""

    def __init__(self, c: Cloud) -> None:
        self.c = c
        self._lock = threading.RLock()
        self._doc = FaultDoc()
        self._set_at = time.monotonic()
        self._generation = 0
        self._applied: dict[Leg, LegState] = {}
        self._timers: list[threading.Timer] = []
        self._crashes: dict[int, int] = {}  # entry index -> crashes left
        self._waiting_kills: set[int] = set()  # kills `during` a tool, not done yet
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.c.faults.listen(self._on_document)
        for target, name in ((self._watch_file, "faults-file"), (self._crash_loop, "faults-crash"),
                             (self._refresh_loop, "faults-refresh")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
        for thread in self._threads:
            thread.join(2.0)

    def poke(self) -> None:
        """Something changed (a router, a port): refresh soon, in the background."""
        self._poke.set()

    # -- the document ---------------------------------------------------------------------------
    def _on_document(self, doc: FaultDoc, set_at: float) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
            for timer in self._timers:
                timer.cancel()
            self._timers = []
            self._doc, self._set_at = doc, set_at
            self._crashes = {e.index: e.count for e in doc.data_path if e.crash}
            self._waiting_kills = {e.index for e in doc.data_path if e.kill and e.during}
            for entry in doc.data_path:
                for delay in sorted({entry.after_s, entry.after_s + entry.down_s} - {0.0}):
                    self._at(set_at + delay, generation, entry)
        if doc.data_path:
            logging.info("faults: %d data-path entries set", len(doc.data_path))
        for entry in doc.data_path:
            if entry.kill and not entry.during and entry.after_s == 0:
                self._kill(entry)
        self.refresh()

    def _at(self, when: float, generation: int, entry: DataPathFault) -> None:
        def fire() -> None:
            with self._lock:
                if generation != self._generation:
                    return
            if entry.kill and not entry.during and when == self._set_at + entry.after_s:
                self._kill(entry)
            self.refresh()

        timer = threading.Timer(max(0.0, when - time.monotonic()), fire)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    # -- legs -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring every leg to what the document wants now."""
        with self._lock:
            if not self._doc.data_path and not self._applied and not self._ports_down():
                return
            desired = self._desired(time.monotonic())
            for leg in [leg for leg in self._applied if leg not in desired]:
                self._set(leg, NORMAL)
            for leg, state in desired.items():
                self._set(leg, state)

    def forget_server(self, server_id: str) -> None:
        """The server is going: lift its legs' faults first (no rule or queue outlives it)."""
        legs = set(self.c.dataplane.server_legs(server_id).values())
        with self._lock:
            for leg in [leg for leg in self._applied if leg in legs]:
                self._set(leg, NORMAL)

    def _set(self, leg: Leg, state: LegState) -> None:
        if self._applied.get(leg, NORMAL) == state:
            return
        try:
            self.c.dataplane.impair(leg, state)
        except Exception as exc:  # noqa: BLE001 - the leg may be gone with its namespace
            logging.warning("fault on %s/%s: %s", leg.device.netns, leg.device.ifname, exc)
            self.c.dataplane.forget_leg(leg)
            self._applied.pop(leg, None)
            return
        if state == NORMAL:
            self._applied.pop(leg, None)
        else:
            self._applied[leg] = state

    def _ports_down(self) -> bool:
        with self.c.state.lock:
            return any(p.get("_fault_down") for p in self.c.state.table("ports").values())

    def _desired(self, now: float) -> dict[Leg, LegState]:
        with self.c.state.lock:
            servers = [dict(s) for s in self.c.state.table("servers").values() if _plugged(s)]
            networks = [dict(n) for n in self.c.state.table("networks").values()]
            ports = [dict(p) for p in self.c.state.table("ports").values()]
        plugged = {s["id"] for s in servers}
        dp = self.c.dataplane
        out: dict[Leg, LegState] = {}

        def add(leg: Leg | None, out_effect: Effect | None, into: Effect | None,
                down: bool) -> None:
            if leg is None:
                return
            have = out.get(leg, NORMAL)
            out[leg] = LegState(have.out.merged(out_effect) if out_effect else have.out,
                                have.into.merged(into) if into else have.into,
                                have.down or down)

        for entry in self._doc.data_path:
            start = self._set_at + entry.after_s
            if entry.kill or entry.crash or now < start:
                continue
            down = bool(entry.down_s) and now < start + entry.down_s
            effect = entry.impairment if entry.impairment != Effect() else None
            if entry.selector == "server":
                for server in servers:
                    if entry.selects(server["name"]):
                        for leg in dp.server_legs(server["id"]).values():
                            add(leg, effect, effect, down)
            elif entry.selector == "host":
                for host in self.c.state.hosts:
                    if entry.selects(host):
                        add(dp.host_leg(host), effect, effect, down)
            else:
                chosen = {n["id"] for n in networks if entry.selects(n["name"])}
                for port in ports:
                    if port["network_id"] in chosen:
                        add(self._port_leg(port, plugged), effect, None, down)
        for port in ports:
            if port.get("_fault_down"):
                add(self._port_leg(port, plugged), None, None, True)
        return out

    def _port_leg(self, port: dict[str, Any], plugged: set[str]) -> Leg | None:
        dp = self.c.dataplane
        owner, device = port["device_owner"], port["device_id"]
        if owner.startswith("compute:") and device in plugged:
            return dp.server_legs(device).get(port["id"])
        if owner == ROUTER_OWNERS[0]:
            return dp.router_legs(device).get(port["id"])
        if owner == ROUTER_OWNERS[1]:
            return dp.router_legs(device).get("gateway")
        return None

    # -- kills and crashes ----------------------------------------------------------------------
    def _targets(self, entry: DataPathFault) -> list[tuple[str, str]]:
        with self.c.state.lock:
            return [(s["id"], s["name"]) for s in self.c.state.table("servers").values()
                    if _plugged(s) and entry.selects(s["name"])]

    def _kill(self, entry: DataPathFault) -> None:
        for server_id, name in self._targets(entry):
            if entry.kill == "sshd":
                done = self.c.dataplane.kill_sshd(server_id)
            else:
                self.forget_server(server_id)
                done = self.c.dataplane.kill_namespace(server_id)
                if done:
                    self._shut_off(server_id)
            logging.info("fault data_path[%d]: %s of %s %s", entry.index, entry.kill, name,
                         "killed" if done else "was not running")

    def _shut_off(self, server_id: str) -> None:
        """What Nova shows once libvirt reports the guest gone: SHUTOFF, ports DOWN."""
        with self.c.state.edit():
            server = self.c.state.table("servers").get(server_id)
            if server is None:
                return
            server.update({"status": "SHUTOFF", "OS-EXT-STS:vm_state": "stopped",
                           "OS-EXT-STS:power_state": 4, "_plugged": False})
            for port in self.c.state.table("ports").values():
                if port["device_id"] == server_id:
                    port["status"] = "DOWN"

    def _crash_loop(self) -> None:
        while not self._stop.wait(CRASH_POLL_S):
            with self._lock:
                now = time.monotonic()
                entries = [e for e in self._doc.data_path if e.crash
                           and self._crashes.get(e.index, 0) > 0
                           and now >= self._set_at + e.after_s]
                kills = [e for e in self._doc.data_path if e.index in self._waiting_kills
                         and now >= self._set_at + e.after_s]
            for entry in kills:  # a VM that dies while its tool runs
                assert entry.during is not None
                if any(self.c.dataplane.tool_running(sid, entry.during) for sid, _ in self._targets(entry)):
                    with self._lock:
                        self._waiting_kills.discard(entry.index)
                    self._kill(entry)
            for entry in entries:
                for server_id, name in self._targets(entry):
                    assert entry.crash is not None
                    if self.c.dataplane.kill_tool(server_id, entry.crash):
                        logging.info("fault data_path[%d]: %s crashed in %s", entry.index,
                                     entry.crash, name)
                        with self._lock:
                            self._crashes[entry.index] = self._crashes.get(entry.index, 1) - 1
                        break

    # -- background -----------------------------------------------------------------------------
    def _watch_file(self) -> None:
        while not self._stop.wait(FILE_POLL_S):
            try:
                self.c.faults.reload()
            except Exception:
                logging.exception("applying faults.yaml failed")

    def _refresh_loop(self) -> None:
        while not self._stop.is_set():
            self._poke.wait()
            self._poke.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception:
                logging.exception("fault refresh failed")


def _plugged(server: dict[str, Any]) -> bool:
    return bool(server.get("_plugged")) and server.get("OS-EXT-STS:task_state") != "deleting"
