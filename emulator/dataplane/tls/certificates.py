"""Certificate material for server contexts: the names a certificate covers, and loading its PEMs."""

from __future__ import annotations

import os
import ssl
import tempfile

from cryptography import x509
from cryptography.x509.oid import NameOID


def certificate_names(cert_pem: str) -> list[str]:
    """The DNS names of the subject alternative names, then the common name, lower-cased."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    common = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [n.lower() for n in [*names, *common]]


def name_matches(pattern: str, server_name: str) -> bool:
    """``*.example.com`` covers exactly one label more; any other pattern must equal the name."""
    if pattern.startswith("*."):
        head, _, rest = server_name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == server_name


def load_certificate(context: ssl.SSLContext, cert_pem: str, key_pem: str, chain_pem: str | None) -> None:
    """``load_cert_chain`` reads files only; the PEMs live in ACM, so they pass through a private directory."""
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        with open(cert_path, "w") as cert_file:
            cert_file.write(cert_pem.strip() + "\n" + (chain_pem or "").strip() + "\n")
        with open(key_path, "w") as key_file:
            key_file.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
