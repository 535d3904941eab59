"""Figure 5: start-up, from process spawn to accepting deliveries: headless `listen` and the
GUI, against `python -c "import PySide6.QtWidgets"` (the floor any Qt app pays),
`python -c "import asyncio, aiohttp.web"` (the floor any aiohttp listener pays) and
`python -c pass` (the interpreter alone), all measured in the same run.

"Accepting deliveries" is the moment the listening socket accepts a TCP connection, polled
every 2 ms by this script; the interpreter floors are timed to their exit. Each command
gets a fresh, empty data folder. Runs are interleaved so that machine noise hits all alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

COMMANDS = {
    "python": [common.PY, "-c", "pass"],
    "qt_floor": [common.PY, "-c", "import PySide6.QtWidgets"],
    # The floor of any aiohttp listener: aiohttp imports its client with the server and
    # builds two default SSL contexts (loading the system's CA certificates) on import.
    "aiohttp_floor": [common.PY, "-c", "import asyncio, aiohttp.web"],
    "listen": [common.PY, "-m", "compass_listener", "listen", "--port", "{port}",
               "--secret-env", "BENCH_SECRET"],
    "gui": [common.PY, "-m", "compass_listener", "--port", "{port}",
            "--secret-env", "BENCH_SECRET"],
}


def once(kind: str) -> float:
    home = common.tmpdir(f"start-{kind}-")
    port = common.free_port()
    cmd = [a.replace("{port}", str(port)) for a in COMMANDS[kind]]
    t0 = time.monotonic()
    proc = common.spawn(cmd, env=common.app_env(home), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    try:
        if "{port}" not in " ".join(COMMANDS[kind]):
            proc.wait()
            return time.monotonic() - t0
        return common.wait_port(port) - t0
    finally:
        common.stop(proc)
        common.remove(home)


def run(rounds: int = 7) -> dict:
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(1):
        for kind in COMMANDS:        # one untimed round: the page cache holds every file
            once(kind)
    for r in range(rounds):
        for kind in COMMANDS:
            times[kind].append(once(kind))
    med = {k: common.median(v) for k, v in times.items()}
    print("  startup medians: " + ", ".join(f"{k} {v:.3f} s" for k, v in med.items()),
          file=sys.stderr)
    return {"rounds": rounds, "runs": times, "median_s": med,
            "gui_over_qt_floor": med["gui"] / med["qt_floor"],
            "listen_over_python": med["listen"] / med["python"],
            "listen_over_aiohttp_floor": med["listen"] / med["aiohttp_floor"],
            "gui_minus_qt_floor_s": med["gui"] - med["qt_floor"]}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
