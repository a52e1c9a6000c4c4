"""Local-cloud administration: fault injection (see faults.py), not part of OpenStack; for
admins only (policy.py's localcloud:faults)."""

from __future__ import annotations

from flask import Blueprint, Response

from ..errors import ApiError
from ..faults import FaultSpecError
from ..policy import enforce
from .base import caller, cloud, guard, reply, request_object

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard(bp, "admin")


@bp.before_request
def _admins_only() -> None:
    enforce(caller(), "localcloud:faults")


@bp.get("/faults")
def get_faults() -> Response:
    return reply({"faults": cloud().faults.describe()})


@bp.post("/faults")
def set_faults() -> Response:
    doc = request_object("admin", "fault document must be a mapping")
    try:
        cloud().faults.apply(doc)
    except FaultSpecError as exc:
        raise ApiError(400, str(exc), service="admin") from None
    return reply({"faults": cloud().faults.describe()})


@bp.delete("/faults")
def clear_faults() -> Response:
    cloud().faults.clear()
    return Response(status=204)
