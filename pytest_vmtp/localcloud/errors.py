"""API errors, rendered in the body format of the service that raises them.

Clients (openstacksdk, the openstack CLI) extract messages from these exact shapes, so each
service keeps its own: Keystone/keystonemiddleware `{"error": ...}`, Nova `{"itemNotFound": ...}`,
Neutron `{"NeutronError": ...}`, Glance plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_NOVA_KEYS = {
    400: "badRequest", 403: "forbidden", 404: "itemNotFound", 406: "HTTPNotAcceptable",
    409: "conflictingRequest", 413: "overLimit", 429: "overLimit", 500: "computeFault", 501: "notImplemented",
    503: "serviceUnavailable",
}
_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict", 429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


@dataclass
class ApiError(Exception):
    """An HTTP error; `service` picks the body format, `kind` is Neutron's exception type."""

    status: int
    message: str
    kind: str = ""
    service: str = "compute"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.message}"

    def body(self) -> tuple[object, str]:
        """(body, mimetype) as the service would send it."""
        title = _TITLES.get(self.status, "Error")
        if self.service == "network" and self.status != 401:
            return ({"NeutronError": {"type": self.kind or title.replace(" ", ""),
                                      "message": self.message, "detail": ""}}, "application/json")
        if self.service == "compute" and self.status != 401:
            key = _NOVA_KEYS.get(self.status, "computeFault")
            return {key: {"code": self.status, "message": self.message}}, "application/json"
        if self.service == "image" and self.status != 401:
            return f"{self.status} {title}\n\n{self.message}\n\n   ", "text/plain"
        return ({"error": {"code": self.status, "title": title, "message": self.message}},
                "application/json")


def unauthorized(service: str) -> ApiError:
    return ApiError(401, "The request you have made requires authentication.",
                    service=service, headers={"WWW-Authenticate": 'Keystone uri="/identity"'})


def neutron(status: int, kind: str, message: str) -> ApiError:
    return ApiError(status, message, kind=kind, service="network")


def nova(status: int, message: str) -> ApiError:
    return ApiError(status, message, service="compute")
