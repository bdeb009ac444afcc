"""The live dashboard at ``GET /_emulator/ui``: load balancers, listeners, rules, target health and traffic.

The page (``emulator/api/dashboard/``: HTML, CSS and plain JavaScript, shipped as package data, nothing
fetched from the network) polls ``GET /_emulator/ui/api/snapshot`` about once a second and redraws in
place. Everything here is GET: the dashboard reads, it never changes the emulator. It is same-origin with
the API, so ``api.origins``' checks let it through on 127.0.0.1 / localhost without configuration.
"""

from __future__ import annotations

from importlib import resources

from flask import Flask, Response, abort, jsonify, redirect
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Response as WsgiResponse

from emulator.api.dashboard_view import TrafficFeed, snapshot
from emulator.api.elbv2 import DataPlaneView
from emulator.control.context import Services

_ASSETS = {  # file -> content type: only these are served
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
# Without a route of their own these would reach moto's catch-all (S3 takes a POST to any path for an object's).
_WRITES = ["POST", "PUT", "PATCH", "DELETE"]


def _asset(name: str) -> Response:
    body = resources.files("emulator.api").joinpath("dashboard", name).read_bytes()
    # no-cache: an upgraded emulator's page is picked up at the next load (the files are tiny).
    return Response(body, 200, content_type=_ASSETS[name], headers={"Cache-Control": "no-cache"})


def register_dashboard_routes(app: Flask, services: Services, dataplane: DataPlaneView, feed: TrafficFeed | None) -> None:
    """Add the dashboard's routes to the API's Flask app; ``feed`` is None when traffic is not recorded."""

    @app.get("/_emulator/ui")
    def dashboard_page() -> Response:
        return _asset("index.html")

    @app.get("/_emulator/ui/")
    def dashboard_slash() -> WsgiResponse:
        return redirect("/_emulator/ui", 308)

    @app.get("/_emulator/ui/assets/<name>")
    def dashboard_asset(name: str) -> Response:
        if name not in _ASSETS:
            abort(404)
        return _asset(name)

    @app.route("/_emulator/ui", methods=_WRITES)
    @app.route("/_emulator/ui/<path:rest>", methods=_WRITES)
    def dashboard_is_read_only(rest: str = "") -> Response:
        raise MethodNotAllowed(valid_methods=["GET", "HEAD"], description="The dashboard is read-only.")

    @app.get("/_emulator/ui/api/snapshot")
    def dashboard_snapshot() -> Response:
        answer = jsonify(snapshot(services, dataplane, feed))
        answer.headers["Cache-Control"] = "no-store"
        return answer
