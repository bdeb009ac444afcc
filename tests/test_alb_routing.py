"""ALB routing end to end: boto3 builds the ALB, real HTTP goes through the listener to echo backends."""

from __future__ import annotations

import collections
import threading

import requests

from tests.alb_support import address, alb, forward, free_port, listener, listener_url, target_group, wait_checked
from tests.backends import HttpEcho


def _rule(elbv2, listener_arn: str, priority: int, conditions: list[dict], actions: list[dict]) -> str:
    return elbv2.create_rule(ListenerArn=listener_arn, Priority=priority, Conditions=conditions,
                             Actions=actions)["Rules"][0]["RuleArn"]


def _fixed(text: str, status: str = "200") -> list[dict]:
    return [{"Type": "fixed-response",
             "FixedResponseConfig": {"StatusCode": status, "ContentType": "text/plain", "MessageBody": text}}]


def test_forward_round_robin_and_priorities(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [a, b])
        arn = listener(elbv2, lb, forward(tg))
        _rule(elbv2, arn, 20, [{"Field": "path-pattern", "Values": ["/api/*"]}], _fixed("twenty"))
        _rule(elbv2, arn, 10, [{"Field": "path-pattern", "Values": ["/api/v1/*"]}], _fixed("ten"))
        url = listener_url(emulator_url, arn)
        session = requests.Session()
        seen = collections.Counter(session.get(f"{url}/x").json()["backend"] for _ in range(10))
        assert seen == {"a": 5, "b": 5}
        assert session.get(f"{url}/api/v1/x").text == "ten"
        assert session.get(f"{url}/api/v2").text == "twenty"
        assert session.get(f"{url}/API/v2").json()["path"] == "/API/v2"  # path-pattern is case-sensitive


def test_every_condition_type(elbv2, subnets, vpc_id, emulator_url):
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, _fixed("default", "404"))
    _rule(elbv2, arn, 1, [{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}], _fixed("host"))
    _rule(elbv2, arn, 2, [{"Field": "http-header",
                           "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["bl?e", "green"]}}], _fixed("header"))
    _rule(elbv2, arn, 3, [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["PUT"]}}], _fixed("method"))
    _rule(elbv2, arn, 4, [{"Field": "query-string",
                           "QueryStringConfig": {"Values": [{"Key": "v", "Value": "a b*"}, {"Value": "lit\\*"}]}}],
          _fixed("query"))
    _rule(elbv2, arn, 5, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}], _fixed("never"))
    _rule(elbv2, arn, 6, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/both"]}},
                          {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}],
          _fixed("and"))
    _rule(elbv2, arn, 7, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["127.0.0.0/8", "::1/128"]}},
                          {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/src"]}}], _fixed("source"))
    url = listener_url(emulator_url, arn)

    def text(method: str = "GET", path: str = "/", **headers: str) -> str:
        return requests.request(method, url + path, headers=headers, timeout=5).text

    assert text(Host="WWW.Example.COM:8080") == "host"  # case-insensitive, port ignored
    assert text(Host="example.com") == "default"  # *.example.com needs a label before the dot
    assert text(**{"x-env": "BLUE"}) == "header"
    assert text(**{"X-Env": "green"}) == "header"
    assert text(**{"X-Env": "bluee"}) == "default"
    assert text("PUT") == "method"
    assert text("PATCH") == "default"
    assert text(path="/?v=a%20bcd") == "query"  # percent-decoded, wildcard value, case-insensitive key
    assert text(path="/?any=lit*") == "query"  # no key: any key; \* is a literal star
    assert text(path="/?any=litx") == "default"
    assert text("POST", "/both") == "and"
    assert text("GET", "/both") == "default"  # conditions AND
    assert text(path="/src") == "source"  # compared with the TCP peer, not X-Forwarded-For
    assert text(path="/src", **{"X-Forwarded-For": "10.1.1.1"}) == "source"


def test_weighted_forward_and_target_group_stickiness(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("blue") as blue, HttpEcho("green") as green, HttpEcho("off") as off:
        lb = alb(elbv2, subnets)
        tgs = [target_group(elbv2, vpc_id, name, [b]) for name, b in (("blue", blue), ("green", green), ("off", off))]
        weighted = {"TargetGroups": [{"TargetGroupArn": tgs[0], "Weight": 80}, {"TargetGroupArn": tgs[1], "Weight": 20},
                                     {"TargetGroupArn": tgs[2], "Weight": 0}]}
        arn = listener(elbv2, lb, [{"Type": "forward", "ForwardConfig": weighted}])
        url = listener_url(emulator_url, arn)
        session = requests.Session()
        seen = collections.Counter(session.get(url).json()["backend"] for _ in range(400))
        assert seen["off"] == 0
        assert 260 <= seen["blue"] <= 380, seen  # 80% of 400 = 320, far beyond 5 sigma (sigma = 8)
        sticky = dict(weighted, TargetGroupStickinessConfig={"Enabled": True, "DurationSeconds": 300})
        elbv2.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "forward", "ForwardConfig": sticky}])
        first = session.get(url)
        assert "AWSALBTG" in first.cookies and "AWSALBTGCORS" in first.cookies
        assert "SameSite=None; Secure" in first.headers["Set-Cookie"]
        assert {session.get(url).json()["backend"] for _ in range(30)} == {first.json()["backend"]}


def test_lb_cookie_and_app_cookie_stickiness(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b, HttpEcho("c") as c:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [a, b, c], attributes={"stickiness.enabled": "true"})
        arn = listener(elbv2, lb, forward(tg))
        url = listener_url(emulator_url, arn)
        session = requests.Session()
        first = session.get(url)
        assert {"AWSALB", "AWSALBCORS"} <= set(first.cookies.keys())
        assert {session.get(url).json()["backend"] for _ in range(20)} == {first.json()["backend"]}
        session.cookies.set("AWSALB", "garbage")  # undecodable: pick again and reissue
        again = session.get(url)
        assert again.status_code == 200 and again.cookies["AWSALB"] != "garbage"

        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "stickiness.type", "Value": "app_cookie"},
            {"Key": "stickiness.app_cookie.cookie_name", "Value": "SESSION"}])
        for backend in (a, b, c):
            backend.extra_headers["Set-Cookie"] = "SESSION=abc; Path=/"
        app = requests.Session()
        first = app.get(url)
        assert first.cookies["SESSION"] == "abc" and "AWSALBAPP-0" in first.cookies
        assert {app.get(url).json()["backend"] for _ in range(20)} == {first.json()["backend"]}


def test_least_outstanding_requests_prefers_idle_target(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("slow") as slow, HttpEcho("fast") as fast:
        slow.delay = 0.5
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [slow, fast],
                          attributes={"load_balancing.algorithm.type": "least_outstanding_requests"})
        url = listener_url(emulator_url, listener(elbv2, lb, forward(tg)))
        results: list[str] = []
        threads = [threading.Thread(target=lambda: results.append(requests.get(url, timeout=5).json()["backend"]))
                   for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count("fast") >= 4, results  # the slow one holds its request, so the rest go to fast


def test_redirects(elbv2, subnets, emulator_url):
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "StatusCode": "HTTP_301"}}])
    _rule(elbv2, arn, 1, [{"Field": "path-pattern", "Values": ["/old/*"]}],
          [{"Type": "redirect", "RedirectConfig": {"Host": "new.#{host}", "Port": "8443", "Path": "/new/#{path}",
                                                   "Query": "from=#{port}&#{query}", "StatusCode": "HTTP_302"}}])
    url = listener_url(emulator_url, arn)
    first = requests.get(f"{url}/a/b?x=1", headers={"Host": "shop.example.com"}, allow_redirects=False)
    assert first.status_code == 301
    assert first.headers["Location"] == f"https://shop.example.com:{address(url)[1]}/a/b?x=1"
    assert first.headers["Server"] == "awselb/2.0"
    second = requests.get(f"{url}/old/p?q=2", headers={"Host": "example.com"}, allow_redirects=False)
    assert second.status_code == 302
    assert second.headers["Location"] == f"http://new.example.com:8443/new/old/p?from={address(url)[1]}&q=2"


def test_default_port_redirect_omits_port(elbv2, subnets, emulator_url):
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                                     "StatusCode": "HTTP_301"}}])
    response = requests.get(listener_url(emulator_url, arn) + "/p", headers={"Host": "a.example.com"},
                            allow_redirects=False)
    assert response.headers["Location"] == "https://a.example.com/p"


def test_fixed_response(elbv2, subnets, emulator_url):
    lb = alb(elbv2, subnets)
    arn = listener(elbv2, lb, [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "418", "ContentType": "application/json", "MessageBody": '{"ok":false}'}}])
    response = requests.get(listener_url(emulator_url, arn))
    assert response.status_code == 418
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"ok": False}


def test_two_load_balancers_on_the_same_port(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("one") as one, HttpEcho("two") as two:
        urls, port = [], free_port()
        for name, backend in (("one", one), ("two", two)):
            lb = alb(elbv2, subnets, name)
            tg = target_group(elbv2, vpc_id, name, [backend])
            urls.append(listener_url(emulator_url, listener(elbv2, lb, forward(tg), port=port)))
        assert urls[0] != urls[1] and urls[0].endswith(f":{port}") and urls[1].endswith(f":{port}")
        assert [requests.get(u).json()["backend"] for u in urls] == ["one", "two"]


def test_rule_and_target_changes_under_traffic(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho("a") as a, HttpEcho("b") as b:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [a])
        arn = listener(elbv2, lb, forward(tg))
        url = listener_url(emulator_url, arn)
        failures: list[object] = []
        statuses: collections.Counter[int] = collections.Counter()
        stop = threading.Event()

        def load() -> None:
            session = requests.Session()
            while not stop.is_set():
                try:
                    statuses[session.get(f"{url}/x", timeout=5).status_code] += 1
                except requests.RequestException as error:  # pragma: no cover - that is the failure we test for
                    failures.append(error)

        workers = [threading.Thread(target=load) for _ in range(3)]
        for worker in workers:
            worker.start()
        try:
            elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": b.host, "Port": b.port}])
            rule = _rule(elbv2, arn, 1, [{"Field": "path-pattern", "Values": ["/x"]}], _fixed("rule"))
            elbv2.modify_rule(RuleArn=rule, Actions=forward(tg))
            elbv2.modify_listener(ListenerArn=arn, DefaultActions=_fixed("default"))
            elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": a.host, "Port": a.port}])
            elbv2.delete_rule(RuleArn=rule)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        assert not failures
        assert set(statuses) == {200} and sum(statuses.values()) > 10
        assert requests.get(f"{url}/x").text == "default"


def test_instance_targets_use_the_address_tag(elbv2, ec2, subnets, vpc_id, emulator_url):
    with HttpEcho("instance") as backend:
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnets[0], TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "elbv2-emulator:address", "Value": backend.host}]}],
        )["Instances"][0]["InstanceId"]
        lb = alb(elbv2, subnets)
        tg = elbv2.create_target_group(Name="inst", Protocol="HTTP", Port=backend.port, VpcId=vpc_id,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance}])
        wait_checked(elbv2, tg)
        url = listener_url(emulator_url, listener(elbv2, lb, forward(tg)))
        assert requests.get(url, timeout=5).json()["backend"] == "instance"


def test_rule_transforms_rewrite_url_and_host(elbv2, subnets, vpc_id, emulator_url):
    with HttpEcho() as backend:
        lb = alb(elbv2, subnets)
        tg = target_group(elbv2, vpc_id, "tg", [backend])
        arn = listener(elbv2, lb, _fixed("default", "404"))
        elbv2.create_rule(ListenerArn=arn, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/v1/*"]}],
                          Actions=forward(tg), Transforms=[
                              {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [{"Regex": "^/v1/(.*)$", "Replace": "/v2/$1"}]}},
                              {"Type": "host-header-rewrite",
                               "HostHeaderRewriteConfig": {"Rewrites": [{"Regex": "^api\\.(.*)$", "Replace": "internal.$1"}]}}])
        url = listener_url(emulator_url, arn)
        echoed = requests.get(f"{url}/v1/items?id=7", headers={"Host": "api.example.com"}).json()
        assert echoed["path"] == "/v2/items?id=7"
        assert dict(echoed["headers"])["Host"] == f"internal.example.com:{address(url)[1]}"
