"""PROXY protocol v2 headers, as an NLB prepends them when ``proxy_protocol_v2.enabled`` is "true".

Layout (haproxy's proxy-protocol spec, section 2.2; AWS NLB user guide "Proxy protocol"): the 12-byte
signature, version/command ``0x21`` (v2, PROXY), the family/transport byte (``0x11`` TCP4, ``0x12`` UDP4,
``0x21`` TCP6, ``0x22`` UDP6), a big-endian 2-byte length, then source address, destination address,
source port, destination port. The destination is the load balancer's address and listener port. No TLVs:
the AWS VPC-endpoint TLV (0xEA) only exists for PrivateLink traffic. Built once per flow.
"""

from __future__ import annotations

import socket
import struct

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_PROXY = 0x21
_IPV4 = struct.Struct("!12sBBH4s4sHH")
_IPV6 = struct.Struct("!12sBBH16s16sHH")


def header(client: tuple[str, int], listener: tuple[str, int], datagram: bool = False) -> bytes:
    """The v2 header for a flow from ``client`` (ip, port) to ``listener`` (ip, port)."""
    transport = 0x02 if datagram else 0x01
    if ":" in client[0] or ":" in listener[0]:
        src, dst = _v6(client[0]), _v6(listener[0])
        return _IPV6.pack(SIGNATURE, _PROXY, 0x20 | transport, 36, src, dst, client[1], listener[1])
    src, dst = socket.inet_aton(client[0]), socket.inet_aton(listener[0])
    return _IPV4.pack(SIGNATURE, _PROXY, 0x10 | transport, 12, src, dst, client[1], listener[1])


def _v6(address: str) -> bytes:
    if ":" not in address:  # an IPv4 peer of an IPv6 flow: the IPv4-mapped form
        address = "::ffff:" + address
    return socket.inet_pton(socket.AF_INET6, address)
