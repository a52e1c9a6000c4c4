"""What a results document says about its run: the lines shown beneath the charts and in the
pytest-html Environment section. Pure; reads pytest-vmtp's documents and VMTP's own alike."""

from __future__ import annotations

from typing import Any


def tools(doc: dict[str, Any]) -> list[str]:
    """The measuring tools with their versions, as the result items name them ('nuttcp-8.2.2')."""
    found = {str(item["tool"]) for flow in doc.get("flows") or [] for item in flow.get("results") or []
             if isinstance(item, dict) and item.get("tool")}
    return sorted(found)


def producer(doc: dict[str, Any]) -> str:
    """'pytest-vmtp 0.1.0', or 'VMTP 2.5.0' for VMTP's own files (they carry no 'metadata')."""
    version = doc.get("version")
    name = "pytest-vmtp" if "metadata" in doc else "VMTP"
    return f"{name} {version}" if version else name


def api_versions(meta: dict[str, Any]) -> dict[str, str]:
    """{'compute': '2.1 (microversions 2.1-2.95)', ...} from the cloud metadata."""
    out = {}
    for service, info in (meta.get("api_versions") or {}).items():
        if not isinstance(info, dict):
            continue
        if info.get("error"):
            out[service] = f"unknown ({info['error']})"
            continue
        text = str(info.get("version") or "?")
        if info.get("min_microversion") or info.get("max_microversion"):
            text += f" (microversions {info.get('min_microversion', '?')}-{info.get('max_microversion', '?')})"
        out[service] = text
    return out


def headline(doc: dict[str, Any], cloud: str | None = None) -> list[tuple[str, str]]:
    """The fields an operator compares two runs by, in this order; absent ones are left out.
    cloud: the name to show when the document names none (native rows carry no cloud)."""
    meta = doc.get("metadata") or {}
    apis = api_versions(meta)
    fields = [
        ("run id", doc.get("run_id")),
        ("date", doc.get("date")),
        ("cloud", meta.get("cloud") or cloud),
        ("region", meta.get("region")),
        ("description", doc.get("test_description")),
        ("tools", ", ".join(tools(doc))),
        ("version", producer(doc)),
        ("encapsulation", doc.get("encapsulation") or meta.get("encapsulation")),
        ("L2 agent", doc.get("l2agent_type")),
        ("OpenStack", doc.get("openstack_version")),
        ("distro", doc.get("distro")),
        ("auth URL", doc.get("auth_url") or meta.get("auth_url")),
        ("API versions", ", ".join(f"{k} {v}" for k, v in apis.items())),
        ("image", meta.get("image")),
        ("flavor", meta.get("flavor")),
    ]
    return [(k, str(v)) for k, v in fields if v not in (None, "")]


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested metadata as ('api_versions.compute.version', '2.1') lines; scalar lists joined."""
    if isinstance(value, dict):
        out = []
        for key, sub in value.items():
            out.extend(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return [(prefix, ", ".join(map(str, value)))]
        return [line for i, sub in enumerate(value) for line in flatten(sub, f"{prefix}[{i}]")]
    return [(prefix, "" if value is None else str(value))]


def metadata_lines(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Everything else the document records about its run: its 'metadata' (pytest-vmtp) and
    VMTP's top-level cloud fields (cpu_info ...)."""
    extra = {k: doc[k] for k in ("cpu_info",) if doc.get(k)}
    return flatten({**(doc.get("metadata") or {}), **extra})


def environment(doc: dict[str, Any], cloud: str | None = None) -> dict[str, Any]:
    """pytest-html's Environment entries of a run: 'VMTP run id' ... ; the API versions as a
    nested dict (pytest-html lists a dict's items)."""
    meta = doc.get("metadata") or {}
    out: dict[str, Any] = {}
    for key, value in headline(doc, cloud):
        if key in ("API versions", "date"):
            continue
        out[f"VMTP {key}"] = value
    apis = api_versions(meta)
    if apis:
        out["VMTP API versions"] = apis
    return out
