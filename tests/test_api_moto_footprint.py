"""moto's EC2, loaded lean (emulator/api/moto_footprint.py), still serves what instance targets need."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_run_instances_with_a_common_ami_id_and_register_it(ec2, elbv2, vpc_id):
    instance = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    tg = elbv2.create_target_group(Name="instances", Protocol="HTTP", Port=80, VpcId=vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": instance["InstanceId"]}])
    described = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert [d["Target"]["Id"] for d in described] == [instance["InstanceId"]]


def test_instance_type_offerings_are_read_per_region(ec2):
    zones = ec2.describe_instance_type_offerings(LocationType="availability-zone")["InstanceTypeOfferings"]
    assert zones and {offering["Location"][:-1] for offering in zones} == {"us-east-1"}
    regional = ec2.describe_instance_type_offerings(Filters=[{"Name": "instance-type", "Values": ["t3.micro"]}])
    assert [o["Location"] for o in regional["InstanceTypeOfferings"]] == ["us-east-1"]


def test_a_zone_outside_the_region_is_refused(ec2):
    """moto checks Placement against the region's zone offerings: the table loads the region on demand."""
    with pytest.raises(ClientError) as excinfo:
        ec2.run_instances(
            ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1,
            Placement={"AvailabilityZone": "us-east-1z"},
        )
    assert "us-east-1z" in excinfo.value.response["Error"]["Message"]
