"""Glance v2 subset over HTTP: images (create, show, list, update, delete), their data (upload
and download) and tags, over glance.py's logic."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from .. import glance
from ..state import Resource
from .base import base_url, caller, cloud, filtered, guard, paginate, reply, request_object

bp = Blueprint("image", __name__, url_prefix="/image")
guard(bp, "image", public=("versions",))

_PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
                "application/openstack-images-v2.0-json-patch")


@bp.get("", strict_slashes=False)
def versions() -> Response:
    href = f"{base_url()}/image/v2/"
    return reply({"versions": [{"id": v, "status": "CURRENT" if v == "v2.9" else "SUPPORTED",
                                "links": [{"rel": "self", "href": href}]}
                               for v in ("v2.9", "v2.0")]})


def _view(image: Resource) -> dict[str, Any]:
    return {**{k: v for k, v in image.items() if not k.startswith("_")},
            "self": f"/v2/images/{image['id']}", "file": f"/v2/images/{image['id']}/file",
            "schema": "/v2/schemas/image"}


@bp.get("/v2/images")
def list_images() -> Response:
    c = cloud()
    with c.state.lock:
        images = [_view(i) for i in c.state.table("images").values()
                  if glance.visible(i, caller()) and glance.matches(i, request.args.getlist("tag"))]
    items = paginate(filtered(images, request.args), request.args)
    return reply({"images": items, "first": "/v2/images", "schema": "/v2/schemas/images"})


@bp.post("/v2/images")
def create_image() -> Response:
    body = request_object("image")
    c = cloud()
    with c.state.edit():
        image = glance.create(c, body, caller())
        view = _view(image)
    return reply(view, 201, {"Location": f"{base_url()}/image/v2/images/{image['id']}"})


@bp.get("/v2/images/<image_id>")
def get_image(image_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        return reply(_view(glance.get(c, image_id, caller())))


@bp.patch("/v2/images/<image_id>")
def update_image(image_id: str) -> Response:
    if request.mimetype not in _PATCH_TYPES:
        raise glance.error(415, f"Unsupported Content-Type {request.mimetype}: use "
                                f"{_PATCH_TYPES[0]}")
    ops = request.get_json(force=True, silent=True)
    c = cloud()
    with c.state.edit():
        return reply(_view(glance.update(c, image_id, ops, caller())))


@bp.delete("/v2/images/<image_id>")
def delete_image(image_id: str) -> Response:
    c = cloud()
    with c.state.edit():
        glance.delete(c, image_id, caller())
    return Response(status=204)


@bp.put("/v2/images/<image_id>/file")
def upload_image(image_id: str) -> Response:
    """The data, streamed to disk and hashed without holding the state lock."""
    if request.mimetype != "application/octet-stream":
        raise glance.error(415, f"Unsupported Content-Type {request.mimetype}: use "
                                "application/octet-stream")
    c = cloud()
    with c.state.edit():
        glance.start_upload(c, image_id, caller())
    result = None
    try:
        result = glance.receive(c, image_id, request.stream)
    finally:
        with c.state.edit():
            glance.finish_upload(c, image_id, result)
    return Response(status=204)


@bp.get("/v2/images/<image_id>/file")
def download_image(image_id: str) -> Response:
    c = cloud()
    with c.state.lock:
        image = glance.get(c, image_id, caller())
        path = glance.data_path(c, image_id)
        if image["status"] != "active" or not path.exists():
            return Response(status=204)  # no data (yet): Glance's 204
        headers = {"Content-MD5": str(image["checksum"]), "Content-Length": str(image["size"])}
    return Response(glance.chunks(path), status=200, mimetype="application/octet-stream",
                    headers=headers)


@bp.put("/v2/images/<image_id>/tags/<tag>")
def add_tag(image_id: str, tag: str) -> Response:
    c = cloud()
    with c.state.edit():
        glance.add_tag(c, image_id, tag, caller())
    return Response(status=204)


@bp.delete("/v2/images/<image_id>/tags/<tag>")
def remove_tag(image_id: str, tag: str) -> Response:
    c = cloud()
    with c.state.edit():
        glance.remove_tag(c, image_id, tag, caller())
    return Response(status=204)
