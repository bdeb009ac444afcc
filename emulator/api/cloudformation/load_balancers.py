"""``AWS::ElasticLoadBalancingV2::LoadBalancer`` and ``AWS::ElasticLoadBalancingV2::TargetGroup``.

Properties, update behaviours and return values: CloudFormation template reference,
"AWS::ElasticLoadBalancingV2::LoadBalancer" and "AWS::ElasticLoadBalancingV2::TargetGroup"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html,
.../aws-resource-elasticloadbalancingv2-targetgroup.html).
"""

from __future__ import annotations

from typing import Any

from emulator.api.cloudformation.calls import Elbv2Client
from emulator.api.cloudformation.resource import Elbv2Resource, fitted_name, list_changes, pick, update_tags, wants

_LB_CREATE = ("Subnets", "SubnetMappings", "SecurityGroups", "Scheme", "Tags", "Type", "IpAddressType",
              "EnablePrefixForIpv6SourceNat")
_TG_CREATE = ("Protocol", "ProtocolVersion", "Port", "VpcId", "HealthCheckProtocol", "HealthCheckPort",
              "HealthCheckEnabled", "HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
              "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher", "TargetType", "Tags", "IpAddressType",
              "TargetControlPort")
_TG_HEALTH = ("HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled", "HealthCheckPath",
              "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
              "UnhealthyThresholdCount", "Matcher")


class LoadBalancer(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    NAME_PROPERTY = "Name"
    PROPERTIES = frozenset(_LB_CREATE + ("Name", "Ipv4IpamPoolId", "LoadBalancerAttributes", "MinimumLoadBalancerCapacity",
                                         "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"))
    REPLACING = frozenset({"Name", "Scheme", "Type"})
    ATTRIBUTES = frozenset({"CanonicalHostedZoneID", "DNSName", "LoadBalancerArn", "LoadBalancerFullName",
                            "LoadBalancerName", "SecurityGroups"})

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        extra = {}
        if "Ipv4IpamPoolId" in properties:
            extra["IpamPools"] = {"Ipv4IpamPoolId": properties["Ipv4IpamPoolId"]}
        created = api.call("CreateLoadBalancer", Name=fitted_name(name), **pick(properties, _LB_CREATE), **extra)
        arn = created["LoadBalancers"][0]["LoadBalancerArn"]
        return cls(api.account, api.region, arn, properties)

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        arn = self.physical_id
        if changed is not None:  # what the create call took, changed in place
            if wants(changed, properties, "Subnets", "SubnetMappings"):
                api.call("SetSubnets", LoadBalancerArn=arn, **pick(properties, ("Subnets", "SubnetMappings")))
            if wants(changed, properties, "IpAddressType"):
                api.call("SetIpAddressType", LoadBalancerArn=arn, IpAddressType=properties.get("IpAddressType", "ipv4"))
            if wants(changed, properties, "Ipv4IpamPoolId"):
                pool = properties.get("Ipv4IpamPoolId")
                if pool:
                    api.call("ModifyIpPools", LoadBalancerArn=arn, IpamPools={"Ipv4IpamPoolId": pool})
                else:
                    api.call("ModifyIpPools", LoadBalancerArn=arn, RemoveIpamPools=["ipv4"])
        if wants(changed, properties, "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic") or (
            changed is not None and "SecurityGroups" in changed
        ):
            api.call("SetSecurityGroups", LoadBalancerArn=arn, SecurityGroups=properties.get("SecurityGroups", []),
                     **pick(properties, ("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic",)))
        if wants(changed, properties, "LoadBalancerAttributes") and properties.get("LoadBalancerAttributes"):
            api.call("ModifyLoadBalancerAttributes", LoadBalancerArn=arn, Attributes=properties["LoadBalancerAttributes"])
        if wants(changed, properties, "MinimumLoadBalancerCapacity"):
            if properties.get("MinimumLoadBalancerCapacity"):
                api.call("ModifyCapacityReservation", LoadBalancerArn=arn,
                         MinimumLoadBalancerCapacity=properties["MinimumLoadBalancerCapacity"])
            else:
                api.call("ModifyCapacityReservation", LoadBalancerArn=arn, ResetCapacityReservation=True)
        update_tags(api, arn, properties, changed, self.managed_tags)

    def remove(self, api: Elbv2Client) -> None:
        api.call("DeleteLoadBalancer", LoadBalancerArn=self.physical_id)  # its listeners and rules go with it

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        lb = api.call("DescribeLoadBalancers", LoadBalancerArns=[self.physical_id])["LoadBalancers"][0]
        values = {
            "CanonicalHostedZoneID": lb.get("CanonicalHostedZoneId"),
            "DNSName": lb.get("DNSName"),
            "LoadBalancerArn": lb["LoadBalancerArn"],
            "LoadBalancerFullName": lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1],  # app/<name>/<id>
            "LoadBalancerName": lb["LoadBalancerName"],
            "SecurityGroups": lb.get("SecurityGroups", []),
        }
        return values[name]


class TargetGroup(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::TargetGroup"
    NAME_PROPERTY = "Name"
    PROPERTIES = frozenset(_TG_CREATE + ("Name", "Targets", "TargetGroupAttributes"))
    REPLACING = frozenset({"Name", "Port", "Protocol", "ProtocolVersion", "TargetType", "VpcId", "IpAddressType",
                           "TargetControlPort"})
    ATTRIBUTES = frozenset({"LoadBalancerArns", "TargetGroupArn", "TargetGroupFullName", "TargetGroupName"})

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        created = api.call("CreateTargetGroup", Name=fitted_name(name), **pick(properties, _TG_CREATE))
        return cls(api.account, api.region, created["TargetGroups"][0]["TargetGroupArn"], properties)

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        arn = self.physical_id
        if changed is not None and changed.intersection(_TG_HEALTH):
            api.call("ModifyTargetGroup", TargetGroupArn=arn, **pick(properties, _TG_HEALTH))
        if wants(changed, properties, "TargetGroupAttributes") and properties.get("TargetGroupAttributes"):
            api.call("ModifyTargetGroupAttributes", TargetGroupArn=arn, Attributes=properties["TargetGroupAttributes"])
        if wants(changed, properties, "Targets"):
            previous = [] if changed is None else self.properties.get("Targets") or []
            self._set_targets(api, properties.get("Targets") or [], previous)
        update_tags(api, arn, properties, changed, self.managed_tags)

    def _set_targets(self, api: Elbv2Client, targets: list[dict[str, Any]], previous: list[dict[str, Any]]) -> None:
        """Register what the template adds and deregister what it drops (no interruption for the others)."""
        added, gone = list_changes(targets, previous)
        if gone:
            api.call("DeregisterTargets", TargetGroupArn=self.physical_id, Targets=gone)
        if added:
            api.call("RegisterTargets", TargetGroupArn=self.physical_id, Targets=added)

    def remove(self, api: Elbv2Client) -> None:
        api.call("DeleteTargetGroup", TargetGroupArn=self.physical_id)

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        group = api.call("DescribeTargetGroups", TargetGroupArns=[self.physical_id])["TargetGroups"][0]
        values = {
            "LoadBalancerArns": group.get("LoadBalancerArns", []),
            "TargetGroupArn": group["TargetGroupArn"],
            "TargetGroupFullName": group["TargetGroupArn"].rsplit(":", 1)[1],  # targetgroup/<name>/<id>
            "TargetGroupName": group["TargetGroupName"],
        }
        return values[name]
