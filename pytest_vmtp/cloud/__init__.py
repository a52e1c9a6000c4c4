"""openstacksdk orchestration: the VMTP test topology on any OpenStack cloud.

Knows nothing of pytest or of the measurement tools. Entry points: connect(), Topology,
cleanup(), metadata(); CloudError carries the one line a user sees.
"""

from pytest_vmtp.cloud.cleanup import CleanupError, cleanup
from pytest_vmtp.cloud.connect import connect
from pytest_vmtp.cloud.errors import CloudError
from pytest_vmtp.cloud.metadata import metadata
from pytest_vmtp.cloud.naming import new_run_id
from pytest_vmtp.cloud.settings import CloudSettings
from pytest_vmtp.cloud.topology import Topology, VmEndpoint
from pytest_vmtp.cloud.waits import wait_for_port

__all__ = [
    "CleanupError", "CloudError", "CloudSettings", "Topology", "VmEndpoint", "cleanup",
    "connect", "metadata", "new_run_id", "wait_for_port",
]
