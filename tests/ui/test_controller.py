"""The GUI's controller on the GUI's event loop: settings apply without a restart (the listener
rebinds), a taken port is named, the test delivery goes through, learned schemes persist."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from compass_listener.app.qt_loop import new_event_loop

from compass_listener.app.controller import AppController
from compass_listener.core.routes import Route
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign
from compass_listener.store.settings import load_settings

from controller_harness import run_controller

SECRET = "controller-secret"


run = run_controller   # this file's name for the shared harness


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("CONTROLLER_SECRET", SECRET)
    return ["--secret-env", "CONTROLLER_SECRET"]


async def post(url, body, headers=None):
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers or {}) as resp:
            return resp.status, await resp.json()


def test_settings_apply_without_restart_and_the_listener_rebinds(qapp, secret_env):
    async def scenario(c: AppController):
        old_port = c.listener.port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            new_port = s.getsockname()[1]
        new = load_settings()
        new.port = new_port
        new.routes = [Route("/compassdefect", "Defect"), Route("/compasstask", "Task")]
        await c.apply_settings(new, {"/compasstask": "task-secret"}, None)
        body = sample_body("x", index=1, seed=1)
        status, _ = await post(f"http://127.0.0.1:{new_port}/compasstask", body,
                               {"X-Compass-Signature": sign(body, "task-secret")})
        try:
            await post(f"http://127.0.0.1:{old_port}/compassdefect", body)
            old_still_open = True
        except aiohttp.ClientConnectionError:
            old_still_open = False
        return c.listener.port, new_port, status, old_still_open, c.store.latest().signature

    port, wanted, status, old_open, signature = run(qapp, ["--port", "0"] + [], scenario)
    assert port == wanted and status == 200 and not old_open and signature == "valid"
    saved = load_settings()
    assert [r.path for r in saved.routes] == ["/compassdefect", "/compasstask"]
    assert "task-secret" not in open(saved_path()).read()


def saved_path():
    from compass_listener.store import paths
    return paths.settings_file()


def test_a_taken_port_is_named_and_the_app_keeps_running(qapp, secret_env):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]

    async def scenario(c: AppController):
        text = c.window.banner.text()
        state = c.tray.state
        # The user picks another port in Settings: the listener comes up.
        new = load_settings()
        new.port = 0
        await c.apply_settings(new, {}, None)
        return text, state, c.listener.running, c.window.banner_box.isVisible()

    try:
        text, state, running, banner = run(qapp, ["--port", str(port)] + secret_env, scenario)
    finally:
        blocker.close()
    assert f"port {port} on 127.0.0.1 is already in use by another program" in text
    assert "choose another port" in text
    assert state == "error"
    assert running and not banner


def test_send_test_delivery_reaches_our_own_listener_signed(qapp, secret_env):
    async def scenario(c: AppController):
        await c.send_test()
        await asyncio.sleep(0.3)
        c.window.model.flush_pending()
        return c.store.latest(), c.window.model.rowCount(), c.window.statusBar().currentMessage()

    latest, rows, message = run(qapp, ["--port", "0"] + secret_env, scenario)
    assert latest.signature == "valid" and latest.reply_status == 200
    assert latest.record_type == "Defect" and rows == 1
    assert "200 Payload received successfully" in message


def test_a_learned_signature_header_is_saved_to_the_settings(qapp, secret_env):
    async def scenario(c: AppController):
        url = c.listener.urls[0]
        body = sample_body(url, index=2, seed=2)
        await post(url, body, {"X-Hub-Signature": "sha1=" + sign(body, SECRET).upper()})
        await asyncio.sleep(0.05)

    run(qapp, ["--port", "0"] + secret_env, scenario)
    scheme = load_settings().routes[0].scheme
    assert (scheme.learned_header, scheme.learned_encoding) == ("X-Hub-Signature", "hex")


def test_remote_address_with_an_unsigned_route_is_refused_without_confirmation(qapp):
    async def scenario(c: AppController):
        return c.listener.running, c.window.banner.text()

    running, text = run(qapp, ["--host", "0.0.0.0", "--port", "0"], scenario)
    assert not running
    assert "/compassdefect has no secret" in text and "--allow-unsigned" in text


def test_a_route_whose_secret_was_lost_refuses_instead_of_accepting_unverified(
        qapp, monkeypatch):
    """Secrets kept in memory only (no keyring) are gone after a restart: the route must not
    silently become unsigned and accept forged deliveries."""
    async def first_session(c: AppController):
        c.settings.port = c.listener.port
        await c.apply_settings(c.settings, {"/compassdefect": SECRET}, None)
        return c.settings.routes[0].secret_required

    assert run(qapp, ["--port", "0"], first_session) is True
    assert "expects_signature = true" in open(saved_path()).read()
    assert SECRET not in open(saved_path()).read()

    async def after_restart(c: AppController):
        while not c.listener.running:       # the start-up banner shows before it listens
            await asyncio.sleep(0.02)
        url = c.listener.urls[0]
        body = sample_body(url, index=3, seed=3)
        status, reply = await post(url, body, {"X-Compass-Signature": sign(body, "forged")})
        return status, reply["message"], c.window.banner.text(), c.store.latest().signature

    status, message, banner, signature = run(qapp, ["--port", "0"], after_restart)
    assert status == 503 and "enter it again in Settings" in message
    assert signature == "unverifiable"
    assert "/compassdefect needs its secret again" in banner

    async def secret_removed(c: AppController):
        while not c.listener.running:
            await asyncio.sleep(0.02)
        c.settings.port = c.listener.port
        await c.apply_settings(c.settings, {"/compassdefect": None}, None)
        return c.settings.routes[0].secret_required, c.window.banner.text()

    required, banner = run(qapp, ["--port", "0"], secret_removed)
    assert required is False and "needs its secret" not in banner


def test_a_new_address_that_cannot_be_bound_keeps_the_old_one_running_and_saved(qapp):
    async def scenario(c: AppController):
        old = c.listener.port
        new = load_settings()
        new.host, new.port = "192.0.2.1", old      # TEST-NET: not this machine's address
        await c.apply_settings(new, {}, None)
        status, _ = await post(f"http://127.0.0.1:{old}/compassdefect", b'{"content": {}}')
        return old, c.listener.running, c.listener.port, status, c.window.statusBar().currentMessage()

    old, running, port, status, message = run(qapp, ["--port", "0"], scenario)
    assert running and port == old and status == 200
    assert "192.0.2.1" in message and f"stays on 127.0.0.1:{old}" in message
    saved = load_settings()
    assert (saved.host, saved.port) == ("127.0.0.1", old)


def test_a_delivery_over_the_body_limit_is_told_to_the_user_though_not_stored(qapp):
    async def scenario(c: AppController):
        notices = []
        c.tray.notice_raised.connect(notices.append)
        c.listener.body_limit = 1000
        status, reply = await post(c.listener.urls[0], b"x" * 5000)
        await asyncio.sleep(0.05)
        return status, reply["message"], [n.message for n in notices], c.store.count()

    status, message, notices, stored = run(qapp, ["--port", "0"], scenario)
    assert status == 413 and "limit of 1000 bytes" in message and stored == 0
    assert any("Refused a delivery on /compassdefect" in n and "limit of 1000" in n
               for n in notices), notices
