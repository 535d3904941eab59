"""TLS trust helpers: fingerprint spelling, peer certificate description."""

from __future__ import annotations

import pytest

from compass_listener.net import selfsigned, tls_trust
from compass_listener.net.fake_compass import FakeCompassServer


def test_normalize_fingerprint_spellings():
    hex64 = "ab" * 32
    expected = ":".join(["AB"] * 32)
    for text in (hex64, hex64.upper(), expected, "sha256:" + hex64, " SHA-256=" + expected + " "):
        assert tls_trust.normalize_fingerprint(text) == expected
    for bad in ("", "ab" * 31, "zz" * 32, "ab" * 33):
        with pytest.raises(ValueError):
            tls_trust.normalize_fingerprint(bad)


def test_bad_ca_file_is_one_sentence(tmp_path):
    with pytest.raises(tls_trust.TrustError, match="cannot be read"):
        tls_trust.TrustPolicy(ca_file=str(tmp_path / "missing.pem")).ssl_for_aiohttp()


async def test_fetch_peer_certificate_describes_what_was_presented():
    cert = selfsigned.generate(common_name="compass.test")
    server = await FakeCompassServer(certificate=cert).start()
    try:
        peer = await tls_trust.fetch_peer_certificate("127.0.0.1", server.port)
    finally:
        await server.stop()
    assert peer.fingerprint == cert.fingerprint
    assert "CN=compass.test" in peer.subject
