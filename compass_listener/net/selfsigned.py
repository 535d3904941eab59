"""Self-signed certificates made at run time, for the fake Compass REST server.

Like a fresh Compass install, the fake server presents a self-signed certificate. It is
generated in memory on each start (never stored in the repository) and is its own CA, so
the same PEM works as a `--ca-file` in tests.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from compass_listener.net.tls_trust import describe_subject, fingerprint_of


@dataclass(frozen=True)
class SelfSignedCertificate:
    cert_pem: bytes
    key_pem: bytes
    der: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.der)

    @property
    def subject(self) -> str:
        return describe_subject(self.der)

    def write_ca_file(self, path: str | os.PathLike) -> str:
        with open(path, "wb") as fh:
            fh.write(self.cert_pem)
        return os.fspath(path)

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a server presenting this certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # load_cert_chain wants files; keep them only as long as loading takes
        with tempfile.TemporaryDirectory(prefix="compass-fake-cert-") as tmp:
            cert_path = os.path.join(tmp, "cert.pem")
            key_path = os.path.join(tmp, "key.pem")
            with open(cert_path, "wb") as fh:
                fh.write(self.cert_pem)
            with open(key_path, "wb") as fh:
                fh.write(self.key_pem)
            ctx.load_cert_chain(cert_path, key_path)
        return ctx


def generate(common_name: str = "localhost",
             hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1"),
             days: int = 30) -> SelfSignedCertificate:
    """A new EC key and a self-signed certificate valid for `hosts`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Compass Listener fake REST server"),
    ])
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return SelfSignedCertificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
        der=cert.public_bytes(serialization.Encoding.DER),
    )


def from_pem(cert_pem: bytes, key_pem: bytes) -> SelfSignedCertificate:
    """A certificate kept from an earlier run (the demo reuses its own, so pins stay valid)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(cert_pem)
    return SelfSignedCertificate(cert_pem=cert_pem, key_pem=key_pem,
                                 der=cert.public_bytes(serialization.Encoding.DER))
