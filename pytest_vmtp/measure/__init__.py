"""Measurement engine: where commands run (runners), the tools and their pure parsers.

Knows nothing of OpenStack or pytest: it is given two runners and an address. The modules
each do one job: runner / local_runner / ssh_runner / hostspec (where commands run), parse_*
(pure parsers), tool_* (command lines), udp_search (rate search), flows (the entry points).
The names below are imported on first use (PEP 562): importing measure.settings alone does
not load paramiko and fabric.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "MeasureError": "errors", "RunnerError": "errors", "ToolMissing": "errors",
    "check_tools": "flows", "host_distro": "flows", "measure_icmp": "flows",
    "measure_multicast": "flows", "measure_tcp": "flows", "measure_udp": "flows",
    "SshTarget": "hostspec", "parse_host_spec": "hostspec", "LocalRunner": "local_runner",
    "Background": "runner", "CommandResult": "runner", "Runner": "runner",
    "MeasureSettings": "settings", "SshRunner": "ssh_runner",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
