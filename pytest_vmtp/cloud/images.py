"""The test VMs' image: the one of the configured name, else uploaded from --vmtp-image-url
(VMTP's vm_image_url: an http(s):// or file:// URL or a file path) under that name.

A URL is downloaded first, to a file in the run's directory removed right after the upload
(Glance's web-download would need the URL reachable from the cloud's controllers, which a
test server on this machine is not). The upload is Glance v2's (create, then PUT the data),
checked against the file's checksum. The image stays for the next runs, as VMTP's; with
delete_image_after_run it carries the run's tags, so that the run's cleanup, or vmtp-cleanup
after a kill -9, deletes it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests
from openstack.connection import Connection
from openstack.image.v2.image import Image

from pytest_vmtp.cloud.errors import CloudError, cloud_errors

# Glance disk formats by file suffix; anything else is qcow2, as VMTP uploaded.
_FORMATS = {".raw": "raw", ".img": "raw", ".iso": "iso", ".vmdk": "vmdk", ".vhd": "vhd",
            ".vhdx": "vhdx", ".vdi": "vdi", ".qcow2": "qcow2"}
_CHUNK = 1 << 20


def disk_format(url: str) -> str:
    return _FORMATS.get(Path(urlparse(url).path).suffix.lower(), "qcow2")


def _download(url: str, directory: Path, timeout: float) -> Path:
    """The URL's content in a new file of directory (the caller removes it); CloudError."""
    fd, name = tempfile.mkstemp(prefix="vmtp-image-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, requests.get(url, stream=True, timeout=(10, timeout)) as resp:
            if resp.status_code != 200:
                raise CloudError(f"--vmtp-image-url {url}: HTTP {resp.status_code} {resp.reason}")
            for chunk in resp.iter_content(_CHUNK):
                out.write(chunk)
    except requests.RequestException as exc:
        Path(name).unlink(missing_ok=True)
        raise CloudError(f"--vmtp-image-url {url}: cannot download it: {type(exc).__name__}") from None
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def upload(conn: Connection, name: str, url: str, workdir: Path, tags: list[str],
           timeout: float = 600) -> Image:
    """Upload the URL's or file's content as image `name` (active when this returns)."""
    scheme = urlparse(url).scheme
    downloaded = _download(url, workdir, timeout) if scheme in ("http", "https") else None
    path = downloaded or Path(unquote(urlparse(url).path) if scheme == "file" else url)
    try:
        with cloud_errors(f"uploading image {name} from {url}"):
            made = conn.image.create_image(
                name=name, filename=str(path), disk_format=disk_format(url), container_format="bare",
                tags=tags, allow_duplicates=True, validate_checksum=True, wait=True, timeout=timeout)
            image = conn.image.get_image(made.id)
            assert isinstance(image, Image), image  # conn.image is typed as either Glance version
    finally:
        if downloaded is not None:
            downloaded.unlink(missing_ok=True)
    if image.status != "active":
        raise CloudError(f"image {name} uploaded from {url} is {image.status}, not active")
    return image
