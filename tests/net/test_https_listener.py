"""The HTTPS listener (issue 4, part 7): a certificate generated at run time, a client that
verifies it, the URL to paste into the WebhookConfig, and one sentence for each file that
cannot be used. The `listen` command is run as a real subprocess as well."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from compass_listener.core.routes import Route
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign
from compass_listener.net import selfsigned
from compass_listener.net.listener import Listener
from compass_listener.net.tls_server import (
    TlsSetupError, client_context_trusting, server_context, url_host,
)
from compass_listener.store.events import EventStore

ROOT = Path(__file__).resolve().parents[2]
SECRET = "tls-secret"
HEADER = "X-Compass-Signature"


@pytest.fixture(scope="module")
def certificate():
    return selfsigned.generate(hosts=("listener.example.test", "localhost", "127.0.0.1"))


@pytest.fixture
def files(tmp_path, certificate):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(certificate.cert_pem)
    key.write_bytes(certificate.key_pem)
    return str(cert), str(key)


def verifying_client(cert_file: str) -> ssl.SSLContext:
    """What a careful Compass does: trust exactly this certificate, check the host name."""
    context = ssl.create_default_context(cafile=cert_file)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    return context


@pytest.fixture
async def https_listener(tmp_path, files):
    store = EventStore(tmp_path / "history.sqlite3")
    store.open()
    listener = Listener(store, [Route()], lambda path: SECRET)
    cert, key = files
    await listener.start("127.0.0.1", 0, ssl_context=server_context(cert, key),
                         url_host=url_host(cert, "127.0.0.1"))
    yield listener
    await listener.stop()
    store.close()


async def test_delivery_over_https_to_a_verifying_client(https_listener, files):
    url = https_listener.urls[0]
    assert url == f"https://127.0.0.1:{https_listener.port}/compassdefect"
    body = sample_body(url, seed=1)
    connector = aiohttp.TCPConnector(ssl=verifying_client(files[0]))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(url, data=body, headers={HEADER: sign(body, SECRET)}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"message": "Payload received successfully"}
    conn = sqlite3.connect(str(https_listener.store.path))
    try:
        rows = conn.execute("SELECT body, signature FROM deliveries").fetchall()
    finally:
        conn.close()
    assert rows == [(body, "valid")]


async def test_the_app_trusts_its_own_certificate_for_the_test_delivery(https_listener, files):
    connector = aiohttp.TCPConnector(ssl=client_context_trusting(files[0]))
    body = sample_body("x", seed=2)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(https_listener.urls[0], data=body,
                                headers={HEADER: sign(body, SECRET)}) as resp:
            assert resp.status == 200


async def test_a_client_that_does_not_trust_the_certificate_is_refused(https_listener):
    async with aiohttp.ClientSession() as session:      # system CAs only
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.post(https_listener.urls[0], data=b"{}")
    assert https_listener.stats.received == 0


async def test_plain_http_to_the_https_port_stores_nothing(https_listener):
    url = https_listener.urls[0].replace("https://", "http://")
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(url, data=b"{}") as resp:
                assert resp.status >= 400
        except aiohttp.ClientError:
            pass
    assert https_listener.stats.received == 0


@pytest.mark.parametrize("listen_host, expected", [
    ("127.0.0.1", "127.0.0.1"),             # covered by the certificate: as is
    ("localhost", "localhost"),
    ("0.0.0.0", "listener.example.test"),   # never 0.0.0.0: the certificate's own name
    ("::", "listener.example.test"),
    ("192.0.2.7", "listener.example.test"), # not covered: Compass would refuse the address
])
def test_url_host_is_a_name_the_certificate_covers(files, listen_host, expected):
    assert url_host(files[0], listen_host) == expected


def one_sentence(text: str, *names: str) -> None:
    assert "\n" not in text and "Traceback" not in text and "_ssl.c" not in text
    for name in names:
        assert name in text


def test_key_that_does_not_match_the_certificate(tmp_path, files):
    other = tmp_path / "other-key.pem"
    other.write_bytes(selfsigned.generate().key_pem)
    with pytest.raises(TlsSetupError) as caught:
        server_context(files[0], str(other))
    one_sentence(str(caught.value), str(other), files[0], "does not belong")


def test_key_file_that_cannot_be_read(tmp_path, files):
    for missing in (tmp_path / "nowhere.pem", tmp_path):       # absent, and a folder
        with pytest.raises(TlsSetupError) as caught:
            server_context(files[0], str(missing))
        one_sentence(str(caught.value), str(missing), "cannot be read", "--tls-key")


def test_certificate_and_key_given_the_wrong_way_round(files):
    cert, key = files
    with pytest.raises(TlsSetupError) as caught:
        server_context(key, cert)
    one_sentence(str(caught.value), key, "no PEM certificate")
    with pytest.raises(TlsSetupError) as caught:
        server_context(cert, cert)
    one_sentence(str(caught.value), cert, "no PEM private key")


def test_key_with_a_passphrase(tmp_path, files, certificate):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(certificate.key_pem, password=None)
    locked = tmp_path / "locked.pem"
    locked.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass")))
    with pytest.raises(TlsSetupError) as caught:
        server_context(files[0], str(locked))
    one_sentence(str(caught.value), str(locked), "passphrase")


def test_settings_keep_paths_never_key_contents(tmp_path, files, certificate):
    from compass_listener.store.settings import Settings, load_settings, save_settings

    path = tmp_path / "settings.toml"
    save_settings(Settings(tls_cert_file=files[0], tls_key_file=files[1]), path)
    text = path.read_text()
    assert "PRIVATE KEY" not in text and certificate.key_pem.decode().splitlines()[1] not in text
    loaded = load_settings(path)
    assert (loaded.tls_cert_file, loaded.tls_key_file) == files


# ---- `compass-listener listen --tls-cert --tls-key`, as a subprocess ------------------------
def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(ROOT), COMPASS_LISTENER_HOME=str(home), HOOK_SECRET=SECRET,
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", PYTHONUNBUFFERED="1")
    return env


async def test_listen_command_serves_https_and_prints_the_url(tmp_path, files):
    cert, key = files
    proc = subprocess.Popen(
        [sys.executable, "-m", "compass_listener", "listen", "--port", "0", "--json",
         "--secret-env", "HOOK_SECRET", "--tls-cert", cert, "--tls-key", key],
        cwd=ROOT, env=_env(tmp_path / "home"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("{"), (first, proc.stderr.read() if proc.poll() is not None else "")
        listening = json.loads(first)       # --json: the first line is JSON as well
        assert listening["event"] == "listening"
        match = re.match(r"^https://127\.0\.0\.1:\d+/compassdefect$", listening["urls"][0])
        assert match, first
        url = match.group(0)
        body = sample_body(url, seed=3)
        connector = aiohttp.TCPConnector(ssl=verifying_client(cert))
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.post(url, data=body, headers={HEADER: sign(body, SECRET)}) as r:
                assert r.status == 200
        line = json.loads(proc.stdout.readline())
        assert (line["status"], line["signature"]) == (200, "valid")
        # The command-line sender, trusting the listener's own certificate, and without.
        sent = subprocess.run(
            [sys.executable, "-m", "compass_listener", "send-test", "--url", url,
             "--secret-env", "HOOK_SECRET", "--ca-file", cert],
            cwd=ROOT, env=_env(tmp_path / "home"), capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0 and "  200  " in sent.stdout, sent.stderr
        refused = subprocess.run(
            [sys.executable, "-m", "compass_listener", "send-test", "--url", url],
            cwd=ROOT, env=_env(tmp_path / "home"), capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "certificate" in refused.stderr.lower()
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_listen_command_with_a_mismatched_key_says_so_in_one_sentence(tmp_path, files):
    other = tmp_path / "other-key.pem"
    other.write_bytes(selfsigned.generate().key_pem)
    done = subprocess.run(
        [sys.executable, "-m", "compass_listener", "listen", "--port", "0",
         "--tls-cert", files[0], "--tls-key", str(other)],
        cwd=ROOT, env=_env(tmp_path / "home"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not belong to the certificate" in lines[0], done.stderr


def test_listen_command_needs_both_files(tmp_path, files):
    done = subprocess.run(
        [sys.executable, "-m", "compass_listener", "listen", "--port", "0",
         "--tls-cert", files[0]],
        cwd=ROOT, env=_env(tmp_path / "home"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--tls-cert needs --tls-key" in done.stderr


async def test_the_url_names_the_certificate_when_the_address_is_not_in_it(tmp_path):
    """Listening on 127.0.0.1 with a certificate for "localhost" only: the URL to paste is
    https://localhost:PORT/..., and a verifying client accepts exactly that URL."""
    only_name = selfsigned.generate(hosts=("localhost",))
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(only_name.cert_pem)
    key.write_bytes(only_name.key_pem)
    store = EventStore(tmp_path / "history.sqlite3")
    store.open()
    listener = Listener(store, [Route()], lambda path: SECRET)
    await listener.start("127.0.0.1", 0, ssl_context=server_context(str(cert), str(key)),
                         url_host=url_host(str(cert), "127.0.0.1"))
    try:
        url = listener.urls[0]
        assert url == f"https://localhost:{listener.port}/compassdefect"
        body = sample_body(url, seed=4)
        connector = aiohttp.TCPConnector(ssl=verifying_client(str(cert)))
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.post(url, data=body,
                                    headers={HEADER: sign(body, SECRET)}) as resp:
                assert resp.status == 200
    finally:
        await listener.stop()
        store.close()
