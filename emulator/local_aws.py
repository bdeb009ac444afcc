"""What the data plane needs from moto's in-process AWS: certificate material, instance addresses, the
inbound rules of load balancers' security groups and the web ACLs (WAFv2) associated with them.

The server injects these functions into the data plane, which thereby never imports moto or the
control plane. Certificates come from moto's ACM (imported ones carry their key; requested ones get a
key from moto) or, for IAM server certificate ARNs, from moto's IAM (``upload-server-certificate``). An EC2 instance target receives traffic at the address in its ``elbv2-emulator:address``
tag, else at its private IP when that is a loopback address, else at 127.0.0.1; a stopped instance has none.
"""

from __future__ import annotations

import json
from typing import Any

from api_models.identifiers import arn_region_account
from api_models.security_groups import InboundRule, SecurityGroupView
from api_models.web_acls import WebAclView

INSTANCE_ADDRESS_TAG = "elbv2-emulator:address"

# moto finds an instance by scanning them all; the health checker asks about each instance target at every
# check, so instances are indexed by id (an instance object lives as long as its id: its state changes in place).
_instances: dict[tuple[str, str, str], Any] = {}


def certificate_material(arn: str) -> tuple[str, str, str | None] | None:
    """(certificate PEM, private key PEM, chain PEM or None) for an ACM certificate or IAM server certificate
    ARN, or None."""
    if ":iam::" in arn:
        return _iam_server_certificate(arn)
    from moto.acm.models import acm_backends

    region, account = arn_region_account(arn)
    try:
        bundle = acm_backends[account][region].get_certificate(arn)
    except Exception:  # moto raises its own not-found error types
        return None
    as_text = lambda value: value.decode() if isinstance(value, bytes) else value  # noqa: E731
    chain = as_text(bundle.chain) if bundle.chain else None
    return as_text(bundle.cert), as_text(bundle.key), chain


def _iam_server_certificate(arn: str) -> tuple[str, str, str | None] | None:
    """An IAM server certificate (IAM is global: moto keeps it per account and partition)."""
    from moto.iam.models import iam_backends

    partition, account = arn.split(":")[1], arn.split(":")[4]
    try:
        certificates = iam_backends[account][partition].certificates.values()
    except Exception:  # an unknown partition
        return None
    for certificate in certificates:
        if certificate.arn == arn:
            return certificate.cert_body, certificate.private_key, certificate.cert_chain or None
    return None


def instance_address(account: str, region: str, instance_id: str) -> str | None:
    """Where an instance target's traffic goes; None while the instance is not running (stopped or
    terminated: AWS sends it no traffic). The health checker asks again at every check."""
    instance = _instance(account, region, instance_id)
    if instance is None:
        return "127.0.0.1"
    if getattr(instance, "state", "running") != "running":
        return None
    tags = _tags(instance)
    if INSTANCE_ADDRESS_TAG in tags:
        return tags[INSTANCE_ADDRESS_TAG]
    private_ip = getattr(instance, "private_ip", "") or ""
    return private_ip if private_ip.startswith("127.") else "127.0.0.1"


def _instance(account: str, region: str, instance_id: str) -> Any:
    """moto's instance object, or None when EC2 does not know it."""
    key = (account, region, instance_id)
    found = _instances.get(key)
    if found is None:
        from moto.ec2.models import ec2_backends

        try:
            instances = ec2_backends[account][region].all_instances()
        except Exception:  # an unknown region
            return None
        _instances.update(((account, region, i.id), i) for i in instances)
        found = _instances.get(key)
    return found


def _tags(instance: Any) -> dict[str, str]:
    table = getattr(getattr(instance, "ec2_backend", None), "tags", None)
    if isinstance(table, dict):  # moto's EC2 keeps {resource id: {key: value}}; get_tags() scans every tag
        return table.get(instance.id) or {}
    return {tag["key"]: tag["value"] for tag in instance.get_tags()} if hasattr(instance, "get_tags") else {}


def security_groups(account: str, region: str, group_ids: tuple[str, ...]) -> SecurityGroupView:
    """The inbound rules of ``group_ids`` as EC2 holds them now, each rule's sources resolved to networks: its
    CIDR, a prefix list's entries, or the addresses of a referenced group's members (instances, at the address
    their traffic comes from here: ``instance_address``). Unknown groups contribute no rule."""
    from moto.ec2.models import ec2_backends

    try:
        backend = ec2_backends[account][region]
    except Exception:  # an unknown region
        return SecurityGroupView(group_ids, ())
    rules: list[InboundRule] = []
    default = None
    for group_id in group_ids:
        group = backend.get_security_group_from_id(group_id)
        if group is None:
            continue
        if group.is_default:
            default = group_id
        for rule in group.ingress_rules:
            source, networks = _rule_sources(backend, account, region, rule)
            rules.append(InboundRule(group_id, rule.ip_protocol or "-1", rule.from_port, rule.to_port, networks, source))
    return SecurityGroupView(group_ids, tuple(rules), default)


def _rule_sources(backend: Any, account: str, region: str, rule: Any) -> tuple[str, tuple[str, ...]]:
    """(the source as written, the networks it stands for) of one moto ingress rule."""
    cidr = rule.ip_range.get("CidrIp") or rule.ip_range.get("CidrIpv6")
    if cidr:
        return cidr, (cidr,)
    if rule.prefix_list_id:
        prefix_list = backend.managed_prefix_lists.get(rule.prefix_list_id)
        entries = prefix_list.entries.get(prefix_list.version, []) if prefix_list is not None else []
        return rule.prefix_list_id, tuple(entry["Cidr"] for entry in entries)
    member_of = rule.source_group.get("GroupId")
    if member_of:
        members = []
        for instance in backend.all_instances():
            if any(group.id == member_of for group in instance.security_groups):
                address = instance_address(account, region, instance.id)
                if address is not None:
                    members.append(f"{address}/32")
        return member_of, tuple(members)
    return "", ()


_REFERENCES = ("IPSetReferenceStatement", "RegexPatternSetReferenceStatement", "RuleGroupReferenceStatement")


def web_acl(account: str, region: str, resource_arn: str) -> WebAclView | None:
    """The web ACL WAFv2 associates with ``resource_arn`` now (AssociateWebACL), with every set and rule group
    its rules reference (read here, so the data plane sees one consistent copy), or None."""
    from moto.wafv2.models import wafv2_backends

    # dict.get, not [...]: moto creates backends on first lookup, and one nobody used holds no web ACL.
    per_account = dict.get(wafv2_backends, account)
    backend = dict.get(per_account, region) if per_account is not None else None
    if backend is None:
        return None
    acl = backend.get_web_acl_for_resource(resource_arn)
    if acl is None:
        return None
    rules = [_rule_dict(rule) for rule in acl.rules]
    references: dict[str, set[str]] = {kind: set() for kind in _REFERENCES}
    _collect(rules, references)
    groups: dict[str, Any] = {}
    pending = list(references["RuleGroupReferenceStatement"])
    while pending:  # rule groups may reference sets (not other rule groups: AWS refuses nesting)
        arn = pending.pop()
        group = backend.rule_groups.get(arn)
        if group is None or arn in groups:
            continue
        group_rules = [_rule_dict(rule) for rule in group.rules]
        groups[arn] = {"Name": group.name, "Rules": group_rules,
                       "CustomResponseBodies": group.custom_response_bodies or {}}
        _collect(group_rules, references)
    ip_sets = {arn: {"Addresses": list(s.addresses or ()), "IPAddressVersion": s.ip_address_version}
               for arn in references["IPSetReferenceStatement"] if (s := backend.ip_sets.get(arn)) is not None}
    regex_sets = {arn: [entry.get("RegexString", "") for entry in (patterns.regular_expressions or ())]
                  for arn in references["RegexPatternSetReferenceStatement"]
                  if (patterns := backend.regex_pattern_sets.get(arn)) is not None}
    logging = backend.logging_configurations.get(acl.arn)
    document = {
        "Rules": rules, "DefaultAction": acl.default_action or {"Allow": {}},
        "CustomResponseBodies": acl.custom_response_bodies or {}, "IPSets": ip_sets,
        "RegexPatternSets": regex_sets, "RuleGroups": groups,
        "Logging": list(logging.log_destination_configs or ()) if logging is not None else None,
    }
    return WebAclView(acl.arn, acl.name, account, json.dumps(document, sort_keys=True, default=str))


def _rule_dict(rule: Any) -> dict[str, Any]:
    return dict(rule.to_dict()) if hasattr(rule, "to_dict") else dict(rule)


def _collect(node: Any, found: dict[str, set[str]]) -> None:
    """Every ARN of a set or rule group referenced anywhere in ``node`` (rules, statements, nested)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in found and isinstance(value, dict) and isinstance(value.get("ARN"), str):
                found[key].add(value["ARN"])
            _collect(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect(item, found)
