"""The GUI serving HTTPS (issue 4, part 7): the controller builds the SSL context from the
settings' certificate and key files, the window shows the https URL to paste into the
WebhookConfig, the test delivery verifies our own certificate, and a key that does not
fit is one sentence in the banner while the app keeps running."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest

from compass_listener.app.controller import AppController
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign
from compass_listener.net import selfsigned
from compass_listener.store.settings import load_settings, save_settings
from compass_listener.ui.settings_dialog import SettingsDialog

from controller_harness import run_controller

SECRET = "gui-tls-secret"


@pytest.fixture(scope="module")
def certificate():
    return selfsigned.generate(hosts=("localhost", "127.0.0.1"))


@pytest.fixture
def tls_files(tmp_path, certificate):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(certificate.cert_pem)
    key.write_bytes(certificate.key_pem)
    return str(cert), str(key)


run = run_controller   # this file's name for the shared harness


def save_tls(cert: str, key: str) -> None:
    settings = load_settings()
    settings.port = 0
    settings.tls_cert_file, settings.tls_key_file = cert, key
    save_settings(settings)


def test_gui_serves_https_and_shows_the_url_to_paste(qapp, tls_files, monkeypatch):
    monkeypatch.setenv("GUI_TLS_SECRET", SECRET)
    save_tls(*tls_files)

    async def scenario(c: AppController):
        url = c.listener.urls[0]
        body = sample_body(url, seed=1)
        client = ssl.create_default_context(cafile=tls_files[0])
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client)) as s:
            async with s.post(url, data=body,
                              headers={"X-Compass-Signature": sign(body, SECRET)}) as resp:
                status = resp.status
        await c.send_test()
        return (url, status, c.window.urls_label.text(), c.window.windowTitle(),
                c.window.statusBar().currentMessage())

    url, status, shown, title, message = run(
        qapp, ["--secret-env", "GUI_TLS_SECRET"], scenario)
    assert url.startswith("https://127.0.0.1:") and url.endswith("/compassdefect")
    assert status == 200
    assert url in shown and "https://127.0.0.1:" in title
    assert message.startswith("Test delivery to https://127.0.0.1:") and ": 200 " in message


def test_gui_with_a_key_that_does_not_fit_says_so_and_keeps_running(qapp, tls_files,
                                                                     tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(selfsigned.generate().key_pem)
    save_tls(tls_files[0], str(other))

    async def scenario(c: AppController):
        return c.listener.running, c.window.banner.text()

    running, banner = run(qapp, [], scenario)
    assert not running
    assert "does not belong to the certificate" in banner and str(other) in banner
    assert "\n" not in banner and "Traceback" not in banner


def test_settings_dialog_keeps_tls_paths_and_wants_both(qtbot, tls_files):
    settings = load_settings()
    dialog = SettingsDialog(settings, lambda path: False)
    qtbot.addWidget(dialog)
    dialog.tls_cert.setText(tls_files[0])
    assert "both a certificate file and its key file" in dialog.result_settings()
    dialog.tls_key.setText(tls_files[1])
    result = dialog.result_settings()
    assert (result.tls_cert_file, result.tls_key_file) == tls_files
    dialog.tls_cert.clear()
    dialog.tls_key.clear()
    assert dialog.result_settings().tls_cert_file == ""
