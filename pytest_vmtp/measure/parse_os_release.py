"""Pure parser of /etc/os-release, for the flow's distro_id / distro_version."""

from __future__ import annotations

import shlex


def parse_os_release(text: str) -> tuple[str | None, str | None]:
    """(ID, VERSION_ID), e.g. ("debian", "12"); None for what the file does not say."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            try:
                parts = shlex.split(value)
            except ValueError:
                parts = [value.strip("\"'")]
            values[key] = parts[0] if parts else ""
    return values.get("ID") or None, values.get("VERSION_ID") or None
