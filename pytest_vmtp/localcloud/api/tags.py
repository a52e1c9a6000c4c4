"""The `.../tags` sub-resource that Nova servers and Neutron resources share.

One implementation, registered under each service's resource URL: list, replace all, check
one, add one, remove one, remove all (each service registers those its API has).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Blueprint, Response

from ..errors import ApiError
from ..state import Resource
from .base import body_of, cloud, reply

ALL_ROUTES = ("list", "replace", "check", "add", "remove", "clear")


def _untouched(item: Resource) -> None:
    """Nova keeps no revision of a server's tags."""


@dataclass(frozen=True)
class Tags:
    """How one service finds a tagged resource and words a missing tag.

    find: (the Cloud, the URL's parameters) -> the resource (its own 404; state lock held).
    not_found: (tag, the URL's parameters) -> the 404 for a tag the resource lacks.
    keep_sorted: Neutron keeps tags sorted; Nova keeps the order they were added in.
    touch: called on every change (Neutron bumps updated_at and revision_number)."""

    service: str
    find: Callable[..., Resource]
    not_found: Callable[..., ApiError]
    keep_sorted: bool
    touch: Callable[[Resource], None] = _untouched

    def register(self, bp: Blueprint, rule: str, routes: Iterable[str] = ALL_ROUTES) -> None:
        """Add the routes under rule (the resource's URL, with its parameters)."""
        table: dict[str, tuple[str, str, Callable[..., Response]]] = {
            "list": ("GET", "/tags", self.list_tags),
            "replace": ("PUT", "/tags", self.replace_tags),
            "check": ("GET", "/tags/<tag>", self.check_tag),
            "add": ("PUT", "/tags/<tag>", self.add_tag),
            "remove": ("DELETE", "/tags/<tag>", self.remove_tag),
            "clear": ("DELETE", "/tags", self.clear_tags)}
        for name in routes:
            method, suffix, view = table[name]
            bp.add_url_rule(rule + suffix, endpoint=f"tags_{name}", view_func=view,
                            methods=[method])

    def list_tags(self, **ids: str) -> Response:
        c = cloud()
        with c.state.lock:
            return reply({"tags": list(self.find(c, **ids)["tags"])})

    def replace_tags(self, **ids: str) -> Response:
        tags = body_of(None, self.service).get("tags")
        if not isinstance(tags, list):
            raise ApiError(400, "Invalid tags body.", "HTTPBadRequest", self.service)
        c = cloud()
        with c.state.edit():
            item = self.find(c, **ids)
            item["tags"] = sorted(set(map(str, tags))) if self.keep_sorted \
                else list(dict.fromkeys(map(str, tags)))
            self.touch(item)
            return reply({"tags": list(item["tags"])})

    def check_tag(self, tag: str, **ids: str) -> Response:
        c = cloud()
        with c.state.lock:
            if tag not in self.find(c, **ids)["tags"]:
                raise self.not_found(tag, **ids)
        return Response(status=204)

    def add_tag(self, tag: str, **ids: str) -> Response:
        c = cloud()
        with c.state.edit():
            item = self.find(c, **ids)
            if tag not in item["tags"]:
                tags = item["tags"] + [tag]
                item["tags"] = sorted(tags) if self.keep_sorted else tags
                self.touch(item)
        return Response(status=201)

    def remove_tag(self, tag: str, **ids: str) -> Response:
        c = cloud()
        with c.state.edit():
            item = self.find(c, **ids)
            if tag not in item["tags"]:
                raise self.not_found(tag, **ids)
            item["tags"] = [t for t in item["tags"] if t != tag]
            self.touch(item)
        return Response(status=204)

    def clear_tags(self, **ids: str) -> Response:
        c = cloud()
        with c.state.edit():
            item = self.find(c, **ids)
            item["tags"] = []
            self.touch(item)
        return Response(status=204)
