"""connect(): an authenticated openstacksdk Connection, or one CloudError line saying why not.

Credentials come from openstacksdk's usual places: a clouds.yaml entry (OS_CLIENT_CONFIG_FILE,
./, ~/.config/openstack, /etc/openstack), OS_CLOUD, or plain OS_* variables (an openrc). The
token is fetched at once so that bad passwords and unreachable endpoints fail here, before any
resource is made, instead of in the middle of a build.
"""

from __future__ import annotations

import os

import openstack
import yaml
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc
from openstack.config import loader
from openstack.connection import Connection

from pytest_vmtp.cloud.errors import CloudError, translate
from pytest_vmtp.cloud.retry import Notify, RetryPolicy, install


def config_files() -> list[str]:
    """The clouds.yaml files openstacksdk reads, in its order (the env override first)."""
    files = list(loader.CONFIG_FILES)
    env = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if env:
        files.insert(0, env)
    return files


def _not_found(cloud_name: str, hint: str = "check --vmtp-cloud", files: list[str] | None = None) -> CloudError:
    existing = [f for f in files or config_files() if os.path.isfile(f)]
    known: set[str] = set()
    for path in existing:
        try:
            known |= set((yaml.safe_load(open(path)) or {}).get("clouds") or {})
        except (OSError, yaml.YAMLError, AttributeError):
            continue  # only decorates the message
    searched = ", ".join(existing) if existing else "no clouds.yaml found in " + ", ".join(
        sorted({os.path.dirname(f) for f in config_files()}))
    known_txt = f"; known clouds: {', '.join(sorted(known))}" if known else ""
    return CloudError(f"cloud '{cloud_name}' not found in clouds.yaml (searched: {searched}{known_txt}): {hint}")


def _check_files(cloud_name: str | None, files: list[str]) -> None:
    """The named cloud's entry in the clouds.yaml files openstacksdk reads (the first that
    parses): a mapping (openstacksdk fails on one that is not); and when no file has it, a
    file that is not valid YAML is the likely cause (openstacksdk skips such a file in silence)."""
    broken: CloudError | None = None
    for path in files:
        if not os.path.isfile(path):
            continue
        try:
            with open(path) as fh:
                doc = yaml.safe_load(fh)
        except OSError:
            continue  # unreadable: openstacksdk goes on too
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            broken = broken or CloudError(f"clouds.yaml {path}:{where}: not valid YAML "
                                          f"({getattr(exc, 'problem', exc)}): fix the file")
            continue
        clouds = doc.get("clouds") if isinstance(doc, dict) else None
        if cloud_name and isinstance(clouds, dict) and cloud_name in clouds:
            if not isinstance(clouds[cloud_name], dict):
                raise CloudError(f"clouds.yaml {path}: cloud '{cloud_name}' is {clouds[cloud_name]!r}, not a "
                                 "mapping of settings (auth:, region_name: ...): fix the file")
            return
    if broken is not None and cloud_name:
        raise broken


def _check_auth_url(conn: Connection, name: str) -> None:
    url = str((conn.config.config.get("auth") or {}).get("auth_url") or "")
    if url and not url.startswith(("http://", "https://")):
        raise CloudError(f"cloud '{name}': auth_url {url!r} is not an http:// or https:// URL: check clouds.yaml "
                         "or OS_AUTH_URL")


def _open(cloud_name: str | None, config_file: str | None) -> Connection:
    if config_file is None:
        return openstack.connect(cloud=cloud_name)
    if not os.path.isfile(config_file):
        raise CloudError(f"clouds.yaml {config_file}: file not found")
    # Only this file: no OS_CLIENT_CONFIG_FILE put before it (a user's own clouds.yaml for
    # another cloud would hide this one's entry), no OS_* variables, no secure.yaml.
    config = loader.OpenStackConfig(config_files=[config_file], secure_files=[], load_envvars=False)
    return Connection(config=config.get_one(cloud=cloud_name))


def connect(cloud_name: str | None, config_file: str | None = None, policy: RetryPolicy | None = None,
            notify: Notify | None = None) -> Connection:
    """Connect and authenticate. cloud_name None: OS_CLOUD, else the OS_* variables, else the
    only entry of clouds.yaml. config_file: read this clouds.yaml instead of the usual search
    path (e.g. the local cloud's, without exporting OS_CLIENT_CONFIG_FILE to every process).
    policy: how transient API failures are retried and how long one call may wait (retry.py;
    defaults.yaml's when None); notify: told of each retry."""
    label = cloud_name or os.environ.get("OS_CLOUD") or "envvars"
    _check_files(cloud_name or os.environ.get("OS_CLOUD"), [config_file] if config_file else config_files())
    try:
        conn = _open(cloud_name, config_file)
    except sdk_exc.ConfigException as exc:
        if "was not found" in str(exc):
            raise _not_found(label, "check --vmtp-cloud" if cloud_name else "check OS_CLOUD",
                             [config_file] if config_file else None) from None
        raise CloudError(f"cloud '{label}': bad configuration: {exc}") from None
    except ksa_exc.MissingRequiredOptions as exc:
        if cloud_name is None and not os.environ.get("OS_CLOUD"):
            raise CloudError("no cloud credentials: give --vmtp-cloud NAME (clouds.yaml), set OS_CLOUD, "
                             "or source an openrc file") from None
        if cloud_name is None and not any(os.path.isfile(f) for f in config_files()):
            raise _not_found(label, "check OS_CLOUD") from None
        raise translate(exc, "loading the configuration", label) from None
    except (sdk_exc.SDKException, ksa_exc.ClientException) as exc:
        raise translate(exc, "loading the configuration", label) from None
    name = getattr(conn.config, "name", None) or label
    try:
        _check_auth_url(conn, name)
    except CloudError:
        conn.close()
        raise
    install(conn, policy or RetryPolicy(), notify)
    try:
        conn.session.get_token()
    except (ksa_exc.ClientException, sdk_exc.SDKException) as exc:
        conn.close()
        auth_url = (conn.config.config.get("auth") or {}).get("auth_url", "?")
        err = translate(exc, f"authenticating at {auth_url}", name)
        if isinstance(exc, ksa_exc.Unauthorized):
            err = CloudError(f"cloud '{name}': authentication failed at {auth_url} (HTTP 401): "
                             "check user, password and project in clouds.yaml or the OS_* variables")
        raise err from None
    return conn
