"""Which throughput tool to use, whether a host has it, and its version (asked once per host)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable

from .errors import MeasureError, ToolMissing
from .parse_iperf2 import parse_iperf2_version
from .parse_iperf3 import parse_iperf3_version
from .parse_nuttcp import parse_nuttcp_version
from .runner import Runner
from .settings import MeasureSettings
from .tool_iperf2 import Iperf2
from .tool_iperf3 import Iperf3
from .tool_nuttcp import Nuttcp

ThroughputTool = Nuttcp | Iperf3 | Iperf2

_TOOLS: dict[str, tuple[type[ThroughputTool], Callable[[str], str]]] = {
         "nuttcp": (Nuttcp, parse_nuttcp_version),
          "iperf3": (Iperf3, parse_iperf3_version),
          "iperf": (Iperf2, parse_iperf2_version)}

_versions: dict[tuple[str, str], str] = {}
_versions_lock = threading.Lock()
# The binaries a runner found: asked once per runner (one per VM and run), not per row (an SSH
# round trip each). Keyed by the runner, not its label: two runners of one host may see
# different PATHs. Only presence is kept: a missing tool may be uploaded and asked again.
_present: weakref.WeakKeyDictionary[Runner, set[str]] = weakref.WeakKeyDictionary()


def tool_class(settings: MeasureSettings) -> type[ThroughputTool]:
    try:
        return _TOOLS[settings.tool][0]
    except KeyError:
        raise MeasureError(f"unknown tool {settings.tool!r}: pick one of "
                           f"{', '.join(_TOOLS)}") from None


def tool_version(runner: Runner, tool: str) -> str:
    """e.g. "nuttcp-6.1.2", cached per (host, tool): a host's tools do not change in a run."""
    key = (runner.label, tool)
    with _versions_lock:
        if key in _versions:
            return _versions[key]
    cls, parse = _TOOLS[tool]
    res = runner.run(cls.version_command, timeout=15)
    try:
        version = parse(res.output)
    except MeasureError:
        version = tool  # a tool that runs but hides its version is still usable
    with _versions_lock:
        _versions[key] = version
    return version


def tool_for(runner: Runner, settings: MeasureSettings) -> ThroughputTool:
    cls = tool_class(settings)
    return cls(settings, tool_version(runner, settings.tool))


def binaries_needed(settings: MeasureSettings, protocols: Iterable[str]) -> list[str]:
    """What a host must have for these protocols: any of "TCP", "UDP", "ICMP", "Multicast" (or
    VMTP's letters T U I M). Multicast with multicast_tool auto needs nuttcp or iperf (2):
    measure/multicast.py checks that, see binaries_wanted."""
    wanted = {p.upper()[:1] for p in protocols}
    needed = []
    if wanted & {"T", "U"}:
        needed.append(tool_class(settings).binary)
    if "M" in wanted and settings.multicast_tool != "auto":
        needed.append(settings.multicast_tool)
    if "I" in wanted:
        needed.append("ping")
    return list(dict.fromkeys(needed))


def binaries_wanted(settings: MeasureSettings, protocols: Iterable[str]) -> list[str]:
    """Worth uploading to a VM that lacks them, though not needed: multicast_tool auto picks
    among nuttcp and iperf (2) by what the hosts have."""
    if "M" in {p.upper()[:1] for p in protocols} and settings.multicast_tool == "auto":
        return ["nuttcp", "iperf"]
    return []


def check_tools(runner: Runner, settings: MeasureSettings, protocols: Iterable[str]) -> None:
    """Raise ToolMissing naming the first tool the host lacks for these protocols."""
    for binary in binaries_needed(settings, protocols):
        with _versions_lock:
            if binary in _present.get(runner, ()):
                continue
        if runner.has_binary(binary):
            with _versions_lock:
                _present.setdefault(runner, set()).add(binary)
        else:
            hint = "install it" if binary == "ping" else "install it or pick --vmtp-tool"
            raise ToolMissing(f"{binary} not found on host {runner.label}: {hint}")
