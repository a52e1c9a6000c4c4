"""The settings of how the test VMs boot (README "Cloud modes": NICs and boot, images,
flavors, footprint), checked and normalised in the merged configuration.

Pure: files are only looked at (the user data's size), nothing is read from a cloud. Each
mistake is a ValueError whose text is the one line config.py shows.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pytest_vmtp.catalogue import FOOTPRINTS, VNIC_TYPES
from pytest_vmtp.cloud.settings import DEFAULT_FLAVOR, FlavorSpec

MAX_USER_DATA = 65535  # Nova's limit, on the base64 text
URL_SCHEMES = ("http", "https", "file")


def flavor(file_value: Any, option_value: Any) -> FlavorSpec:
    """defaults.yaml's flavor, then the config file's (a name or a mapping over it), then
    --vmtp-flavor's name."""
    spec = DEFAULT_FLAVOR
    for where, value in (("flavor", file_value), ("--vmtp-flavor", option_value)):
        if value is None:
            continue
        try:
            spec = FlavorSpec.parse(value, spec)
        except ValueError as exc:
            raise ValueError(f"{where} {value!r}: {exc}") from None
    return spec


def user_data_size(path: str) -> int:
    """The base64 length of the file Nova would receive."""
    size = os.stat(path).st_size
    return 4 * ((size + 2) // 3)


def image_url(value: Any) -> str | None:
    """An http(s):// or file:// URL, or a path to a readable file."""
    if value in (None, ""):
        return None
    text = str(value)
    scheme = urlparse(text).scheme
    if scheme in ("http", "https"):
        if not urlparse(text).netloc:
            raise ValueError(f"--vmtp-image-url {text!r}: no host in the URL")
        return text
    path = Path(text[len("file://"):] if scheme == "file" else text).expanduser()
    if scheme and scheme not in URL_SCHEMES and len(scheme) > 1:  # c:\... is no scheme here
        raise ValueError(f"--vmtp-image-url {text!r}: use an http(s):// or file:// URL or a file path")
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ValueError(f"--vmtp-image-url {text!r}: {path} is not a readable file")
    return str(path.resolve())


def normalise(merged: dict[str, Any], file_flavor: Any, option_flavor: Any) -> None:
    """Check the boot settings of the merged configuration and normalise them in place."""
    spec = flavor(file_flavor, option_flavor)
    merged["flavor"] = spec.to_json()
    if merged["vnic_type"] not in VNIC_TYPES:
        raise ValueError(f"--vmtp-vnic-type {merged['vnic_type']!r}: choose {', '.join(VNIC_TYPES)}")
    if merged["footprint"] not in FOOTPRINTS:
        raise ValueError(f"--vmtp-footprint {merged['footprint']!r}: choose {', '.join(FOOTPRINTS)}")
    for key in ("config_drive", "dhcp", "delete_image_after_run"):
        if not isinstance(merged[key], bool):
            raise ValueError(f"{key} {merged[key]!r}: use true or false")
    if merged["user_data"] is not None:
        path = Path(str(merged["user_data"])).expanduser()
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ValueError(f"--vmtp-user-data {merged['user_data']}: not a readable file")
        encoded = user_data_size(str(path))
        if encoded > MAX_USER_DATA:
            raise ValueError(f"--vmtp-user-data {path}: {encoded} bytes once base64-encoded; Nova takes "
                             f"at most {MAX_USER_DATA}")
        merged["user_data"] = str(path.resolve())
    merged["vm_image_url"] = image_url(merged["vm_image_url"])
    if not merged["dhcp"]:
        merged["config_drive"] = True  # the VMs' only way to their addresses


def user_data_b64(path: str) -> str:
    """The file as Nova's user_data."""
    return base64.b64encode(Path(path).read_bytes()).decode()
