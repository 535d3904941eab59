"""Figure 4: scale of history: a 1,000,000-delivery store, measured for cold start to window
shown and listening, filtering for a text that matches 0.1% of rows, scrolling to the end
of the table, peak RSS, and size on disk per delivery.

Baseline: the same measurements on a 10,000-delivery store made by the same generator in
the same run; the ratio says how much a year of history costs over a fresh install.
Cold start is the real program (`python -m compass_listener`, offscreen) from process spawn
to its listening socket accepting a connection (the window is shown just before the
listener starts); the page cache is left warm, as after a normal log-in. Filter, scroll
and RSS are measured in the GUI host (bench/gui_host.py), the same AppController.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402
from bench import make_history  # noqa: E402


def history(count: int) -> tuple[Path, dict]:
    """A data folder holding a generated history of `count` rows, reused across runs while
    the store's schema version is the same (generating a million rows takes minutes)."""
    from compass_listener.store.events import SCHEMA_VERSION

    home = common.DATA / f"history-{count}-v{SCHEMA_VERSION}"
    meta = home / "generated.json"
    if meta.exists():
        return home, json.loads(meta.read_text())
    home.mkdir(parents=True, exist_ok=True)
    info = make_history.generate(home / "history.sqlite3", count)
    meta.write_text(json.dumps(info))
    return home, info


def disk_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("history.sqlite3*"))


def cold_start(home: Path) -> float:
    port = common.free_port()
    t0 = time.monotonic()
    proc = common.spawn([common.PY, "-m", "compass_listener", "--port", str(port),
                         "--secret-env", "BENCH_SECRET"], env=common.app_env(home),
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = common.wait_port(port, timeout=120)
    finally:
        common.stop(proc, timeout=60)
    return ready - t0


def interact(home: Path, needle: str, scroll_cap: float) -> dict:
    from bench.responsiveness import finish_host, start_host

    t0 = time.monotonic()
    proc, ready = start_host("--scale", needle, "--scroll-cap", str(scroll_cap), home=home)
    try:
        result = finish_host(proc, timeout=scroll_cap + 300)
    finally:
        common.stop(proc, timeout=60)
    keep = ("filter_ms", "filter_rows", "filter_label", "scroll_ms", "scroll_reached_end",
            "scroll_steps", "scroll_model_rows", "peak_rss_mb")
    out = {k: result.get(k) for k in keep}
    out["start_to_ready_s"] = ready["at"] - t0
    return out


def run(count: int = 1_000_000, base_count: int = 10_000, rounds: int = 3,
        scroll_cap: float = 30.0) -> dict:
    figures = {}
    for label, n in (("big", count), ("base", base_count)):
        home, info = history(n)
        starts, acts = [], []
        for r in range(rounds):
            starts.append(cold_start(home))
            acts.append(interact(home, info["needle"], scroll_cap))
            print(f"  scale {n:,} round {r + 1}: start {starts[-1]:.2f} s, filter "
                  f"{acts[-1]['filter_ms']:.0f} ms ({acts[-1]['filter_rows']} rows), scroll "
                  f"{acts[-1]['scroll_ms']:.0f} ms (end reached: "
                  f"{acts[-1]['scroll_reached_end']}), RSS {acts[-1]['peak_rss_mb']:.0f} MB",
                  file=sys.stderr)
        size = disk_bytes(home)
        figures[label] = {
            "count": n, "generated": info, "cold_start_s": common.median(starts),
            "cold_starts": starts,
            "filter_ms": common.median(a["filter_ms"] for a in acts),
            "filter_rows": acts[0]["filter_rows"], "needle_rows": info["needle_rows"],
            "scroll_ms": common.median(a["scroll_ms"] for a in acts),
            "scroll_reached_end": all(a["scroll_reached_end"] for a in acts),
            "scroll_model_rows": acts[0]["scroll_model_rows"],
            "peak_rss_mb": common.median(a["peak_rss_mb"] for a in acts),
            "runs": acts, "disk_bytes": size, "bytes_per_delivery": size / n,
            "body_bytes_per_delivery": info["body_bytes"] / n,
        }
    return {"rounds": rounds, **figures}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
