"""`listen` honours the history limit from the settings file (old deliveries trimmed at a
quiet moment, the user told on stderr), and `export` runs as a real command."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from compass_listener.core.delivery import Delivery
from compass_listener.core.export_format import body_bytes
from compass_listener.store.events import EventStore
from compass_listener.store.settings import Settings, save_settings

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(ROOT), COMPASS_LISTENER_HOME=str(home),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", PYTHONUNBUFFERED="1")
    return env


def _delivery(body: bytes, age_days: float) -> Delivery:
    return Delivery(received_at=time.time() - age_days * DAY, route="/compassdefect",
                    route_label="Defect", peer="127.0.0.1", method="POST",
                    path="/compassdefect", headers=[("Content-Type", "application/json")],
                    body=body, body_sha256=hashlib.sha256(body).hexdigest(),
                    signature="unsigned", signature_detail="", parse_status="not_json",
                    parse_problem="", record_type="Defect", record_id="", state="",
                    headline="", owner="", reply_status=200, reply_body="", accepted=True)


def _fill(home: Path, old: int, new: int) -> None:
    store = EventStore(home / "history.sqlite3")
    store.open()
    for i in range(old):
        store.append_now(_delivery(b"old %d \xff" % i, 40))
    for i in range(new):
        store.append_now(_delivery(b"new %d" % i, 0))
    store.close()


def _count(home: Path) -> int:
    conn = sqlite3.connect(str(home / "history.sqlite3"))
    try:
        return conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    finally:
        conn.close()


def test_listen_trims_to_the_history_limit_in_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path))
    _fill(tmp_path, old=30, new=4)
    save_settings(Settings(history_keep_days=30))
    proc = subprocess.Popen([sys.executable, "-m", "compass_listener", "listen", "--port", "0"],
                            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("listening on ")
        deadline = time.monotonic() + 20
        while _count(tmp_path) != 4:
            assert time.monotonic() < deadline, f"not trimmed: {_count(tmp_path)} rows"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "keeping 30 days of history" in err and "compass-listener export" in err


def test_listen_keeps_everything_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path))
    _fill(tmp_path, old=5, new=1)
    proc = subprocess.Popen([sys.executable, "-m", "compass_listener", "listen", "--port", "0"],
                            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("listening on ")
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert _count(tmp_path) == 6 and "keeping" not in err


def test_export_command_csv_to_stdout_round_trips_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path))
    _fill(tmp_path, old=2, new=1)
    out = subprocess.run([sys.executable, "-m", "compass_listener", "export", "--format", "csv"],
                         cwd=ROOT, env=_env(tmp_path), capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout.decode("utf-8"), newline="")))
    assert [body_bytes(r["body_encoding"], r["body"]) for r in rows] == \
        [b"old 0 \xff", b"old 1 \xff", b"new 0"]
    bad = subprocess.run([sys.executable, "-m", "compass_listener", "export", "--since", "soon"],
                         cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2 and "--since 'soon' is not a date" in bad.stderr
