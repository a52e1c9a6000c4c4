"""Boots and deletes servers in worker threads, as nova-compute does behind the API.

The API answers 202 at once; a thread asks the data path to build the "VM" and moves the
server to ACTIVE, or to ERROR with a fault. Deletes wait for a running boot to finish first.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from . import neutron, security
from .common import now
from .dataplane.model import SecurityRule, ServerSpec

if TYPE_CHECKING:
    from .api.base import Cloud


class Builder:
    """Owns the worker threads and what was last pushed to the data path per server."""

    def __init__(self) -> None:
        self.pushed_rules: dict[str, tuple[SecurityRule, ...]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def _spawn(self, key: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=f"nova-{key}", daemon=True)
        with self._lock:
            self._threads[key] = thread
        thread.start()

    def boot(self, c: Cloud, server_id: str) -> None:
        self._spawn(server_id, self._boot, c, server_id)

    def delete(self, c: Cloud, server_id: str) -> None:
        with self._lock:
            boot_thread = self._threads.get(server_id)
        self._spawn(server_id, self._delete, c, server_id, boot_thread)

    def wait_idle(self, timeout: float) -> None:
        """Join every worker (server shutdown), at most `timeout` seconds in all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _boot(self, c: Cloud, server_id: str) -> None:
        delay = c.faults.boot_delay()
        if delay > 0:
            time.sleep(delay)
        with c.state.lock:
            server = c.state.table("servers").get(server_id)
            if server is None or server.get("OS-EXT-STS:task_state") == "deleting":
                return
            message = c.faults.boot_error()
            if message is not None:
                fail_server(c, server, 500, message)
                return
            rules, port_security = security.server_security(c, server_id)
            ports = security.server_ports(c, server_id)
            ports.sort(key=lambda p: server["_port_order"].index(p["id"])
                       if p["id"] in server["_port_order"] else 99)
            keypair = c.state.table("keypairs").get(server.get("key_name") or "")
            spec = ServerSpec(
                server_id=server_id, host=server["OS-EXT-SRV-ATTR:host"],
                ports=tuple(neutron.port_spec(c, p) for p in ports if p["fixed_ips"]),
                authorized_keys=(keypair["public_key"].strip() + "\n") if keypair else "",
                start_sshd=not c.faults.skip_sshd(server["name"]),
                security_rules=rules, port_security=port_security)
            server["OS-EXT-STS:task_state"] = "spawning"
            server["_boot_started"] = True
        try:
            c.dataplane.boot_server(spec)
        except Exception as exc:  # noqa: BLE001 - any data-path failure becomes the server's fault
            traceback.print_exc()
            with c.state.lock:
                server = c.state.table("servers").get(server_id)
                if server is not None:
                    fail_server(c, server, 500, f"Build of instance {server_id} aborted: {exc}")
            return
        with c.state.lock:
            server = c.state.table("servers").get(server_id)
            if server is None:
                return
            stamp = now()
            server.update({"status": "ACTIVE", "OS-EXT-STS:vm_state": "active",
                           "OS-EXT-STS:power_state": 1, "OS-SRV-USG:launched_at": stamp,
                           "updated": stamp, "progress": 100, "_booted": True})
            if server.get("OS-EXT-STS:task_state") != "deleting":
                server["OS-EXT-STS:task_state"] = None
            for port in security.server_ports(c, server_id):
                port["status"] = "ACTIVE"
            self.pushed_rules[server_id] = spec.security_rules
            security.push(c)
            c.state.save()

    def _delete(self, c: Cloud, server_id: str, boot_thread: threading.Thread | None) -> None:
        if boot_thread is not None and boot_thread is not threading.current_thread():
            boot_thread.join()
        with c.state.lock:
            server = c.state.table("servers").get(server_id)
            started = bool(server and server.get("_boot_started"))
            if server is not None:
                server["_booted"] = False  # no more security pushes to it
        try:
            if started:
                c.dataplane.delete_server(server_id)
        except Exception:  # noqa: BLE001 - deletion goes on; the log has the trace
            traceback.print_exc()
        with c.state.lock:
            server = c.state.table("servers").pop(server_id, None)
            self.pushed_rules.pop(server_id, None)
            for port in security.server_ports(c, server_id):
                if server and port["id"] in server.get("_created_ports", []):
                    neutron.delete_port(c, port["id"], by_owner=True)
                else:
                    port.update({"device_id": "", "device_owner": "", "status": "DOWN",
                                 "binding:host_id": ""})
            for group in c.state.table("server_groups").values():
                if server_id in group["members"]:
                    group["members"].remove(server_id)
            security.push(c)
            c.state.save()
        with self._lock:
            if self._threads.get(server_id) is threading.current_thread():
                del self._threads[server_id]


def fail_server(c: Cloud, server: dict[str, Any], code: int, message: str) -> None:
    stamp = now()
    server.update({"status": "ERROR", "OS-EXT-STS:vm_state": "error",
                   "OS-EXT-STS:task_state": None, "updated": stamp,
                   "fault": {"code": code, "message": message, "created": stamp}})
    c.state.save()
