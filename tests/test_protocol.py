"""The elbv2 Query codec checked against botocore itself: its serializer feeds our parser, our
serializer feeds its parser, for every operation of the model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import regex
from botocore.model import ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from emulator.errors import AwsError
from emulator.protocol import XML_CONTENT_TYPE, operation_names, parse_request, serialize_error, serialize_result
from emulator.protocol.model import service_model
from emulator.protocol.parser import parse_form
from emulator.protocol.serializer import _element, _emitter

# Values for string shapes whose model pattern a generic sample would not satisfy.
PATTERN_SAMPLES = {
    "CustomerOwnedIpv4Pool": "ipv4pool-coip-abc123",
    "FixedResponseActionStatusCode": "404",
    "IpamPoolId": "ipam-pool-abc123",
    "RedirectActionProtocol": "HTTPS",
    "TrustStoreName": "my-trust-store",
}
MOMENT = datetime(2017, 8, 25, 21, 26, 12, 920000, tzinfo=UTC)


def sample(shape: Shape, seed: str) -> Any:
    """A value of ``shape`` that satisfies every model constraint; lists and maps get 2 items."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        return {name: sample(member, name) for name, member in shape.members.items()}
    if kind == "list":
        count = min(2, meta.get("max", 2))
        return [sample(shape.member, f"{seed}{i}") for i in range(count)]
    if kind == "map":
        return {sample(shape.key, f"k{i}"): sample(shape.value, f"v{i}") for i in range(2)}
    if kind == "boolean":
        return True
    if kind in ("integer", "long"):
        return max(meta.get("min", 7), min(meta.get("max", 7), 7))
    if kind in ("double", "float"):
        return 1.5
    if kind == "timestamp":
        return MOMENT
    return sample_string(shape, seed)


def sample_string(shape: Shape, seed: str) -> str:
    if shape.enum:
        return shape.enum[-1]
    if shape.name in PATTERN_SAMPLES:
        text = PATTERN_SAMPLES[shape.name]
    elif "pattern" in shape.metadata:
        text = seed.replace("-", "")  # the remaining patterns accept plain alphanumerics
    else:
        text = f"{seed} <&> \"'"  # exercises escaping on both sides of the wire
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", len(text))
    text = text[:high].ljust(low, "x")
    assert "pattern" not in shape.metadata or regex.search(shape.metadata["pattern"], text), shape.name
    return text


def to_form(operation: str, params: dict[str, Any]) -> dict[str, str]:
    """What botocore would put on the wire, decoded back into form fields as a server sees them."""
    op_model = service_model().operation_model(operation)
    body = create_serializer("query").serialize_to_request(params, op_model)["body"]
    return dict(parse_qsl(urlencode(body), keep_blank_values=True))


def botocore_parse(operation: str, xml: bytes) -> dict[str, Any]:
    shape = service_model().operation_model(operation).output_shape
    parsed = create_parser("query").parse({"body": xml, "headers": {}, "status_code": 200}, shape)
    return parsed


def test_operation_names() -> None:
    names = operation_names()
    assert len(names) == 51
    assert {"CreateLoadBalancer", "DescribeTargetHealth", "GetResourcePolicy"} <= set(names)
    assert XML_CONTENT_TYPE == "text/xml"


@pytest.mark.parametrize("operation", operation_names())
def test_input_round_trip(operation: str) -> None:
    params = sample(service_model().operation_model(operation).input_shape, operation)
    assert parse_request(operation, to_form(operation, params)) == params


@pytest.mark.parametrize("operation", operation_names())
def test_output_round_trip(operation: str) -> None:
    result = sample(service_model().operation_model(operation).output_shape, operation)
    parsed = botocore_parse(operation, serialize_result(operation, result, "req-1"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


def test_empty_result_and_extra_keys() -> None:
    xml = serialize_result("AddTags", None, "r")
    assert b"<AddTagsResult/>" in xml
    xml = serialize_result("SetIpAddressType", {"IpAddressType": "ipv4", "Internal": "x"}, "r")
    assert b"Internal" not in xml
    assert botocore_parse("SetIpAddressType", xml)["IpAddressType"] == "ipv4"


def test_output_scalars_are_normalised() -> None:
    result = {"LoadBalancers": [{"CreatedTime": "2020-01-02T03:04:05.678Z", "SecurityGroups": []}]}
    parsed = botocore_parse("DescribeLoadBalancers", serialize_result("DescribeLoadBalancers", result, "r"))
    lb = parsed["LoadBalancers"][0]
    assert lb["CreatedTime"] == datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert lb["SecurityGroups"] == []
    naive = serialize_result("DescribeLoadBalancers", {"LoadBalancers": [{"CreatedTime": datetime(2020, 1, 2)}]}, "r")
    assert b"<CreatedTime>2020-01-02T00:00:00.000Z</CreatedTime>" in naive


def test_lists_sorted_by_index_and_unknown_params_ignored() -> None:
    form = {
        "Action": "DescribeLoadBalancers",
        "Version": "2015-12-01",
        "Names.member.10": "j",
        "Names.member.2": "b",
        "Names.member.1": "a",
        "Bogus.member.1": "x",
    }
    assert parse_request("DescribeLoadBalancers", form) == {"Names": ["a", "b", "j"]}
    assert parse_request("DescribeLoadBalancers", {"Names": ""}) == {"Names": []}


def test_unknown_operation() -> None:
    with pytest.raises(AwsError) as caught:
        parse_request("DescribeNothing", {})
    assert (caught.value.code, caught.value.status) == ("InvalidAction", 400)
    assert caught.value.message == "Could not find operation DescribeNothing for version 2015-12-01"


@pytest.mark.parametrize(
    ("error", "status", "fault"),
    [
        (AwsError("LoadBalancerNotFound", "One or more load balancers not found"), 400, "Sender"),
        (AwsError("HealthUnavailable", "a <b> & c"), 500, "Receiver"),
    ],
)
def test_error_document(error: AwsError, status: int, fault: str) -> None:
    body = serialize_error(error, "req-9")
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": error.status}, None)
    assert parsed["Error"] == {"Type": fault, "Code": error.code, "Message": error.message}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"
    assert error.status == status


def validation_message(operation: str, form: dict[str, str]) -> str:
    with pytest.raises(AwsError) as caught:
        parse_request(operation, form)
    assert (caught.value.code, caught.value.status) == ("ValidationError", 400)
    return caught.value.message


def test_enum_violation() -> None:
    form = {"LoadBalancerArn": "arn", "IpAddressType": "x"}
    assert validation_message("SetIpAddressType", form) == (
        "1 validation error detected: Value 'x' at 'ipAddressType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ipv4, dualstack, dualstack-without-public-ipv4]"
    )


def test_required_members_reported_together() -> None:
    assert validation_message("SetIpAddressType", {}) == (
        "2 validation errors detected: "
        "Value null at 'loadBalancerArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'ipAddressType' failed to satisfy constraint: Member must not be null"
    )


def test_integer_range_in_nested_list_item() -> None:
    form = {"TargetGroupArn": "arn", "Targets.member.1.Id": "i-1", "Targets.member.1.Port": "0"}
    assert validation_message("RegisterTargets", form) == (
        "1 validation error detected: Value '0' at 'targets.1.member.port' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
    assert "less than or equal to 400" in validation_message("DescribeLoadBalancers", {"PageSize": "401"})


def test_list_length() -> None:
    form = {"LoadBalancerArn": "arn"}
    form.update({f"Attributes.member.{i}.Key": "k" for i in range(1, 22)})
    assert validation_message("ModifyLoadBalancerAttributes", form).endswith(
        "at 'attributes' failed to satisfy constraint: Member must have length less than or equal to 20"
    )
    assert "Value '[]' at 'tags'" in validation_message("AddTags", {"ResourceArns.member.1": "a", "Tags": ""})


def test_pattern_and_bad_scalar_text() -> None:
    message = validation_message("ModifyLoadBalancerAttributes", {"LoadBalancerArn": "a", "Attributes.member.1.Key": "a b"})
    assert "Value 'a b' at 'attributes.1.member.key' failed to satisfy constraint: " in message
    assert message.endswith("Member must satisfy regular expression pattern: ^[a-zA-Z0-9._]+$")
    assert "Value 'abc' at 'pageSize'" in validation_message("DescribeLoadBalancers", {"PageSize": "abc"})
    message = validation_message("CreateTargetGroup", {"Name": "tg", "HealthCheckEnabled": "yes"})
    assert "Value 'yes' at 'healthCheckEnabled' failed to satisfy constraint: Member must be a valid boolean" in message


# elbv2 itself declares no locationName or flattened shapes, so a small model covers those rules.
_CUSTOM_MODEL = ServiceModel(
    {
        "metadata": {"protocol": "query", "apiVersion": "2015-12-01", "xmlNamespace": "urn:test"},
        "operations": {
            "Op": {
                "name": "Op",
                "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "S"},
                "output": {"shape": "S", "resultWrapper": "OpResult"},
            }
        },
        "shapes": {
            "S": {
                "type": "structure",
                "members": {
                    "Flat": {"shape": "FlatList"},
                    "FlatNamed": {"shape": "FlatNamedList"},
                    "Renamed": {"shape": "Str", "locationName": "Other"},
                    "Items": {"shape": "ItemList"},
                    "FlatMap": {"shape": "FlatMap"},
                    "NamedMap": {"shape": "NamedMap"},
                },
            },
            "Str": {"type": "string"},
            "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": True},
            "FlatNamedList": {"type": "list", "member": {"shape": "Str", "locationName": "Thing"}, "flattened": True},
            "ItemList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
            "FlatMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}, "flattened": True},
            "NamedMap": {
                "type": "map",
                "key": {"shape": "Str", "locationName": "K"},
                "value": {"shape": "Str", "locationName": "V"},
            },
        },
    },
    service_name="custom",
)
_CUSTOM_VALUE = {
    "Flat": ["a", "b"],
    "FlatNamed": ["c", "d"],
    "Renamed": "e",
    "Items": ["f", "g"],
    "FlatMap": {"h": "1", "i": "2"},
    "NamedMap": {"j": "3", "k": "4"},
}


def test_location_names_and_flattening_round_trip() -> None:
    op_model = _CUSTOM_MODEL.operation_model("Op")
    body = create_serializer("query").serialize_to_request(_CUSTOM_VALUE, op_model)["body"]
    assert {"Thing.1", "Other", "Items.item.2", "FlatMap.2.key", "NamedMap.entry.1.K"} <= set(body)
    assert parse_form(op_model.input_shape, body) == _CUSTOM_VALUE

    out: list[str] = []
    _element("OpResult", _emitter(op_model.output_shape))(_CUSTOM_VALUE, out)
    xml = f'<OpResponse xmlns="urn:test">{"".join(out)}</OpResponse>'.encode()
    parsed = create_parser("query").parse({"body": xml, "headers": {}, "status_code": 200}, op_model.output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == _CUSTOM_VALUE
