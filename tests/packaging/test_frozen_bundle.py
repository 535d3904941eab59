"""CI smoke test of the frozen bundle: build it, run it headless and as a GUI, offscreen.

Builds with packaging/build.py into a temporary folder (about 30 s with a warm disk
cache), unless $COMPASS_LISTENER_BUNDLE names an already built executable. Without
PyInstaller the tests skip on a developer machine and fail in CI (CI must install the
`build` extra).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from compass_listener import APP_ID, __version__

pytestmark = [pytest.mark.bundle, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bundle-smoke-secret"


def _load_build_script():
    spec = importlib.util.spec_from_file_location("cl_build", ROOT / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    given = os.environ.get("COMPASS_LISTENER_BUNDLE")
    if given:
        return Path(given)
    if importlib.util.find_spec("PyInstaller") is None:
        if os.environ.get("CI"):
            pytest.fail('PyInstaller is missing in CI; install the build extra: pip install ".[build]"')
        pytest.skip("PyInstaller not installed (pip install -e '.[build]')")
    build = _load_build_script()
    base = tmp_path_factory.mktemp("bundle")
    started = time.monotonic()
    exe = build.build(base / "dist", base / "work", clean=False)
    seconds = time.monotonic() - started
    size = build.folder_size(build.bundle_dir(base / "dist"))
    # Shown with -s / -rA; the lead copies it into the closing note.
    print(f"\nbundle: {size / 1e6:.0f} MB, built in {seconds:.0f} s")
    return exe


def _env(data_dir: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_LISTENER")}
    env.update(COMPASS_LISTENER_HOME=str(data_dir), QT_QPA_PLATFORM="offscreen",
               BUNDLE_SMOKE_SECRET=SECRET, **extra)
    return env


def _lines(stream, sink: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        sink.put(line)
    sink.put(None)


def _next_line(sink: queue.Queue, timeout: float) -> str:
    try:
        line = sink.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no output within {timeout} s") from None
    assert line is not None, "the bundle closed its output"
    return line


def _signed_post(url: str, body: bytes) -> tuple[int, dict]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Compass-Signature": signature})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.status, json.loads(reply.read())


def _delivery() -> bytes:
    def field(value: str) -> dict:
        return {"truncated": "false", "value": value}

    return json.dumps({
        "webUrl": "http://127.0.0.1/compassdefect",
        "content": {"id": field("SAMPL00000042"), "record_type": field("Defect"),
                    "State": field("Opened"), "Headline": field("Frozen bundle smoke test")},
    }).encode()


def test_version(bundle):
    run = subprocess.run([str(bundle), "--version"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"compass-listener {__version__}"


def test_listen_stores_a_signed_delivery(bundle, tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [str(bundle), "listen", "--port", "0", "--route", "/compassdefect:Defect",
         "--secret-env", "BUNDLE_SMOKE_SECRET", "--json"],
        env=_env(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Windows delivers Ctrl-Break only to a process group of its own.
        creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))
    out: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    try:
        first = _next_line(out, 120)
        listening = json.loads(first)       # --json: the first line is JSON as well
        assert listening["event"] == "listening", first
        match = re.fullmatch(r"http://127\.0\.0\.1:\d+/compassdefect", listening["urls"][0])
        assert match, first
        status, reply = _signed_post(match.group(0), _delivery())
        assert status == 200 and reply == {"message": "Payload received successfully"}
        printed = json.loads(_next_line(out, 30))
        assert printed["record_id"] == "SAMPL00000042" and printed["signature"] == "valid"
    finally:
        proc.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_BREAK_EVENT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        err = proc.stderr.read()
    assert code == 0, err

    events = subprocess.run([str(bundle), "events", "--json"], env=_env(data),
                            capture_output=True, text=True, timeout=120)
    assert events.returncode == 0, events.stderr
    rows = [json.loads(line) for line in events.stdout.splitlines() if line.strip()]
    assert len(rows) == 1
    row = rows[0]
    assert (row["route"], row["record_type"], row["record_id"], row["state"]) == (
        "/compassdefect", "Defect", "SAMPL00000042", "Opened")
    assert row["signature"] == "valid" and row["status"] == 200
    assert row["headline"] == "Frozen bundle smoke test"


def test_gui_starts_offscreen_and_quits(bundle, tmp_path):
    run = subprocess.run([str(bundle), "--port", "0", "--quit-after", "2"],
                         env=_env(tmp_path / "data"), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_frozen_install_desktop_finds_its_icons(bundle, tmp_path):
    # The icons come from inside the bundle (importlib.resources), not from the checkout.
    xdg = tmp_path / "share"
    run = subprocess.run([str(bundle), "install-desktop"], env=_env(tmp_path / "data",
                         XDG_DATA_HOME=str(xdg), HOME=str(tmp_path)),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    entry = (xdg / "applications" / f"{APP_ID}.desktop").read_text()
    assert f"Exec={bundle.resolve()} --data-dir {tmp_path / 'data'}\n" in entry
    assert (xdg / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").is_file()
    bundled = bundle.parent / "_internal" / "compass_listener" / "resources" / "icons"
    assert (bundled / "tray" / "listening.svg").is_file()
