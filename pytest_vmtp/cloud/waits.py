"""Waiting for the cloud: servers ACTIVE (or their fault), ports open, deletions done, 409s over.

Polling with short sleeps, since openstacksdk's own waits handle one resource at a time and
a run boots several servers that should be waited for together.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from openstack.connection import Connection

from pytest_vmtp.cloud.errors import CloudError, cloud_errors, http_details, translate
from pytest_vmtp.cloud.retry import GaveUp

if TYPE_CHECKING:
    from openstack.compute.v2.server import Server

T = TypeVar("T")


def fault_message(server: Server) -> str:
    fault = getattr(server, "fault", None) or {}
    msg = fault.get("message") if isinstance(fault, dict) else None
    return str(msg) if msg else "no fault message"


def wait_for_servers(conn: Connection, server_ids: Iterable[str], timeout: float,
                     interval: float = 1.0) -> dict[str, Server | CloudError]:
    """Poll until every server is ACTIVE; per id, the server or the CloudError explaining why not."""
    pending = set(server_ids)
    done: dict[str, Server | CloudError] = {}
    deadline = time.monotonic() + timeout
    last: dict[str, Server] = {}
    while pending:
        for sid in sorted(pending):
            with cloud_errors("polling a server"):
                try:
                    server = conn.compute.get_server(sid)
                except sdk_exc.NotFoundException:
                    done[sid] = CloudError(f"server {sid} vanished while booting")
                    continue
            last[sid] = server
            if server.status == "ACTIVE":
                done[sid] = server
            elif server.status == "ERROR":
                done[sid] = CloudError(f"server {server.name} went to ERROR: {fault_message(server)}")
        pending -= set(done)
        if not pending:
            break
        if time.monotonic() > deadline:
            for sid in pending:
                srv = last.get(sid)
                status = srv.status if srv is not None else "unknown"
                label = srv.name if srv is not None else sid
                done[sid] = CloudError(f"server {label} not ACTIVE after {timeout:.0f} s (status {status}): "
                                       "raise boot_timeout_s or check the compute hosts")
            break
        time.sleep(interval)
    return done


def wait_for_port(ip: str, port: int = 22, timeout: float = 120, expect: bytes | None = None) -> float:
    """Wait until ip:port accepts a TCP connection (and, when expect is given, sends a banner
    starting with it, e.g. b"SSH-"); returns the seconds waited. A login is the caller's job."""
    start = time.monotonic()
    deadline = start + timeout
    last_error = "no attempt"
    while True:
        try:
            with socket.create_connection((ip, port), timeout=3) as sock:
                if expect is None:
                    return time.monotonic() - start
                sock.settimeout(5)
                banner = sock.recv(len(expect) + 64)
                if banner.startswith(expect):
                    return time.monotonic() - start
                last_error = f"unexpected banner {banner[:20]!r}"
        except OSError as exc:
            last_error = exc.strerror or str(exc)
        if time.monotonic() > deadline:
            raise CloudError(f"{ip}:{port} not reachable after {timeout:.0f} s ({last_error}): "
                             "check the security group, the floating IP and that the image runs sshd")
        time.sleep(0.5)


def retry_conflict(action: str, fn: Callable[[], T], timeout: float = 60, interval: float = 1.0) -> T | None:
    """Run fn, retrying 409 Conflict (resource still in use) until timeout; None when 404."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sdk_exc.NotFoundException:
            return None
        except sdk_exc.ConflictException as exc:
            if time.monotonic() > deadline:
                raise CloudError(f"{action}: still in use after {timeout:.0f} s: {http_details(exc)}") from exc
        except (sdk_exc.SDKException, ksa_exc.ClientException, GaveUp) as exc:
            raise translate(exc, action) from exc
        time.sleep(interval)


def wait_gone(exists: Callable[[], bool], what: str, timeout: float, interval: float = 1.0) -> float:
    """Wait until exists() is False; returns seconds waited."""
    start = time.monotonic()
    while exists():
        if time.monotonic() - start > timeout:
            raise CloudError(f"{what} still present after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - start
