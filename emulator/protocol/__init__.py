"""Model-driven codec for the elbv2 Query protocol: form fields in, XML out.

Everything is derived from botocore's ``elbv2`` service model; no operation has hand-written XML.
"""

from .model import operation_names
from .parser import parse_request
from .serializer import XML_CONTENT_TYPE, serialize_error, serialize_result

__all__ = [
    "XML_CONTENT_TYPE",
    "operation_names",
    "parse_request",
    "serialize_error",
    "serialize_result",
]
