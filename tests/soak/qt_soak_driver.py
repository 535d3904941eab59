"""Soak driver: the GUI's own controller (Qt-hosted listener on the qasync loop, offscreen)
receives N signed deliveries at concurrency C from an aiohttp client in the same process.

Run as a subprocess by test_soak.py, so that a crash of the interpreter (the PySide6 6.12 /
Python 3.11 refcount abort, or its like) fails the test instead of killing pytest. Prints
one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rss-mark", type=int, default=0,
                        help="also report peak RSS when this many deliveries were answered")
    opts = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import aiohttp
    import psutil
    import qasync
    from PySide6.QtWidgets import QApplication

    from compass_listener.app.controller import AppController
    from compass_listener.cli import build_parser
    from compass_listener.core.signature import sign

    from compass_listener.core import sample

    secret = "soak-secret"
    os.environ["SOAK_SECRET"] = secret
    args = build_parser().parse_args(["--port", "0", "--secret-env", "SOAK_SECRET"])
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    proc = psutil.Process()
    figures: dict = {}

    async def drive(controller: AppController) -> None:
        while not controller.listener.running:
            await asyncio.sleep(0.05)
        url = controller.listener.urls[0]
        bodies = [sample.sample_body(url, index=i) for i in range(200)]
        statuses: dict[int, int] = {}
        answered = 0
        peak_at_mark = 0
        queue: asyncio.Queue = asyncio.Queue()
        for i in range(opts.count):
            queue.put_nowait(i)

        async def worker(session: aiohttp.ClientSession) -> None:
            nonlocal answered, peak_at_mark
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                # Unique bodies, so none is folded as a duplicate.
                body = bodies[i % len(bodies)][:-1] + f', "soak": {i}}}'.encode()
                headers = {"X-Compass-Signature": sign(body, secret),
                           "Content-Type": "application/json"}
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                answered += 1
                if answered == opts.rss_mark:
                    peak_at_mark = _peak_rss(proc)

        start = time.perf_counter()
        connector = aiohttp.TCPConnector(limit=opts.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(worker(session) for _ in range(opts.concurrency)))
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.3)   # let the model's batch timer insert the last rows
        controller.window.model.flush_pending()
        figures.update(
            sent=opts.count, statuses={str(k): v for k, v in statuses.items()},
            seconds=round(elapsed, 2), per_second=round(opts.count / elapsed, 1),
            stored=controller.store.count(), model_rows=controller.window.model.rowCount(),
            peak_rss_mb=round(_peak_rss(proc) / 2**20, 1),
            peak_rss_at_mark_mb=round(peak_at_mark / 2**20, 1) if peak_at_mark else None,
            python=sys.version.split()[0])
        controller.request_quit()

    with loop:
        controller = AppController(app, args)
        loop.create_task(drive(controller))
        loop.run_until_complete(controller.run())
    print(json.dumps(figures), flush=True)
    return 0


def _peak_rss(proc) -> int:
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except ImportError:
        return proc.memory_info().rss


if __name__ == "__main__":
    sys.exit(main())
