"""The WSGI application: every service under its DevStack-style path prefix on one port."""

from __future__ import annotations

import traceback

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from .api import admin, compute, identity, image, network
from .api.base import ConnectionResetByFault
from .context import Cloud
from .errors import ApiError

_PREFIXES = {"/identity": "identity", "/compute": "compute", "/network": "network",
             "/image": "image"}


def _service_of(path: str) -> str:
    for prefix, service in _PREFIXES.items():
        if path.startswith(prefix):
            return service
    return "admin"


def _render(err: ApiError) -> Response:
    body, mimetype = err.body()
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=err.status, mimetype=mimetype, headers=err.headers)


def create_app(cloud: Cloud) -> Flask:
    app = Flask("vmtp-localcloud")
    app.config["CLOUD"] = cloud
    app.url_map.strict_slashes = False
    for module in (identity, compute, network, image, admin):
        app.register_blueprint(module.bp)

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return _render(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        code = err.code or 500
        kind = "HTTPNotFound" if code == 404 else type(err).__name__
        return _render(ApiError(code, err.description or err.name, kind,
                                _service_of(request.path)))

    @app.errorhandler(ConnectionResetByFault)
    def _reset(_err: ConnectionResetByFault) -> Response:
        return Response(status=500)  # its socket is shut: nothing reaches the client

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> Response:
        traceback.print_exc()
        return _render(ApiError(500, f"Internal error: {type(err).__name__}", "InternalError",
                                _service_of(request.path)))

    @app.get("/")
    def _root() -> Response:
        return Response(json.dumps({"services": sorted(_PREFIXES)}), mimetype="application/json")

    return app
