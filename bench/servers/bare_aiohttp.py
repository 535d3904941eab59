"""Baseline (a): a bare aiohttp server that reads each POST and answers a constant reply.

No verification, no store, no UI: the ceiling of what aiohttp on a plain asyncio loop can
do on this machine, which is the bar the full GUI-hosted path is compared with.
Usage: bare_aiohttp.py PORT
"""

import asyncio
import sys

from aiohttp import web

REPLY = b'{"message": "Payload received successfully"}'


async def handle(request: web.Request) -> web.Response:
    await request.read()        # the app reads every body too; so must the baseline
    return web.Response(body=REPLY, content_type="application/json")


async def main(port: int) -> None:
    app = web.Application(client_max_size=10 * 1024 * 1024 + 1)
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
