"""Validation of the ``jwt-validation`` action's config (API_JwtValidationActionConfig and its claims).

The wire model already requires JwksEndpoint and Issuer, and each claim's Format, Name and Values; the
limits below are the ones the API reference states in prose. Message wording is inferred (see ``emulator.errors``).
"""

from __future__ import annotations

from typing import Any

from emulator.errors import validation_error

_MAX_LENGTH = 256
_MAX_ITEMS = 10
# "You can't specify exp, iss, nbf, or iat because we validate them by default."
_DEFAULT_CLAIMS = ("exp", "iss", "nbf", "iat")


def normalise_jwt_validation(config: dict[str, Any]) -> dict[str, Any]:
    endpoint, issuer = config["JwksEndpoint"], config["Issuer"]
    # "This must be a full URL, including the HTTPS protocol, the domain, and the path."
    if not endpoint.startswith("https://") or len(endpoint) <= len("https://"):
        raise validation_error(f"The JWKS endpoint '{endpoint}' must be a full URL that uses the HTTPS protocol")
    for label, value in (("JWKS endpoint", endpoint), ("issuer", issuer)):
        if len(value) > _MAX_LENGTH:
            raise validation_error(f"The {label} cannot be longer than '{_MAX_LENGTH}' characters")
    claims = config.get("AdditionalClaims") or []
    if len(claims) > _MAX_ITEMS:
        raise validation_error(f"A JWT validation action can have at most '{_MAX_ITEMS}' additional claims")
    for claim in claims:
        _check_claim(claim)
    return {"JwksEndpoint": endpoint, "Issuer": issuer} | ({"AdditionalClaims": claims} if claims else {})


def _check_claim(claim: dict[str, Any]) -> None:
    name, values = claim["Name"], claim["Values"]
    if name in _DEFAULT_CLAIMS:
        raise validation_error(f"The claim '{name}' cannot be specified because it is validated by default")
    if len(values) > _MAX_ITEMS:
        raise validation_error(f"The claim '{name}' can have at most '{_MAX_ITEMS}' values")
    for value in values:
        if len(value) > _MAX_LENGTH:
            raise validation_error(f"A value of the claim '{name}' cannot be longer than '{_MAX_LENGTH}' characters")
        if claim["Format"] == "space-separated-values" and " " in value:
            raise validation_error(f"The values of the claim '{name}' cannot include spaces with the 'space-separated-values' format")
