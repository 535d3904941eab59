"""Soak driver: the GUI's own controller (Qt-hosted listener on the GUI's event loop, offscreen)
receives N signed deliveries at concurrency C, and reports throughput and peak RSS.

Run as a subprocess by test_soak.py, so that a crash of the interpreter (the PySide6 6.12 /
Python 3.11 refcount abort, or its like) fails the test instead of killing pytest. The
sender is a second process (this file with --client) on a plain asyncio loop: the listener's
process holds only what the app holds, so its RSS is the app's, and the two share the
machine's cores instead of one qasync thread. Prints one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

SECRET = "soak-secret"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rss-mark", type=int, default=0,
                        help="also report peak RSS when this many deliveries were stored")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.client:
        figures = asyncio.run(_send(opts.client, opts.count, opts.concurrency))
        print(json.dumps(figures), flush=True)
        return 0
    return _serve(opts)


async def _send(url: str, count: int, concurrency: int) -> dict:
    """The sender: `count` signed deliveries with unique bodies, `concurrency` at a time."""
    import aiohttp

    from compass_listener.core import sample
    from compass_listener.core.signature import sign

    bodies = [sample.sample_body(url, index=i) for i in range(200)]
    statuses: dict[int, int] = {}
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < count:
            i, next_index = next_index, next_index + 1
            # Unique bodies, so none is folded as a duplicate.
            body = bodies[i % len(bodies)][:-1] + f', "soak": {i}}}'.encode()
            headers = {"X-Compass-Signature": sign(body, SECRET),
                       "Content-Type": "application/json"}
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
            except aiohttp.ClientError as exc:
                status = f"{type(exc).__name__}"
            statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {"statuses": {str(k): v for k, v in statuses.items()}, "seconds": round(elapsed, 2),
            "per_second": round(count / elapsed, 1)}


def _serve(opts) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from compass_listener.app.qt_loop import new_event_loop
    from PySide6.QtWidgets import QApplication

    from compass_listener.app.controller import AppController
    from compass_listener.cli import build_parser

    os.environ["SOAK_SECRET"] = SECRET
    args = build_parser().parse_args(["--port", "0", "--secret-env", "SOAK_SECRET"])
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    figures: dict = {}
    stored = 0
    peak_at_mark = 0

    def counted(_delivery) -> None:
        nonlocal stored, peak_at_mark
        stored += 1
        if stored == opts.rss_mark:
            peak_at_mark = _peak_rss()

    async def drive(controller: AppController) -> None:
        try:
            await _drive(controller)
        finally:
            controller.request_quit()

    async def _drive(controller: AppController) -> None:
        while not controller.listener.running:
            await asyncio.sleep(0.05)
        controller.listener.on_delivery(counted)
        url = controller.listener.urls[0]
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", url, "--count", str(opts.count),
             "--concurrency", str(opts.concurrency)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while client.poll() is None:
            await asyncio.sleep(0.2)
        out, err = client.communicate()
        if client.returncode != 0:
            raise SystemExit(f"the sender failed ({client.returncode}): {err[-2000:]}")
        sent = json.loads(out.strip().splitlines()[-1])
        await asyncio.sleep(0.3)   # let the model's batch timer insert the last rows
        controller.window.model.flush_pending()
        figures.update(
            sent=opts.count, **sent, stored=controller.store.count(),
            answered_here=stored, model_rows=controller.window.model.rowCount(),
            model_loaded_rows=controller.window.model.loaded_rows,
            server_cpu_s=round(sum(os.times()[:2]), 1),
            peak_rss_mb=round(_peak_rss() / 2**20, 1),
            peak_rss_at_mark_mb=round(peak_at_mark / 2**20, 1) if peak_at_mark else None,
            python=sys.version.split()[0])

    with loop:
        controller = AppController(app, args)
        task = loop.create_task(drive(controller))
        loop.run_until_complete(controller.run())
        if task.done() and task.exception():
            raise task.exception()
    print(json.dumps(figures), flush=True)
    return 0


def _peak_rss() -> int:
    """The process's peak resident set so far (bytes)."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except ImportError:
        import psutil
        return psutil.Process().memory_info().peak_wset


if __name__ == "__main__":
    sys.exit(main())
