"""CloudError and the translation of openstacksdk/keystoneauth failures into one line.

Users see `str(CloudError)` without a traceback, so every message names what failed and what
to do about it, and never contains a secret (no passwords, tokens or request bodies).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as sdk_exc

from pytest_vmtp.cloud.retry import GaveUp, retries_made
from pytest_vmtp.user_error import UserError


class CloudError(UserError):
    """A cloud-side failure or mistake; str() is the one line to show the user."""


class AdminRequiredError(CloudError):
    """What the user's rights on the cloud do not allow (a project member's 403): the rows that
    need it skip with this reason instead of failing."""


def _first_line(text: object, limit: int = 300) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


_READ_TIMEOUT = re.compile(r"read timeout=([0-9.]+)")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def connection_reason(exc: BaseException) -> str:
    """'Connection refused' rather than urllib3's nested repr."""
    text = str(exc)
    m = _ERRNO.search(text)
    if m:
        return m.group(1).strip().rstrip(".")
    if "timed out" in text.lower():
        return "timed out"
    return _first_line(text, 160)


def http_details(exc: sdk_exc.HttpException) -> str:
    """The server's own message (Nova/Neutron 'message'), not the SDK's URL dump."""
    return _first_line(exc.details or exc.message or exc)


def translate(exc: BaseException, action: str, cloud: str | None = None) -> CloudError:
    """Map an SDK/keystoneauth exception raised while doing `action` to a CloudError; a
    transient failure that outlasted the retries says how long it was tried."""
    if isinstance(exc, GaveUp):
        return CloudError(f"{_translate(exc.last, action, cloud)} ({exc.note()})")
    err = _translate(exc, action, cloud)
    tries = retries_made(exc)
    return CloudError(f"{err} (still failing after {tries + 1} tries)") if tries else err


def _translate(exc: BaseException, action: str, cloud: str | None = None) -> CloudError:
    where = f"cloud '{cloud}': " if cloud else ""
    if isinstance(exc, CloudError):
        return exc
    if isinstance(exc, ksa_exc.Unauthorized):
        return CloudError(f"{where}authentication failed (HTTP 401): check user, password and project "
                          "in clouds.yaml or the OS_* variables")
    if isinstance(exc, (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout)) and "read timed out" in str(exc).lower():
        m = _READ_TIMEOUT.search(str(exc))
        within = f" within {float(m.group(1)):g} s" if m else ""
        tried = ", every retry too" if "max retries exceeded" in str(exc).lower() else ""
        return CloudError(f"{where}the API did not answer{within} while {action}{tried}: timed out "
                          "(raise api_timeout_s if the cloud is just slow)")
    if isinstance(exc, (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout, ksa_exc.SSLError)):
        return CloudError(f"{where}cannot reach the API while {action}: {connection_reason(exc)}")
    if isinstance(exc, ksa_exc.DiscoveryFailure):
        return CloudError(f"{where}API discovery failed while {action}: {_first_line(exc)}")
    if isinstance(exc, (ksa_exc.MissingRequiredOptions, ksa_exc.MissingAuthPlugin)):
        return CloudError(f"{where}incomplete credentials: {_first_line(exc)}")
    if isinstance(exc, ksa_exc.EndpointNotFound) or isinstance(exc, sdk_exc.EndpointNotFound):
        return CloudError(f"{where}service endpoint missing from the catalog while {action}: {_first_line(exc)}")
    if isinstance(exc, sdk_exc.HttpException):
        status = exc.status_code
        details = http_details(exc)
        if status == 401:
            return CloudError(f"{where}authentication failed (HTTP 401) while {action}: check the credentials")
        if status in (403, 409, 413) and "quota" in details.lower():  # Nova 403/413, Neutron 409
            return CloudError(f"{where}quota exceeded while {action}: {details}")
        if status == 403:
            return CloudError(f"{where}not allowed while {action} (HTTP 403): {details}")
        return CloudError(f"{where}{action} failed (HTTP {status}): {details}")
    if isinstance(exc, ksa_exc.ClientException):
        return CloudError(f"{where}{action} failed: {_first_line(exc)}")
    if isinstance(exc, sdk_exc.SDKException):
        return CloudError(f"{where}{action} failed: {_first_line(exc)}")
    return CloudError(f"{where}{action} failed: {type(exc).__name__}: {_first_line(exc)}")


@contextlib.contextmanager
def cloud_errors(action: str, cloud: str | None = None) -> Iterator[None]:
    """Re-raise SDK and keystoneauth failures inside the block as CloudError."""
    try:
        yield
    except CloudError:
        raise
    except (sdk_exc.SDKException, ksa_exc.ClientException, GaveUp) as exc:
        raise translate(exc, action, cloud) from exc
