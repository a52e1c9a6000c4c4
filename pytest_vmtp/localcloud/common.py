"""Small helpers shared by the API modules: ids, MACs, timestamps."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A Nova/Neutron style UUID string."""
    return str(uuid.uuid4())


def new_hex_id() -> str:
    """A Keystone style 32-hex id."""
    return uuid.uuid4().hex


def now() -> str:
    """ISO 8601 UTC without fractions, as Nova and Neutron show created/updated times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_mac(taken: set[str]) -> str:
    """A random MAC in Neutron's default base fa:16:3e, unique within `taken`."""
    while True:
        mac = "fa:16:3e:" + ":".join(f"{random.randint(0, 255):02x}" for _ in range(3))
        if mac not in taken:
            return mac
