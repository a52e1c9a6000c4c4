"""The local cloud's state directory: where it is and the names of the files in it.

The one contract between the server process (server.py) and the modules that start, stop,
inspect and clean it from outside (control.py, status.py); it imports nothing, so neither
side loads the other to learn a file name. It imports nothing of the local cloud.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from .dataplane.model import DataplaneClass

DEFAULT_STATE_DIR = Path("/run/vmtp-localcloud")
STATE_DIR_ENV = "VMTP_LOCALCLOUD_STATE_DIR"
DEFAULT_PREFIX = "vlc"

SERVER_MODULE = "pytest_vmtp.localcloud.server"  # run as `python -m`; also how its pid is known
SERVER_FILE = "server.json"  # pid, port, prefix, status, dataplane of the running server
SNAPSHOT = "state.json"  # every resource, no secrets; left behind only by a crash
CLOUDS_FILE = "clouds.yaml"  # the only place the users' passwords live (mode 0600)
CLOUD_NAME = "local"  # its entry in clouds.yaml: user admin, project admin (role admin)
MEMBER_CLOUD_NAME = "local-member"  # user demo, project demo (role member, hence reader)
TOKEN_KEY = "fernet.key"  # the Fernet key tokens are made with (0600; kept for a recovery)
LOG_FILE = "server.log"
HOSTS_KEY = "hosts_id_ed25519"  # the operator's SSH key to the compute hosts (+ ".pub")
HOSTS_KNOWN_HOSTS = "hosts_known_hosts"  # the compute hosts' SSH host keys, for the plugin
HOSTS_GMOND = "hosts_gmond.json"  # {"port": N}: the compute hosts' gmond port (absent: none runs)
DATAPLANE_DIR = "dataplane"  # the data path's crash record and sshd directories
IMAGES_DIR = "images"  # uploaded Glance image data, one file per image id

DEFAULT_DATAPLANE = "pytest_vmtp.localcloud.dataplane.linux:LinuxDataplane"
DATAPLANE_ENV = "VMTP_LOCALCLOUD_DATAPLANE"


def load_dataplane_class(spec: str) -> DataplaneClass:
    """The data path class named by "module:Class" (the server builds one, clean() uses it)."""
    module, _, name = spec.partition(":")
    return cast("DataplaneClass", getattr(importlib.import_module(module), name))
