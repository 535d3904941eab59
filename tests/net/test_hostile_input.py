"""Hostile and malformed input over real sockets on 127.0.0.1 (issue 4, part 4).

Every case checks the reply (status and JSON message), what was stored, that nothing was
logged as an error (aiohttp logs a traceback for requests it cannot parse unless we answer
them ourselves), and that the next valid, signed delivery still gets 200 and is stored.
Protocol-level cases speak raw HTTP through asyncio streams, so nothing smooths them over.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time

import aiohttp
import pytest

from compass_listener.core.payload import parse_payload
from compass_listener.core.routes import Route
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign
from compass_listener.net.http_guard import ConnectionLimits
from compass_listener.net.listener import Listener
from compass_listener.store.events import EventStore

SECRET = "hostile-secret"
HEADER = "X-Compass-Signature"
LIMIT = 64 * 1024          # a small body limit keeps the limit cases fast
TIMEOUT = 0.5              # header and body deadlines in these tests


class Harness:
    def __init__(self, tmp_path, limits: ConnectionLimits, body_limit: int = LIMIT):
        self.db = tmp_path / "history.sqlite3"
        self.store = EventStore(self.db)
        self.store.open()
        self.listener = Listener(self.store, [Route()], lambda path: SECRET,
                                 body_limit=body_limit, limits=limits)
        self.session: aiohttp.ClientSession | None = None
        self.valid_sent = 0

    async def start(self) -> "Harness":
        await self.listener.start("127.0.0.1", 0)
        self.session = aiohttp.ClientSession()
        return self

    @property
    def port(self) -> int:
        return self.listener.port

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/compassdefect"

    def rows(self) -> list[sqlite3.Row]:
        conn = sqlite3.connect(str(self.db))
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
        finally:
            conn.close()

    async def post(self, body, headers=None) -> tuple[int, dict]:
        async with self.session.post(self.url(), data=body, headers=headers or {}) as resp:
            return resp.status, json.loads(await resp.text())

    async def assert_still_serves(self) -> None:
        """The process is up and the next valid delivery is answered 200 and stored."""
        self.valid_sent += 1
        body = sample_body(self.url(), index=self.valid_sent, seed=1000 + self.valid_sent)
        status, reply = await asyncio.wait_for(self.post(body, signed(body)), 5)
        assert (status, reply) == (200, {"message": "Payload received successfully"})
        assert bytes(self.rows()[-1]["body"]) == body

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.listener.stop()
        self.store.close()


def signed(body: bytes) -> dict:
    return {HEADER: sign(body, SECRET), "Content-Type": "application/json"}


@pytest.fixture
async def make_harness(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    made: list[Harness] = []

    async def make(body_limit: int = LIMIT, **limits) -> Harness:
        limits.setdefault("header_timeout", TIMEOUT)
        limits.setdefault("body_timeout", TIMEOUT)
        h = Harness(tmp_path / f"h{len(made)}", ConnectionLimits(**limits), body_limit)
        made.append(h)
        return await h.start()

    yield make
    for h in made:
        await h.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, "errors logged: " + "; ".join(r.getMessage() for r in errors)


@pytest.fixture
async def h(make_harness) -> Harness:
    return await make_harness()


# ---- raw HTTP --------------------------------------------------------------------------------
class Reply:
    def __init__(self, version: str, status: int, headers: dict, body: bytes):
        self.version, self.status, self.headers, self.body = version, status, headers, body

    @property
    def message(self) -> str:
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        return json.loads(self.body)["message"]


async def read_reply(reader: asyncio.StreamReader, skip_interim: bool = True) -> Reply:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ")[0], int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 and skip_interim:
            continue
        length = int(headers.get("content-length", "0"))
        return Reply(version, status, headers, await reader.readexactly(length))


async def exchange(port: int, data: bytes, timeout: float = 10) -> tuple[Reply, bool]:
    """Send `data` on a new connection; the reply, and whether the server closed it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        reply = await asyncio.wait_for(read_reply(reader), timeout)
        try:
            closed = await asyncio.wait_for(reader.read(1), 1.0) == b""
        except asyncio.TimeoutError:
            closed = False
        return reply, closed
    finally:
        writer.close()


def request(body: bytes, *, extra: str = "", version: str = "1.1", length: bool = True,
            connection: str = "close") -> bytes:
    head = f"POST /compassdefect HTTP/{version}\r\n"
    if version == "1.1":
        head += "Host: 127.0.0.1\r\n"
    if connection:
        head += f"Connection: {connection}\r\n"
    head += f"{HEADER}: {sign(body, SECRET)}\r\nContent-Type: application/json\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return (head + extra + "\r\n").encode("latin-1") + body


def chunked(body: bytes, size: int = 1000) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def record(**content) -> bytes:
    return json.dumps({"webUrl": "http://127.0.0.1/compassdefect", "content": content}).encode()


# ---- bodies ----------------------------------------------------------------------------------
@pytest.mark.parametrize("body, problem", [
    (b'{"webUrl": "x" "content": {}}', "not valid JSON"),
    (b'{"content": {"Headline": {"value": "cut', "not valid JSON"),
    (b"[1, 2, 3]", "JSON list"),
    (b'"just a string"', "JSON str"),
    (b"42", "JSON int"),
    (b"null", "JSON NoneType"),
    (b'{"content": [1, 2]}', "'content' is a list"),
    (b'{"content": "Defect"}', "'content' is a str"),
    (b'{"content": null}', "'content' is missing"),
    (b'{"webUrl": "x"}', "'content' is missing"),
    (b"\xff\xfe{\x00}\x00\x80\x81", "not UTF-8"),
    (b'{"content": {"Headline": {"value": "caf\xe9"}}}', "not UTF-8"),
    (b"", "the body is empty"),
    (b"  \r\n\t ", "the body is empty"),
])
async def test_unreadable_body_is_400_stored_byte_exact(h, body, problem):
    status, reply = await h.post(body, signed(body))
    assert status == 400 and problem in reply["message"]
    assert "stored" in reply["message"]
    row = h.rows()[-1]
    assert bytes(row["body"]) == body and row["signature"] == "valid"
    assert row["parse_status"] in ("not_json", "bad_shape") and row["accepted"] == 0
    await h.assert_still_serves()


async def test_field_values_of_any_json_type_are_accepted_as_text(h):
    body = record(id={"truncated": "false", "value": 42},
                  Headline={"truncated": False, "value": None},
                  Owner={"value": {"name": "lead", "groups": [1, None, True]}},
                  State=7, Priority=None, Notes_Log=[1, "two"], dbid={"value": 1.5},
                  Description={"truncated": True, "value": "x" * 10, "url": 12345},
                  is_duplicate={"truncated": "false", "value": False})
    status, reply = await h.post(body, signed(body))
    assert status == 200
    row = h.rows()[-1]
    assert (row["record_id"], row["state"], row["headline"]) == ("42", "7", "")
    fields = {f.name: f for f in parse_payload(bytes(row["body"])).fields}
    assert json.loads(fields["Owner"].value) == {"name": "lead", "groups": [1, None, True]}
    assert fields["Priority"].value == "" and fields["is_duplicate"].value == "False"
    assert fields["Description"].truncated and fields["Description"].url == ""
    await h.assert_still_serves()


async def test_one_hundred_thousand_fields(make_harness):
    big = await make_harness(body_limit=10 * 1024 * 1024)
    content = {f"Field_{i}": {"truncated": "false", "value": str(i)} for i in range(100_000)}
    content["id"] = {"truncated": "false", "value": "SAMPL00100000"}
    body = record(**content)
    started = time.monotonic()
    status, reply = await big.post(body, signed(body))
    assert status == 200, reply
    assert time.monotonic() - started < 10
    row = big.rows()[-1]
    assert row["record_id"] == "SAMPL00100000" and bytes(row["body"]) == body
    assert len(parse_payload(bytes(row["body"])).fields) == 100_001
    await big.assert_still_serves()


@pytest.mark.parametrize("where", ["top", "in a field"])
async def test_nesting_ten_thousand_deep(h, where):
    deep = "[" * 10_000 + "]" * 10_000
    body = (deep if where == "top" else
            '{"content": {"Headline": {"value": ' + deep + "}}}").encode()
    status, reply = await h.post(body, signed(body))
    assert status == 400 and "nested too deeply" in reply["message"]
    assert bytes(h.rows()[-1]["body"]) == body
    await h.assert_still_serves()


# ---- the body limit --------------------------------------------------------------------------
def body_of_size(size: int) -> bytes:
    """A valid delivery of exactly `size` bytes (padded inside a field value)."""
    empty = record(id={"truncated": "false", "value": "SAMPL1"},
                   Description={"truncated": "false", "value": ""})
    pad = size - len(empty)
    body = record(id={"truncated": "false", "value": "SAMPL1"},
                  Description={"truncated": "false", "value": "x" * pad})
    assert len(body) == size
    return body


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_exactly_the_limit_is_accepted_one_byte_over_is_413(h, framing):
    at_limit, over = body_of_size(LIMIT), body_of_size(LIMIT + 1)
    for body, expected in ((at_limit, 200), (over, 413)):
        if framing == "chunked":
            data = request(chunked(body), length=False, extra="Transfer-Encoding: chunked\r\n")
            data = data.replace(sign(chunked(body), SECRET).encode(), sign(body, SECRET).encode())
        else:
            data = request(body)
        reply, _ = await exchange(h.port, data)
        assert reply.status == expected, reply.body
        if expected == 413:
            assert f"limit of {LIMIT} bytes" in reply.message
    rows = h.rows()
    assert len(rows) == 1 and bytes(rows[0]["body"]) == at_limit
    await h.assert_still_serves()


# ---- framing and HTTP versions ----------------------------------------------------------------
async def test_chunked_delivery_is_stored_byte_exact(h):
    body = sample_body(h.url(), seed=11)
    data = request(chunked(body, size=97), length=False,
                   extra="Transfer-Encoding: chunked\r\n")
    data = data.replace(sign(chunked(body, 97), SECRET).encode(), sign(body, SECRET).encode())
    reply, closed = await exchange(h.port, data)
    assert reply.status == 200 and reply.message == "Payload received successfully"
    assert bytes(h.rows()[-1]["body"]) == body
    await h.assert_still_serves()


@pytest.mark.parametrize("framing, status, words", [
    (b"zz\r\nabc\r\n0\r\n\r\n", 400, "chunk size"),        # size not hex
    (b"5\r\nab", 408, "body did not arrive"),                    # stops inside a chunk
])
async def test_broken_chunked_encoding_gets_a_json_reply(h, framing, status, words):
    data = (b"POST /compassdefect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + framing)
    reply, closed = await exchange(h.port, data)
    assert reply.status == status and words in reply.message
    assert closed and h.rows() == []
    await h.assert_still_serves()


async def test_expect_100_continue_is_answered_before_the_body(h):
    body = sample_body(h.url(), seed=12)
    head = request(body, extra="Expect: 100-continue\r\n")[:-len(body)]
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    writer.write(head)              # a strict client: no body until it hears 100
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(body)
    reply = await asyncio.wait_for(read_reply(reader), 5)
    writer.close()
    assert reply.status == 200
    assert bytes(h.rows()[-1]["body"]) == body
    await h.assert_still_serves()


async def test_expect_100_continue_over_the_limit_is_413_without_inviting_the_body(h):
    head = (f"POST /compassdefect HTTP/1.1\r\nHost: x\r\nContent-Length: {LIMIT + 1}\r\n"
            f"Expect: 100-continue\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    writer.write(head)
    reply = await asyncio.wait_for(read_reply(reader, skip_interim=False), 5)
    writer.close()
    assert reply.status == 413
    await h.assert_still_serves()


async def test_unknown_expectation_is_417(h):
    reply, _ = await exchange(h.port, request(b"{}", extra="Expect: something-else\r\n"))
    assert reply.status == 417 and "100-continue" in reply.message
    assert h.rows() == []
    await h.assert_still_serves()


async def test_http_1_0_without_keep_alive_is_answered_and_closed(h):
    body = sample_body(h.url(), seed=13)
    reply, closed = await exchange(h.port, request(body, version="1.0", connection=""))
    assert reply.status == 200 and reply.message == "Payload received successfully"
    assert closed, "an HTTP/1.0 request without keep-alive must end with the connection"
    assert bytes(h.rows()[-1]["body"]) == body
    await h.assert_still_serves()


async def test_keep_alive_connection_serves_several_deliveries(h):
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    bodies = [sample_body(h.url(), seed=20 + i) for i in range(3)]
    for body in bodies:
        writer.write(request(body, connection="keep-alive"))
        reply = await asyncio.wait_for(read_reply(reader), 5)
        assert reply.status == 200
    writer.close()
    assert [bytes(r["body"]) for r in h.rows()] == bodies


@pytest.mark.parametrize("data", [
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40) + b"\r\n\r\n",   # TLS hello
    b"GARBAGE\r\n\r\n",
    b"POST /compassdefect HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",             # no Host
    b"POST /compassdefect HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Content-Length: 3\r\n\r\n{}",                                                # two lengths
    b"POST /compassdefect HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n",
])
async def test_requests_that_are_not_http_get_a_json_400(h, data):
    reply, closed = await exchange(h.port, data)
    assert reply.status == 400 and "not valid HTTP/1.1" in reply.message
    assert closed and h.rows() == []
    await h.assert_still_serves()


# ---- headers ---------------------------------------------------------------------------------
async def test_header_value_of_64_kib_is_431_naming_the_limit(h):
    body = sample_body(h.url(), seed=14)
    reply, closed = await exchange(h.port, request(body, extra=f"X-Big: {'a' * 65536}\r\n"))
    assert reply.status == 431 and "8190 bytes" in reply.message
    assert closed and h.rows() == []
    await h.assert_still_serves()


async def test_too_many_headers_is_431(h):
    extra = "".join(f"X-H{i}: {i}\r\n" for i in range(200))
    reply, _ = await exchange(h.port, request(b"{}", extra=extra))
    assert reply.status == 431 and "128 headers" in reply.message
    await h.assert_still_serves()


async def test_header_limit_is_configurable(make_harness):
    roomy = await make_harness(max_field_size=80 * 1024)
    body = sample_body(roomy.url(), seed=15)
    reply, _ = await exchange(roomy.port, request(body, extra=f"X-Big: {'a' * 65536}\r\n"))
    assert reply.status == 200
    stored = dict(json.loads(roomy.rows()[-1]["headers"]))
    assert stored["X-Big"] == "a" * 65536


# ---- slow clients ----------------------------------------------------------------------------
async def _trickle_until_408(h, first: bytes, trickled: bytes, what: str) -> None:
    """Send `first`, then `trickled` a byte every 50 ms: the listener must answer 408 about
    `what` once the 0.5 s deadline passes, close the connection, store nothing, serve on."""
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    started = time.monotonic()
    writer.write(first)

    async def trickle():
        for ch in trickled:
            writer.write(bytes([ch]))
            await asyncio.sleep(0.05)
    dripping = asyncio.ensure_future(trickle())
    try:
        reply = await asyncio.wait_for(read_reply(reader), 5)
        elapsed = time.monotonic() - started
        assert reply.status == 408 and f"{what} did not arrive within 0.5 seconds" in reply.message
        assert TIMEOUT <= elapsed < TIMEOUT + 1.5
        assert await asyncio.wait_for(reader.read(), 2) == b""       # closed by the server
    finally:
        dripping.cancel()
        writer.close()
    assert h.rows() == []
    await h.assert_still_serves()


async def test_slow_headers_are_cut_off_with_408(h):
    await _trickle_until_408(h, b"POST /compassdefect HTTP/1.1\r\nHost: x\r\n",
                             b"X-Slow: " + b"a" * 200, "headers")


async def test_slow_body_is_cut_off_with_408(h):
    body = sample_body(h.url(), seed=16)
    head = request(body)[:-len(body)]
    await _trickle_until_408(h, head + body[:10], body[10:], "body")


async def test_header_deadline_applies_again_on_a_kept_alive_connection(h):
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    body = sample_body(h.url(), seed=17)
    writer.write(request(body, connection="keep-alive"))
    assert (await asyncio.wait_for(read_reply(reader), 5)).status == 200
    writer.write(b"POST /compassdefect HTTP/1.1\r\n")      # the next request stalls
    reply = await asyncio.wait_for(read_reply(reader), 5)
    writer.close()
    assert reply.status == 408


async def test_silent_connection_is_closed_after_the_header_deadline(h):
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""    # closed, nothing to answer
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 1.5
    writer.close()


async def test_default_deadlines_are_sensible():
    limits = ConnectionLimits()
    assert (limits.header_timeout, limits.body_timeout) == (30, 60)
    assert 0 < limits.idle_timeout <= 120


# ---- many connections ------------------------------------------------------------------------
async def test_a_thousand_idle_connections_do_not_stop_deliveries(make_harness):
    h = await make_harness(header_timeout=30, body_timeout=30)
    writers = []
    try:
        for _ in range(1000):
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writers.append((reader, writer))
        # Half of them even started a request and stalled.
        for _, writer in writers[::2]:
            writer.write(b"POST /compassdefect HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for _ in range(5):
            await h.assert_still_serves()
        assert time.monotonic() - started < 5
        # They are all still open: nothing was refused or dropped to make room.
        reader, _ = writers[-1]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.2)
    finally:
        for _, writer in writers:
            writer.close()


async def test_idle_connections_are_reclaimed_by_the_deadline(h):
    pairs = [await asyncio.open_connection("127.0.0.1", h.port) for _ in range(200)]
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(reader.read() for reader, _ in pairs)), 5)
        assert results == [b""] * len(pairs)
    finally:
        for _, writer in pairs:
            writer.close()
    await h.assert_still_serves()


def test_a_low_open_file_limit_is_raised_at_start():
    """A soft limit of 1,024 (common) would refuse the 1,001st connection's peer in this
    very test; the listener raises it towards the hard limit when it starts."""
    import subprocess
    import sys

    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip("the hard limit leaves nothing to raise")
    code = ("import resource; from compass_listener.net.http_guard import raise_fd_limit; "
            "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; "
            "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)); raise_fd_limit(); "
            "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    raised = int(out.stdout)
    expected = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    assert raised == expected > 256


async def test_stopping_while_a_slow_body_arrives_answers_503_at_once(make_harness):
    h = await make_harness(header_timeout=30, body_timeout=30)
    reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
    writer.write(b"POST /compassdefect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    stalled, _ = await asyncio.open_connection("127.0.0.1", h.port)     # headers never end
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await h.listener.stop()
    assert time.monotonic() - started < 5          # not the 30 s body deadline
    reply = await asyncio.wait_for(read_reply(reader), 5)
    writer.close()
    assert reply.status == 503 and "Compass will deliver it again" in reply.message
    assert h.rows() == []


async def test_a_lone_surrogate_escape_in_a_summary_field_is_stored_and_answered_200(tmp_path):
    """A JSON escape like \\ud800 in the Headline once made the store fail with 503 forever
    (the text could not be encoded), so Compass retried it into oblivion."""
    import aiohttp

    from compass_listener.core.routes import Route
    from compass_listener.net.listener import Listener
    from compass_listener.store.events import EventStore

    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    listener = Listener(store, [Route()], lambda path: None)
    await listener.start("127.0.0.1", 0)
    body = b'{"content": {"id": {"value": "S\\ud800"}, "Headline": {"value": "a\\udfffb"}}}'
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(listener.urls[0], data=body) as resp:
                assert resp.status == 200, await resp.text()
    finally:
        await listener.stop()
    stored = store.latest()
    assert (stored.record_id, stored.headline) == ("S\ufffd", "a\ufffdb")
    assert store.get(stored.id).body == body          # the exact bytes, untouched
    store.close()


async def test_the_listen_command_applies_the_deadlines_from_the_settings_file(tmp_path):
    """The real program: header_timeout in the settings file cuts a slow client off."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    from compass_listener.store.settings import Settings, save_settings

    root = Path(__file__).resolve().parents[2]
    home = tmp_path / "home"
    save_settings(Settings(header_timeout=0.5, body_timeout=0.5), home / "settings.toml")
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(root), COMPASS_LISTENER_HOME=str(home), PYTHONUNBUFFERED="1",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    proc = subprocess.Popen([sys.executable, "-m", "compass_listener", "listen", "--port", "0"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        first = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        port = int(re.search(r":(\d+)/", first).group(1))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /compassdefect HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        reply = await asyncio.wait_for(read_reply(reader), 10)
        writer.close()
        assert reply.status == 408 and time.monotonic() - started < 3
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
