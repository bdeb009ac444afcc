"""The HTTP API: elbv2 calls (answered by ``front.Elbv2Front``), moto for every other AWS service, admin routes.

Everything that is not an elbv2 call (EC2, ACM, S3, classic ELB on the same ``elasticloadbalancing``
endpoint, ...) is handed by the Flask app to moto's in-process dispatcher unchanged, so one endpoint
serves a whole offline AWS.
"""

from __future__ import annotations

import io
import re

from flask import Flask, Response, jsonify, request
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WsgiResponse

from api_models.lambda_invocation import LambdaInvoker
from emulator.api.cloudformation.bridge import CloudFormationBridge
from emulator.api.dashboard import register_dashboard_routes
from emulator.api.dashboard_view import TrafficFeed
from emulator.api.elbv2 import DataPlaneView, Elbv2Endpoint, Reply, error_reply, internal_failure
from emulator.api.front import Elbv2Front, WsgiApp
from emulator.api.lambda_invoke import answer_invoke
from emulator.api.origins import OriginGuard, OriginPolicy, OriginSettings
from emulator.control.context import Services
from emulator.dns import dns_table
from emulator.errors import AwsError
from emulator.observability.prometheus import PrometheusExporter, register_metrics_routes
from emulator.protocol import XML_CONTENT_TYPE


def create_app(
    services: Services, dataplane: DataPlaneView, api_host: str = "127.0.0.1", origins: OriginSettings | None = None,
    prometheus: PrometheusExporter | None = None, feed: TrafficFeed | None = None,
    lambdas: LambdaInvoker | None = None,
) -> WsgiApp:
    """The WSGI app serving the ELBv2 API, moto's services and the ``/_emulator`` admin routes, behind the
    browser checks of ``origins`` (load-balancer DNS names are accepted as Host: the API may route them).
    ``prometheus``: the metrics ``GET /_emulator/metrics`` serves; ``feed``: the recent traffic the dashboard
    (``/_emulator/ui``) shows; None when they are not recorded. ``lambdas``: the local runtime that answers
    Lambda ``Invoke`` (README "Lambda targets"); None leaves Invoke to moto."""
    flask_app = _flask_app(services, dataplane, feed, lambdas)
    register_metrics_routes(flask_app, prometheus)  # GET /_emulator/metrics
    endpoint = Elbv2Endpoint(services, dataplane)
    # CloudFormation's ELBv2 resources are the emulator's (README "CloudFormation and the CDK").
    front = Elbv2Front(CloudFormationBridge(flask_app, endpoint), endpoint)
    policy = OriginPolicy(api_host, origins or OriginSettings(), lambda name: name in dns_table(services.store))
    return OriginGuard(front, policy)


def _flask_app(services: Services, dataplane: DataPlaneView, feed: TrafficFeed | None,
               lambdas: LambdaInvoker | None) -> Flask:
    app = Flask("elbv2-emulator")
    moto_app = DomainDispatcherApplication(create_backend_app)
    register_dashboard_routes(app, services, dataplane, feed)

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
    def reset() -> WsgiResponse:
        services.store.reset()
        dataplane.reset()
        dataplane.wait_applied(services.store.generation)
        return _to_moto(moto_app)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])
    def dispatch(path: str) -> WsgiResponse:
        invoked = answer_invoke(lambdas, request) if lambdas is not None else None
        if invoked is not None:  # Lambda Invoke, run by the local runtime (moto would need Docker)
            return invoked
        response = _to_moto(moto_app)
        if response.status_code < 300 and (_changes_admission(request.get_data(cache=True)) or _changes_web_acls()):
            dataplane.refresh()  # security group rules and web ACLs apply from the next connection / request
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):  # 404/405 and friends: their status, as an XML error document
            code = (error.name or "Error").replace(" ", "")
            return _xml(error_reply(AwsError(code, error.description or code, error.code or 400)))
        if isinstance(error, NotImplementedError):  # moto's way of saying it lacks a feature (e.g. S3 PATCH)
            return _xml(error_reply(AwsError("NotImplemented", f"Not implemented by the emulator: {error}", 501)))
        return _xml(internal_failure(f"{request.method} {request.path}"))

    return app


# EC2 calls after which load balancers may admit other sources: group rules, prefix lists, group membership.
_ADMISSION_ACTIONS = frozenset((
    b"AuthorizeSecurityGroupIngress", b"RevokeSecurityGroupIngress", b"ModifySecurityGroupRules",
    b"DeleteSecurityGroup", b"ModifyManagedPrefixList", b"DeleteManagedPrefixList", b"RunInstances",
    b"StartInstances", b"StopInstances", b"TerminateInstances", b"ModifyInstanceAttribute",
    b"ModifyNetworkInterfaceAttribute", b"CreateTags", b"DeleteTags",
))
_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)")


def _changes_admission(body: bytes) -> bool:
    """Whether a Query-protocol call (EC2 speaks it) may change what a security group admits."""
    found = _ACTION.search(body) or _ACTION.search(request.query_string)
    return found is not None and found.group(1) in _ADMISSION_ACTIONS


# WAFv2 (JSON protocol, ``X-Amz-Target: AWSWAF_20190729.<Operation>``) calls after which a load balancer's
# web ACL may decide otherwise: the ACL itself, its association, and the sets and rule groups it references.
_WAF_TARGET = "AWSWAF_20190729."
_WEB_ACL_ACTIONS = frozenset((
    "CreateWebACL", "UpdateWebACL", "DeleteWebACL", "AssociateWebACL", "DisassociateWebACL",
    "CreateIPSet", "UpdateIPSet", "DeleteIPSet", "CreateRegexPatternSet", "UpdateRegexPatternSet",
    "DeleteRegexPatternSet", "CreateRuleGroup", "UpdateRuleGroup", "DeleteRuleGroup",
    "PutLoggingConfiguration", "DeleteLoggingConfiguration",
))


def _changes_web_acls() -> bool:
    """Whether a WAFv2 call may change what a load balancer's web ACL decides."""
    target = request.headers.get("X-Amz-Target", "")
    return target.startswith(_WAF_TARGET) and target[len(_WAF_TARGET):] in _WEB_ACL_ACTIONS


def _to_moto(moto_app: DomainDispatcherApplication) -> WsgiResponse:
    """Replay the current request into moto's WSGI dispatcher, its body buffered so moto may read it as it likes."""
    body = request.get_data(cache=True)
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return Response.from_app(moto_app, environ)  # a flask Response, typed by werkzeug as its base class


def _xml(reply: Reply) -> Response:
    return Response(reply.body, reply.status, content_type=XML_CONTENT_TYPE, headers={"x-amzn-RequestId": reply.request_id})
