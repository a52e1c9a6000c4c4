"""Cloud: everything a request handler or a worker thread of the server may touch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .dataplane.model import Dataplane, SecurityRule
from .faults import FaultBook
from .state import CloudState
from .tokens import TokenStore
from .workers import Workers


class FaultFollower(Protocol):
    """What the server needs of the data-path faults (faultplane.FaultPlane), named here so that
    the context and the fault plane do not import each other."""

    def poke(self) -> None: ...

    def refresh(self) -> None: ...

    def forget_server(self, server_id: str) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Cloud:
    """One per server process; the Flask app holds it (api/base.py's cloud() returns it)."""

    state: CloudState
    dataplane: Dataplane
    faults: FaultBook
    tokens: TokenStore  # who a request's bearer is: keystone.py over these
    workers: Workers = field(default_factory=Workers)
    # What was last sent to the data path per server, so security pushes send only changes.
    pushed_rules: dict[str, tuple[SecurityRule, ...]] = field(default_factory=dict)
    # The data-path faults (server.py makes it once the data path runs).
    faultplane: FaultFollower | None = None

    def poke_faults(self) -> None:
        """A router or port changed: let the data-path faults follow."""
        if self.faultplane is not None:
            self.faultplane.poke()
