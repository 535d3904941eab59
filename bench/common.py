"""Shared helpers for the benchmarks: payloads, processes, ports, timing and the machine.

Every benchmark measures the app and its baseline in the same run, as the machine is noisy;
these helpers keep the way they are started and timed identical for both.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Generated stores and raw results: never committed (BENCH_DATA moves them, e.g. for tests).
DATA = Path(os.environ.get("BENCH_DATA") or BENCH / ".data")
PY = sys.executable
SECRET = "bench-secret"
HEADER = "X-Compass-Signature"
ROUTE = "/compassdefect"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, interval: float = 0.002) -> float:
    """Poll until the port accepts a connection; returns time.monotonic() when it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.monotonic()
        except OSError:
            time.sleep(interval)
    raise TimeoutError(f"nothing accepted connections on port {port} within {timeout} s")


def app_env(home: Path, **extra: str) -> dict:
    """The environment of an app process: its own data folder, offscreen Qt, no keyring
    (a keyring daemon would add its own start-up time and prompts)."""
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(COMPASS_LISTENER_HOME=str(home), QT_QPA_PLATFORM="offscreen",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               BENCH_SECRET=SECRET, PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def signed_bodies(url: str, count: int, seed: int = 5) -> list[tuple[bytes, str]]:
    """`count` distinct realistic Compass payloads (~40 fields, 3-8 KB) with their HMAC."""
    from compass_listener.core.sample import sample_body
    from compass_listener.core.signature import sign

    out = []
    for i in range(count):
        body = sample_body(url, index=i, seed=seed)
        out.append((body, sign(body, SECRET)))
    return out


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(values, p: float) -> float:
    """Nearest-rank percentile (p in 0..100), the usual reading of "p99"."""
    values = sorted(values)
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def tmpdir(prefix: str) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=DATA))


def remove(path: Path | None) -> None:
    """Remove a throw-away data folder (the raw runs fill the disk otherwise)."""
    import shutil
    if path is not None and Path(path).is_relative_to(DATA):
        shutil.rmtree(path, ignore_errors=True)


def spawn(args: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, **kw)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_json_line(proc: subprocess.Popen, prefix: str = "{", timeout: float = 120):
    """The next stdout line of a child that starts with `prefix`, parsed as JSON."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child exited ({proc.poll()}) before printing {prefix!r}")
        line = line.decode() if isinstance(line, bytes) else line
        if line.startswith(prefix):
            return json.loads(line[len(prefix) - 1:] if prefix != "{" else line)
    raise TimeoutError(prefix)


def versions() -> dict:
    from importlib import metadata
    import sqlite3

    out = {"Python": platform.python_version(), "SQLite": sqlite3.sqlite_version}
    for dist in ("PySide6-Essentials", "qasync", "aiohttp", "Flask", "Werkzeug", "psutil"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        out["wrk"] = (wrk.stdout + wrk.stderr).split("\n")[0].split(" [")[0].strip()
    except OSError:
        out["wrk"] = "not installed"
    return out


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        import psutil
        mem = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu or platform.processor(), "memory": mem,
            "os": platform.platform()}


def peak_rss_mb() -> float:
    """This process's peak resident set size. Linux keeps ru_maxrss across exec, so a child
    spawned by a big parent reports the parent's size (a history generated in the
    orchestrator made every GUI host "367 MB"); VmHWM belongs to the address space that
    exec starts afresh."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
