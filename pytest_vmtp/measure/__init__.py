"""Measurement engine: where commands run (runners), the tools and their pure parsers.

Knows nothing of OpenStack or pytest: it is given two runners and an address. The scenarios
use the names re-exported here; the modules behind them each do one job:
runner / local_runner / ssh_runner / hostspec (where commands run), parse_* (pure parsers),
tool_* (command lines), udp_search (rate search), flows (the entry points).
"""

from .errors import MeasureError, RunnerError, ToolMissing
from .flows import (
    check_tools,
    host_distro,
    measure_icmp,
    measure_multicast,
    measure_tcp,
    measure_udp,
)
from .hostspec import SshTarget, parse_host_spec
from .local_runner import LocalRunner
from .runner import Background, CommandResult, Runner
from .settings import MeasureSettings
from .ssh_runner import SshRunner

__all__ = [
    "Background", "CommandResult", "LocalRunner", "MeasureError", "MeasureSettings", "Runner",
    "RunnerError", "SshRunner", "SshTarget", "ToolMissing", "check_tools", "host_distro",
    "measure_icmp", "measure_multicast", "measure_tcp", "measure_udp", "parse_host_spec",
]
