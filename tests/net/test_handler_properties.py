"""Property tests (issue 4, part 5) of the HTTP handler: the real listener on 127.0.0.1,
fed arbitrary bodies, header sets and bytes over raw sockets.

Every input gets an HTTP reply with a JSON message, or (for bytes that never form a
request) a closed connection; nothing is logged as an error; a reply of 200, 400 or 401
means the delivery is in the store; and a valid delivery still works afterwards. The
listener runs on its own loop in a thread so hypothesis can drive it from plain functions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from compass_listener.core.routes import Route, POLICY_FLAG
from compass_listener.core.signature import Scheme, sign
from compass_listener.net.http_guard import ConnectionLimits
from compass_listener.net.listener import Listener
from compass_listener.store.events import EventStore

SECRET = "property-secret"
LIMIT = 4096
STORED = {200, 400, 401}                  # replies given after the delivery was stored
ANSWERS = STORED | {404, 405, 408, 413, 417, 431}
BOUNDED = settings(max_examples=120, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


class ThreadedListener:
    """A listener on its own asyncio loop in a thread, as the CLI runs it."""

    def __init__(self, tmp_path):
        self.store = EventStore(tmp_path / "history.sqlite3")
        self.loop = asyncio.new_event_loop()
        routes = [Route("/compassdefect", "Defect"),
                  Route("/fixed", "Task", scheme=Scheme(header="X-Sig", encoding="hex")),
                  Route("/flag", "Defect", policy=POLICY_FLAG)]
        self.listener = Listener(self.store, routes, lambda path: SECRET, body_limit=LIMIT,
                                 limits=ConnectionLimits(header_timeout=0.3, body_timeout=0.3))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.store.open()
        self.loop.run_until_complete(self.listener.start("127.0.0.1", 0))
        self.started.set()
        self.loop.run_forever()

    def __enter__(self):
        self.thread.start()
        assert self.started.wait(10)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.store.close()
        self.loop.close()

    @property
    def received(self) -> int:
        return self.listener.stats.received


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        with ThreadedListener(tmp_path_factory.mktemp("handler")) as running:
            running.errors = errors
            yield running
    finally:
        logging.getLogger().removeHandler(errors)


def exchange(port: int, data: bytes, timeout: float = 5) -> tuple[int | None, bytes]:
    """(status or None when closed without a reply, body) for one request."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                # the server answered and closed before we finished
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
    while received.startswith(b"HTTP/1.1 100 "):
        received = received.split(b"\r\n\r\n", 1)[1]
    if not received:
        return None, b""
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                   if line.lower().startswith(b"content-length:")), len(body))
    assert len(body) >= length, "the reply was cut short"
    return status, body[:length]


def assert_json_reply(status: int | None, body: bytes) -> None:
    assert status in ANSWERS, (status, body)
    message = json.loads(body)["message"]
    assert isinstance(message, str) and message


def assert_still_serves(server) -> None:
    body = json.dumps({"content": {"id": {"truncated": "false", "value": "SAMPL1"}}}).encode()
    head = (f"POST /compassdefect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"X-Compass-Signature: {sign(body, SECRET)}\r\nContent-Length: {len(body)}\r\n\r\n")
    status, reply = exchange(server.listener.port, head.encode() + body)
    assert status == 200, reply
    assert not server.errors.records, [r.getMessage() for r in server.errors.records]


# ---- strategies ------------------------------------------------------------------------------
token = st.from_regex(r"\A[A-Za-z0-9!#$%&'*+.^_`|~-]{1,30}\Z")
header_value = st.binary(max_size=200).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").strip(b" \t"))
reserved = {b"host", b"content-length", b"transfer-encoding", b"connection", b"expect",
            b"content-encoding", b"upgrade"}
extra_headers = st.lists(st.tuples(token.map(str.encode), header_value), max_size=12).map(
    lambda pairs: [(n, v) for n, v in pairs if n.lower() not in reserved])
paths = st.sampled_from(["/compassdefect", "/fixed", "/flag", "/compassdefect/",
                         "/nowhere", "/compassdefect?x=1", "/%00", "/" + "a" * 300])
methods = st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "OPTIONS"])
signing = st.sampled_from(["none", "right", "wrong", "garbage"])
framing = st.sampled_from(["length", "chunked", "expect"])


def build(method, path, headers, body, how_signed, how_framed) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    lines += [n + b": " + v for n, v in headers]
    signature = {"none": None, "right": sign(body, SECRET), "wrong": sign(body, "not it"),
                 "garbage": "sha1=zzzz"}[how_signed]
    if signature:
        lines += [b"X-Compass-Signature: " + signature.encode(), b"X-Sig: " + signature.encode()]
    if how_framed == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        payload = (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    else:
        lines.append(b"Content-Length: %d" % len(body))
        if how_framed == "expect":
            lines.append(b"Expect: 100-continue")
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


# ---- properties ------------------------------------------------------------------------------
@BOUNDED
@given(body=st.binary(max_size=LIMIT + 200), how_signed=signing, how_framed=framing,
       path=st.sampled_from(["/compassdefect", "/fixed", "/flag"]))
@example(body=b"", how_signed="right", how_framed="length", path="/compassdefect")
@example(body=b"x" * (LIMIT + 1), how_signed="right", how_framed="chunked",
         path="/compassdefect")
def test_any_body_gets_a_json_reply_and_replies_mean_stored(server, body, how_signed,
                                                            how_framed, path):
    before = server.received
    status, reply = exchange(server.listener.port,
                             build("POST", path, [], body, how_signed, how_framed))
    assert_json_reply(status, reply)
    if len(body) > LIMIT:
        assert status == 413
    assert (server.received - before) == (1 if status in STORED else 0)
    if status == 200 and path != "/flag":
        assert how_signed == "right"


@BOUNDED
@given(method=methods, path=paths, headers=extra_headers, body=st.binary(max_size=300),
       how_signed=signing, how_framed=framing)
def test_any_header_set_gets_a_json_reply(server, method, path, headers, body, how_signed,
                                          how_framed):
    status, reply = exchange(server.listener.port,
                             build(method, path, headers, body, how_signed, how_framed))
    assert_json_reply(status, reply)


@settings(BOUNDED, max_examples=80)
@given(st.binary(min_size=1, max_size=300))
@example(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
@example(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n{")
def test_any_bytes_get_a_json_reply_or_a_close(server, data):
    # The blank line ends any head these bytes begin, so most are answered at once; a head
    # that asks for a body it never sends is answered by the 0.3 s deadlines.
    status, reply = exchange(server.listener.port, data + b"\r\n\r\n")
    if status is not None:
        assert_json_reply(status, reply)


def test_the_listener_is_still_serving_and_logged_no_errors(server):
    assert_still_serves(server)


# Any text JSON can carry, lone surrogates included ("\udc80" is valid JSON text and
# cannot be stored as UTF-8 as it is): a record is always stored, never answered 503.
any_char = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
any_text = st.text(alphabet=any_char, max_size=40)


@BOUNDED
@given(st.dictionaries(any_text, st.one_of(any_text, st.integers(), st.none()), max_size=6),
       any_text, st.booleans())
def test_any_json_record_is_stored_and_answered(server, content, headline, ascii_only):
    record = {name: {"truncated": "false", "value": value} for name, value in content.items()}
    record["Headline"] = {"truncated": "false", "value": headline}
    body = json.dumps({"webUrl": "http://x/compassdefect", "content": record},
                      ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    before = server.received
    status, reply = exchange(server.listener.port,
                             build("POST", "/flag", [], body[:LIMIT], "right", "length"))
    assert_json_reply(status, reply)
    if len(body) <= LIMIT:
        assert status in (200, 400), (status, reply)     # 400: surrogates made it not UTF-8
        assert server.received - before == 1
