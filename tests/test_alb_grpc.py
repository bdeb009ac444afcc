"""gRPC through an HTTPS listener to GRPC target groups: a real grpcio server and
client, unary and streaming calls, grpc-status/grpc-message trailers passed through, h2c and TLS targets,
gRPC health checks judged by Matcher.GrpcCode, and 464 for non-gRPC traffic to the group."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
import trustme

from tests.alb_support import alb, forward, target_group, wait_checked, wait_for
from tests.h2_support import HOST, https_listener

SERVICE = "test.Echo"


def _handlers() -> grpc.GenericRpcHandler:
    """Bytes in, bytes out: no protobuf code needed."""

    def upper(request: bytes, context: grpc.ServicerContext) -> bytes:
        return request.upper()

    def metadata(request: bytes, context: grpc.ServicerContext) -> bytes:
        return json.dumps(dict(context.invocation_metadata())).encode()

    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    def count(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        for i in range(int(request)):
            yield b"%d" % i

    def collect(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        return b"%d" % sum(len(r) for r in requests)

    return grpc.method_handlers_generic_handler(SERVICE, {
        "Upper": grpc.unary_unary_rpc_method_handler(upper),
        "Metadata": grpc.unary_unary_rpc_method_handler(metadata),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Count": grpc.unary_stream_rpc_method_handler(count),
        "Collect": grpc.stream_unary_rpc_method_handler(collect),
    })


class GrpcServer:
    """A grpcio server on 127.0.0.1 (h2c, or TLS with the given trustme certificate)."""

    def __init__(self, tls: trustme.LeafCert | None = None) -> None:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((_handlers(),))
        if tls is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials([(tls.private_key_pem.bytes(), tls.cert_chain_pems[0].bytes())])
            self.port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.host = "127.0.0.1"

    def __enter__(self) -> GrpcServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(None)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _channel(ca: trustme.CA, addr: tuple[str, int]) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem.bytes())
    return grpc.secure_channel(f"{addr[0]}:{addr[1]}", credentials,
                               options=[("grpc.ssl_target_name_override", HOST), ("grpc.default_authority", HOST)])


def _grpc_listener(elbv2, acm, subnets, emulator_url, ca, *groups: str) -> tuple[str, int]:
    """An HTTPS listener whose rule forwards the service's paths to ``groups[0]`` (the others get rules that
    match nothing, so that they are in use, hence health checked)."""
    lb = alb(elbv2, subnets)
    not_found = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
    arn, addr = https_listener(elbv2, acm, emulator_url, ca, lb, not_found)
    for priority, tg in enumerate(groups, 1):
        path = f"/{SERVICE}/*" if priority == 1 else f"/unused-{priority}"
        elbv2.create_rule(ListenerArn=arn, Priority=priority, Actions=forward(tg),
                          Conditions=[{"Field": "path-pattern", "Values": [path]}])
    return addr


def _register(elbv2, tg: str, server: GrpcServer) -> dict:
    """Register the server and wait for its first health check; its TargetHealth."""
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": server.host, "Port": server.port}])
    wait_checked(elbv2, tg)
    return _health(elbv2, tg)


def _health(elbv2, tg: str) -> dict:
    return elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"]


def test_grpc_calls_through_the_alb(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with GrpcServer() as server:
        tg = target_group(elbv2, vpc_id, "grpc", ProtocolVersion="GRPC")
        addr = _grpc_listener(elbv2, acm, subnets, emulator_url, ca, tg)
        assert _register(elbv2, tg, server) == {"State": "healthy"}  # UNIMPLEMENTED (12) for /AWS.ALB/healthcheck
        with _channel(ca, addr) as channel:
            assert channel.unary_unary(f"/{SERVICE}/Upper")(b"hello", timeout=10) == b"HELLO"
            metadata = json.loads(channel.unary_unary(f"/{SERVICE}/Metadata")(b"", timeout=10))
            assert metadata["x-forwarded-proto"] == "https" and metadata["x-forwarded-port"] == str(addr[1])
            assert metadata["x-forwarded-for"] == "127.0.0.1" and metadata["x-amzn-trace-id"].startswith("Root=1-")
            with pytest.raises(grpc.RpcError) as failed:
                channel.unary_unary(f"/{SERVICE}/Fail")(b"", timeout=10)
            assert failed.value.code() == grpc.StatusCode.NOT_FOUND  # grpc-status / grpc-message trailers
            assert failed.value.details() == "no such thing"
            numbers = list(channel.unary_stream(f"/{SERVICE}/Count")(b"2000", timeout=20))
            assert numbers == [b"%d" % i for i in range(2000)]
            chunks = (b"c" * 65536 for _ in range(64))  # 4 MB up, streamed under flow control
            assert channel.stream_unary(f"/{SERVICE}/Collect")(chunks, timeout=20) == b"%d" % (64 * 65536)
            calls = [channel.unary_unary(f"/{SERVICE}/Upper").future(b"x%d" % i, timeout=20) for i in range(200)]
            assert [call.result() for call in calls] == [b"X%d" % i for i in range(200)]
            with pytest.raises(grpc.RpcError) as unknown:  # the default action answers 404 (HTTP, not gRPC)
                channel.unary_unary("/other.Service/Call")(b"", timeout=10)
            assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpc_to_a_tls_target(elbv2, acm, subnets, vpc_id, emulator_url, ca):
    with GrpcServer(ca.issue_cert("127.0.0.1")) as server:
        tg = target_group(elbv2, vpc_id, "grpcs", protocol="HTTPS", ProtocolVersion="GRPC")
        addr = _grpc_listener(elbv2, acm, subnets, emulator_url, ca, tg)
        assert _register(elbv2, tg, server) == {"State": "healthy"}  # the check speaks TLS with ALPN h2 too
        with _channel(ca, addr) as channel:
            assert channel.unary_unary(f"/{SERVICE}/Upper")(b"tls", timeout=10) == b"TLS"


def test_grpc_health_check_codes(elbv2, vpc_id, subnets, emulator_url, acm, ca):
    with GrpcServer() as server:
        mismatch = target_group(elbv2, vpc_id, "strict", ProtocolVersion="GRPC", Matcher={"GrpcCode": "0"})
        ranged = target_group(elbv2, vpc_id, "ranged", ProtocolVersion="GRPC", Matcher={"GrpcCode": "0-99"})
        method = target_group(elbv2, vpc_id, "method", ProtocolVersion="GRPC", Matcher={"GrpcCode": "0"},
                              HealthCheckPath=f"/{SERVICE}/Upper")
        _grpc_listener(elbv2, acm, subnets, emulator_url, ca, mismatch, ranged, method)
        assert _register(elbv2, mismatch, server) == {
            "State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
            "Description": "Health checks failed with these codes: [12]"}
        assert _register(elbv2, ranged, server)["State"] == "healthy"
        assert _register(elbv2, method, server)["State"] == "healthy"  # a real method answering OK (0)
        elbv2.modify_target_group(TargetGroupArn=mismatch, Matcher={"GrpcCode": "0,12"})
        wait_for(lambda: _health(elbv2, mismatch)["State"] == "healthy", timeout=10)
