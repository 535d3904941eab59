"""Figure 1: burst throughput (deliveries/s) of the full GUI-hosted app vs a bare aiohttp
server and HCL's ten-line Flask receiver, all driven by wrk at concurrency 20.

The app is the real program (`python -m compass_listener`, offscreen) with a secret, so each
request is verified, parsed, committed (synchronous=FULL, group commit), put in the table
model and offered to notification folding before it is answered. Rounds rotate the order of
the three servers, so drift in the machine's speed hits all of them alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import threading
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
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    # wrk is the only child reaped during the run (the servers outlive it).
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"rps": rps, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else "",
            "wrk_cpu_us": cpu / max(total, 1) * 1e6}


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of a process: its main thread (where the GUI,
    asyncio and aiohttp run), the user-space part of that (the kernel's part is the
    socket system calls, made without the GIL), and all its other threads together (the
    store's writer and checkpointer, Qt's helpers)."""
    import psutil
    out = {"main": 0.0, "main_user": 0.0, "others": 0.0}
    for t in psutil.Process(pid).threads():
        if t.id == pid:
            out["main"] += t.user_time + t.system_time
            out["main_user"] += t.user_time
        else:
            out["others"] += t.user_time + t.system_time
    return out


def timed_wrk(proc: subprocess.Popen, url: str, bodies: Path, seconds: float) -> dict:
    """wrk's figures plus the server's CPU per request in the timed part, by thread."""
    start = thread_cpu(proc.pid)
    res = wrk(url, bodies, seconds)
    end = thread_cpu(proc.pid)
    n = max(res["requests"], 1)
    res["server_cpu_us"] = {k: (end[k] - start[k]) / n * 1e6 for k in start}
    res["server_cpu_us"]["total"] = res["server_cpu_us"]["main"] + res["server_cpu_us"]["others"]
    res["main_busy"] = (end["main"] - start["main"]) / seconds
    return res


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
    payload's summary, plus building the stored record (sha256). Measured in this process,
    no I/O, best of `repeat`. `parse_seconds` is the parse alone: pure Python and json, so
    it holds the GIL throughout (CPython's hashlib lets the GIL go while it hashes more
    than 2 KB, so the HMAC and the sha256 of these bodies need not)."""
    from compass_listener.core.payload import parse_payload
    from compass_listener.core.signature import Scheme, verify
    import hashlib

    items = common.signed_bodies("http://127.0.0.1:8080/compassdefect", bodies, seed=3)
    scheme = Scheme(learned_header=common.HEADER, learned_encoding="hex")

    def best(step) -> float:
        fastest = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            for body, sig in items:
                step(body, sig)
            fastest = min(fastest, (time.perf_counter() - t) / len(items))
        return fastest

    def everything(body: bytes, sig: str) -> None:
        verify(body, [(common.HEADER, sig)], common.SECRET, scheme, common.ROUTE)
        parse_payload(body, "Defect", with_fields=False)    # as the listener does
        hashlib.sha256(body).hexdigest()

    return {"seconds_per_delivery": best(everything),
            "parse_seconds": best(lambda body, sig: parse_payload(body, "Defect",
                                                                  with_fields=False))}


def store_floor(appends: int = 4000, concurrency: int = 20) -> dict:
    """The CPU cost of storing alone: an EventStore in this process (synchronous=FULL, group
    commit, the app's settings) takes `appends` realistic deliveries from `concurrency`
    coroutines, as the listener's requests would give them. Returns the rate and the CPU
    per delivery of the store's own threads (the writer's SQLite work and fsyncs, the
    checkpointer), which no receiver that keeps every delivery durably can skip."""
    import hashlib
    import psutil
    from compass_listener.core.delivery import Delivery
    from compass_listener.store.events import EventStore

    items = common.signed_bodies("http://127.0.0.1:8080/compassdefect", 500, seed=11)
    home = common.tmpdir("store-floor-")
    store = EventStore(home / "history.sqlite3")
    store.open()
    me = psutil.Process()
    mine = threading.get_native_id()     # this thread runs the appenders, not the store

    def others() -> float:
        return sum(t.user_time + t.system_time for t in me.threads() if t.id != mine)

    async def main() -> float:
        left = appends

        async def appender(k: int) -> None:
            nonlocal left
            while left > 0:
                left -= 1
                body, sig = items[left % len(items)]
                body = body + b" " * (left // len(items))      # distinct, same size
                await store.append(Delivery(
                    received_at=time.time(), route=common.ROUTE, route_label="Defect",
                    peer="127.0.0.1", method="POST", path=common.ROUTE,
                    headers=[("Content-Type", "application/json"), (common.HEADER, sig)],
                    body=body, body_sha256=hashlib.sha256(body).hexdigest(),
                    signature="valid", signature_detail="ok", parse_status="ok",
                    parse_problem="", record_type="Defect", record_id=f"SAMPL{left:08d}",
                    state="Submitted", headline="bench", owner="bench", reply_status=200,
                    reply_body='{"message": "ok"}', accepted=True))

        t = time.perf_counter()
        await asyncio.gather(*(appender(k) for k in range(concurrency)))
        return time.perf_counter() - t

    try:
        before = others()
        elapsed = asyncio.run(main())
        cpu = others() - before
    finally:
        store.close()
        common.remove(home)
    return {"rate": appends / elapsed, "store_threads_cpu_us": cpu / appends * 1e6,
            "appends": appends, "concurrency": concurrency}


def bounds(med: dict, runs: dict, floor: dict, store: dict) -> dict:
    """What the measured costs allow on this machine (all per delivery, all measured in
    this run):
    - one process: aiohttp's user-space CPU per request (its Python and C parser, which
      hold the GIL) and the parse (pure Python) run under one GIL, so no receiver in one
      process can pass 1 / (that sum), on any number of cores;
    - the whole machine: aiohttp + floor + the store's threads + wrk's own CPU per
      request must fit in the cores; `cores_at_0_8` is what 0.8x the bare server needs."""
    bare_us = common.median(x["server_cpu_us"]["total"] for x in runs["aiohttp"])
    bare_user_us = common.median(x["server_cpu_us"]["main_user"] for x in runs["aiohttp"])
    wrk_us = common.median(x["wrk_cpu_us"] for x in runs["aiohttp"])
    floor_us = floor["seconds_per_delivery"] * 1e6
    parse_us = floor["parse_seconds"] * 1e6
    store_us = store["store_threads_cpu_us"]
    per_delivery_us = bare_us + floor_us + store_us + wrk_us
    app_main_us = common.median(x["server_cpu_us"]["main"] for x in runs["app"])
    cores = os.cpu_count() or 1
    return {
        "aiohttp_cpu_us": bare_us, "aiohttp_user_us": bare_user_us, "wrk_cpu_us": wrk_us,
        "work_floor_us": floor_us, "parse_us": parse_us,
        "store_cpu_us": store_us, "store_rate": store["rate"],
        "min_cpu_per_delivery_us": per_delivery_us, "cores": cores,
        "cores_at_0_8": 0.8 * med["aiohttp"] * per_delivery_us / 1e6,
        "machine_bound_rps": cores / (per_delivery_us / 1e6),
        "one_process_bound_rps": 1e6 / (bare_user_us + parse_us),
        "app_main_cpu_us": app_main_us,
        "app_main_busy": common.median(x["main_busy"] for x in runs["app"]),
        "app_others_cpu_us": common.median(x["server_cpu_us"]["others"] for x in runs["app"]),
        "app_main_bound_rps": 1e6 / app_main_us,
    }


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
                res = timed_wrk(proc, url, files[kind], seconds)
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
    floor = work_floor()
    # Enough appends that psutil's 10 ms ticks are a small part of the store's CPU.
    store = store_floor(appends=min(4000, max(1000, bodies * 2)))
    return {"runs": runs, "median_rps": med,
            "work_floor_us": floor["seconds_per_delivery"] * 1e6,
            "bounds": bounds(med, runs, floor, store), "ratio_vs_aiohttp": ratio_a,
            "ratio_vs_flask": ratio_b, "rounds": rounds, "seconds": seconds,
            "concurrency": 20, "bodies": bodies}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
