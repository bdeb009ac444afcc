"""CreateLoadBalancer & co. over boto3 against the live emulator, checked against AWS's documented shapes.

References: API_CreateLoadBalancer, API_DescribeLoadBalancers, API_DeleteLoadBalancer, API_SetSubnets,
API_SetSecurityGroups, API_SetIpAddressType (Elastic Load Balancing API Reference, version 2015-12-01).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from botocore.exceptions import ClientError

ARN = re.compile(r"^arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer/(app|net)/[\w-]+/[0-9a-f]{16}$")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _alb(elbv2, subnets, name: str = "web", **kwargs):
    return elbv2.create_load_balancer(Name=name, Subnets=subnets, **kwargs)["LoadBalancers"][0]


def test_create_alb_echoes_documented_defaults_and_shows_provisioning(elbv2, ec2, subnets, vpc_id):
    lb = _alb(elbv2, subnets)
    assert ARN.match(lb["LoadBalancerArn"]) and "/app/web/" in lb["LoadBalancerArn"]
    assert re.fullmatch(r"web-\d{9,10}\.us-east-1\.elb\.amazonaws\.com", lb["DNSName"])
    assert lb["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"  # us-east-1 ALB zone
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"], lb["VpcId"]) == ("application", "internet-facing", "ipv4", vpc_id)
    assert lb["State"] == {"Code": "provisioning"}  # CreateLoadBalancer answers before the LB is active
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(subnets)
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    assert lb["SecurityGroups"] == [default_sg]  # ALBs default to the VPC's default security group


def test_waiters_available_exists_and_deleted_succeed_at_once(elbv2, subnets):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    fast = {"Delay": 1, "MaxAttempts": 2}
    elbv2.get_waiter("load_balancer_exists").wait(LoadBalancerArns=[arn], WaiterConfig=fast)
    elbv2.get_waiter("load_balancer_available").wait(LoadBalancerArns=[arn], WaiterConfig=fast)
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"] == {"Code": "active"}
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    elbv2.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[arn], WaiterConfig=fast)


def test_nlb_internal_has_net_arn_and_nlb_dns_without_internal_prefix(elbv2, subnets):
    lb = elbv2.create_load_balancer(Name="tcp", Type="network", Scheme="internal", Subnets=subnets[:1])["LoadBalancers"][0]
    lb_id = lb["LoadBalancerArn"].rsplit("/", 1)[1]
    assert "/net/tcp/" in lb["LoadBalancerArn"]
    assert lb["DNSName"] == f"tcp-{lb_id}.elb.us-east-1.amazonaws.com"
    assert lb["CanonicalHostedZoneId"] == "Z26RNL4JYFTOTI"
    assert "SecurityGroups" not in lb  # NLBs have security groups only when created with them


def test_internal_alb_dns_name_has_internal_prefix(elbv2, subnets):
    assert _alb(elbv2, subnets, Scheme="internal")["DNSName"].startswith("internal-web-")


def test_create_is_idempotent_for_identical_settings_else_duplicate_name(elbv2, subnets):
    first = _alb(elbv2, subnets)
    assert _alb(elbv2, subnets)["LoadBalancerArn"] == first["LoadBalancerArn"]
    with pytest.raises(ClientError) as excinfo:
        _alb(elbv2, subnets, Scheme="internal")
    assert _error(excinfo) == ("DuplicateLoadBalancerName", "A load balancer with the specified name already exists.")


def test_alb_needs_two_availability_zones(elbv2, subnets):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="one-az", Subnets=subnets[:1])
    assert _error(excinfo)[0] == "InvalidConfigurationRequest"


def test_unknown_subnet_is_subnet_not_found(elbv2, subnets):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="bad", Subnets=[subnets[0], "subnet-00000000"])
    assert _error(excinfo)[0] == "SubnetNotFound"


@pytest.mark.parametrize("name", ["-lead", "trail-", "under_score", "internal-x", "x" * 33])
def test_invalid_names_are_validation_errors(elbv2, subnets, name):
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name=name, Subnets=subnets)
    assert _error(excinfo)[0] == "ValidationError"


def test_describe_not_found_messages_by_arn_and_by_name(elbv2, subnets):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError) as excinfo:
        elbv2.describe_load_balancers(LoadBalancerArns=[arn])
    assert _error(excinfo) == ("LoadBalancerNotFound", "One or more load balancers not found")
    with pytest.raises(ClientError) as excinfo:
        elbv2.describe_load_balancers(Names=["nope"])
    assert _error(excinfo) == ("LoadBalancerNotFound", "Load balancers '[nope]' not found")


def test_delete_missing_load_balancer_succeeds(elbv2, subnets):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    elbv2.delete_load_balancer(LoadBalancerArn=arn)


def test_delete_removes_listeners_but_keeps_target_groups(elbv2, subnets, vpc_id):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )["Listeners"][0]["ListenerArn"]
    assert elbv2.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"] == [arn]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError) as excinfo:
        elbv2.describe_listeners(ListenerArns=[listener])
    assert _error(excinfo)[0] == "ListenerNotFound"
    assert elbv2.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"] == []


def test_deletion_protection_blocks_delete(elbv2, subnets):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}]
    )
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert _error(excinfo)[0] == "OperationNotPermitted"


def test_pagination_with_page_size_and_marker(elbv2, subnets):
    for index in range(3):
        _alb(elbv2, subnets, name=f"lb{index}")
    pages = list(elbv2.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(page["LoadBalancers"]) for page in pages] == [2, 1]
    assert "NextMarker" not in pages[-1]


def test_set_subnets_security_groups_and_ip_address_type(elbv2, ec2, subnets, vpc_id):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    all_subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]]
    zones = elbv2.set_subnets(LoadBalancerArn=arn, Subnets=all_subnets[:3])["AvailabilityZones"]
    assert len(zones) == 3
    group = ec2.create_security_group(GroupName="lb", Description="lb", VpcId=vpc_id)["GroupId"]
    assert elbv2.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[group])["SecurityGroupIds"] == [group]
    assert elbv2.set_ip_address_type(LoadBalancerArn=arn, IpAddressType="dualstack")["IpAddressType"] == "dualstack"
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert (len(lb["AvailabilityZones"]), lb["SecurityGroups"], lb["IpAddressType"]) == (3, [group], "dualstack")


def test_internal_load_balancers_must_use_ipv4(elbv2, subnets):
    # API_SetIpAddressType: "Internal load balancers must use ipv4."
    arn = _alb(elbv2, subnets, Scheme="internal")["LoadBalancerArn"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_ip_address_type(LoadBalancerArn=arn, IpAddressType="dualstack")
    assert _error(excinfo)[0] == "InvalidConfigurationRequest"


def test_aws_cli_describe_load_balancers(elbv2, subnets, emulator_url):
    arn = _alb(elbv2, subnets)["LoadBalancerArn"]
    env = os.environ | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run(
        ["aws", "elbv2", "describe-load-balancers", "--endpoint-url", emulator_url, "--output", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    ).stdout
    assert [lb["LoadBalancerArn"] for lb in json.loads(out)["LoadBalancers"]] == [arn]



def test_delete_load_balancer_forgets_its_capacity_reservation(elbv2, subnets, emulator_server):
    from api_models.capacity import CapacityReservation

    arn = elbv2.create_load_balancer(Name="reserved", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_capacity_reservation(LoadBalancerArn=arn, MinimumLoadBalancerCapacity={"CapacityUnits": 100})
    assert len(emulator_server.services.store.snapshot(CapacityReservation)) == 1
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert emulator_server.services.store.snapshot(CapacityReservation) == []


def test_unknown_elastic_ip_is_allocation_id_not_found(elbv2, ec2, subnets):
    mapping = {"SubnetId": subnets[0], "AllocationId": "eipalloc-0123456789abcdef0"}
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="nlb", Type="network", SubnetMappings=[mapping])
    assert _error(excinfo) == ("AllocationIdNotFound", "The allocation ID 'eipalloc-0123456789abcdef0' does not exist")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    lb = elbv2.create_load_balancer(
        Name="nlb", Type="network", SubnetMappings=[{"SubnetId": subnets[0], "AllocationId": allocation}]
    )["LoadBalancers"][0]
    assert lb["AvailabilityZones"][0]["LoadBalancerAddresses"] == [{"AllocationId": allocation}]


def test_application_load_balancers_take_no_elastic_ips(elbv2, ec2, subnets):
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(
            Name="alb", SubnetMappings=[{"SubnetId": subnets[0], "AllocationId": allocation}, {"SubnetId": subnets[1]}]
        )
    assert _error(excinfo) == (
        "InvalidConfigurationRequest", "Elastic IP addresses cannot be specified for load balancers of type 'application'"
    )


def test_security_group_of_another_vpc_is_invalid_configuration_request(elbv2, ec2, subnets):
    # AWS answers 400 InvalidConfigurationRequest "Security group '...' does not belong to VPC '...'" (issue 15);
    # InvalidSecurityGroup is for a group that does not exist.
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    foreign = ec2.create_security_group(GroupName="elsewhere", Description="x", VpcId=other_vpc)["GroupId"]
    with pytest.raises(ClientError) as excinfo:
        _alb(elbv2, subnets, SecurityGroups=[foreign])
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    code, message = _error(excinfo)
    assert code == "InvalidConfigurationRequest" and message.startswith(f"Security group '{foreign}' does not belong to VPC")
    lb = _alb(elbv2, subnets)
    with pytest.raises(ClientError) as excinfo:
        elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=[foreign])
    assert _error(excinfo)[0] == "InvalidConfigurationRequest"
    with pytest.raises(ClientError) as excinfo:
        _alb(elbv2, subnets, name="ghost", SecurityGroups=["sg-0123456789abcdef0"])
    assert _error(excinfo)[0] == "InvalidSecurityGroup"
    assert [b["LoadBalancerName"] for b in elbv2.describe_load_balancers()["LoadBalancers"]] == ["web"]


def test_ipam_pools_given_at_creation_are_stored_and_described(elbv2, subnets):
    # CreateLoadBalancer's IpamPools (ALB only), as Terraform's aws_lb ipam_pools sends it, shows in
    # DescribeLoadBalancers, so a plan does not show a change forever.
    pools = {"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"}
    created = _alb(elbv2, subnets, IpamPools=pools)
    assert created["IpamPools"] == pools
    described = elbv2.describe_load_balancers(LoadBalancerArns=[created["LoadBalancerArn"]])["LoadBalancers"][0]
    assert described["IpamPools"] == pools
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="net", Type="network", Subnets=subnets, IpamPools=pools)
    assert _error(excinfo)[0] == "ValidationError"
