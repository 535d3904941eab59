"""Secrets never leave the keyring or memory: after sessions that used them, none appears in
the settings file, the log files, the history, the CLI's output, the window title, or any
process's command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import qasync

from compass_listener.app.controller import AppController
from compass_listener.cli import build_parser
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign

ROUTE_SECRET = "route-secret-6f1c2e9a"
ENV_SECRET = "env-secret-b81d7c44"


def _env(home: Path) -> dict:
    return dict(os.environ, COMPASS_LISTENER_HOME=str(home), QT_QPA_PLATFORM="offscreen",
                PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", LEAK_SECRET=ENV_SECRET)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_absent(secrets: list[str], where: dict[str, bytes | str]) -> None:
    assert where, "nothing was checked"
    for name, content in where.items():
        data = content.encode() if isinstance(content, str) else content
        for secret in secrets:
            assert secret.encode() not in data, f"a secret leaked into {name}"


def _home_files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_a_gui_session_and_the_cli_leave_no_secret_behind(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/compassdefect"
    gui = subprocess.Popen([sys.executable, "-m", "compass_listener", "--port", str(port),
                            "--secret-env", "LEAK_SECRET"],
                           env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and gui.poll() is None, "GUI did not start"
                time.sleep(0.1)
        cmdlines = {"GUI command line": Path(f"/proc/{gui.pid}/cmdline").read_bytes()}
        sender = subprocess.Popen(
            [sys.executable, "-m", "compass_listener", "send-test", "--url", url,
             "--secret-env", "LEAK_SECRET", "--count", "3"],
            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cmdlines["send-test command line"] = Path(f"/proc/{sender.pid}/cmdline").read_bytes()
        send_out, send_err = sender.communicate(timeout=30)
        assert sender.returncode == 0, send_err
        # A forged delivery and an unknown route: their error paths write to the log too.
        forged = sample_body(url, index=9, seed=9)
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-X", "POST", url, "-H",
                        f"X-Compass-Signature: {sign(forged, 'forged')}", "--data-binary",
                        forged.decode()], check=False, timeout=10)
    finally:
        gui.send_signal(signal.SIGTERM)
        gui_out, gui_err = gui.communicate(timeout=30)
    assert gui.returncode == 0
    events = subprocess.run([sys.executable, "-m", "compass_listener", "events", "--json"],
                            env=_env(tmp_path), capture_output=True, timeout=30)
    assert len(events.stdout.splitlines()) == 4
    where = {**cmdlines, **_home_files(tmp_path), "send-test output": send_out + send_err,
             "GUI output": gui_out + gui_err, "events output": events.stdout + events.stderr}
    assert any(name.startswith("logs/") for name in where)
    assert "history.sqlite3" in where
    _assert_absent([ENV_SECRET], where)


def test_a_secret_set_in_settings_stays_out_of_files_and_the_window_title(
        qapp, tmp_path, monkeypatch, request):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    request.getfixturevalue("log_file")
    args = build_parser().parse_args(["--port", "0"])
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    seen = {}

    async def scenario(c: AppController):
        while not c.listener.running:
            await asyncio.sleep(0.02)
        c.settings.port = c.listener.port      # stay on the ephemeral port, never 8080
        await c.apply_settings(c.settings, {"/compassdefect": ROUTE_SECRET}, None)
        assert c.listener.running, c.window.banner.text()
        url = c.listener.urls[0]
        body = sample_body(url, index=1, seed=1)
        async with aiohttp.ClientSession() as session:
            for secret in (ROUTE_SECRET, "wrong"):
                async with session.post(url, data=body, headers={
                        "X-Compass-Signature": sign(body, secret)}) as resp:
                    seen.setdefault("statuses", []).append(resp.status)
        seen["title"] = c.window.windowTitle()
        seen["tooltip"] = c.tray.icon.toolTip()
        seen["banner"] = c.window.banner.text()
        c.request_quit()

    with loop:
        controller = AppController(qapp, args)
        loop.create_task(scenario(controller))
        loop.run_until_complete(controller.run())
    assert seen["statuses"] == [200, 401]
    where = {"window title": seen["title"], "tray tooltip": seen["tooltip"],
             "banner": seen["banner"], **_home_files(tmp_path)}
    assert "settings.toml" in where
    _assert_absent([ROUTE_SECRET], where)
