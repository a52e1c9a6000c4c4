"""Glance v2's image logic: create (queued), upload (saving -> active, data stored and
checksummed), download, update (JSON patch), tags, delete. api/image.py is the HTTP side.

Image data lives in `<state dir>/images/<id>` while the cloud runs (recovery keeps it; a clean
stop or `clean` removes the directory). Uploads stream to a temporary file outside the state
lock, hashing as they go: md5 for `checksum`, sha512 for `os_hash_value`, as Glance's
default `hashing_algorithm`. A local-cloud VM runs the host's userland whatever its image
holds: the data is kept and served back, never booted.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .common import new_id, now
from .errors import ApiError
from .layout import IMAGES_DIR
from .policy import Caller, allowed
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
HASH_ALGO = "sha512"
CHUNK = 1 << 20
# Set by Glance, never by a client (403 "Attribute 'x' is read-only.").
READ_ONLY = ("id", "status", "checksum", "size", "virtual_size", "os_hash_algo", "os_hash_value",
             "created_at", "updated_at", "file", "self", "schema", "owner", "direct_url",
             "locations", "stores")
# Core attributes with their own checks; anything else is an additional property (a string).
_CORE = ("name", "visibility", "protected", "os_hidden", "container_format", "disk_format",
         "min_disk", "min_ram", "tags")


def error(status: int, message: str) -> ApiError:
    return ApiError(status, message, service="image")


def data_path(c: Cloud, image_id: str) -> Path:
    return c.state.state_dir / IMAGES_DIR / image_id


def visible(image: Resource, caller: Caller) -> bool:
    """Glance's visibility: public and community images to all, the others to their owner's
    project (and admins); this cloud has no image members."""
    return caller.is_admin or image.get("visibility") in ("public", "community") or \
        image.get("owner") == caller.project_id


def get(c: Cloud, image_id: str, caller: Caller) -> Resource:
    """The image, if the caller may see it (404 otherwise, as Glance hides it)."""
    image = c.state.table("images").get(image_id)
    if image is None or not visible(image, caller):
        raise error(404, f"No image found with ID {image_id}")
    return image


def owned(c: Cloud, image_id: str, caller: Caller, action: str) -> Resource:
    """The image, if the caller may change it: its owner's project, or an admin (403 for a
    public image of another project's, as Glance's policy)."""
    image = get(c, image_id, caller)
    if not caller.is_admin and image.get("owner") != caller.project_id:
        raise error(403, f"You are not permitted to {action} this image.")
    return image


def _set(image: Resource, key: str, value: Any, admin: bool) -> None:
    """One attribute of a create or update, checked as Glance does."""
    if key in READ_ONLY:
        raise error(403, f"Attribute '{key}' is read-only.")
    if key == "visibility":
        if value not in VISIBILITIES:
            raise error(400, f"Invalid value '{value}' for parameter 'visibility': must be one of "
                             f"{', '.join(VISIBILITIES)}.")
        if value == "public" and not admin:
            raise error(403, "You are not authorized to complete publicize_image action.")
    elif key in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise error(400, f"Invalid value '{value}' for parameter '{key}': must be a boolean.")
    elif key == "disk_format" and value is not None and value not in DISK_FORMATS:
        raise error(400, f"Invalid value '{value}' for parameter 'disk_format': must be one of "
                         f"{', '.join(DISK_FORMATS)}.")
    elif key == "container_format" and value is not None and value not in CONTAINER_FORMATS:
        raise error(400, f"Invalid value '{value}' for parameter 'container_format': must be one "
                         f"of {', '.join(CONTAINER_FORMATS)}.")
    elif key in ("min_disk", "min_ram"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise error(400, f"Invalid value '{value}' for parameter '{key}': must be a "
                             "non-negative integer.")
    elif key == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise error(400, f"Invalid value '{value}' for parameter 'tags'.")
        value = sorted(set(value))
    elif key == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise error(400, f"Invalid value '{value}' for parameter 'name'.")
    elif not isinstance(value, str) or len(value) > 255:  # an additional property
        raise error(400, f"Invalid value '{value}' for parameter '{key}': additional properties "
                         "are strings of at most 255 characters.")
    image[key] = value


def create(c: Cloud, body: dict[str, Any], caller: Caller) -> Resource:
    """POST /v2/images: a queued image of the caller's project, with no data yet."""
    table = c.state.table("images")
    image_id = body.get("id") or new_id()
    if not isinstance(image_id, str) or len(image_id) != 36:
        raise error(400, f"Invalid value '{image_id}' for parameter 'id'.")
    if image_id in table:
        raise error(409, f"Image with identifier {image_id} already exists!")
    stamp = now()
    image: Resource = {
        "id": image_id, "name": None, "status": "queued", "visibility": "shared",
        "protected": False, "os_hidden": False, "container_format": None, "disk_format": None,
        "size": None, "virtual_size": None, "min_disk": 0, "min_ram": 0, "checksum": None,
        "os_hash_algo": None, "os_hash_value": None, "owner": caller.project_id,
        "created_at": stamp, "updated_at": stamp, "tags": []}
    for key, value in body.items():
        if key != "id":
            _set(image, key, value, allowed(caller, "publicize_image"))
    table[image_id] = image
    return image


def update(c: Cloud, image_id: str, ops: object, caller: Caller) -> Resource:
    """PATCH with a JSON patch (RFC 6902 add/replace/remove of top-level attributes)."""
    image = owned(c, image_id, caller, "modify")
    admin = allowed(caller, "publicize_image")
    if not isinstance(ops, list):
        raise error(400, "Unable to find a JSON patch document in the request body.")
    changed = dict(image)
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove") or \
                not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
            raise error(400, f"Invalid JSON patch operation: {op}")
        key = op["path"][1:]
        if op["op"] == "remove":
            if key in READ_ONLY or key in _CORE:
                raise error(403, f"Attribute '{key}' is read-only.")
            if key not in changed:
                raise error(409, f"Property {key} does not exist.")
            del changed[key]
        else:
            _set(changed, key, op.get("value"), admin)
    changed["updated_at"] = now()
    image.clear()
    image.update(changed)
    return image


def add_tag(c: Cloud, image_id: str, tag: str, caller: Caller) -> None:
    image = owned(c, image_id, caller, "modify")
    if not tag or len(tag) > 255:
        raise error(400, f"Invalid tag {tag!r}.")
    image["tags"] = sorted({*image["tags"], tag})
    image["updated_at"] = now()


def remove_tag(c: Cloud, image_id: str, tag: str, caller: Caller) -> None:
    image = owned(c, image_id, caller, "modify")
    if tag not in image["tags"]:
        raise error(404, f"Tag {tag} not found.")
    image["tags"].remove(tag)
    image["updated_at"] = now()


def delete(c: Cloud, image_id: str, caller: Caller) -> None:
    image = owned(c, image_id, caller, "delete")
    if image.get("protected"):
        raise error(403, f"Image {image_id} is protected and cannot be deleted.")
    del c.state.table("images")[image_id]
    data_path(c, image_id).unlink(missing_ok=True)


def start_upload(c: Cloud, image_id: str, caller: Caller) -> None:
    """queued -> saving (state lock held): one upload per image, as Glance allows."""
    image = owned(c, image_id, caller, "upload data to")
    if image["status"] != "queued":
        raise error(409, f"Image status transition from {image['status']} to saving is not allowed")
    image["status"] = "saving"


def receive(c: Cloud, image_id: str, stream: IO[bytes]) -> tuple[int, str, str]:
    """Write the request body to a temporary file (no lock held); (size, md5, sha512)."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.new(HASH_ALGO)
    size = 0
    target = data_path(c, image_id)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    partial = target.with_suffix(".part")
    with open(partial, "wb") as out:
        while chunk := stream.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, md5.hexdigest(), sha.hexdigest()


def finish_upload(c: Cloud, image_id: str, result: tuple[int, str, str] | None) -> None:
    """saving -> active with the data's size and hashes, or back to queued (result None: the
    upload failed). An image deleted meanwhile drops its data (state lock held)."""
    partial = data_path(c, image_id).with_suffix(".part")
    image = c.state.table("images").get(image_id)
    if image is None or result is None:
        partial.unlink(missing_ok=True)
        if image is not None:
            image["status"] = "queued"
        return
    os.replace(partial, data_path(c, image_id))
    size, md5, sha = result
    image.update({"status": "active", "size": size, "checksum": md5, "os_hash_algo": HASH_ALGO,
                  "os_hash_value": sha, "updated_at": now()})


def chunks(path: Path) -> Iterator[bytes]:
    """An image's data, streamed."""
    with open(path, "rb") as data:
        while chunk := data.read(CHUNK):
            yield chunk


def matches(image: Resource, tags: Iterable[str]) -> bool:
    """Glance's `tag` filter: the image has every tag asked for."""
    return set(tags) <= set(image.get("tags") or [])
