"""TLS trust for the Compass REST server: verified by default, or an explicit pin or CA file.

Compass's REST server ships with a self-signed certificate, so a first connection usually
fails verification. We never switch verification off: the user trusts exactly one
certificate (its SHA-256 fingerprint, pinned per server) or a CA file, and a pinned
server whose certificate changes is refused naming both fingerprints.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from dataclasses import dataclass

import aiohttp

_HEX = set("0123456789abcdef")


def normalize_fingerprint(text: str) -> str:
    """Return `AA:BB:…` (64 hex digits) from any common spelling, or raise ValueError."""
    cleaned = text.strip().lower()
    for prefix in ("sha256:", "sha-256:", "sha256=", "sha-256="):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):]
    digits = "".join(ch for ch in cleaned if ch not in ": -")
    if len(digits) != 64 or not set(digits) <= _HEX:
        raise ValueError(f"{text!r} is not a SHA-256 fingerprint (64 hexadecimal digits)")
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2)).upper()


def fingerprint_of(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, as `AA:BB:…`."""
    return normalize_fingerprint(hashlib.sha256(der).hexdigest())


def describe_subject(der: bytes) -> str:
    """The certificate's subject as an RFC 4514 string (e.g. `CN=localhost`)."""
    try:
        from cryptography import x509

        return x509.load_der_x509_certificate(der).subject.rfc4514_string() or "(empty subject)"
    except Exception:  # an unparseable certificate is still identified by its fingerprint
        return "(unreadable subject)"


@dataclass(frozen=True)
class PeerCertificate:
    """What a server presented, for an error message or the trust dialog."""

    host: str
    port: int
    subject: str
    fingerprint: str
    der: bytes = b""


class TrustError(Exception):
    """A TLS trust failure, worded as one sentence for the user."""


class UntrustedCertificateError(TrustError):
    """The server's certificate did not verify and is not pinned."""

    def __init__(self, cert: PeerCertificate, reason: str = "") -> None:
        self.certificate = cert
        self.reason = reason
        super().__init__(
            f"the server {cert.host}:{cert.port} presented a certificate that is not trusted "
            f"(subject {cert.subject}, SHA-256 {cert.fingerprint}"
            f"{'; ' + reason if reason else ''}); if this is your Compass REST server, trust "
            f"exactly this certificate (--trust-fingerprint {cert.fingerprint}) or give its "
            f"CA with --ca-file")


class CertificateChangedError(TrustError):
    """A pinned server presented a different certificate: possibly an impostor."""

    def __init__(self, host: str, port: int, pinned: str, actual: str, subject: str = "") -> None:
        self.host, self.port, self.pinned, self.actual = host, port, pinned, actual
        self.subject = subject
        super().__init__(
            f"warning: the certificate of {host}:{port} has changed (pinned SHA-256 {pinned}, "
            f"now SHA-256 {actual}{', subject ' + subject if subject else ''}); if the server "
            f"was given a new certificate on purpose, trust the new fingerprint, otherwise "
            f"do not connect")


@dataclass(frozen=True)
class TrustPolicy:
    """How to verify one server: system CAs, a CA file, or one pinned fingerprint."""

    ca_file: str | None = None
    pinned_fingerprint: str | None = None

    def ssl_for_aiohttp(self) -> ssl.SSLContext | aiohttp.Fingerprint:
        """The `ssl=` argument for aiohttp requests under this policy."""
        if self.pinned_fingerprint:
            # aiohttp.Fingerprint checks the exact certificate and skips the CA chain: the
            # pin is the user's explicit decision to trust this one certificate.
            digest = bytes.fromhex(normalize_fingerprint(self.pinned_fingerprint).replace(":", ""))
            return aiohttp.Fingerprint(digest)
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TrustError(
                f"the CA file {self.ca_file} cannot be read ({exc}); give a PEM file that "
                f"holds the Compass server's CA certificate") from exc


async def fetch_peer_certificate(host: str, port: int, timeout: float = 10.0) -> PeerCertificate:
    """Connect without verification only to read and describe the certificate presented.

    Nothing is sent over this connection: it exists so that the refusal can name the
    certificate the user would be trusting.
    """
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ctx, server_hostname=host or None), timeout)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else b""
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 2)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass
    if not der:
        raise TrustError(f"the server {host}:{port} presented no certificate")
    return PeerCertificate(host, port, describe_subject(der), fingerprint_of(der), der)
