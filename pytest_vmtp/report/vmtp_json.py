"""The VMTP-compatible JSON result file (sorted keys, indent 4, like VMTP's)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from pytest_vmtp import __version__

UNITS = {"throughput": "kbit/s (1 kbit = 1000 bit)", "rtt": "ms", "loss_rate": "percent"}
MASK = "<MASKED>"
_SECRET_KEY = re.compile(r"pass|secret|token|credential|auth_key", re.I)
_SECRET_INLINE = re.compile(r"((?:password|secret|token)=)[^,&\s]+", re.I)
_SECRET_URL = re.compile(r"(://[^/@:\s]*:)[^@\s]*(@)")  # scheme://user:PASSWORD@host


def mask_secrets(value: Any, key: str = "") -> Any:
    """Replace secret values (by key name, or inline 'password=...') with <MASKED>."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v, key) for v in value]
    if value is not None and _SECRET_KEY.search(key):
        return MASK
    if isinstance(value, str):
        value = _SECRET_URL.sub(lambda m: m.group(1) + MASK + m.group(2), value)
        return _SECRET_INLINE.sub(lambda m: m.group(1) + MASK, value)
    return value


def build_document(
    flows: list[dict[str, Any]],
    run_id: str,
    args: dict[str, Any],
    description: str | None,
    metadata: dict[str, Any] | None = None,
    date: datetime | None = None,
) -> dict[str, Any]:
    meta = mask_secrets(metadata or {})
    doc: dict[str, Any] = {
        "date": (date or datetime.now()).strftime("%Y-%m-%d %H:%M:%S"),
        "args": mask_secrets(args),
        "version": __version__,
        "run_id": run_id,
        "test_description": description,
        "flows": flows,
        "units": UNITS,
        "metadata": meta,
    }
    # VMTP's top-level cloud fields, where the cloud metadata has them.
    types = {n.get("network_type") for n in (meta.get("networks") or {}).values()} - {None}
    if len(types) == 1 and not meta.get("encapsulation"):
        meta = {**meta, "encapsulation": types.pop()}
    for key in ("auth_url", "l2agent_type", "encapsulation", "openstack_version"):
        if meta.get(key):
            doc[key] = meta[key]
    return doc


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("pytest_vmtp.report").joinpath("vmtp-results.schema.json").read_text()
    return json.loads(text)


def validate(doc: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when doc does not follow the shipped schema."""
    jsonschema.validate(doc, schema())


def write(doc: dict[str, Any], path: Path) -> None:
    validate(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, sort_keys=True, indent=4, default=str) + "\n")
