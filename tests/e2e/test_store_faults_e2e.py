"""The real program (GUI offscreen and `listen`) started on a damaged or foreign history:
a corrupt or truncated file is moved aside with a timestamped name and the program says
where and carries on; a file from a newer version stops it with one clear sentence and
exit code 1, never a traceback."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign
from compass_listener.store import events
from compass_listener.store.events import EventStore



def make(body: bytes):
    import hashlib

    from compass_listener.core.delivery import Delivery

    return Delivery(received_at=time.time(), route="/compassdefect", route_label="Defect",
                    peer="127.0.0.1", method="POST", path="/compassdefect", headers=[],
                    body=body, body_sha256=hashlib.sha256(body).hexdigest(),
                    signature="valid", signature_detail="", parse_status="ok",
                    parse_problem="", record_type="Defect", record_id="R1", state="",
                    headline="", owner="", reply_status=200, reply_body="", accepted=True)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "faults-e2e-secret"
LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:\d+/\S*)")


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(ROOT), COMPASS_LISTENER_HOME=str(home),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1", FAULT_SECRET=SECRET)
    return env


def _garbage(db: Path) -> bytes:
    db.write_bytes(b"\x00garbage, not SQLite\xff" * 300)
    return b"\x00garbage"


def _truncated(db: Path) -> bytes:
    store = EventStore(db)
    store.open()
    for i in range(200):
        store.append_now(make(body=b"%d" % i * 700))
    store.close()
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3 + 77])
    return b"SQLite format 3\x00"


def _newer(db: Path) -> None:
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, body BLOB)")
    conn.execute(f"PRAGMA user_version={events.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()


def _post(url: str) -> int:
    body = sample_body(url, index=3, seed=3)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "X-Compass-Signature": sign(body, SECRET)})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
def test_listen_moves_a_damaged_history_aside_and_says_where(tmp_path, damage):
    db = tmp_path / "history.sqlite3"
    start = damage(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "compass_listener", "listen", "--port", "0", "--secret-env",
         "FAULT_SECRET"], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        match = LISTENING.match(first)
        assert match, (first, proc.stderr.read() if proc.poll() is not None else "")
        assert _post(match.group(1)) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    moved = list(tmp_path.glob("history.corrupt-*.sqlite3"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(start)
    assert f"the history was unreadable and was moved to {moved[0]}" in err
    assert "a new one was started" in err and "Traceback" not in err
    fresh = EventStore(db)
    try:
        assert fresh.open().moved_aside is None and fresh.count() == 1   # healthy, kept it
    finally:
        fresh.close()


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
@pytest.mark.parametrize("command", [["events"], ["events", "--json"], ["export"],
                                     ["export", "--format", "csv"]])
def test_read_only_commands_say_a_history_is_damaged_and_leave_it_alone(tmp_path, damage,
                                                                        command):
    db = tmp_path / "history.sqlite3"
    damage(db)
    (tmp_path / "logs").mkdir()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    out = subprocess.run([sys.executable, "-m", "compass_listener", *command], cwd=ROOT,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith(f"compass-listener: the history {db} is damaged")
    assert "`compass-listener listen` to move it aside" in lines[0]
    assert out.stdout == "" and "no deliveries stored yet" not in out.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before          # nothing moved, created or changed


@pytest.mark.parametrize("command", [["events"], ["export"]])
def test_read_only_commands_leave_no_files_beside_an_intact_history(tmp_path, command):
    db = tmp_path / "history.sqlite3"
    store = EventStore(db)
    store.open()
    store.append_now(make(b'{"content": {}}'))
    store.close()
    (tmp_path / "logs").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    out = subprocess.run([sys.executable, "-m", "compass_listener", *command], cwd=ROOT,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "R1" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before     # no -wal, no -shm


@pytest.mark.parametrize("command", [["listen", "--port", "0"], ["events"], ["export"]])
def test_headless_commands_refuse_a_history_from_a_newer_version_in_one_sentence(tmp_path,
                                                                                  command):
    db = tmp_path / "history.sqlite3"
    _newer(db)
    out = subprocess.run([sys.executable, "-m", "compass_listener", *command], cwd=ROOT,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "newer version of Compass Listener" in lines[0], out.stderr
    assert str(db) in lines[0] and "Traceback" not in out.stderr
    assert db.exists() and not list(tmp_path.glob("history.corrupt-*"))


def test_the_gui_refuses_a_history_from_a_newer_version_in_one_sentence(tmp_path):
    db = tmp_path / "history.sqlite3"
    _newer(db)
    out = subprocess.run([sys.executable, "-m", "compass_listener", "--port", "0",
                          "--quit-after", "1"], cwd=ROOT, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out
    ours = [line for line in out.stderr.splitlines() if line.startswith("compass-listener:")]
    assert len(ours) == 1 and ours[0].startswith("compass-listener: the history "), out.stderr
    assert "newer version of Compass Listener" in ours[0] and str(db) in ours[0]
    assert "unexpected error" not in out.stderr and "Traceback" not in out.stderr
    # Told in a window too, not only on a terminal the desktop user never sees.
    log = (tmp_path / "logs" / "compass-listener.log").read_text()
    assert "cannot start: the history" in log
    assert db.exists() and not list(tmp_path.glob("history.corrupt-*"))


def test_the_gui_moves_a_corrupt_history_aside_and_keeps_serving(tmp_path):
    db = tmp_path / "history.sqlite3"
    _garbage(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "compass_listener", "--port", str(port),
                             "--secret-env", "FAULT_SECRET"], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                assert _post(f"http://127.0.0.1:{port}/compassdefect") == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the GUI never listened"
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    moved = list(tmp_path.glob("history.corrupt-*.sqlite3"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"\x00garbage")
    log = (tmp_path / "logs" / "compass-listener.log").read_text()
    assert f"moving it to {moved[0]}" in log
