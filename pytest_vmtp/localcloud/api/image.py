"""Glance v2 subset: version discovery and read-only images (the host's own userland)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from ..errors import ApiError
from ..state import Resource
from .base import base_url, cloud, filtered, guard, paginate, reply

bp = Blueprint("image", __name__, url_prefix="/image")
guard(bp, "image", public=("versions",))


@bp.get("", strict_slashes=False)
def versions() -> Response:
    href = f"{base_url()}/image/v2/"
    return reply({"versions": [{"id": v, "status": "CURRENT" if v == "v2.9" else "SUPPORTED",
                                "links": [{"rel": "self", "href": href}]}
                               for v in ("v2.9", "v2.0")]})


def _view(image: Resource) -> dict[str, Any]:
    return {**image, "self": f"/v2/images/{image['id']}", "file": f"/v2/images/{image['id']}/file",
            "schema": "/v2/schemas/image"}


@bp.get("/v2/images")
def list_images() -> Response:
    images = [_view(i) for i in cloud().state.table("images").values()]
    items = paginate(filtered(images, request.args), request.args)
    return reply({"images": items, "first": "/v2/images", "schema": "/v2/schemas/images"})


@bp.get("/v2/images/<image_id>")
def get_image(image_id: str) -> Response:
    image = cloud().state.table("images").get(image_id)
    if image is None:
        raise ApiError(404, f"No image found with ID {image_id}", service="image")
    return reply(_view(image))
