"""Validation and normalisation of rule conditions (API Reference: RuleCondition), stored as AWS echoes them.

Host-header and path-pattern conditions may use the legacy ``Values`` or the typed ``*Config``; AWS
echoes both forms for them, so whichever one a tool reads is filled in.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from api_models.quotas import quota
from api_models.resources import Condition
from emulator.errors import validation_error

# Field -> the typed config member that carries its values.
CONFIG_OF = {
    "host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig", "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig", "query-string": "QueryStringConfig", "source-ip": "SourceIpConfig",
}
_LEGACY_VALUES = ("host-header", "path-pattern")
_AT_MOST_ONCE = ("host-header", "path-pattern", "http-request-method", "source-ip")
MAX_VALUES_PER_CONDITION = 3  # a validation rule (API_RuleCondition), not an adjustable quota
_METHOD = re.compile(r"^[A-Z_-]+$")
_REGEX_FIELDS = ("host-header", "path-pattern", "http-header")
# AWS: rule regexes do not support lookaheads, lookbehinds, backreferences, atomic groups, possessive
# quantifiers, subroutines, recursion or Unicode character classes (rule-condition-types, "Condition basics").
_UNSUPPORTED_REGEX = re.compile(r"\(\?[=!>]|\(\?<[=!]|\\[1-9]|\\[pP]\{|[*+?}]\+|\(\?(R|[0-9]|&)")


def normalise_conditions(conditions: list[Condition]) -> list[Condition]:
    normalised = [_normalise(condition) for condition in conditions]
    fields = [c["Field"] for c in normalised]
    for field in _AT_MOST_ONCE:
        if fields.count(field) > 1:
            raise validation_error(f"A rule can only have one '{field}' condition")  # wording inferred
    values = [v for c in normalised for v in _values(c)]
    evaluations = len(values) + sum(len(_regex_values(c)) for c in normalised)
    values_limit, wildcards_limit = quota("condition-values-per-alb-rule"), quota("condition-wildcards-per-alb-rule")
    if evaluations > values_limit:
        raise validation_error(f"A rule can only have '{values_limit}' condition values")
    if sum(v.count("*") + v.count("?") for v in values) > wildcards_limit:
        raise validation_error(f"A rule can only have '{wildcards_limit}' wildcards")  # wording inferred
    return normalised


def _normalise(condition: Condition) -> Condition:
    field = condition.get("Field")
    if field not in CONFIG_OF:
        raise validation_error(f"Condition field '{field}' must be one of '[{','.join(CONFIG_OF)}]'")
    config_name = CONFIG_OF[field]
    config, legacy = condition.get(config_name), condition.get("Values")
    if legacy and config:
        raise validation_error(f"You cannot provide both Values and '{config_name}' for a condition of type '{field}'")
    if legacy is not None and field not in _LEGACY_VALUES:
        raise validation_error(f"A '{config_name}' must be specified with '{field}'")
    if legacy is not None and len(legacy) != 1:
        raise validation_error(f"The 'Values' field of a '{field}' condition can contain only one value")  # wording inferred
    config = {"Values": legacy} if legacy is not None else config
    if config is None:
        raise validation_error(f"A '{config_name}' must be specified with '{field}'")
    _check_values(field, config)
    normalised: Condition = {"Field": field, config_name: config}
    if field in _LEGACY_VALUES and config.get("Values"):
        normalised["Values"] = list(config["Values"])
    return normalised


def _check_values(field: str, config: dict[str, Any]) -> None:
    if field == "source-ip" and "IpAddressType" in config:  # an NLB rule's condition (checked in rules.py)
        if config.get("Values"):
            raise validation_error("You cannot specify both 'Values' and 'IpAddressType' in 'SourceIpConfig'")  # wording inferred
        return
    values, regexes = _config_values(config), config.get("RegexValues") or []
    if values and regexes:
        raise validation_error("A condition can use either Values or RegexValues, not both")  # wording inferred from the docs' "either ... or"
    if regexes and field not in _REGEX_FIELDS:
        raise validation_error(f"RegexValues are not supported for '{field}' conditions")  # wording inferred
    for regex in regexes:
        check_regex(regex)
    values = values or regexes
    if not values:
        raise validation_error("A condition value must be specified")
    if len(values) > MAX_VALUES_PER_CONDITION:
        raise validation_error(f"A condition can only have '{MAX_VALUES_PER_CONDITION}' values")  # wording inferred
    if field == "http-header":
        name = config.get("HttpHeaderName", "")
        if not name or len(name) > 40 or name.lower() == "host":
            raise validation_error(f"The header name '{name}' is not valid for an 'http-header' condition")  # wording inferred
    if field == "query-string" and not all(pair.get("Value") for pair in config["Values"]):
        raise validation_error("A 'Value' must be specified in 'QueryStringKeyValuePair'")
    for value in _config_values(config):
        _check_value(field, value)


def check_regex(regex: str) -> None:
    """Rule regexes (RegexValues and transforms) share AWS's restrictions (rule-condition-types, rule-transforms)."""
    if _UNSUPPORTED_REGEX.search(regex):
        raise validation_error(f"The regular expression '{regex}' uses a feature that is not supported")  # wording inferred
    try:
        re.compile(regex)
    except re.error as error:
        raise validation_error(f"The regular expression '{regex}' is not valid: {error}") from None  # wording inferred


def _check_value(field: str, value: str) -> None:
    if field in ("host-header", "path-pattern") and len(value) > 128:
        raise validation_error(f"The '{field}' value '{value}' cannot be longer than '128' characters")  # wording inferred
    if field == "http-request-method" and (not _METHOD.match(value) or len(value) > 40):
        raise validation_error("The 'http-request-method' value is invalid; the allowed characters are A-Z, hyphen and underscore")
    if field == "source-ip":
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise validation_error(f"The 'source-ip' value '{value}' is not a valid CIDR block") from None  # wording inferred
        if str(network) == "255.255.255.255/32":
            raise validation_error("The 'source-ip' value '255.255.255.255/32' is not allowed")  # wording inferred


def _config_values(config: dict[str, Any]) -> list[str]:
    """The match values a config holds; a query-string {Key, Value} pair counts once, by its Value."""
    return [v.get("Value", "") if isinstance(v, dict) else v for v in config.get("Values") or []]


def _values(condition: Condition) -> list[str]:
    return _config_values(condition[CONFIG_OF[condition["Field"]]])


def _regex_values(condition: Condition) -> list[str]:
    return condition[CONFIG_OF[condition["Field"]]].get("RegexValues") or []
