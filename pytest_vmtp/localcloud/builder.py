"""Boots and deletes servers in worker threads, as nova-compute does behind the API.

The API answers 202 at once; a thread asks the data path to build the "VM" and moves the
server to ACTIVE, or to ERROR with a fault. Deletes wait for a running boot to finish first.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import TYPE_CHECKING

from . import binding, configdrive, neutron, security
from .common import now
from .dataplane.model import ServerSpec
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud


def boot(c: Cloud, server_id: str) -> None:
    """Build the server in a worker thread (state lock held by the caller, or not)."""
    c.workers.start(server_id, _boot, c, server_id)


def delete(c: Cloud, server_id: str) -> None:
    """Remove the server in a worker thread, after its boot if one still runs."""
    c.workers.start(server_id, _delete, c, server_id, c.workers.current(server_id))


def ordered_ports(c: Cloud, server: Resource) -> list[Resource]:
    """The server's ports in the order its request named them (eth0 first)."""
    order = server.get("_port_order", [])
    ports = security.server_ports(c, server["id"])
    ports.sort(key=lambda p: order.index(p["id"]) if p["id"] in order else 99)
    return ports


def fail_server(c: Cloud, server: Resource, code: int, message: str) -> None:
    """ERROR with a fault, as Nova shows a failed build (state lock held)."""
    stamp = now()
    server.update({"status": "ERROR", "OS-EXT-STS:vm_state": "error",
                   "OS-EXT-STS:task_state": None, "updated": stamp,
                   "fault": {"code": code, "message": message, "created": stamp}})
    c.state.save()


def _spec(c: Cloud, server: Resource) -> ServerSpec:
    """What the data path needs to build the server (state lock held)."""
    return spec_of(c, server, start_sshd=not c.faults.skip_sshd(server["name"]))


def spec_of(c: Cloud, server: Resource, start_sshd: bool) -> ServerSpec:
    """The server's ServerSpec from the state (state lock held)."""
    rules, port_security = security.server_security(c, server["id"])
    keypair = c.state.table("keypairs").get(
        f"{server['user_id']}/{server.get('key_name') or ''}")  # nova.keypair_key
    ports = ordered_ports(c, server)
    return ServerSpec(
        server_id=server["id"], host=server["OS-EXT-SRV-ATTR:host"],
        ports=tuple(neutron.port_spec(c, p) for p in ports if p["fixed_ips"]),
        authorized_keys=(keypair["public_key"].strip() + "\n") if keypair else "",
        start_sshd=start_sshd,
        security_rules=rules, port_security=port_security,
        config_drive=configdrive.files(c, server, ports))


def _deleting(c: Cloud, server_id: str) -> bool:
    with c.state.lock:
        server = c.state.table("servers").get(server_id)
        return server is None or server.get("OS-EXT-STS:task_state") == "deleting"


def _boot(c: Cloud, server_id: str) -> None:
    delay = c.faults.boot_delay()
    if delay > 0:
        time.sleep(delay)
    with c.state.lock:
        server = c.state.table("servers").get(server_id)
        if server is None or server.get("OS-EXT-STS:task_state") == "deleting":
            return
        fault = c.faults.boot_fault(server["name"])
        if fault is not None and fault.kind == "error":
            fail_server(c, server, 500, fault.message)
            return
        if fault is not None and fault.kind == "stuck":
            server["OS-EXT-STS:task_state"] = "spawning"
    if fault is not None and fault.kind == "stuck":
        c.faults.hold_while_stuck(lambda: _deleting(c, server_id))
    with c.state.lock:
        server = c.state.table("servers").get(server_id)
        if server is None or server.get("OS-EXT-STS:task_state") == "deleting":
            return
        spec = _spec(c, server)
        server["OS-EXT-STS:task_state"] = "spawning"
        server["_boot_started"] = True
    try:
        c.dataplane.boot_server(spec)
    except Exception as exc:  # noqa: BLE001 - any data-path failure becomes the server's fault
        traceback.print_exc()
        with c.state.lock:
            failed = c.state.table("servers").get(server_id)
            if failed is not None:
                fail_server(c, failed, 500, f"Build of instance {server_id} aborted: {exc}")
        return
    port_down = fault is not None and fault.kind == "port_down"
    with c.state.lock:
        plugged = c.state.table("servers").get(server_id)
        if plugged is not None:
            plugged["_plugged"] = True
            for port in security.server_ports(c, server_id):
                port["_fault_down"] = port_down or None
    if c.faultplane is not None:
        c.faultplane.refresh()  # faults on what boots while they are set, before ACTIVE
    with c.state.edit():
        booted = c.state.table("servers").get(server_id)
        if booted is None:
            return
        stamp = now()
        booted.update({"status": "ACTIVE", "OS-EXT-STS:vm_state": "active",
                       "OS-EXT-STS:power_state": 1, "OS-SRV-USG:launched_at": stamp,
                       "updated": stamp, "progress": 100, "_booted": True})
        if booted.get("OS-EXT-STS:task_state") != "deleting":
            booted["OS-EXT-STS:task_state"] = None
        for port in security.server_ports(c, server_id):
            port["status"] = "DOWN" if port_down else "ACTIVE"
        c.pushed_rules[server_id] = spec.security_rules
        security.push(c)


def _delete(c: Cloud, server_id: str, boot_thread: threading.Thread | None) -> None:
    if boot_thread is not None and boot_thread is not threading.current_thread():
        boot_thread.join()
    with c.state.lock:
        server = c.state.table("servers").get(server_id)
        started = bool(server and server.get("_boot_started"))
        if server is not None:
            server["_booted"] = False  # no more security pushes to it
            server["_plugged"] = False  # no more faults on it
    if c.faultplane is not None:
        c.faultplane.forget_server(server_id)
    try:
        if started:
            c.dataplane.delete_server(server_id)
    except Exception:  # noqa: BLE001 - deletion goes on; the log has the trace
        traceback.print_exc()
    with c.state.edit():
        server = c.state.table("servers").pop(server_id, None)
        c.pushed_rules.pop(server_id, None)
        for port in security.server_ports(c, server_id):
            if server and port["id"] in server.get("_created_ports", []):
                neutron.delete_port(c, port["id"], by_owner=True)
            else:
                port.update({"device_id": "", "device_owner": "", "status": "DOWN",
                             "_fault_down": None})
                binding.unbind(port)
        for group in c.state.table("server_groups").values():
            if server_id in group["members"]:
                group["members"].remove(server_id)
        security.push(c)
    c.workers.forget(server_id)

