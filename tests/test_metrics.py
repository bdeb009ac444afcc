"""CloudWatch metrics of real traffic, read back with boto3 from the emulator's CloudWatch (moto), alarms that
change state on them, and the Prometheus endpoint.

With ``--timing fast`` (the suite's) a metric period is 0.6 s, so datapoints appear within a second of the
traffic; they are stamped with their real wall-clock minute, so the queries below use AWS's 60 s periods.
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from emulator.server import EmulatorServer
from tests.alb_support import alb, forward, listener, listener_url, target_group, wait_for
from tests.backends import HttpEcho, TcpEcho
from tests.conftest import REGION
from tests.nlb_support import listener as nlb_listener
from tests.nlb_support import listener_address, nlb, wait_healthy
from tests.nlb_support import target_group as nlb_target_group

ALB, NLB = "AWS/ApplicationELB", "AWS/NetworkELB"


@pytest.fixture
def cloudwatch(emulator_url: str) -> Any:
    return boto3.client("cloudwatch", endpoint_url=emulator_url, region_name=REGION)


def lb_dimension(arn: str) -> dict[str, str]:
    return {"Name": "LoadBalancer", "Value": arn.split(":loadbalancer/", 1)[1]}


def tg_dimension(arn: str) -> dict[str, str]:
    return {"Name": "TargetGroup", "Value": arn.rsplit(":", 1)[1]}


def statistic(cloudwatch: Any, namespace: str, metric: str, dimensions: list[dict[str, str]],
              name: str = "Sum") -> float | None:
    """The statistic over the last few minutes in one datapoint (Period covers them all), None if none."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=dimensions, StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1), Period=600, Statistics=[name])["Datapoints"]
    return points[0][name] if points else None


def wait_statistic(cloudwatch: Any, namespace: str, metric: str, dimensions: list[dict[str, str]], expected: float,
                   name: str = "Sum") -> None:
    wait_for(lambda: statistic(cloudwatch, namespace, metric, dimensions, name) == expected, timeout=10)


@pytest.fixture
def web(elbv2: Any, subnets: list[str], vpc_id: str, emulator_url: str) -> Any:
    """An ALB forwarding to one real backend: (LB ARN, TG ARN, listener URL, backend)."""
    with HttpEcho("metrics") as backend:
        lb_arn = alb(elbv2, subnets, "metrics")
        tg_arn = target_group(elbv2, vpc_id, "metrics", [backend])
        url = listener_url(emulator_url, listener(elbv2, lb_arn, forward(tg_arn)))
        yield lb_arn, tg_arn, url, backend


def test_alb_request_metrics_per_load_balancer_target_group_and_zone(web: Any, cloudwatch: Any) -> None:
    lb_arn, tg_arn, url, _ = web
    for index in range(5):
        assert requests.get(f"{url}/page/{index}", timeout=5).status_code == 200
    lb, tg = lb_dimension(lb_arn), tg_dimension(tg_arn)

    # Dimensions match exactly, as on AWS: the per-group and per-zone datapoints do not add into the LB's.
    wait_statistic(cloudwatch, ALB, "RequestCount", [lb], 5)
    wait_statistic(cloudwatch, ALB, "RequestCount", [tg, lb], 5)
    wait_statistic(cloudwatch, ALB, "HTTPCode_Target_2XX_Count", [lb, tg], 5)
    assert statistic(cloudwatch, ALB, "HTTPCode_Target_5XX_Count", [lb]) is None  # reported only when nonzero
    wait_statistic(cloudwatch, ALB, "TargetResponseTime", [lb], 5, "SampleCount")  # (tallied a drain later)
    average = statistic(cloudwatch, ALB, "TargetResponseTime", [tg, lb], "Average")
    assert 0 < average < 5
    now = datetime.now(UTC)
    percentiles = cloudwatch.get_metric_statistics(
        Namespace=ALB, MetricName="TargetResponseTime", Dimensions=[lb], StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1), Period=600, ExtendedStatistics=["p50", "p99"])["Datapoints"][0]
    p50, p99 = percentiles["ExtendedStatistics"]["p50"], percentiles["ExtendedStatistics"]["p99"]
    assert 0 < p50 <= p99 <= statistic(cloudwatch, ALB, "TargetResponseTime", [lb], "Maximum")
    assert statistic(cloudwatch, ALB, "ProcessedBytes", [lb]) > 5 * len("GET /page/0 HTTP/1.1\r\n")
    assert statistic(cloudwatch, ALB, "RuleEvaluations", [lb]) == 5  # the default rule, once per request
    wait_statistic(cloudwatch, ALB, "HealthyHostCount", [tg, lb], 1, "Maximum")
    assert statistic(cloudwatch, ALB, "UnHealthyHostCount", [tg, lb], "Maximum") == 0
    assert statistic(cloudwatch, ALB, "RequestCountPerTarget", [tg]) == 5  # one healthy target
    assert statistic(cloudwatch, ALB, "RequestCountPerTarget", [tg, lb]) == 5

    zones = [m["Dimensions"] for m in cloudwatch.list_metrics(Namespace=ALB, MetricName="RequestCount")["Metrics"]]
    zone = next(d["Value"] for dims in zones for d in dims if d["Name"] == "AvailabilityZone")
    assert statistic(cloudwatch, ALB, "RequestCount", [{"Name": "AvailabilityZone", "Value": zone}, lb]) == 5
    assert sorted(map(_names, zones)) == sorted([
        ["LoadBalancer"], ["AvailabilityZone", "LoadBalancer"], ["LoadBalancer", "TargetGroup"],
        ["AvailabilityZone", "LoadBalancer", "TargetGroup"]])

    now = datetime.now(UTC)
    data = cloudwatch.get_metric_data(StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1),
                                      MetricDataQueries=[{"Id": "requests", "MetricStat": {
                                          "Metric": {"Namespace": ALB, "MetricName": "RequestCount",
                                                     "Dimensions": [tg, lb]},
                                          "Period": 60, "Stat": "Sum"}},
                                      {"Id": "p99", "MetricStat": {
                                          "Metric": {"Namespace": ALB, "MetricName": "TargetResponseTime",
                                                     "Dimensions": [tg, lb]},
                                          "Period": 600, "Stat": "p99"}}])["MetricDataResults"]
    assert sum(data[0]["Values"]) == 5
    assert data[1]["Values"] == [p99]


def test_alb_connection_metrics(web: Any, cloudwatch: Any) -> None:
    lb_arn, _, url, _ = web
    with requests.Session() as keep_alive:  # one connection, three requests
        for _ in range(3):
            assert keep_alive.get(url, timeout=5).status_code == 200
        lb = lb_dimension(lb_arn)
        wait_statistic(cloudwatch, ALB, "NewConnectionCount", [lb], 1)
        assert statistic(cloudwatch, ALB, "ActiveConnectionCount", [lb], "Maximum") == 1
    assert requests.get(url, timeout=5).status_code == 200
    wait_statistic(cloudwatch, ALB, "NewConnectionCount", [lb], 2)


def _names(dimensions: list[dict[str, str]]) -> list[str]:
    return sorted(d["Name"] for d in dimensions)


def test_host_counts_follow_target_health(web: Any, cloudwatch: Any) -> None:
    lb_arn, tg_arn, _, backend = web
    backend.status = 503  # the health checks fail from now on
    wait_statistic(cloudwatch, ALB, "UnHealthyHostCount", [tg_dimension(tg_arn), lb_dimension(lb_arn)], 1, "Maximum")
    assert statistic(cloudwatch, ALB, "HealthyHostCount", [tg_dimension(tg_arn), lb_dimension(lb_arn)], "Minimum") == 0


def test_alb_responses_of_the_load_balancer_itself(elbv2: Any, subnets: list[str], emulator_url: str,
                                                   cloudwatch: Any) -> None:
    lb_arn = alb(elbv2, subnets, "fixed")
    url = listener_url(emulator_url, listener(elbv2, lb_arn, [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "503", "MessageBody": "down"}}]))
    for _ in range(3):
        assert requests.get(url, timeout=5).status_code == 503
    lb = lb_dimension(lb_arn)
    wait_statistic(cloudwatch, ALB, "HTTPCode_ELB_5XX_Count", [lb], 3)
    assert statistic(cloudwatch, ALB, "HTTPCode_ELB_503_Count", [lb]) == 3
    assert statistic(cloudwatch, ALB, "HTTP_Fixed_Response_Count", [lb]) == 3
    assert statistic(cloudwatch, ALB, "HTTPCode_Target_5XX_Count", [lb]) is None
    assert statistic(cloudwatch, ALB, "RequestCount", [lb]) is None  # no target was chosen


def test_target_connection_errors_are_counted(elbv2: Any, subnets: list[str], vpc_id: str, emulator_url: str,
                                              cloudwatch: Any) -> None:
    """TargetConnectionErrorCount ("connections that were not successfully established between the load balancer
    and target"): a target whose port is closed answers nothing; with every target unhealthy the ALB still
    routes to them (fail open), and each attempt is a 502 and a connection error."""
    lb_arn = alb(elbv2, subnets, "conn-errors")
    closed = _free_port()
    tg_arn = elbv2.create_target_group(Name="conn-errors", Protocol="HTTP", Port=closed, VpcId=vpc_id,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1", "Port": closed}])
    url = listener_url(emulator_url, listener(elbv2, lb_arn, forward(tg_arn)))
    wait_for(lambda: elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"][0]
             ["TargetHealth"]["State"] == "unhealthy", timeout=10)
    for _ in range(2):
        assert requests.get(url, timeout=5).status_code == 502
    lb, tg = lb_dimension(lb_arn), tg_dimension(tg_arn)
    wait_statistic(cloudwatch, ALB, "TargetConnectionErrorCount", [lb], 2)
    assert statistic(cloudwatch, ALB, "TargetConnectionErrorCount", [lb, tg]) == 2
    assert statistic(cloudwatch, ALB, "HTTPCode_ELB_502_Count", [lb]) == 2


def test_nlb_flow_metrics(elbv2: Any, subnets: list[str], vpc_id: str, emulator_url: str, cloudwatch: Any) -> None:
    with TcpEcho() as backend:
        lb_arn = nlb(elbv2, subnets, "flows")
        tg_arn = nlb_target_group(elbv2, vpc_id, "flows", ports=[backend.port])
        address = listener_address(emulator_url, nlb_listener(elbv2, lb_arn, tg_arn, port=_free_port()))
        wait_healthy(elbv2, tg_arn)  # a target is checked once a listener forwards to its group
        for _ in range(3):
            with socket.create_connection(address, timeout=5) as sock:
                sock.sendall(b"ping")
                assert sock.recv(4) == b"ping"
        lb, tg = lb_dimension(lb_arn), tg_dimension(tg_arn)
        wait_statistic(cloudwatch, NLB, "NewFlowCount", [lb], 3)
        assert statistic(cloudwatch, NLB, "NewFlowCount_TCP", [lb]) == 3
        assert statistic(cloudwatch, NLB, "ProcessedBytes", [lb]) >= 3 * 8  # 4 bytes each way, per flow
        assert statistic(cloudwatch, NLB, "ActiveFlowCount", [lb], "Maximum") >= 1
        wait_statistic(cloudwatch, NLB, "HealthyHostCount", [lb, tg], 1, "Minimum")
        assert statistic(cloudwatch, ALB, "NewFlowCount", [lb]) is None


def test_nlb_flow_counts_in_every_period_it_is_open(elbv2: Any, subnets: list[str], vpc_id: str, emulator_url: str,
                                                   cloudwatch: Any) -> None:
    """NewFlowCount counts a flow in the period it starts, ActiveFlowCount in every period it is open ("the total
    number of concurrent flows"), both while it is still open; its bytes count when it ends. Every 0.6 s period
    adds one sample to the minute's datapoint, so SampleCount is the number of periods with a value."""
    with TcpEcho() as backend:
        lb_arn = nlb(elbv2, subnets, "long-flow")
        tg_arn = nlb_target_group(elbv2, vpc_id, "long-flow", ports=[backend.port])
        address = listener_address(emulator_url, nlb_listener(elbv2, lb_arn, tg_arn, port=_free_port()))
        wait_healthy(elbv2, tg_arn)
        lb = lb_dimension(lb_arn)
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
            wait_statistic(cloudwatch, NLB, "NewFlowCount", [lb], 1)
            assert statistic(cloudwatch, NLB, "NewFlowCount_TCP", [lb]) == 1
            wait_for(lambda: (statistic(cloudwatch, NLB, "ActiveFlowCount", [lb], "SampleCount") or 0) >= 3,
                     timeout=10)  # the period it started in, and at least two more: still open
            assert statistic(cloudwatch, NLB, "ActiveFlowCount", [lb], "Minimum") == 1
            assert statistic(cloudwatch, NLB, "ActiveFlowCount_TCP", [lb], "Maximum") == 1
            assert statistic(cloudwatch, NLB, "NewFlowCount", [lb], "SampleCount") == 1  # not counted again
            assert statistic(cloudwatch, NLB, "ProcessedBytes", [lb]) is None  # (counted when the flow ends)
            sock.sendall(b"pong")
            assert sock.recv(4) == b"pong"
        wait_statistic(cloudwatch, NLB, "ProcessedBytes", [lb], 16)
        assert statistic(cloudwatch, NLB, "NewFlowCount", [lb]) == 1
        assert statistic(cloudwatch, NLB, "ActiveFlowCount", [lb], "Maximum") == 1


def test_tcp_udp_listener_flows_count_per_protocol(elbv2: Any, subnets: list[str], vpc_id: str, emulator_url: str,
                                                   cloudwatch: Any) -> None:
    """A TCP_UDP listener's TCP flows are NewFlowCount_TCP, its UDP flows NewFlowCount_UDP (AWS has no _TCP_UDP)."""
    with TcpEcho() as backend:
        lb_arn = nlb(elbv2, subnets, "both-flows")
        tg_arn = nlb_target_group(elbv2, vpc_id, "both-flows", protocol="TCP_UDP", ports=[backend.port],
                                  HealthCheckProtocol="TCP")
        port = _free_port()
        address = listener_address(emulator_url, nlb_listener(elbv2, lb_arn, tg_arn, protocol="TCP_UDP", port=port))
        wait_healthy(elbv2, tg_arn)
        lb = lb_dimension(lb_arn)
        with socket.create_connection(address, timeout=5) as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.sendall(b"ping")
            assert tcp.recv(4) == b"ping"
            udp.sendto(b"ping", address)  # opens a flow to the target (whose UDP port answers nothing)
            wait_statistic(cloudwatch, NLB, "NewFlowCount", [lb], 2)
            assert statistic(cloudwatch, NLB, "NewFlowCount_TCP", [lb]) == 1
            assert statistic(cloudwatch, NLB, "NewFlowCount_UDP", [lb]) == 1
            wait_statistic(cloudwatch, NLB, "ActiveFlowCount_UDP", [lb], 1, "Maximum")
            assert statistic(cloudwatch, NLB, "ActiveFlowCount", [lb], "Maximum") == 2
            assert statistic(cloudwatch, NLB, "NewFlowCount_TCP_UDP", [lb]) is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alarm(cloudwatch: Any, name: str) -> dict[str, Any]:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_alarm_on_target_5xx_fires_and_recovers(web: Any, cloudwatch: Any) -> None:
    lb_arn, _, url, backend = web
    cloudwatch.put_metric_alarm(
        AlarmName="target-5xx", Namespace=ALB, MetricName="HTTPCode_Target_5XX_Count", Dimensions=[lb_dimension(lb_arn)],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching")
    wait_for(lambda: _alarm(cloudwatch, "target-5xx")["StateValue"] == "OK", timeout=10)  # evaluated, no errors

    backend.status = 500

    def failing() -> bool:
        assert requests.get(url, timeout=5).status_code == 500
        return _alarm(cloudwatch, "target-5xx")["StateValue"] == "ALARM"

    wait_for(failing, timeout=10)
    reason = _alarm(cloudwatch, "target-5xx")["StateReason"]
    assert reason.startswith("Threshold Crossed: 1 datapoint [") and "greater than or equal to the threshold (1.0)" in reason

    backend.status = 200  # no 5XX datapoint any more: missing, treated as not breaching
    wait_for(lambda: _alarm(cloudwatch, "target-5xx")["StateValue"] == "OK", timeout=10)


def test_percentile_alarm_on_target_response_time(web: Any, cloudwatch: Any) -> None:
    lb_arn, tg_arn, url, backend = web
    cloudwatch.put_metric_alarm(
        AlarmName="slow", Namespace=ALB, MetricName="TargetResponseTime",
        Dimensions=[tg_dimension(tg_arn), lb_dimension(lb_arn)], ExtendedStatistic="p99", Period=60,
        EvaluationPeriods=1, Threshold=0.05, ComparisonOperator="GreaterThanThreshold")
    backend.delay = 0.1

    def slow() -> bool:
        assert requests.get(url, timeout=5).status_code == 200
        return _alarm(cloudwatch, "slow")["StateValue"] == "ALARM"

    wait_for(slow, timeout=10)
    assert "greater than the threshold (0.05)" in _alarm(cloudwatch, "slow")["StateReason"]


def test_alarm_without_data_is_insufficient(web: Any, cloudwatch: Any) -> None:
    lb_arn, tg_arn, _, _ = web
    cloudwatch.put_metric_alarm(
        AlarmName="latency", Namespace=ALB, MetricName="TargetResponseTime",
        Dimensions=[tg_dimension(tg_arn), lb_dimension(lb_arn)], Statistic="Average", Period=60, EvaluationPeriods=2,
        Threshold=1, ComparisonOperator="GreaterThanThreshold")
    wait_for(lambda: _alarm(cloudwatch, "latency")["StateValue"] == "INSUFFICIENT_DATA", timeout=10)
    assert _alarm(cloudwatch, "latency")["StateReason"] == "Insufficient Data: 2 datapoints were unknown."


PROMETHEUS_LINE = re.compile(r'^[a-z_][a-z0-9_]*(\{([a-z_]+="[^"]*",?)*\})? [0-9.e+-]+$')


def test_prometheus_endpoint(web: Any, emulator_url: str) -> None:
    lb_arn, tg_arn, url, _ = web
    for _ in range(4):
        assert requests.get(url, timeout=5).status_code == 200
    labels = f'load_balancer="{lb_dimension(lb_arn)["Value"]}",target_group="{tg_dimension(tg_arn)["Value"]}"'

    def scraped() -> str | None:
        body = requests.get(f"{emulator_url}/_emulator/metrics", timeout=5).text
        return body if f"aws_applicationelb_request_count_total{{{labels}}} 4\n" in body else None

    body = wait_for(scraped, timeout=10)
    response = requests.get(f"{emulator_url}/_emulator/metrics", timeout=5)
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE aws_applicationelb_request_count_total counter" in body
    assert f"aws_applicationelb_httpcode_target_2xx_count_total{{{labels}}} 4" in body
    assert f"aws_applicationelb_target_response_time_seconds_count{{{labels}}} 4" in body
    assert f"aws_applicationelb_healthy_host_count{{{labels}}} 1" in response.text
    assert all(PROMETHEUS_LINE.match(line) for line in body.splitlines() if not line.startswith("#")), body


def test_metrics_endpoint_without_observability() -> None:
    server = EmulatorServer(port=0, observability=False).start()
    try:
        assert requests.get(f"{server.url}/_emulator/metrics", timeout=5).status_code == 404
    finally:
        server.stop()
