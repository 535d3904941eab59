"""`compass-listener demo` as a subprocess: its fake server, its deliveries, its queued failures."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest
from aiohttp import web

from compass_listener.core.webhookdata import explain, interpret_queued
from compass_listener.net.compass_rest import CompassClient
from compass_listener.net.tls_trust import TrustPolicy

pytestmark = pytest.mark.timeout(60)


async def test_demo_serves_compass_and_queues_failed_deliveries(tmp_path):
    received: list[dict] = []

    async def listener(request: web.Request) -> web.Response:
        body = await request.read()
        received.append(json.loads(body))
        if "X-Compass-Signature" in request.headers:   # the demo's wrong-secret deliveries
            return web.json_response({"message": "signature mismatch"}, status=401)
        return web.json_response({"message": "Payload received successfully"})

    app = web.Application()
    app.router.add_post("/compassdefect", listener)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    env = {**os.environ, "COMPASS_LISTENER_HOME": str(tmp_path / "home"),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "compass_listener", "demo", "--json", "--port", "0",
        "--interval", "0.1", "--duration", "40",
        "--listener-url", f"http://127.0.0.1:{port}/compassdefect",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        started = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
        assert started["event"] == "started" and started["repo"] == "5.0.0"
        events = []
        while not any(e["reply_lost"] for e in events):
            events.append(json.loads(await asyncio.wait_for(proc.stdout.readline(), 20)))
        failed = next(e for e in events if e["status"] == 401)
        assert failed["wrong_secret"] is True and failed["number"] == 4
        assert [e["status"] for e in events[:3]] == [200, 200, 200]
        lost = next(e for e in events if e["reply_lost"])
        assert lost["number"] == 5 and lost["status"] == 200

        client = CompassClient(started["host_port"], repo="5.0.0", db="SAMPL", user="admin",
                               trust=TrustPolicy(pinned_fingerprint=started["fingerprint"]),
                               timeout=5)
        async with client:
            assert (await client.check_package()).applied
            table = await client.list_records("WebhookData")
            mine = [r for r in table.rows if r["RecordID"] == failed["record_id"]]
            assert len(mine) == 1
            kept = [r for r in table.rows if r["RecordID"] == lost["record_id"]]
            assert kept and kept[0]["ResponseMessage"] == "Read timed out"
            assert explain(interpret_queued(mine[0])) == (
                "attempt 1 of 10, last reply 401 signature mismatch: check the secret of "
                "route /compassdefect")
            # a truncated field of a delivered record loads in full from the fake server
            content = received[0]["content"]
            name, field = next((n, f) for n, f in content.items() if f["truncated"] == "true")
            value, address = await client.get_field_value(field["url"])
            assert len(value) >= 5000 and value.startswith(field["value"])
            assert address.redirected_from == field["url"]  # localhost:8190 → the demo's port
            assert (await client.hooksetup()).ok
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 20)
        await runner.cleanup()
    assert proc.returncode in (0, 130)
    assert (tmp_path / "home" / "demo-compass" / "cert.pem").exists()
    assert oct((tmp_path / "home" / "demo-compass" / "key.pem").stat().st_mode & 0o777) == "0o600"


async def test_demo_port_in_use_is_one_sentence(tmp_path):
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    env = {**os.environ, "COMPASS_LISTENER_HOME": str(tmp_path / "home")}
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "compass_listener", "demo", "--port", str(port),
            "--duration", "1", env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert proc.returncode == 1
    assert f"127.0.0.1:{port}" in err.decode() and "--port 0" in err.decode()
