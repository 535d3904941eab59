"""Figure 2: UI responsiveness during a 5,000-delivery burst: event-loop lag seen by a 10 ms
QTimer probe in the GUI-hosted app, and the time from the last reply to the last row.

Baseline: the same probe in the same app with no load, for as long as a burst takes, in the
same run; it shows what the timer itself jitters on this machine. The burst comes from two
client processes at concurrency 20 (bench/loadgen.py), never from the app's own loop.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402


def bodies_file(count: int, seed: int = 7) -> Path:
    """`count` distinct signed bodies (cached: signing 5,000 bodies takes a few seconds)."""
    path = common.DATA / f"bodies-{count}-{seed}.txt"
    if not path.exists():
        common.DATA.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for body, sig in common.signed_bodies("http://127.0.0.1:8080/compassdefect",
                                                  count, seed=seed):
                f.write(sig.encode() + b"\t" + body + b"\n")
        tmp.rename(path)
    return path


def start_host(*extra: str, home: Path | None = None) -> tuple[subprocess.Popen, dict]:
    temporary = home is None
    home = home or common.tmpdir("host-")
    proc = common.spawn([common.PY, str(common.BENCH / "gui_host.py"), *extra],
                        env=common.app_env(home), stdout=subprocess.PIPE)
    proc.temporary_home = home if temporary else None
    ready = common.read_json_line(proc, "READY {")
    return proc, ready


def finish_host(proc: subprocess.Popen, timeout: float = 300) -> dict:
    result = common.read_json_line(proc, "RESULT {", timeout=timeout)
    proc.wait(30)
    common.remove(proc.temporary_home)
    return result


def loadgen(url: str, bodies: Path, count: int, *extra: str) -> dict:
    out = subprocess.run([common.PY, str(common.BENCH / "loadgen.py"), "--url", url,
                          "--bodies", str(bodies), "--count", str(count), *extra],
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def lag_stats(lags: list, start: float, end: float) -> dict:
    values = [lag for when, lag in lags if start <= when <= end]
    return {"p50_ms": common.percentile(values, 50), "p99_ms": common.percentile(values, 99),
            "max_ms": max(values) if values else float("nan"), "ticks": len(values)}


def one_burst(count: int, bodies: Path) -> dict:
    proc, ready = start_host("--expect", str(count), "--probe-ms", "10")
    try:
        load = loadgen(ready["url"], bodies, count, "--concurrency", "20", "--procs", "2")
        result = finish_host(proc)
    finally:
        common.stop(proc)
    timings = load["timings"]
    first_sent = min(t[1] for t in timings)
    last_reply = max(t[2] for t in timings)
    last_row = result.get("last_row_at", float("nan"))
    out = lag_stats(result["lags"], first_sent, last_row)
    out.update(statuses=load["statuses"], rows=result["inserted"],
               burst_s=last_reply - first_sent, per_second=count / (last_reply - first_sent),
               last_reply_to_last_row_ms=(last_row - last_reply) * 1000)
    return out


def one_idle(seconds: float) -> dict:
    proc, ready = start_host("--idle", f"{seconds:.2f}", "--probe-ms", "10")
    try:
        result = finish_host(proc)
    finally:
        common.stop(proc)
    lags = result["lags"]
    return lag_stats(lags, ready["at"] + 0.2, lags[-1][0] if lags else ready["at"])


def run(count: int = 5000, rounds: int = 3) -> dict:
    bodies = bodies_file(count)
    bursts, idles = [], []
    for r in range(rounds):
        b = one_burst(count, bodies)
        bursts.append(b)
        idles.append(one_idle(max(1.0, b["burst_s"])))
        print(f"  responsiveness round {r + 1}: p99 {b['p99_ms']:.1f} ms, max "
              f"{b['max_ms']:.1f} ms, last row +{b['last_reply_to_last_row_ms']:.0f} ms "
              f"(idle p99 {idles[-1]['p99_ms']:.1f})", file=sys.stderr)
    med = {k: common.median(b[k] for b in bursts)
           for k in ("p50_ms", "p99_ms", "max_ms", "last_reply_to_last_row_ms", "per_second")}
    idle = {k: common.median(i[k] for i in idles) for k in ("p50_ms", "p99_ms", "max_ms")}
    return {"count": count, "rounds": rounds, "bursts": bursts, "idle": idles,
            "median": med, "median_idle": idle}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
