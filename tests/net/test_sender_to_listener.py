"""net.sender against the real listener on 127.0.0.1, and against a closed port."""

import asyncio
import json
import socket

import aiohttp
import pytest
from aiohttp import web

from compass_listener.core.routes import Route
from compass_listener.core.signature import sign
from compass_listener.net.listener import Listener
from compass_listener.net.sender import SendResult, check_url, send_deliveries
from compass_listener.store.events import EventStore

SECRET = "webhook-secret"


@pytest.fixture
async def listener(tmp_path):
    store = EventStore(tmp_path / "history.sqlite3")
    store.open()
    server = Listener(store, [Route()], lambda path: SECRET)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()
    store.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()          # nothing listens there now
    return port


async def test_signed_deliveries_are_all_accepted_and_stored(listener):
    seen: list[SendResult] = []
    results = await send_deliveries(listener.urls[0], secret=SECRET, count=30, concurrency=8,
                                    on_reply=seen.append)
    assert [r.index for r in results] == list(range(1, 31))
    assert all(r.ok and r.status == 200 and r.error == "" for r in results)
    assert {r.message for r in results} == {"Payload received successfully"}
    assert sorted(r.index for r in seen) == list(range(1, 31))
    assert listener.store.count() == 30
    stored_ids = {d.record_id for d in listener.store.summaries(limit=100)}
    assert stored_ids == {r.record_id for r in results}
    assert {d.signature for d in listener.store.summaries(limit=100)} == {"valid"}


async def test_what_is_sent_looks_like_compass(listener):
    await send_deliveries(listener.urls[0], secret=SECRET, record_type="Task",
                          state="Resolved", seed=4)
    delivery = listener.store.get(listener.store.latest().id)
    headers = dict(delivery.headers)
    assert headers["X-Compass-Signature"] == sign(delivery.body, SECRET)
    assert headers["Content-Type"].startswith("application/json")
    document = json.loads(delivery.body)
    assert document["webUrl"] == listener.urls[0]
    assert (delivery.record_type, delivery.state) == ("Task", "Resolved")
    assert listener.routes[0].scheme.learned_header == "X-Compass-Signature"


async def test_other_header_and_async_callback(listener):
    calls = []

    async def on_reply(result):
        await asyncio.sleep(0)
        calls.append(result.index)
    results = await send_deliveries(listener.urls[0], secret=SECRET, header="X-Hook-Sig",
                                    count=3, on_reply=on_reply)
    assert all(r.ok for r in results) and sorted(calls) == [1, 2, 3]


async def test_unsigned_and_wrongly_signed_get_the_listener_message(listener):
    unsigned = await send_deliveries(listener.urls[0])
    assert unsigned[0].status == 401 and not unsigned[0].ok
    assert unsigned[0].message.startswith("signature missing")
    wrong = await send_deliveries(listener.urls[0], secret="nope")
    assert wrong[0].status == 401 and wrong[0].message.startswith("signature mismatch")
    assert wrong[0].error == ""


async def test_unknown_path_message(listener):
    url = listener.urls[0].replace("/compassdefect", "/elsewhere")
    result = (await send_deliveries(url, secret=SECRET))[0]
    assert result.status == 404 and "/elsewhere" in result.message


async def test_nothing_listening_is_one_sentence():
    url = f"http://127.0.0.1:{_closed_port()}/compassdefect"
    results = await send_deliveries(url, secret=SECRET, count=3, concurrency=3)
    for result in results:
        assert result.status is None and not result.ok
        assert result.error == (f"nothing is listening on {url}; start the listener or check "
                                f"the URL")
        assert result.message == result.error


async def test_a_reply_that_is_not_json_is_shown_raw():
    async def handler(request):
        await request.read()
        return web.Response(status=502, text="<html>Bad gateway</html>")
    app = web.Application()
    app.router.add_post("/x", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        result = (await send_deliveries(f"http://127.0.0.1:{port}/x"))[0]
        assert (result.status, result.message) == (502, "<html>Bad gateway</html>")
    finally:
        await runner.cleanup()


async def test_a_slow_listener_times_out_with_a_sentence():
    release = asyncio.Event()

    async def handler(request):
        await release.wait()
        return web.Response(text="{}")
    app = web.Application()
    app.router.add_post("/slow", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        result = (await send_deliveries(f"http://127.0.0.1:{port}/slow", timeout=0.3))[0]
        assert result.status is None and "no reply" in result.error and "0.3 s" in result.error
    finally:
        release.set()
        await runner.cleanup()


async def test_a_given_session_is_used_and_left_open(listener):
    async with aiohttp.ClientSession() as session:
        results = await send_deliveries(listener.urls[0], secret=SECRET, session=session)
        assert results[0].ok and not session.closed


@pytest.mark.parametrize("kwargs,fragment", [
    ({"count": 0}, "count"), ({"concurrency": 0}, "concurrency"),
    ({"secret": "s", "header": " "}, "header"),
])
async def test_arguments_that_cannot_work_raise_value_error(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        await send_deliveries("http://127.0.0.1:1/x", **kwargs)


@pytest.mark.parametrize("url", ["ftp://host/x", "127.0.0.1:8080/x", "http://", "http://h:99999/x",
                                 "http://h:port/x"])
def test_bad_urls_are_refused_before_sending(url):
    assert check_url(url)


def test_good_urls_pass():
    assert check_url("http://127.0.0.1:8080/compassdefect") == ""
    assert check_url("https://[::1]:8443/x") == ""
