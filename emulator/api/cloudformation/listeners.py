"""``AWS::ElasticLoadBalancingV2::Listener``, ``::ListenerRule`` and ``::ListenerCertificate``.

Properties, update behaviours and return values: CloudFormation template reference,
"AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule" and
"AWS::ElasticLoadBalancingV2::ListenerCertificate" (https://docs.aws.amazon.com/AWSCloudFormation/latest/
TemplateReference/aws-resource-elasticloadbalancingv2-listener.html, ...-listenerrule.html,
...-listenercertificate.html). A ListenerCertificate documents no Ref value; here Ref gives its listener's ARN.
"""

from __future__ import annotations

from typing import Any

from emulator.api.cloudformation.calls import Elbv2Client
from emulator.api.cloudformation.resource import Elbv2Resource, list_changes, pick, update_tags, wants

_LISTENER_SETTINGS = ("Port", "Protocol", "SslPolicy", "Certificates", "DefaultActions", "AlpnPolicy",
                      "MutualAuthentication")
_SECURE = ("Certificates", "SslPolicy")  # sent along when the protocol changes (HTTP -> HTTPS needs them)


class Listener(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::Listener"
    PROPERTIES = frozenset(_LISTENER_SETTINGS + ("LoadBalancerArn", "ListenerAttributes", "Tags"))
    REPLACING = frozenset({"LoadBalancerArn"})
    ATTRIBUTES = frozenset({"ListenerArn"})

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        created = api.call("CreateListener", **pick(properties, _LISTENER_SETTINGS + ("LoadBalancerArn", "Tags")))
        return cls(api.account, api.region, created["Listeners"][0]["ListenerArn"], properties)

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        arn = self.physical_id
        if changed is not None and changed.intersection(_LISTENER_SETTINGS):
            names = set(changed.intersection(_LISTENER_SETTINGS))
            if "Protocol" in names:
                names.update(_SECURE)
            api.call("ModifyListener", ListenerArn=arn, **pick(properties, tuple(sorted(names))))
        if wants(changed, properties, "ListenerAttributes") and properties.get("ListenerAttributes"):
            api.call("ModifyListenerAttributes", ListenerArn=arn, Attributes=properties["ListenerAttributes"])
        update_tags(api, arn, properties, changed, self.managed_tags)

    def remove(self, api: Elbv2Client) -> None:
        api.call("DeleteListener", ListenerArn=self.physical_id)  # its port stops answering

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        return self.physical_id  # ListenerArn


class ListenerRule(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::ListenerRule"
    PROPERTIES = frozenset({"ListenerArn", "Priority", "Conditions", "Actions", "Transforms", "Tags"})
    REPLACING = frozenset({"ListenerArn"})
    ATTRIBUTES = frozenset({"IsDefault", "RuleArn"})

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        created = api.call("CreateRule", **pick(properties, ("ListenerArn", "Priority", "Conditions", "Actions",
                                                             "Transforms", "Tags")))
        return cls(api.account, api.region, created["Rules"][0]["RuleArn"], properties)

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        if changed is None:
            return
        arn = self.physical_id
        if changed.intersection({"Conditions", "Actions", "Transforms"}):
            reset = {"ResetTransforms": True} if "Transforms" in changed and not properties.get("Transforms") else {}
            api.call("ModifyRule", RuleArn=arn, **pick(properties, ("Conditions", "Actions", "Transforms")), **reset)
        if "Priority" in changed:
            api.call("SetRulePriorities", RulePriorities=[{"RuleArn": arn, "Priority": properties["Priority"]}])
        update_tags(api, arn, properties, changed, self.managed_tags)

    def remove(self, api: Elbv2Client) -> None:
        api.call("DeleteRule", RuleArn=self.physical_id)

    def attribute(self, api: Elbv2Client, name: str) -> Any:
        if name == "RuleArn":
            return self.physical_id
        is_default = api.call("DescribeRules", RuleArns=[self.physical_id])["Rules"][0]["IsDefault"]
        return "true" if is_default else "false"  # as CloudFormation renders a boolean (moto would say "False")


class ListenerCertificate(Elbv2Resource):
    TYPE = "AWS::ElasticLoadBalancingV2::ListenerCertificate"
    PROPERTIES = frozenset({"ListenerArn", "Certificates"})
    REPLACING = frozenset({"ListenerArn"})

    @classmethod
    def make(cls, api: Elbv2Client, name: str, properties: dict[str, Any]) -> Elbv2Resource:
        api.call("AddListenerCertificates", ListenerArn=properties.get("ListenerArn"),
                 Certificates=properties.get("Certificates"))
        return cls(api.account, api.region, properties["ListenerArn"], properties)

    def configure(self, api: Elbv2Client, properties: dict[str, Any], changed: set[str] | None) -> None:
        if changed is None or "Certificates" not in changed:
            return
        added, gone = list_changes(properties.get("Certificates") or [], self.properties.get("Certificates") or [])
        if added:
            api.call("AddListenerCertificates", ListenerArn=self.physical_id, Certificates=added)
        if gone:
            api.call("RemoveListenerCertificates", ListenerArn=self.physical_id, Certificates=gone)

    def remove(self, api: Elbv2Client) -> None:
        api.call("RemoveListenerCertificates", ListenerArn=self.physical_id,
                 Certificates=self.properties.get("Certificates") or [])
