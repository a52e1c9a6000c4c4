"""A test module's own local cloud, on its own prefix and address ranges."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_vmtp.localcloud import control


@contextmanager
def own_cloud(state: Path, prefix: str, mgmt_cidr: str, external_cidr: str,
              **options: Any) -> Iterator[control.CloudHandle]:
    """Start it in state (whatever a killed earlier session left of this prefix is cleaned
    first: xdist keeps a module's tests in one worker, so nothing else uses the prefix);
    stop and clean it at the end, and check that no namespace or link of the prefix is left."""
    control.clean(state, prefix)
    handle = control.start(state, prefix=prefix, mgmt_cidr=mgmt_cidr, external_cidr=external_cidr, **options)
    try:
        yield handle
    finally:
        try:
            control.stop(handle)
        finally:
            control.clean(state, prefix)
    for listing in (["ip", "netns", "list"], ["ip", "-br", "link"]):
        left = subprocess.run(listing, capture_output=True, text=True, check=True).stdout
        assert f"{prefix}-" not in left, left
