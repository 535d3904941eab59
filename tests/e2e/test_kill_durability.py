"""A 200 means the delivery is on disk: the real program (GUI offscreen, and headless
`listen`) is SIGKILLed in the middle of 2,000 signed deliveries at concurrency 50, then
restarted; every delivery that was answered 200 must be in the history, byte for byte.

Deliveries that got no 200 may or may not be stored (Compass retries them). The kill moment
is drawn from a seeded generator, so each run kills at a different, repeatable point.
A SIGKILL loses what the process had not yet written; it cannot lose what the OS already
has, so this catches "answered before committed", not a missing fsync (see store/events.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign

ROOT = Path(__file__).resolve().parents[2]
SECRET = "kill-test-secret"
TOTAL = 2000
CONCURRENCY = 50
LISTENING = re.compile(r'^\{"event": "listening", "urls": \["http://127\.0\.0\.1:(\d+)/')  # --json
# (host, seed): three kill moments per host.
RUNS = [(host, seed) for host in ("gui", "listen") for seed in (1, 2, 3)]


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(ROOT), COMPASS_LISTENER_HOME=str(home),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1", KILL_SECRET=SECRET)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Program:
    """The real program as a subprocess; output goes to files (a full pipe would stall it)."""

    def __init__(self, host: str, home: Path, run: int):
        self.out = (home / f"out-{run}.txt").open("w+")
        self.err = (home / f"err-{run}.txt").open("w+")
        if host == "gui":
            self.port = _free_port()
            args = ["--port", str(self.port), "--secret-env", "KILL_SECRET"]
        else:
            self.port = 0
            args = ["listen", "--port", "0", "--json", "--secret-env", "KILL_SECRET"]
        self.proc = subprocess.Popen([sys.executable, "-m", "compass_listener", *args],
                                     cwd=ROOT, env=_env(home), stdout=self.out, stderr=self.err)
        self._wait_listening()

    def _wait_listening(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the program exited early: {self.stderr()}"
            if self.port == 0:
                self.out.seek(0)
                match = LISTENING.match(self.out.readline())
                if match:
                    self.port = int(match.group(1))
                    return
            else:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"the program never started listening: {self.stderr()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/compassdefect"

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read()[-3000:]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.out.close()
        self.err.close()


def _body(url: str, index: int) -> bytes:
    # sample_body varies the record; the index makes every body unique (no duplicates).
    base = sample_body(url, index=index % 50, seed=index % 50)
    return base[:-1] + f', "kill_test_index": {index}}}'.encode()


async def _send_until_killed(program: Program, kill_after: int) -> tuple[dict[int, bytes], int]:
    """Send TOTAL deliveries; SIGKILL the program once `kill_after` have been answered 200.
    Returns the bodies answered 200 (by index) and how many requests were sent."""
    bodies = [_body(program.url, i) for i in range(TOTAL)]
    acked: dict[int, bytes] = {}
    next_index = 0
    sent = 0
    killed = False

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index, sent, killed
        while not killed and next_index < TOTAL:
            i, next_index = next_index, next_index + 1
            body = bodies[i]
            sent += 1
            try:
                async with session.post(program.url, data=body, headers={
                        "X-Compass-Signature": sign(body, SECRET),
                        "Content-Type": "application/json"}) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, asyncio.TimeoutError):
                continue        # the program is gone: no 200, Compass would retry
            if status == 200:
                acked[i] = body
                if len(acked) >= kill_after and not killed:
                    killed = True
                    program.proc.send_signal(signal.SIGKILL)
            else:
                raise AssertionError(f"delivery {i} answered {status} before the kill")

    timeout = aiohttp.ClientTimeout(total=15)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    assert killed, f"all {TOTAL} deliveries were answered before the kill point {kill_after}"
    return acked, sent


def _stored_bodies(database: Path) -> list[bytes]:
    conn = sqlite3.connect(str(database))
    try:
        return [bytes(row[0]) for row in conn.execute("SELECT body FROM deliveries")]
    finally:
        conn.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("host,seed", RUNS, ids=[f"{h}-seed{s}" for h, s in RUNS])
async def test_every_delivery_answered_200_survives_a_sigkill(tmp_path, host, seed):
    started = time.monotonic()
    home = tmp_path / "home"
    home.mkdir()
    kill_after = random.Random(seed).randint(TOTAL // 5, TOTAL * 4 // 5)
    program = Program(host, home, run=1)
    try:
        acked, sent = await _send_until_killed(program, kill_after)
        assert program.proc.wait(10) == -signal.SIGKILL
    finally:
        program.close()

    # Restart the program on the same history: it must open it (no "moved aside") and
    # keep working; then stop it cleanly and read the file.
    again = Program(host, home, run=2)
    try:
        after = _body(again.url, TOTAL + 1)
        async with aiohttp.ClientSession() as session:
            async with session.post(again.url, data=after, headers={
                    "X-Compass-Signature": sign(after, SECRET)}) as resp:
                assert resp.status == 200, await resp.text()
        assert again.stop() == 0, again.stderr()
        assert "moved" not in again.stderr()
    finally:
        again.close()

    database = home / "history.sqlite3"
    assert not list(home.glob("history.corrupt-*")), "the history was moved aside"
    stored = _stored_bodies(database)
    stored_set = set(stored)
    missing = [i for i, body in acked.items() if body not in stored_set]
    unacked_stored = len(stored_set - set(acked.values()) - {after})
    print(f"\nkill run {host} seed {seed}: killed after {kill_after} acks; sent {sent}, "
          f"acked {len(acked)}, stored {len(stored) - 1} (+1 after restart), "
          f"acked but missing {len(missing)}, stored without a 200 {unacked_stored}, "
          f"{time.monotonic() - started:.1f} s")
    assert not missing, f"{len(missing)} deliveries answered 200 were lost: {missing[:10]}"
    assert len(stored) == len(stored_set), "a delivery was stored twice"
    assert after in stored_set
