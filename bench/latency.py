"""Figure 3: latency at a steady 50 deliveries/s through the GUI-hosted app: request sent to
reply received, and request sent to the row being in the table model (p50/p99/max).

Baselines, in the same run: the same steady load, same client, against the bare aiohttp
server with a constant reply (bench/servers/bare_aiohttp.py), the floor of request-to-reply
without storing; and, meanwhile, an 8 KB append + fsync at the same rate, the floor of a
durable commit on this disk (the app answers 200 only after its COMMIT's fsync). The client sends open-loop (request i at start + i/50 s), so a slow reply
never slows the load down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402
from bench.responsiveness import bodies_file, finish_host, loadgen, start_host  # noqa: E402


def stats(values: list[float]) -> dict:
    return {"p50_ms": common.percentile(values, 50), "p99_ms": common.percentile(values, 99),
            "max_ms": max(values) if values else float("nan"), "n": len(values)}


def one_app(count: int, rate: float, bodies: Path, offset: int) -> dict:
    proc, ready = start_host("--expect", str(count), "--row-times")
    try:
        load = loadgen(ready["url"], bodies, count, "--rate", str(rate), "--offset",
                       str(offset))
        result = finish_host(proc)
    finally:
        common.stop(proc)
    rows = result["row_times"]
    reply = [(r - s) * 1000 for _, s, r in load["timings"]]
    to_row = [(rows[rid] - s) * 1000 for rid, s, _ in load["timings"] if rid in rows]
    return {"reply": stats(reply), "row": stats(to_row), "statuses": load["statuses"],
            "rows_seen": len(to_row)}


def fsync_probe(stop: threading.Event, rate: float, out: list) -> None:
    """What one durable commit costs on this disk right now: append ~8 KB (a delivery's
    WAL frames) and fsync, at the same rate. The app must fsync before every 200 (Compass
    deletes its copy on a 200), so this distribution is a floor under its reply times."""
    path = common.tmpdir("fsync-") / "probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while not stop.wait(1 / rate):
            os.write(fd, b"x" * 8192)
            t = time.perf_counter()
            os.fsync(fd)
            out.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        common.remove(path.parent)


def one_bare(count: int, rate: float, bodies: Path) -> dict:
    port = common.free_port()
    proc = common.spawn([common.PY, str(common.BENCH / "servers" / "bare_aiohttp.py"),
                         str(port)], stdout=subprocess.DEVNULL)
    fsyncs: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=fsync_probe, args=(stop, rate, fsyncs))
    try:
        common.wait_port(port)
        probe.start()          # the bare server never touches the disk: measure it meanwhile
        load = loadgen(f"http://127.0.0.1:{port}{common.ROUTE}", bodies, count,
                       "--rate", str(rate))
    finally:
        stop.set()
        if probe.is_alive():
            probe.join()
        common.stop(proc)
    return {"reply": stats([(r - s) * 1000 for _, s, r in load["timings"]]),
            "fsync": stats(fsyncs)}


def run(seconds: float = 20, rate: float = 50, rounds: int = 3) -> dict:
    count = max(1, int(seconds * rate))
    bodies = bodies_file(max(count * rounds, 100), seed=11)
    apps, bares = [], []
    for r in range(rounds):
        apps.append(one_app(count, rate, bodies, offset=r * count))
        bares.append(one_bare(count, rate, bodies))
        print(f"  latency round {r + 1}: reply p99 {apps[-1]['reply']['p99_ms']:.1f} ms, "
              f"row p99 {apps[-1]['row']['p99_ms']:.1f} ms, bare reply p99 "
              f"{bares[-1]['reply']['p99_ms']:.1f} ms", file=sys.stderr)
    med = {f"{what}_{k}": common.median(a[what][k] for a in apps)
           for what in ("reply", "row") for k in ("p50_ms", "p99_ms", "max_ms")}
    med.update({f"bare_reply_{k}": common.median(b["reply"][k] for b in bares)
                for k in ("p50_ms", "p99_ms", "max_ms")})
    med.update({f"fsync_{k}": common.median(b["fsync"][k] for b in bares)
                for k in ("p50_ms", "p99_ms", "max_ms")})
    return {"rate": rate, "seconds": seconds, "rounds": rounds, "app": apps, "bare": bares,
            "median": med}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
