"""Load generator for the UI and latency figures: signed POSTs from separate processes,
either a burst of exactly N at concurrency C, or a steady rate, with per-request timing.

Why not wrk here: these figures need exactly N deliveries, an open-loop steady rate, and
each request's send time joined with the moment its row reached the app's model; wrk gives
none of those. Throughput (figure 1) uses wrk. Times are time.monotonic() (one clock for
all processes on Linux).

Usage: loadgen.py --url URL --bodies FILE --count N (--concurrency C [--procs P] | --rate R)
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import time


def load_bodies(path: str) -> list[tuple[bytes, str, str]]:
    """(body, signature, record id) per line of a `signature<TAB>body` file."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            sig, _, body = line.rstrip(b"\n").partition(b"\t")
            record_id = json.loads(body)["content"]["id"]["value"]
            out.append((body, sig.decode(), record_id))
    return out


async def _burst(url: str, items: list, concurrency: int, start_at: float) -> dict:
    import aiohttp

    timings = []
    statuses: dict[str, int] = {}
    queue = list(reversed(items))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            while queue:
                body, sig, record_id = queue.pop()
                sent = time.monotonic()
                async with session.post(url, data=body, headers={
                        "X-Compass-Signature": sig, "Content-Type": "application/json"}) as r:
                    await r.read()
                    statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                timings.append((record_id, sent, time.monotonic()))
        # Open the connections before the start line, so the burst is not a connect storm.
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"timings": timings, "statuses": statuses}


async def _steady(url: str, items: list, rate: float, start_at: float) -> dict:
    import aiohttp

    timings = []
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        async def one(body, sig, record_id) -> None:
            sent = time.monotonic()
            async with session.post(url, data=body, headers={
                    "X-Compass-Signature": sig, "Content-Type": "application/json"}) as r:
                await r.read()
                statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
            timings.append((record_id, sent, time.monotonic()))

        # Warm one connection so the first request does not pay the TCP handshake.
        async with session.get(url.rsplit("/", 1)[0] + "/warm-up") as r:
            await r.read()
        tasks = []
        for i, item in enumerate(items):
            # Open loop: request i goes at start + i/rate whatever happened to earlier ones.
            await asyncio.sleep(max(0.0, start_at + i / rate - time.monotonic()))
            tasks.append(asyncio.ensure_future(one(*item)))
        await asyncio.gather(*tasks)
    return {"timings": timings, "statuses": statuses}


def _child(args) -> dict:
    url, items, concurrency, start_at = args
    return asyncio.run(_burst(url, items, concurrency, start_at))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--bodies", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--offset", type=int, default=0, help="start at this body (distinct runs)")
    opts = p.parse_args()
    bodies = load_bodies(opts.bodies)
    items = [bodies[(opts.offset + i) % len(bodies)] for i in range(opts.count)]
    start_at = time.monotonic() + 0.5
    if opts.rate:
        out = asyncio.run(_steady(opts.url, items, opts.rate, start_at))
    else:
        procs = max(1, min(opts.procs, opts.concurrency))
        share = [items[i::procs] for i in range(procs)]
        conc = [opts.concurrency // procs + (1 if i < opts.concurrency % procs else 0)
                for i in range(procs)]
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            parts = pool.map(_child, [(opts.url, share[i], conc[i], start_at)
                                      for i in range(procs)])
        out = {"timings": [t for part in parts for t in part["timings"]], "statuses": {}}
        for part in parts:
            for k, v in part["statuses"].items():
                out["statuses"][k] = out["statuses"].get(k, 0) + v
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
