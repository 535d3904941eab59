"""net.listener over real sockets: the real aiohttp server on 127.0.0.1 (an ephemeral port)
and the real aiohttp client. Each reply is checked against what is on disk right after it."""

import asyncio
import json
import socket
import sqlite3

import aiohttp
import pytest

from compass_listener.core.routes import POLICY_FLAG, Route
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import Scheme, sign
from compass_listener.net.listener import Listener, ListenerError
from compass_listener.store.events import EventStore

SECRET = "webhook-secret"
HEADER = "X-Compass-Signature"


class Harness:
    """A started listener, its store, a client session and the delivered events."""

    def __init__(self, tmp_path, routes, secrets, body_limit=10 * 1024 * 1024):
        self.db = tmp_path / "history.sqlite3"
        self.store = EventStore(self.db)
        self.store.open()
        self.listener = Listener(self.store, routes, lambda path: secrets.get(path),
                                 body_limit=body_limit)
        self.delivered, self.learned = [], []
        self.listener.on_delivery(self.delivered.append)
        self.listener.on_scheme_learned(self.learned.append)
        self.session: aiohttp.ClientSession | None = None

    async def start(self):
        await self.listener.start("127.0.0.1", 0)
        self.session = aiohttp.ClientSession()
        return self

    def url(self, path="/compassdefect"):
        return f"http://127.0.0.1:{self.listener.port}{path}"

    async def post(self, body: bytes, path="/compassdefect", headers=None, method="POST"):
        async with self.session.request(method, self.url(path), data=body,
                                        headers=headers or {}) as response:
            return response.status, await response.text(), response.headers

    def rows(self) -> list[sqlite3.Row]:
        """What a separate connection sees on disk, now."""
        conn = sqlite3.connect(str(self.db))
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
        finally:
            conn.close()

    async def close(self):
        if self.session is not None:
            await self.session.close()
        await self.listener.stop()
        self.store.close()


@pytest.fixture
async def make_harness(tmp_path):
    made = []

    async def make(routes=None, secrets=None, **kwargs):
        harness = Harness(tmp_path / f"h{len(made)}", routes or [Route()],
                          {"/compassdefect": SECRET} if secrets is None else secrets, **kwargs)
        made.append(harness)
        return await harness.start()

    yield make
    for harness in made:
        await harness.close()


def _signed(body: bytes, secret=SECRET) -> dict:
    return {HEADER: sign(body, secret), "Content-Type": "application/json"}


async def test_signed_delivery_is_200_and_on_disk_before_the_reply(make_harness):
    h = await make_harness()
    body = sample_body(h.url(), seed=1)
    status, text, _ = await h.post(body, headers=_signed(body))
    rows = h.rows()        # read immediately after the reply, through another connection
    assert status == 200 and json.loads(text) == {"message": "Payload received successfully"}
    assert len(rows) == 1
    row = rows[0]
    assert bytes(row["body"]) == body
    assert (row["signature"], row["reply_status"], row["accepted"]) == ("valid", 200, 1)
    assert row["record_id"] == json.loads(body)["content"]["id"]["value"]
    assert row["peer"] == "127.0.0.1" and row["route"] == "/compassdefect"
    assert (HEADER, sign(body, SECRET)) in [tuple(x) for x in json.loads(row["headers"])]
    assert json.loads(row["reply_body"]) == {"message": "Payload received successfully"}
    assert [d.id for d in h.delivered] == [row["id"]]


@pytest.mark.parametrize("case", ["invalid", "missing"])
async def test_bad_signature_is_401_and_stored_as_rejected(make_harness, case):
    h = await make_harness()
    body = sample_body(h.url(), seed=2)
    headers = _signed(body, "another secret") if case == "invalid" else {}
    status, text, _ = await h.post(body, headers=headers)
    assert status == 401
    message = json.loads(text)["message"]
    assert ("mismatch" if case == "invalid" else "missing") in message
    row = h.rows()[0]
    assert (row["signature"], row["reply_status"], row["accepted"]) == (case, 401, 0)
    assert h.listener.stats.rejected == 1


async def test_flag_policy_accepts_and_flags(make_harness):
    h = await make_harness(routes=[Route(policy=POLICY_FLAG)])
    body = sample_body(h.url(), seed=3)
    status, _, _ = await h.post(body, headers=_signed(body, "wrong"))
    assert status == 200
    row = h.rows()[0]
    assert (row["signature"], row["accepted"]) == ("invalid", 1)


async def test_unsigned_route_accepts_and_marks_unsigned(make_harness):
    h = await make_harness(secrets={})
    status, _, _ = await h.post(sample_body(h.url(), seed=4))
    assert status == 200 and h.rows()[0]["signature"] == "unsigned"


async def test_not_json_is_400_and_still_stored(make_harness):
    h = await make_harness()
    body = b'{"webUrl": "x" "content": {}}'       # the missing comma of HCL's own sample
    status, text, _ = await h.post(body, headers=_signed(body))
    assert status == 400 and "not valid JSON" in json.loads(text)["message"]
    row = h.rows()[0]
    assert (row["parse_status"], bytes(row["body"]), row["signature"]) == ("not_json", body,
                                                                           "valid")


async def test_unknown_path_is_404_json_and_not_stored(make_harness):
    h = await make_harness()
    status, text, _ = await h.post(b"{}", path="/nowhere")
    assert status == 404
    message = json.loads(text)["message"]
    assert "/nowhere" in message and "/compassdefect" in message
    assert h.rows() == []


async def test_wrong_method_is_405_json(make_harness):
    h = await make_harness()
    status, text, headers = await h.post(b"", method="GET")
    assert status == 405 and headers["Allow"] == "POST"
    assert "POST" in json.loads(text)["message"]
    assert h.rows() == []


async def test_over_the_limit_is_413(make_harness):
    h = await make_harness(body_limit=2_000)
    body = sample_body("http://x", seed=5)
    assert len(body) > 2_000
    status, text, _ = await h.post(body, headers=_signed(body))
    assert status == 413 and "2000 bytes" in json.loads(text)["message"]
    small = b'{"content": {}}'
    assert (await h.post(small, headers=_signed(small)))[0] == 200


async def test_over_the_limit_without_content_length_is_413(make_harness):
    h = await make_harness(body_limit=2_000)

    async def chunks():             # chunked: the size is known only while reading
        for _ in range(10):
            yield b"x" * 500
    status, _, _ = await h.post(chunks())
    assert status == 413


async def test_auto_detect_learns_header_and_encoding(make_harness):
    h = await make_harness()
    body = sample_body(h.url(), seed=6)
    value = sign(body, SECRET, encoding="base64", prefix=True)
    status, _, _ = await h.post(body, headers={"X-Hub-Signature": value})
    assert status == 200
    assert [r.scheme.learned_header for r in h.learned] == ["X-Hub-Signature"]
    assert h.learned[0].scheme.learned_encoding == "base64"
    assert h.listener.routes[0].scheme.learned_header == "X-Hub-Signature"
    # From now on only that header counts: the right HMAC elsewhere is not accepted.
    body2 = sample_body(h.url(), seed=7)
    status, _, _ = await h.post(body2, headers={"X-Other-Signature": sign(body2, SECRET)})
    assert status == 401
    status, _, _ = await h.post(body2, headers={"x-hub-signature": sign(body2, SECRET)})
    assert status == 200
    assert len(h.learned) == 1


async def test_fixed_header_scheme(make_harness):
    h = await make_harness(routes=[Route(scheme=Scheme(header="X-Sig", encoding="hex"))])
    body = sample_body(h.url(), seed=8)
    assert (await h.post(body, headers={"X-Sig": sign(body, SECRET)}))[0] == 200
    assert (await h.post(body, headers=_signed(body)))[0] == 401
    assert h.learned == []


async def test_routes_are_separate(make_harness):
    routes = [Route("/compassdefect", "Defect"), Route("/compasstask", "Task")]
    h = await make_harness(routes=routes, secrets={"/compassdefect": SECRET})
    body = b'{"content": {"id": {"value": "T1"}}}'
    assert (await h.post(body, path="/compasstask/"))[0] == 200    # unsigned route
    assert (await h.post(body, path="/compassdefect"))[0] == 401   # has a secret
    rows = h.rows()
    assert [(r["route"], r["record_type"]) for r in rows] == [("/compasstask", "Task"),
                                                               ("/compassdefect", "Defect")]
    # Same body on another route is not a duplicate.
    assert rows[1]["duplicate_of"] is None


async def test_duplicate_delivery_is_stored_and_marked(make_harness):
    h = await make_harness()
    body = sample_body(h.url(), seed=9)
    for _ in range(2):
        assert (await h.post(body, headers=_signed(body)))[0] == 200
    rows = h.rows()
    assert rows[1]["duplicate_of"] == rows[0]["id"]
    assert [d.is_duplicate for d in h.delivered] == [False, True]


async def test_a_failing_subscriber_does_not_cost_the_reply(make_harness):
    h = await make_harness()

    def broken(_):
        raise RuntimeError("subscriber bug")
    h.listener.on_delivery(broken)
    body = sample_body(h.url(), seed=10)
    assert (await h.post(body, headers=_signed(body)))[0] == 200
    assert len(h.delivered) == 1


async def test_concurrent_deliveries_are_all_stored(make_harness):
    h = await make_harness()
    bodies = [sample_body(h.url(), seed=11, index=i) for i in range(1, 61)]
    statuses = await asyncio.gather(*(h.post(b, headers=_signed(b)) for b in bodies))
    assert {s for s, _, _ in statuses} == {200}
    assert len(h.rows()) == 60 and h.listener.stats.received == 60


async def test_port_in_use_names_the_port(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    listener = Listener(store, [Route()], lambda _: None)
    try:
        with pytest.raises(ListenerError) as caught:
            await listener.start("127.0.0.1", port)
        assert f"port {port}" in str(caught.value) and "in use" in str(caught.value)
        assert not listener.running
    finally:
        busy.close()
        await listener.stop()
        store.close()


async def test_stop_then_start_again_on_the_same_port(make_harness):
    h = await make_harness(secrets={})
    port = h.listener.port
    await h.listener.stop()
    assert not h.listener.running
    await h.listener.start("127.0.0.1", port)
    assert (await h.post(b'{"content": {}}'))[0] == 200


async def test_a_store_failure_is_503_never_200(make_harness, monkeypatch):
    from compass_listener.store.events import StoreError

    h = await make_harness()
    problems = []
    h.listener.on_problem(problems.append)
    real_append = h.store.append

    async def failing(delivery):
        raise StoreError("the disk holding the history is full; free some space")
    monkeypatch.setattr(h.store, "append", failing)
    body = sample_body(h.url(), seed=12)
    status, text, _ = await h.post(body, headers=_signed(body))
    assert status == 503 and "disk" in json.loads(text)["message"]
    assert h.delivered == [] and problems == ["the disk holding the history is full; "
                                              "free some space"]
    monkeypatch.setattr(h.store, "append", real_append)
    assert (await h.post(body, headers=_signed(body)))[0] == 200
    assert problems[-1] == "" and h.listener.stats.store_failures == 1
