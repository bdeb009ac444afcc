"""Trailer fields the load balancer relays between its legs, and their HTTP/1.1 serialisation.

AWS documents trailers for gRPC only ("Target group protocol version" in "Target groups for your Application
Load Balancers": the GRPC version carries gRPC, whose status travels in trailers; "New – Application Load
Balancer Support for End-to-End HTTP/2 and gRPC", AWS News Blog). The emulator relays them wherever both legs
can carry them: HTTP/2 trailing HEADERS, and the last chunk of an HTTP/1.1 chunked body.

A field that must be read before the content (RFC 9110 6.5.1: framing, routing, authentication, request
modifiers, content format), a connection-specific one (RFC 9110 7.6.1, RFC 9113 8.2.2), a
pseudo-header, or one the load balancer sets itself is never relayed: a recipient that merges trailers into
the header section must not find a second Content-Length, Host or X-Forwarded-For there. (Request trailers
also go through the listener's header policy: ``forwarded.HeaderPolicy.passes_trailer``.)
"""

from __future__ import annotations

from emulator.dataplane.alb.heads import Headers

NOT_RELAYED = frozenset(
    # framing, connection-specific and hop-by-hop fields
    b"content-length transfer-encoding connection keep-alive proxy-connection te trailer upgrade "
    # routing, authentication and state, request modifiers and conditionals, content format
    b"host authorization proxy-authorization www-authenticate proxy-authenticate cookie set-cookie "
    b"expect max-forwards range if-match if-none-match if-modified-since if-unmodified-since if-range "
    b"cache-control pragma content-type content-encoding content-range "
    # set by the load balancer itself ("HTTP headers and Application Load Balancers", "Authenticate users
    # using an Application Load Balancer")
    b"x-forwarded-for x-forwarded-proto x-forwarded-port x-amzn-trace-id "
    b"x-amzn-oidc-accesstoken x-amzn-oidc-identity x-amzn-oidc-data".split()
)


def relayable(name: bytes) -> bool:
    """Whether a trailer field (lower-case name) is passed on."""
    return name not in NOT_RELAYED and name[:1] != b":"


def relayable_fields(fields: Headers) -> Headers:
    """The fields of a trailer section (lower-case names) that are passed on."""
    return [field for field in fields if relayable(field[0])]


def last_chunk(trailers: Headers) -> bytes:
    """The last chunk of a chunked body with its trailer section (RFC 9112 7.1.2)."""
    out = bytearray(b"0\r\n")
    for name, value in trailers:
        out += b"%s: %s\r\n" % (name, value)
    out += b"\r\n"
    return bytes(out)
