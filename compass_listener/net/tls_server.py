"""HTTPS for the listener: an SSL context from the user's certificate and key files, and
the host name to put in the URL that goes into the WebhookConfig.

Only the file paths are ever kept (in the settings file); the key is read from its file
each time the listener starts. Each failure is one sentence naming the file and the fix,
because "[SSL] PEM lib (_ssl.c:3900)" helps nobody.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from pathlib import Path


class TlsSetupError(Exception):
    """The certificate or key cannot be used: the message names the file and the fix."""


def _read(path: str, what: str, option: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise TlsSetupError(
            f"the {what} file {path} cannot be read ({exc.strerror or exc}); make it readable "
            f"by this user or choose another file ({option})") from None


def _certificate(cert_file: str):
    from cryptography import x509

    data = _read(cert_file, "certificate", "in Settings or with --tls-cert")
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except (ValueError, IndexError):
        raise TlsSetupError(
            f"the certificate file {cert_file} holds no PEM certificate (a block starting "
            f"with -----BEGIN CERTIFICATE-----); choose the certificate, not the key "
            f"(in Settings or with --tls-cert)") from None


def _check_key(cert, cert_file: str, key_file: str) -> None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    data = _read(key_file, "key", "in Settings or with --tls-key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TlsSetupError(
            f"the key file {key_file} is protected by a passphrase, which the listener cannot "
            f"ask for; export the key without one (openssl pkey -in KEY -out NEW_KEY)") from None
    except (ValueError, UnsupportedAlgorithm):      # not a key, or one we cannot use
        raise TlsSetupError(
            f"the key file {key_file} holds no PEM private key (a block starting with "
            f"-----BEGIN PRIVATE KEY-----); choose the key made with the certificate") from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise TlsSetupError(
            f"the key in {key_file} does not belong to the certificate in {cert_file}; "
            f"choose the key file that was made together with that certificate")


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """An SSL context presenting the user's certificate, checked first so that every
    failure reads as one sentence."""
    cert = _certificate(cert_file)
    _check_key(cert, cert_file, key_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(os.path.expanduser(cert_file), os.path.expanduser(key_file))
    except (ssl.SSLError, OSError) as exc:
        raise TlsSetupError(f"the certificate {cert_file} and key {key_file} cannot be used "
                            f"together ({exc}); check both files") from None
    return context


def client_context_trusting(cert_file: str) -> ssl.SSLContext:
    """A client context that trusts the system CAs and this certificate itself, so the
    app's own "send a test delivery" verifies its HTTPS listener, self-signed or not."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=os.path.expanduser(cert_file))
    # Trust the certificate as given even when it is a leaf whose issuer is not here.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def _names(cert) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate is valid for."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return (san.get_values_for_type(x509.DNSName),
            [str(ip) for ip in san.get_values_for_type(x509.IPAddress)])


def url_host(cert_file: str, listen_host: str) -> str:
    """The host to write in the WebhookConfig URL: Compass verifies the certificate against
    it, so it must be a name the certificate covers, and never 0.0.0.0."""
    cert = _certificate(cert_file)
    dns, ips = _names(cert)
    host = listen_host.strip("[]")
    try:
        wildcard = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        wildcard = host == ""
    if not wildcard and (host in ips or host.lower() in (d.lower() for d in dns)):
        return host
    named = [d for d in dns if not d.startswith("*")]
    if wildcard:
        named = [d for d in named if d != "localhost"] + [d for d in named if d == "localhost"]
    if named:
        return named[0]
    if ips and wildcard:
        return ips[0]
    return socket.getfqdn() if wildcard else host
