"""What every service module shares: the cloud of this request, auth, faults, JSON, filters."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, current_app, g, json, request
from werkzeug.datastructures import MultiDict

from .. import keystone
from ..context import Cloud
from ..errors import ApiError, unauthorized
from ..faults import ApiFault
from ..policy import Caller
from ..state import Resource
from ..tokens import Token

Args = MultiDict[str, str]  # a request's query parameters
NOT_AN_OBJECT = "The request body is not a valid JSON object."


def cloud() -> Cloud:
    """The Cloud the app was made for (app.py stores it in the app's config)."""
    c: Cloud = current_app.config["CLOUD"]
    return c


def base_url() -> str:
    """Scheme://host:port as the client reached us (links and catalog use it)."""
    return request.host_url.rstrip("/")


def reply(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (no body when body is None)."""
    if body is None:
        return Response(status=status, headers=headers)
    return Response(json.dumps(body), status=status, headers=headers,
                    mimetype="application/json")


def request_object(service: str, message: str = NOT_AN_OBJECT) -> dict[str, Any]:
    """The request's JSON object, else a 400 (with message) in the service's format."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, message, "BadRequest", service)
    return data


def body_of(key: str | None, service: str, message: str | None = None) -> dict[str, Any]:
    """The request's JSON object (or its `key` member, an object too), else a 400 in the
    service's format; message replaces the default wording of either 400."""
    data = request_object(service, message or NOT_AN_OBJECT)
    if key is None:
        return data
    inner = data.get(key)
    if not isinstance(inner, dict):
        raise ApiError(400, message or f"Resource body must contain '{key}'.", "BadRequest",
                       service)
    return inner


def guard(bp: Blueprint, service: str, public: Iterable[str] = (), unscoped: bool = False
          ) -> None:
    """Check injected API faults, then the token, before every request of a blueprint: an
    expired, revoked, malformed or another cloud's token is a 401, as is an unscoped one
    outside Keystone (unscoped=False). The bearer (policy.Caller) goes to flask.g."""
    open_endpoints = {f"{bp.name}.{name}" for name in public}

    @bp.before_request
    def _check() -> None:
        c = cloud()
        fault = c.faults.api_fault(request.method, request.path)
        if fault is not None:
            if fault.after_commit:
                g.fault_after = fault  # played on the answer, below
                if fault.delay_s:
                    time.sleep(fault.delay_s)
            else:
                injected(fault, service)
        if request.endpoint in open_endpoints:
            return
        token = keystone.caller_token(c, request.headers.get("X-Auth-Token"))
        if token is None or (token.project_id is None and not unscoped):
            raise unauthorized(service)
        g.token = token
        g.caller = keystone.caller_of(c, token)

    @bp.after_request
    def _after(response: Response) -> Response:
        fault: ApiFault | None = g.pop("fault_after", None)
        if fault is None:
            return response
        if fault.reset:
            shut_connection()  # werkzeug's write of the answer then finds the socket closed
            return response
        assert fault.status is not None  # faultspec: after_commit needs a status or a reset
        err = ApiError(fault.status, fault.message, "InjectedFault", service,
                       {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)})
        body, mimetype = err.body()
        return Response(body if isinstance(body, str) else json.dumps(body), status=err.status,
                        mimetype=mimetype, headers=err.headers)


def caller() -> Caller:
    """Who makes this request (from its token; set by guard)."""
    who: Caller = g.caller
    return who


def token() -> Token:
    """This request's own token (set by guard)."""
    own: Token = g.token
    return own


def injected(fault: ApiFault, service: str) -> None:
    """Play an injected API fault: wait, then answer its status (with Retry-After), or
    close the connection without an answer; a fault with only a delay lets the call go on."""
    if fault.delay_s:
        time.sleep(fault.delay_s)
    if fault.reset:
        reset_connection()
    if fault.status is not None:
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        raise ApiError(fault.status, fault.message, "InjectedFault", service, headers)


def reset_connection() -> None:
    """Send a TCP RST and close, as a crashing proxy or server does: the client sees its
    connection reset with no answer. The server then has nothing to write to."""
    shut_connection()
    raise ConnectionResetByFault()


def shut_connection() -> None:
    """Reset this request's TCP connection (RST: SO_LINGER 0, then shutdown)."""
    sock: socket.socket | None = request.environ.get("werkzeug.socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ConnectionResetByFault(Exception):  # noqa: N818 - it is an event, not an error
    """Raised after the socket was reset: app.py answers nothing to it."""


def matches_tags(resource: Resource, args: Args) -> bool:
    """Neutron/Nova tag filters: tags (all), tags-any, not-tags, not-tags-any."""
    tags = set(resource.get("tags") or [])

    def wanted(name: str) -> set[str] | None:
        values = [v for raw in args.getlist(name) for v in raw.split(",") if v]
        return set(values) if values else None

    if (w := wanted("tags")) is not None and not w <= tags:
        return False
    if (w := wanted("tags-any")) is not None and not w & tags:
        return False
    if (w := wanted("not-tags")) is not None and w <= tags:
        return False
    if (w := wanted("not-tags-any")) is not None and w & tags:
        return False
    return True


def filtered(items: Iterable[Resource], args: Args) -> list[Resource]:
    """Neutron-style filtering: every query parameter naming a field must match exactly.

    Glance's `in:a,b` operator (used by the openstack CLI's name lookups) matches any of."""
    control = {"tags", "tags-any", "not-tags", "not-tags-any", "fields", "limit", "marker",
               "sort_key", "sort_dir", "page_reverse"}
    out = []
    for item in items:
        if not matches_tags(item, args):
            continue
        ok = True
        for key in args:
            if key in control or key not in item:
                continue
            values = [v for raw in args.getlist(key)
                      for v in (raw[3:].split(",") if raw.startswith("in:") else [raw])]
            have = item[key]
            if isinstance(have, bool):
                ok = have in [v.lower() in ("true", "1") for v in values]
            elif key == "fixed_ips":  # fixed_ips=ip_address=10.0.0.5 / subnet_id=...
                ok = all(any(f"{k}={ip.get(k)}" == v for ip in have
                             for k in ("ip_address", "subnet_id")) for v in values)
            elif isinstance(have, (list, dict)):
                ok = True
            else:
                ok = str(have) in values or (have is None and "" in values)
            if not ok:
                break
        if ok:
            out.append(item)
    return out


def paginate(items: list[Resource], args: Args) -> list[Resource]:
    """limit/marker paging, in creation order."""
    marker = args.get("marker")
    if marker:
        ids = [i["id"] for i in items]
        if marker in ids:
            items = items[ids.index(marker) + 1:]
    limit = args.get("limit")
    if limit and limit.isdigit():
        items = items[: int(limit)]
    return items


def only_fields(item: Resource, args: Args) -> Resource:
    """The fields the query's `fields` parameters name (all when none)."""
    fields = args.getlist("fields")
    if not fields:
        return item
    return {k: v for k, v in item.items() if k in fields}
