"""The cloud's state: every resource in its API shape, one lock, a JSON snapshot on disk.

Resources are kept as the dicts the API returns (Neutron/Nova field names), so views,
filters and the snapshot need no mapping. The snapshot lets `vmtp-localcloud status|clean`
see what was built after the server is gone; it never holds secrets (users' passwords only as
salted hashes, so that a recovery after kill -9 keeps the users made through the API).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .layout import SNAPSHOT

TABLES = ("networks", "subnets", "ports", "routers", "floatingips", "security_groups",
          "security_group_rules", "servers", "keypairs", "server_groups", "flavors", "images",
          # Keystone's (keystone.py): users keep a password hash ("_password"), never a password
          "domains", "projects", "users", "roles", "role_assignments", "revoked_tokens")

Resource = dict[str, Any]  # a resource as its API shows it (JSON values), plus "_" bookkeeping
DEFAULT_ZONE = "nova"  # Nova's default availability zone

@dataclass
class Quotas:
    """A project's limits, Nova's and Neutron's names (the defaults until set for it)."""

    instances: int = 10
    cores: int = 20
    ram: int = 51200
    key_pairs: int = 100
    server_groups: int = 10
    server_group_members: int = 10
    metadata_items: int = 128
    network: int = 100
    subnet: int = 100
    port: int = 500
    router: int = 10
    floatingip: int = 50
    security_group: int = 10
    security_group_rule: int = 100


class CloudState:
    """All tables behind one re-entrant lock; `save()` writes the snapshot atomically."""

    def __init__(self, state_dir: Path, prefix: str, hosts: list[str],
                 physical_networks: list[str] | None = None, external_network: bool = True,
                 zones: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.prefix = prefix
        self.hosts = hosts
        self.physical_networks = list(physical_networks or [])  # provider networks' (segments.py)
        self.external_network = external_network  # False: started with --no-external-network
        self.zones = {host: (zones or {}).get(host, DEFAULT_ZONE) for host in hosts}
        self.lock = threading.RLock()
        self.quotas: dict[str, Quotas] = {}  # the projects whose quotas were set
        self.tables: dict[str, dict[str, Resource]] = {name: {} for name in TABLES}
        self.next_vni = 1001

    def restore(self, doc: dict[str, Any]) -> None:
        """Take the resources of a snapshot (a crashed server's), ids and all."""
        with self.lock:
            self.quotas = {project: Quotas(**limits)
                           for project, limits in (doc.get("quotas") or {}).items()
                           if isinstance(limits, dict)}
            self.next_vni = int(doc["next_vni"])
            for name in TABLES:
                self.tables[name] = dict(doc["tables"].get(name, {}))

    def table(self, name: str) -> dict[str, Resource]:
        return self.tables[name]

    def quotas_of(self, project_id: str) -> Quotas:
        """The project's limits: those set for it, else the defaults (not stored)."""
        with self.lock:
            return self.quotas.get(project_id) or Quotas()

    def set_quotas(self, project_id: str, quotas: Quotas) -> None:
        with self.lock:
            self.quotas[project_id] = quotas

    def allocate_vni(self) -> int:
        with self.lock:
            vni = self.next_vni
            self.next_vni += 1
            return vni

    @contextmanager
    def edit(self) -> Iterator[None]:
        """Hold the lock for a change, then save the snapshot (not when the change raised)."""
        with self.lock:
            yield
            self.save()

    def save(self) -> None:
        """Write state.json (ids and what was built) so the CLI can work from disk."""
        with self.lock:
            doc = {"prefix": self.prefix, "hosts": self.hosts, "zones": self.zones,
                   "physical_networks": self.physical_networks,
                   "external_network": self.external_network,
                   "quotas": {p: asdict(q) for p, q in self.quotas.items()},
                   "next_vni": self.next_vni,
                   "tables": self.tables}
            text = json.dumps(doc, indent=1, sort_keys=True, default=str)
            tmp = self.state_dir / (SNAPSHOT + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, self.state_dir / SNAPSHOT)
