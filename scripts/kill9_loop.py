"""kill -9 loop: acknowledged ELBv2, EC2 and ACM calls survive SIGKILL right after their answer.

    python scripts/kill9_loop.py [--trials 30]

One emulator (``serve --state-dir``) gets an HTTPS ALB and a TLS NLB serving an imported ACM certificate.
Then each trial makes one to three mutating calls (VPCs, subnets, security groups and their rules,
instances and their states, Elastic IPs, imported and requested certificates and their tags, target
groups in the new VPCs, targets, rules, the ALB's security groups), describes everything just before
its last call, kills the server with SIGKILL the moment that call is answered, restarts it on the same
state directory and checks that nothing was lost:

- every resource describes exactly as before the last call, field by field, but for what it changed;
- what the last call changed describes as its answer said;
- the default VPC keeps its ID;
- the HTTPS and TLS listeners complete a handshake with the imported certificate.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import requests
from benchlib import free_port, start_emulator
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Snapshot = dict[str, Any]
# snapshot key -> the fields the restored resource must have: a value, or a test of the restored value
Expected = dict[str, dict[str, Any]]


def self_signed(name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for ``name``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


class Server:
    """``python -m emulator.cli serve --state-dir`` in a subprocess, killed with SIGKILL."""

    def __init__(self, state_dir: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.monotonic()
        # moto's ACM turns a requested certificate ISSUED a while after its creation, restart or not:
        # at once here, so that the status does not change between two describes of a trial.
        # (Security groups off: the handshakes check what survived, from any source, whatever the groups say.)
        self.process = start_emulator(port, "--state-dir", str(state_dir), "--security-groups", "off",
                                      env={**os.environ, "MOTO_ACM_VALIDATION_WAIT": "0"})
        self.ready_after = time.monotonic() - self.started
        self.elbv2 = self.client("elbv2")
        self.ec2 = self.client("ec2")
        self.acm = self.client("acm")

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def listener_addresses(self) -> dict[str, tuple[str, int]]:
        addresses = {}
        for entry in requests.get(f"{self.url}/_emulator/listeners", timeout=5).json():
            host, _, port = entry["Address"].rpartition(":")
            addresses[entry["ListenerArn"]] = (host, int(port))
        return addresses


def snapshot(server: Server) -> Snapshot:
    """Every resource the loop makes, described through the API, by a stable key."""
    ec2, acm, elbv2 = server.ec2, server.acm, server.elbv2
    found: Snapshot = {}
    found.update({f"vpc:{v['VpcId']}": v for v in ec2.describe_vpcs()["Vpcs"]})
    found.update({f"subnet:{s['SubnetId']}": s for s in ec2.describe_subnets()["Subnets"]})
    found.update({f"sg:{g['GroupId']}": g for g in ec2.describe_security_groups()["SecurityGroups"]})
    for reservation in ec2.describe_instances()["Reservations"]:
        found.update({f"instance:{i['InstanceId']}": i for i in reservation["Instances"]})
    found.update({f"address:{a['AllocationId']}": a for a in ec2.describe_addresses()["Addresses"]})
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        arn = summary["CertificateArn"]
        found[f"certificate:{arn}"] = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        found[f"certificate-tags:{arn}"] = acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        found[f"lb:{lb['LoadBalancerArn']}"] = lb
        for listener in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            found[f"listener:{listener['ListenerArn']}"] = listener
            for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                found[f"rule:{rule['RuleArn']}"] = rule
    for group in elbv2.describe_target_groups()["TargetGroups"]:
        found[f"tg:{group['TargetGroupArn']}"] = group
        targets = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
        found[f"targets:{group['TargetGroupArn']}"] = sorted([t["Target"]["Id"], t["Target"].get("Port")] for t in targets)
    return found


class World:
    """What the loop has made so far, and the calls a trial picks from (each returns what it expects)."""

    def __init__(self, server: Server, backend_port: int) -> None:
        ec2 = server.ec2
        self.default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        by_zone: dict[str, str] = {}
        for subnet in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]:
            by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
        self.default_subnets = [by_zone[zone] for zone in sorted(by_zone)]
        self.certificate_pem, key_pem = self_signed("app.example.com")
        self.certificate = server.acm.import_certificate(Certificate=self.certificate_pem, PrivateKey=key_pem)[
            "CertificateArn"]
        elbv2 = server.elbv2
        self.alb = elbv2.create_load_balancer(Name="kill9-alb", Subnets=self.default_subnets[:2])["LoadBalancers"][0]
        self.nlb = elbv2.create_load_balancer(Name="kill9-nlb", Type="network", Subnets=self.default_subnets[:2])[
            "LoadBalancers"][0]
        tcp = elbv2.create_target_group(Name="kill9-tcp", Protocol="TCP", Port=9, VpcId=self.default_vpc,
                                        TargetType="ip")["TargetGroups"][0]
        elbv2.register_targets(TargetGroupArn=tcp["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": backend_port}])
        self.https = elbv2.create_listener(
            LoadBalancerArn=self.alb["LoadBalancerArn"], Protocol="HTTPS", Port=free_port(),
            Certificates=[{"CertificateArn": self.certificate}],
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
        )["Listeners"][0]["ListenerArn"]
        self.tls = elbv2.create_listener(
            LoadBalancerArn=self.nlb["LoadBalancerArn"], Protocol="TLS", Port=free_port(),
            Certificates=[{"CertificateArn": self.certificate}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tcp["TargetGroupArn"]}],
        )["Listeners"][0]["ListenerArn"]
        self.vpcs: list[str] = []
        self.groups: list[str] = []
        self.default_vpc_groups: list[str] = []
        self.running: list[str] = []
        self.target_groups: list[str] = []
        self.rules = 0
        self.calls: list[Callable[[Server], Expected]] = [
            self.create_vpc, self.create_subnet, self.create_security_group, self.run_instance,
            self.import_certificate, self.create_target_group, self.authorize_ingress, self.stop_instance,
            self.request_certificate, self.register_target, self.allocate_address, self.set_alb_security_groups,
            self.create_rule, self.tag_certificate,
        ]

    # -- EC2 --
    def create_vpc(self, server: Server) -> Expected:
        vpc = server.ec2.create_vpc(CidrBlock=f"10.{len(self.vpcs) + 1}.0.0/16")["Vpc"]
        self.vpcs.append(vpc["VpcId"])
        return {f"vpc:{vpc['VpcId']}": {"CidrBlock": vpc["CidrBlock"], "IsDefault": False}}

    def create_subnet(self, server: Server) -> Expected:
        vpc = self.vpcs[-1] if self.vpcs else self.default_vpc
        cidr = f"10.{self.vpcs.index(vpc) + 1}.{len(self.groups) + self.rules + 1}.0/24" if self.vpcs else "172.31.200.0/24"
        subnet = server.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]
        return {f"subnet:{subnet['SubnetId']}": {"VpcId": vpc, "CidrBlock": cidr}}

    def create_security_group(self, server: Server, vpc: str | None = None) -> Expected:
        vpc = vpc or (self.vpcs[-1] if self.vpcs else self.default_vpc)
        name = f"kill9-{len(self.groups)}"
        group = server.ec2.create_security_group(GroupName=name, Description="kill -9 loop", VpcId=vpc)["GroupId"]
        self.groups.append(group)
        if vpc == self.default_vpc:
            self.default_vpc_groups.append(group)
        return {f"sg:{group}": {"GroupName": name, "VpcId": vpc}}

    def authorize_ingress(self, server: Server) -> Expected:
        if not self.groups:
            return self.create_security_group(server)
        group, port = self.groups[-1], 8000 + self.rules
        self.rules += 1
        server.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        return {f"sg:{group}": {"IpPermissions": lambda rules: any(r.get("FromPort") == port for r in rules)}}

    def run_instance(self, server: Server) -> Expected:
        subnet = self.default_subnets[0]
        free = server.ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]
        instance = server.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                            SubnetId=subnet)["Instances"][0]
        self.running.append(instance["InstanceId"])
        return {f"instance:{instance['InstanceId']}": {"PrivateIpAddress": instance["PrivateIpAddress"],
                                                        "LaunchTime": instance["LaunchTime"]},
                f"subnet:{subnet}": {"AvailableIpAddressCount": free - 1}}

    def stop_instance(self, server: Server) -> Expected:
        if not self.running:
            return self.run_instance(server)
        instance = self.running.pop()
        server.ec2.stop_instances(InstanceIds=[instance])
        return {f"instance:{instance}": {"State": {"Code": 80, "Name": "stopped"}}}

    def allocate_address(self, server: Server) -> Expected:
        address = server.ec2.allocate_address(Domain="vpc")
        return {f"address:{address['AllocationId']}": {"PublicIp": address["PublicIp"]}}

    # -- ACM --
    def import_certificate(self, server: Server) -> Expected:
        certificate, key = self_signed(f"site{len(self.vpcs)}-{time.monotonic_ns()}.example.com")
        arn = server.acm.import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
        return {f"certificate:{arn}": {"Type": "IMPORTED"}, f"certificate-tags:{arn}": {"": []}}

    def request_certificate(self, server: Server) -> Expected:
        name = f"req{time.monotonic_ns()}.example.com"
        arn = server.acm.request_certificate(DomainName=name)["CertificateArn"]
        return {f"certificate:{arn}": {"DomainName": name, "Type": "AMAZON_ISSUED"}, f"certificate-tags:{arn}": {"": []}}

    def tag_certificate(self, server: Server) -> Expected:
        tag = {"Key": "trial", "Value": str(time.monotonic_ns())}
        server.acm.add_tags_to_certificate(CertificateArn=self.certificate, Tags=[tag])
        return {"certificate-tags:" + self.certificate: {"": lambda tags: tag in tags}}

    # -- ELBv2 (in moto's restored VPCs and security groups) --
    def create_target_group(self, server: Server) -> Expected:
        vpc = self.vpcs[-1] if self.vpcs else self.default_vpc
        group = server.elbv2.create_target_group(Name=f"kill9-tg-{len(self.target_groups)}", Protocol="HTTP",
                                                 Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
        self.target_groups.append(group["TargetGroupArn"])
        return {f"tg:{group['TargetGroupArn']}": {"VpcId": vpc}, f"targets:{group['TargetGroupArn']}": {"": []}}

    def register_target(self, server: Server) -> Expected:
        if not self.target_groups:
            return self.create_target_group(server)
        group = self.target_groups[-1]
        server.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 9000 + self.rules}])
        self.rules += 1
        target = ["127.0.0.1", 9000 + self.rules - 1]
        return {f"targets:{group}": {"": lambda targets: target in targets}}

    def set_alb_security_groups(self, server: Server) -> Expected:
        expected: Expected = {}
        if not self.default_vpc_groups:
            expected = self.create_security_group(server, self.default_vpc)
        groups = self.default_vpc_groups[-1:]
        server.elbv2.set_security_groups(LoadBalancerArn=self.alb["LoadBalancerArn"], SecurityGroups=groups)
        return expected | {f"lb:{self.alb['LoadBalancerArn']}": {"SecurityGroups": groups}}

    def create_rule(self, server: Server) -> Expected:
        self.rules += 1
        rule = server.elbv2.create_rule(
            ListenerArn=self.https, Priority=self.rules,
            Conditions=[{"Field": "path-pattern", "Values": [f"/r{self.rules}"]}],
            Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}],
        )["Rules"][0]
        return {f"rule:{rule['RuleArn']}": {"Priority": str(self.rules)}}


def _changed_by(expected: Expected, before: Snapshot, after: Snapshot) -> list[str]:
    """What differs from what the trial's acknowledged calls said (an empty list: nothing was lost)."""
    problems = []
    for key, value in before.items():
        if key not in expected and after.get(key) != value:
            problems.append(f"{key} changed across the restart: {value!r} -> {after.get(key)!r}")
    for key, fields in expected.items():
        if key not in after:
            problems.append(f"{key} was acknowledged but is gone after kill -9")
            continue
        for name, want in fields.items():
            got = after[key] if name == "" else after[key].get(name)  # "": the whole record
            if not (want(got) if callable(want) else got == want):
                problems.append(f"{key}{'.' + name if name else ''} is {got!r}, not as acknowledged")
    created_vpcs = {key.partition(":")[2] for key in expected if key.startswith("vpc:")}
    problems += [f"{key} appeared from nowhere" for key in after.keys() - before.keys() - expected.keys()
                 if after[key].get("VpcId") not in created_vpcs]  # a new VPC comes with its default group
    return problems


def _served_certificate(address: tuple[str, int]) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(address, timeout=5) as raw, context.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True) or b""


def check_listeners(server: Server, world: World) -> list[str]:
    """Both TLS listeners hand out the imported certificate after the restart."""
    wanted = x509.load_pem_x509_certificate(world.certificate_pem).public_bytes(serialization.Encoding.DER)
    addresses = server.listener_addresses()
    problems = []
    for arn in (world.https, world.tls):
        if arn not in addresses:
            problems.append(f"listener {arn} is not bound after the restart")
            continue
        try:
            served = _served_certificate(addresses[arn])
        except OSError as error:
            problems.append(f"listener {arn}: no TLS handshake ({error})")
            continue
        if served != wanted:
            problems.append(f"listener {arn} does not serve the imported certificate")
    return problems


def run(trials: int, state_dir: Path, report: Callable[[str], None] = print) -> list[str]:
    """The loop; returns every problem found (none when nothing acknowledged was lost)."""
    port = free_port()
    backend = socketserver.ThreadingTCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    threading.Thread(target=backend.serve_forever, daemon=True).start()  # the TLS listener's healthy target
    server = Server(state_dir, port)
    world = World(server, backend.server_address[1])
    default_vpc = (world.default_vpc, world.default_subnets)
    problems: list[str] = []
    restarts: list[float] = []
    calls = iter(world.calls[i % len(world.calls)] for i in range(trials * 3))
    for trial in range(trials):
        for _ in range(trial % 3):  # calls whose effect the snapshot below records
            next(calls)(server)
        before = snapshot(server)
        expected = next(calls)(server)
        server.kill()  # the moment the last call is answered
        server = Server(state_dir, port)
        restarts.append(server.ready_after)
        after = snapshot(server)
        found = _changed_by(expected, before, after) + check_listeners(server, world)
        fresh_vpc = server.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        if fresh_vpc != default_vpc[0]:
            found.append(f"the default VPC changed: {default_vpc[0]} -> {fresh_vpc}")
        problems += [f"trial {trial + 1}: {p}" for p in found]
        report(f"trial {trial + 1}/{trials}: {1 + trial % 3} acknowledged calls, "
               f"restart ready in {server.ready_after * 1000:.0f} ms, {'OK' if not found else 'LOST: ' + '; '.join(found)}")
    server.kill()
    backend.shutdown()
    report(f"{trials} trials, {len(problems)} problems; restart ready median "
           f"{sorted(restarts)[len(restarts) // 2] * 1000:.0f} ms")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "kill9")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "kill9")
    with tempfile.TemporaryDirectory(prefix="kill9-") as state_dir:
        problems = run(args.trials, Path(state_dir))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
