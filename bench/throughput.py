"""Figure 1: burst throughput (deliveries/s) of the full GUI-hosted app vs a bare aiohttp
server and HCL's ten-line Flask receiver, all driven by wrk at concurrency 20.

The app is the real program (`python -m compass_listener`, offscreen) with a secret, so each
request is verified, parsed, committed (synchronous=FULL, group commit), put in the table
model and offered to notification folding before it is answered. Rounds rotate the order of
the three servers, so drift in the machine's speed hits all of them alike.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

SERVERS = {
    "app": "GUI-hosted Compass Listener",
    "aiohttp": "bare aiohttp, constant reply",
    "flask": "ten-line Flask receiver (dev server)",
}


def write_bodies(path: Path, url: str, count: int) -> Path:
    with open(path, "wb") as f:
        for body, sig in common.signed_bodies(url, count):
            f.write(sig.encode() + b"\t" + body + b"\n")
    return path


def wrk(url: str, bodies: Path, seconds: float, connections: int = 20) -> dict:
    """One wrk run; one wrk thread is plenty (it is C) and leaves the other core's share to
    the server under test."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
           "-s", str(common.BENCH / "wrk_post.lua"), url, "--", str(bodies)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def start(kind: str, port: int) -> tuple[subprocess.Popen, Path | None]:
    home = None
    if kind == "app":
        home = common.tmpdir("tp-app-")
        proc = common.spawn([common.PY, "-m", "compass_listener", "--port", str(port),
                             "--secret-env", "BENCH_SECRET"], env=common.app_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    else:
        script = {"aiohttp": "bare_aiohttp.py", "flask": "flask_receiver.py"}[kind]
        proc = common.spawn([common.PY, str(common.BENCH / "servers" / script), str(port)],
                            env=common.app_env(common.DATA), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    common.wait_port(port)
    return proc, home


def work_floor(bodies: int = 200, repeat: int = 5) -> dict:
    """The per-delivery CPU time of the work the app must do on its event loop and that a
    constant-reply server does not: verify the HMAC over the raw body and parse the ~40-field
    payload, plus building the stored record (sha256). Measured in this process, no I/O.
    With aiohttp's own per-request time (1 / the bare server's rate) it bounds what any
    single-loop receiver doing this work can reach: rate <= 1 / (1/bare + floor)."""
    from compass_listener.core.payload import parse_payload
    from compass_listener.core.signature import Scheme, verify
    import hashlib

    items = common.signed_bodies("http://127.0.0.1:8080/compassdefect", bodies, seed=3)
    scheme = Scheme(learned_header=common.HEADER, learned_encoding="hex")
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for body, sig in items:
            verify(body, [(common.HEADER, sig)], common.SECRET, scheme, common.ROUTE)
            parse_payload(body, "Defect")
            hashlib.sha256(body).hexdigest()
        best = min(best, (time.perf_counter() - t) / len(items))
    return {"seconds_per_delivery": best}


def run(rounds: int = 5, seconds: float = 5.0, warmup: float = 1.0, bodies: int = 2000) -> dict:
    common.DATA.mkdir(parents=True, exist_ok=True)
    files = {}
    runs: dict[str, list] = {k: [] for k in SERVERS}
    for r in range(rounds):
        order = list(SERVERS)[r % 3:] + list(SERVERS)[:r % 3]
        for kind in order:
            port = common.free_port()
            url = f"http://127.0.0.1:{port}{common.ROUTE}"
            # Bodies name their own URL (webUrl), as Compass's do; the port changes per run,
            # but the size does not, so one file per kind is signed once and reused.
            if kind not in files:
                files[kind] = write_bodies(common.DATA / f"wrk-bodies-{kind}.txt", url, bodies)
            proc, home = start(kind, port)
            try:
                if warmup:
                    wrk(url, files[kind], warmup)      # JIT-free, but caches and pools warm up
                res = wrk(url, files[kind], seconds)
            finally:
                common.stop(proc)
            if home is not None:
                db = home / "history.sqlite3"
                with sqlite3.connect(db) as conn:
                    res["stored"] = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
                    res["accepted"] = conn.execute(
                        "SELECT COUNT(*) FROM deliveries WHERE accepted=1 AND signature='valid'"
                    ).fetchone()[0]
                common.remove(home)
            runs[kind].append(res)
            print(f"  throughput round {r + 1} {kind}: {res['rps']:.0f}/s", file=sys.stderr)
    med = {k: common.median(x["rps"] for x in v) for k, v in runs.items()}
    # Ratios per round (same minute of machine time), then their median.
    ratio_a = common.median(a["rps"] / b["rps"] for a, b in zip(runs["app"], runs["aiohttp"]))
    ratio_b = common.median(a["rps"] / b["rps"] for a, b in zip(runs["app"], runs["flask"]))
    floor = work_floor()["seconds_per_delivery"]
    bound = 1 / (1 / med["aiohttp"] + floor)
    return {"runs": runs, "median_rps": med, "work_floor_us": floor * 1e6,
            "bound_rps": bound, "bound_ratio_vs_aiohttp": bound / med["aiohttp"], "ratio_vs_aiohttp": ratio_a,
            "ratio_vs_flask": ratio_b, "rounds": rounds, "seconds": seconds,
            "concurrency": 20, "bodies": bodies}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
