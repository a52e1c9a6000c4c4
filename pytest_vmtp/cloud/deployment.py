"""What the APIs tell about a deployment that VMTP read on its controller node over SSH: the L2
agent type (VMTP asked Neutron's agents too) and the OpenStack release (VMTP ran
`nova-manage --version` there, "Kilo (2015.1.0)"; here it is read from the highest compute
microversion, which each Nova release raises, as nova's REST API version history lists them).
Pure: the calls are in metadata.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

# VMTP's network.py took the first agent whose type names Linux bridge or Open vSwitch; OVN
# (which came after VMTP), SR-IOV and macvtap agents are L2 agents too.
L2_AGENT_TYPES = ("Linux bridge", "Open vSwitch", "OVN Controller", "NIC Switch", "Macvtap")

# Nova's highest compute microversion per release ("2.79 (Maximum in Train)", ...), from
# nova/api/openstack/compute/rest_api_version_history.rst. Releases that kept their
# predecessor's maximum share it.
MAX_MICROVERSION = (
    ((2, 3), "Kilo"), ((2, 12), "Liberty"), ((2, 25), "Mitaka"), ((2, 38), "Newton"), ((2, 42), "Ocata"),
    ((2, 53), "Pike"), ((2, 60), "Queens"), ((2, 65), "Rocky"), ((2, 72), "Stein"), ((2, 79), "Train"),
    ((2, 87), "Ussuri or Victoria"), ((2, 88), "Wallaby"), ((2, 90), "Xena or Yoga"), ((2, 93), "Zed"),
    ((2, 95), "2023.1 Antelope or 2023.2 Bobcat"), ((2, 96), "2024.1 Caracal or 2024.2 Dalmatian"),
    ((2, 100), "2025.1 Epoxy or 2025.2 Flamingo"), ((2, 103), "2026.1 Gazpacho"),
)


def l2agent_type(agent_types: Iterable[str]) -> str | None:
    """VMTP's l2agent_type: the first L2 agent's type ('Linux bridge agent'), by L2_AGENT_TYPES'
    order; None when none is listed (agents are listed to admins only by default)."""
    types = list(agent_types)
    for wanted in L2_AGENT_TYPES:
        for agent_type in types:
            if wanted in agent_type:
                return agent_type
    return None


def agent_counts(agent_types: Iterable[str]) -> dict[str, int]:
    """{'Linux bridge agent': 3, 'L3 agent': 1}: how many agents of each type, by type."""
    return dict(sorted(Counter(agent_types).items()))


def _version(text: str) -> tuple[int, int] | None:
    major, sep, minor = text.strip().partition(".")
    if not sep or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)


def release_of(max_microversion: str | None) -> str | None:
    """'Train (compute API 2.79)' from the compute API's highest microversion; a maximum between
    two releases' is a development version of the next one; None when it is not known."""
    version = _version(max_microversion or "")
    if version is None:
        return None
    shown = f"compute API {version[0]}.{version[1]}"
    previous = None
    for top, name in MAX_MICROVERSION:
        if version == top:
            return f"{name} ({shown})"
        if version < top:
            return f"newer than {previous} ({shown})" if previous else f"{name} or older ({shown})"
        previous = name
    return f"newer than {previous} ({shown})"
