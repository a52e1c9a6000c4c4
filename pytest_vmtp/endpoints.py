"""The two ends of a measured flow: who sends to whom, and what VMTP's JSON says about it.

Apart from scenario_run (which measures them) so that scale mode's runner, the fixtures and
the measurement code share the type without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_vmtp.measure.runner import Runner


@dataclass
class FlowEndpoints:
    """Who sends to whom, and what VMTP's JSON says about it."""

    client: Runner
    server: Runner
    dest_ip: str
    desc: str
    ip_from: str | None = None
    ip_to: str | None = None
    az_from: str | None = None
    az_to: str | None = None
    reverse: bool = False  # server sends (download), as nuttcp -F -r
    # Names of the machines involved: measurements sharing one are serialised across
    # xdist workers so that they do not disturb each other.
    locks: tuple[str, ...] = ()
    # A further flow of the row (FlowResult.companion), e.g. "intra-host"; None: the row's own.
    companion: str | None = None
    # Scale mode: pairs 2, 3 ... of the row (this one is pair 1), measured at once with it.
    more: tuple[FlowEndpoints, ...] = ()

    @property
    def pairs(self) -> list[FlowEndpoints]:
        return [self, *self.more]
