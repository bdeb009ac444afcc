"""The dashboard at /_emulator/ui, in a real headless browser (Debian's chromium, driven by selenium).

A user's view: the test builds an ALB with boto3, opens the page like a developer would, and watches it
follow the emulator live, without reloading: the load balancer and its rules appear, the target the test
runs turns unhealthy once the test stops it, and a request the test sent shows up in the recent requests.
A screenshot of the page is kept as a test artifact (``test-artifacts/dashboard.png``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from emulator.server import EmulatorServer
from tests import nlb_support
from tests.alb_support import forward, free_port, listener, listener_url, target_group, wait_for
from tests.backends import HttpEcho, TcpEcho

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PAGE_DEADLINE = 10.0  # seconds for the page to show a change (it polls every second; health checks take ~1 s)

pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs chromium and chromedriver (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,1300", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def shown(driver: WebDriver, css: str, timeout: float = PAGE_DEADLINE) -> str:
    """The text of the first element matching ``css``, once the page shows one (polled until the deadline).
    Read in one script: the page may redraw the element between a lookup and a read."""
    text = WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script("const e = document.querySelector(arguments[0]); return e && e.innerText;", css),
        message=f"the page never showed {css}")
    return str(text)


@pytest.fixture
def page(browser: WebDriver, tmp_path: Path) -> Iterator[WebDriver]:
    """The browser, and a screenshot of what it shows when the test ends, passed or failed."""
    yield browser
    picture = tmp_path / "dashboard.png"
    browser.save_screenshot(str(picture))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(picture, ARTIFACTS / "dashboard.png")


def test_the_page_follows_the_emulator_live(
    page: WebDriver, emulator_url: str, elbv2: Any, subnets: list[str], vpc_id: str
) -> None:
    with HttpEcho("web-1") as backend:
        lb = elbv2.create_load_balancer(Name="shop", Subnets=subnets)["LoadBalancers"][0]
        tg = target_group(elbv2, vpc_id, "shop-web", [backend], HealthCheckPath="/health")
        listener_arn = listener(elbv2, lb["LoadBalancerArn"], forward(tg))
        elbv2.create_rule(ListenerArn=listener_arn, Priority=10, Actions=forward(tg),
                          Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}])
        target = f'[data-tg="shop-web"] tr[data-target="{backend.host}:{backend.port}"]'

        page.get(f"{emulator_url}/_emulator/ui")
        card = shown(page, '[data-lb="shop"]')
        assert lb["DNSName"] in card and "application" in card
        shown(page, '[data-lb="shop"] [data-lb-state="shop"] .pill')  # provisioning or active
        rule = shown(page, '[data-lb="shop"] tr[data-priority="10"]')
        assert "Path is /api/*" in rule and "forward to shop-web" in rule
        default_rule = shown(page, '[data-lb="shop"] tr[data-priority="default"]')
        assert "forward to shop-web" in default_rule
        bound = listener_url(emulator_url, listener_arn).split("://")[1]
        assert bound in shown(page, f'[data-listener="{listener_arn}"] .bound')
        shown(page, f'{target}[data-state="healthy"]')

        answer = requests.get(f"{listener_url(emulator_url, listener_arn)}/api/orders?id=7", timeout=5)
        assert answer.status_code == 200

        backend.stop()  # health checks are refused from now on: the page shows the target going unhealthy
        unhealthy = shown(page, f'{target}[data-state="unhealthy"]')
        assert "Target." in unhealthy  # AWS's reason code, with its description

        # Last, as it needs the data plane's request records: the request is in the recent-requests table.
        row = shown(page, 'tr[data-request="GET /api/orders?id=7"]')
        assert "priority 10" in row and "200" in row
        assert f"{backend.host}:{backend.port}" in row and "shop :" in row

        search = page.find_element(By.ID, "request-filter")
        search.send_keys("no-such-path")
        assert "None of the last" in shown(page, "#requests .empty")
        search.clear()
        search.send_keys("orders")
        shown(page, 'tr[data-request="GET /api/orders?id=7"]')


def test_the_snapshot_counts_requests_per_listener(
    emulator_url: str, elbv2: Any, subnets: list[str], vpc_id: str
) -> None:
    with HttpEcho("web-1") as backend:
        lb = elbv2.create_load_balancer(Name="rates", Subnets=subnets)["LoadBalancers"][0]
        tg = target_group(elbv2, vpc_id, "rates-web", [backend])
        listener_arn = listener(elbv2, lb["LoadBalancerArn"], forward(tg))
        url = listener_url(emulator_url, listener_arn)
        with requests.Session() as session:
            for _ in range(12):
                assert session.get(f"{url}/", timeout=5).status_code == 200

        def counted() -> dict[str, Any] | None:
            snapshot = requests.get(f"{emulator_url}/_emulator/ui/api/snapshot", timeout=5).json()
            shown_listener = snapshot["loadBalancers"][0]["listeners"][0]
            return shown_listener if shown_listener["total"] == 12 else None

        shown_listener = wait_for(counted, timeout=PAGE_DEADLINE)
        assert shown_listener["arn"] == listener_arn
        assert 12 / 5 <= shown_listener["perSecond"] <= 12  # 12 requests within the 5-second window


def test_the_dashboard_is_read_only(emulator_url: str) -> None:
    assert requests.get(f"{emulator_url}/_emulator/ui", timeout=5).headers["Content-Type"].startswith("text/html")
    for path in ("/_emulator/ui", "/_emulator/ui/api/snapshot"):
        assert requests.post(f"{emulator_url}{path}", timeout=5).status_code == 405
    # A page of another site may not read it (the API's origin checks, emulator/api/origins.py).
    foreign = requests.get(f"{emulator_url}/_emulator/ui/api/snapshot", headers={"Origin": "https://evil.example"},
                           timeout=5)
    assert foreign.status_code == 403


def test_rules_are_listed_in_priority_order_in_words(emulator_url: str, elbv2: Any, subnets: list[str], vpc_id: str) -> None:
    lb = elbv2.create_load_balancer(Name="words", Subnets=subnets)["LoadBalancers"][0]
    web, canary = (target_group(elbv2, vpc_id, name) for name in ("web", "canary"))
    not_found = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}
    listener_arn = listener(elbv2, lb["LoadBalancerArn"], [not_found])
    split = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": web, "Weight": 3}, {"TargetGroupArn": canary, "Weight": 1}]}}
    to_https = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    elbv2.create_rule(ListenerArn=listener_arn, Priority=20, Actions=[to_https],
                      Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["old.example.com"]}}])
    elbv2.create_rule(ListenerArn=listener_arn, Priority=5, Actions=[split], Conditions=[
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["prod"]}},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}])

    snapshot = requests.get(f"{emulator_url}/_emulator/ui/api/snapshot", timeout=5).json()
    rules = snapshot["loadBalancers"][0]["listeners"][0]["rules"]
    assert [rule["priority"] for rule in rules] == ["5", "20", "default"]
    assert rules[0]["conditions"] == ["Header X-Env is prod", "Query v=2"]
    assert rules[0]["actions"] == ["forward to web (75%), canary (25%)"]
    assert rules[1] == {"priority": "20", "conditions": ["Host is old.example.com"], "transforms": [],
                        "actions": ["redirect to HTTPS:443 (301)"]}
    assert rules[2]["actions"] == ["fixed response 404 text/plain"]
    groups = {group["name"]: group for group in snapshot["targetGroups"]}
    assert groups["web"]["loadBalancers"] == ["words"] and groups["canary"]["loadBalancers"] == ["words"]


def test_without_recording_the_page_says_so() -> None:
    server = EmulatorServer(port=0, observability=False).start()
    try:
        snapshot = requests.get(f"{server.url}/_emulator/ui/api/snapshot", timeout=5).json()
    finally:
        server.stop()
    assert snapshot["recording"] is False and snapshot["requests"] == [] and snapshot["flows"] == []


def test_an_nlb_flow_is_listed_when_it_ends(emulator_url: str, elbv2: Any, subnets: list[str], vpc_id: str) -> None:
    with TcpEcho() as backend:
        lb_arn = nlb_support.nlb(elbv2, subnets, "tcp-proxy")
        tg = nlb_support.target_group(elbv2, vpc_id, "echo", ports=[backend.port])
        listener_arn = nlb_support.listener(elbv2, lb_arn, tg, port=free_port())
        nlb_support.wait_healthy(elbv2, tg)  # checked once a listener forwards to it
        with nlb_support.connect(nlb_support.listener_address(emulator_url, listener_arn)) as sock:
            sock.sendall(b"hello")
            assert nlb_support.recv_exactly(sock, 5) == b"hello"

        def listed() -> dict[str, Any] | None:
            flows = requests.get(f"{emulator_url}/_emulator/ui/api/snapshot", timeout=5).json()["flows"]
            return next((flow for flow in flows if flow["listener"].startswith("tcp-proxy :")), None)

        flow = wait_for(listed, timeout=PAGE_DEADLINE)
    assert flow["protocol"] == "TCP" and flow["target"] == f"127.0.0.1:{backend.port}" and flow["targetGroup"] == "echo"
    assert flow["receivedBytes"] == 5 and flow["sentBytes"] == 5


def test_an_open_nlb_flow_counts_in_its_listeners_rate(
    emulator_url: str, elbv2: Any, subnets: list[str], vpc_id: str
) -> None:
    """A flow counts when it starts (the listener's opened flows), long before its record is reported."""
    with TcpEcho() as backend:
        lb_arn = nlb_support.nlb(elbv2, subnets, "long-lived")
        tg = nlb_support.target_group(elbv2, vpc_id, "echo", ports=[backend.port])
        listener_arn = nlb_support.listener(elbv2, lb_arn, tg, port=free_port())
        nlb_support.wait_healthy(elbv2, tg)
        with nlb_support.connect(nlb_support.listener_address(emulator_url, listener_arn)) as sock:
            sock.sendall(b"hello")
            assert nlb_support.recv_exactly(sock, 5) == b"hello"  # the flow reached its target, and stays open

            def counted() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
                snapshot = requests.get(f"{emulator_url}/_emulator/ui/api/snapshot", timeout=5).json()
                [shown_listener] = snapshot["loadBalancers"][0]["listeners"]
                return (shown_listener, snapshot["flows"]) if shown_listener["total"] == 1 else None

            shown_listener, flows = wait_for(counted, timeout=PAGE_DEADLINE)
            assert shown_listener["arn"] == listener_arn
            assert 1 / 5 <= shown_listener["perSecond"] <= 1  # one flow within the 5-second window
            # Not listed yet: its record comes when it ends (the list may hold earlier tests' flows).
            assert not [flow for flow in flows if flow["listener"].startswith("long-lived")]
