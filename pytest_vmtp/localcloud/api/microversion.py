"""Nova's microversions: which one a request asks for, the 400/406 Nova answers for a bad or
unsupported one, the headers that echo it, and `at_least` for the views that depend on it."""

from __future__ import annotations

import re

from flask import Blueprint, Response, g, request

from ..errors import ApiError

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 79)


def text(mv: tuple[int, int]) -> str:
    return f"{mv[0]}.{mv[1]}"


def _requested() -> str | None:
    """The compute version a request asks for, from either header Nova reads."""
    value = None
    for part in request.headers.get("OpenStack-API-Version", "").split(","):
        words = part.split()
        if len(words) == 2 and words[0].lower() == "compute":
            value = words[1]
    return value or request.headers.get("X-OpenStack-Nova-API-Version")


def _negotiate() -> None:
    value = _requested()
    if not value:
        g.mv = MIN_VERSION
        return
    if value.lower() == "latest":
        g.mv = MAX_VERSION
        return
    match = re.fullmatch(r"(\d+)\.(\d+)", value.strip())
    if not match:
        raise ApiError(400, f"Invalid API version request string {value}", service="compute")
    mv = (int(match[1]), int(match[2]))
    if not MIN_VERSION <= mv <= MAX_VERSION:
        g.mv = MIN_VERSION
        raise ApiError(406, f"Version {value} is not supported by the API. Minimum is "
                       f"{text(MIN_VERSION)} and maximum is {text(MAX_VERSION)}.",
                       service="compute")
    g.mv = mv


def _echo(response: Response) -> Response:
    mv = text(getattr(g, "mv", MIN_VERSION))
    response.headers["OpenStack-API-Version"] = f"compute {mv}"
    response.headers["X-OpenStack-Nova-API-Version"] = mv
    response.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    return response


def install(bp: Blueprint) -> None:
    """Negotiate before every request of the blueprint; echo the version in every answer."""
    bp.before_request(_negotiate)
    bp.after_request(_echo)


def at_least(major: int, minor: int) -> bool:
    """True when this request's microversion is major.minor or later."""
    version: tuple[int, int] = getattr(g, "mv", MIN_VERSION)
    return version >= (major, minor)
