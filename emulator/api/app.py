"""The HTTP front door: one Flask app for ELBv2, moto for every other AWS service, and admin routes.

Routing: a form POST whose ``Version`` is elbv2's (2015-12-01) is ours; everything else (EC2, ACM, S3,
classic ELB on the same ``elasticloadbalancing`` endpoint, ...) is handed to moto's in-process
dispatcher unchanged, so one endpoint serves a whole offline AWS.
"""

from __future__ import annotations

import io
import uuid
from typing import Any, Protocol

from flask import Flask, Response, jsonify, request
from moto.server import DomainDispatcherApplication, create_backend_app

from emulator import control, protocol
from emulator.api.identity import caller_identity
from emulator.control import Services
from emulator.dns import dns_table
from emulator.errors import AwsError

ELBV2_VERSION = "2015-12-01"
_READ_ONLY = ("Describe", "Get")


class DataPlaneView(Protocol):
    """What the API needs of the data plane (kept abstract: the API never touches sockets)."""

    def listener_report(self) -> list[dict[str, Any]]: ...

    def wait_applied(self, generation: int, timeout: float = 5.0) -> bool: ...

    def reset(self) -> None: ...


def create_app(services: Services, dataplane: DataPlaneView) -> Flask:
    """The WSGI app serving the ELBv2 API, moto's services and the ``/_emulator`` admin routes."""
    app = Flask("elbv2-emulator")
    moto_app = DomainDispatcherApplication(create_backend_app)

    @app.get("/_emulator/health")
    def health() -> Response:
        return jsonify(status="ready")

    @app.get("/_emulator/listeners")
    def listeners() -> Response:
        return jsonify(dataplane.listener_report())

    @app.get("/_emulator/dns")
    def dns() -> Response:
        return jsonify(dns_table(services.store))

    @app.post("/moto-api/reset")
    def reset() -> Response:
        services.store.reset()
        dataplane.reset()
        dataplane.wait_applied(services.store.generation)
        return _to_moto(moto_app)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])
    def dispatch(path: str) -> Response:
        request.get_data(cache=True)  # keep the raw body: moto needs it after we peek at the form
        if request.method == "POST" and not path and _is_elbv2(request.form):
            return _elbv2(services, dataplane, request.form)
        return _to_moto(moto_app)

    return app


def _is_elbv2(form: Any) -> bool:
    return form.get("Version") == ELBV2_VERSION and "Action" in form


def _elbv2(services: Services, dataplane: DataPlaneView, form: Any) -> Response:
    request_id = str(uuid.uuid4())
    account, region, _ = caller_identity(request.headers.get("Authorization"))
    operation = form["Action"]
    try:
        parsed = protocol.parse_request(operation, form)
        result = control.handle(services, account, region, operation, parsed, request.host_url.rstrip("/"))
        if not operation.startswith(_READ_ONLY):
            # Answer only once the change is live: a listener just created accepts connections at once.
            dataplane.wait_applied(services.store.generation)
        body, status = protocol.serialize_result(operation, result, request_id), 200
    except AwsError as error:
        body, status = protocol.serialize_error(error, request_id), error.status
    return Response(body, status, content_type=protocol.XML_CONTENT_TYPE, headers={"x-amzn-RequestId": request_id})


def _to_moto(moto_app: DomainDispatcherApplication) -> Response:
    """Replay the current request into moto's WSGI dispatcher (the body is re-wound, it was read for routing)."""
    body = request.get_data(cache=True)
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return Response.from_app(moto_app, environ)
