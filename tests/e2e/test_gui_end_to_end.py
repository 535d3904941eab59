"""The real GUI program as a subprocess (offscreen): signed deliveries over HTTP are answered,
stored, survive a restart, and SIGTERM quits cleanly through the one quit path."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign

SECRET = "e2e-gui-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(home) -> dict:
    return dict(os.environ, COMPASS_LISTENER_HOME=str(home), QT_QPA_PLATFORM="offscreen",
                PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", GUI_SECRET=SECRET)


def post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"GUI exited early: {proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the GUI never started listening")


@pytest.fixture
def gui(tmp_path):
    procs = []

    def start(port: int):
        proc = subprocess.Popen(
            [sys.executable, "-m", "compass_listener", "--port", str(port),
             "--secret-env", "GUI_SECRET"],
            env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        wait_listening(port, proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def events_json(home) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "compass_listener", "events", "--json"],
                         env=env_for(home), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_gui_receives_signed_deliveries_and_keeps_them_across_a_restart(gui, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/compassdefect"
    proc = gui(port)
    good = sample_body(url, index=1, seed=1)
    status, reply = post(url, good, {"X-Compass-Signature": sign(good, SECRET),
                                     "Content-Type": "application/json"})
    assert (status, reply) == (200, {"message": "Payload received successfully"})
    forged = sample_body(url, index=2, seed=2)
    status, reply = post(url, forged, {"X-Compass-Signature": sign(forged, "not-the-secret")})
    assert status == 401 and "signature mismatch" in reply["message"]
    status, reply = post(url, b"{not json", {"X-Compass-Signature": sign(b"{not json", SECRET)})
    assert status == 400 and "not valid JSON" in reply["message"]
    status, reply = post(f"http://127.0.0.1:{port}/nowhere", good, {})
    assert status == 404 and "/compassdefect" in reply["message"]

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    rows = events_json(tmp_path)
    assert [r["status"] for r in rows] == [400, 401, 200]
    assert rows[2]["signature"] == "valid" and rows[2]["record_type"] == "Defect"
    assert rows[1]["signature"] == "invalid"

    # Restart: the history is still there and the same delivery is now a duplicate.
    proc = gui(port)
    status, _ = post(url, good, {"X-Compass-Signature": sign(good, SECRET)})
    assert status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    rows = events_json(tmp_path)
    assert len(rows) == 4 and rows[0]["duplicate"] is True


def test_gui_smoke_quits_by_itself_with_exit_code_zero(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compass_listener", "--port", str(free_port()),
                           "--quit-after", "1.5"],
                          env=env_for(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_gui_with_its_port_taken_keeps_running_and_says_which_port(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "compass_listener", "--port", str(port),
                               "--quit-after", "2"],
                              env=env_for(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "logs" / "compass-listener.log").read_text()
    assert f"port {port} on 127.0.0.1 is already in use by another program" in log
    assert "Traceback" not in proc.stderr


def test_a_second_launch_brings_the_first_window_forward_and_exits_0(gui, tmp_path):
    port = free_port()
    first = gui(port)
    second = subprocess.run([sys.executable, "-m", "compass_listener", "--port", str(port)],
                            env=env_for(tmp_path), capture_output=True, text=True, timeout=30)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr and "brought forward" in second.stderr
    assert "address" not in second.stderr.lower() or "in use" not in second.stderr.lower()
    assert first.poll() is None
    log = tmp_path / "logs" / "compass-listener.log"
    deadline = time.monotonic() + 5
    while "another launch asked for the window" not in log.read_text():
        assert time.monotonic() < deadline, "the first instance was never asked to show"
        time.sleep(0.1)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0
