"""The store's filter index (schema 3): a trigram full-text table kept by triggers, built for
histories written before it, and its Python twin for live rows."""

import hashlib
import sqlite3

from compass_listener.core.delivery import Delivery
from compass_listener.core.sample import sample_body
from compass_listener.store import events
from compass_listener.store.events import EventStore, search_text


def make(body: bytes, record_id: str = "SAMPL1", headline: str = "h") -> Delivery:
    return Delivery(
        received_at=1_800_000_000.0, route="/compassdefect", route_label="Defect",
        peer="127.0.0.1", method="POST", path="/compassdefect", headers=[], body=body,
        body_sha256=hashlib.sha256(body).hexdigest(), signature="valid", signature_detail="",
        parse_status="ok", parse_problem="", record_type="Defect", record_id=record_id,
        state="Submitted", headline=headline, owner="lead", reply_status=200, reply_body="",
        accepted=True)


def test_a_version_2_history_gets_its_search_index_when_opened(tmp_path):
    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(path)
    for script in events.MIGRATIONS[:2]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version=2")
    old = [make(b'{"content": {"Project": {"truncated": "false", "value": "Borealis"}}}',
                "OLD1", "first"),
           make(b"not json at all: printer on fire", "OLD2", "second"),
           make(b'{"content": "a string"}', "OLD3", "Third headline")]
    for d in old:
        conn.execute("INSERT INTO deliveries (received_at, route, body, body_sha256, signature,"
                     " parse_status, record_id, headline, reply_status, accepted)"
                     " VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (d.received_at, d.route, d.body, d.body_sha256, d.signature,
                      d.parse_status, d.record_id, d.headline, 200, 1))
    conn.commit()
    conn.close()
    store = EventStore(path)
    try:
        assert store.open().migrated_from == 2
        found = lambda text: [d.record_id for d in store.summaries(text=text)]  # noqa: E731
        assert found("borealis") == ["OLD1"]
        assert found("ON FIRE") == ["OLD2"]          # a body that is not JSON: its text
        assert found("third head") == ["OLD3"]
        assert found("old") == ["OLD3", "OLD2", "OLD1"]
        new = store.append_now(make(b'{"content": {"Owner": {"value": "zoe"}}}', "NEW1"))
        assert found("zoe") == ["NEW1"] and store.count(text="zoe") == 1
    finally:
        store.close()


def test_deleting_a_delivery_removes_it_from_the_index(tmp_path):
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        d = store.append_now(make(b'{"content": {"Notes": {"value": "unique-word"}}}'))
        store._write_conn.execute("DELETE FROM deliveries WHERE id=?", (d.id,))
        assert store._reader().execute(
            "SELECT COUNT(*) FROM deliveries_search").fetchone()[0] == 0
    finally:
        store.close()


def test_the_python_twin_matches_what_the_index_holds(tmp_path):
    body = sample_body("http://127.0.0.1:8080/compassdefect", index=3, seed=3)
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        d = store.append_now(make(body, "SAMPL3", "Head line"))
        indexed = store._reader().execute("SELECT text FROM deliveries_search WHERE rowid=?",
                                          (d.id,)).fetchone()[0]
    finally:
        store.close()
    assert search_text("SAMPL3", "Head line", body) == indexed


def test_pages_by_offset_from_either_end_agree_with_newest_first(tmp_path):
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        ids = [store.append_now(make(f'{{"content": {{"n": {{"value": "v{i}"}}}}}}'.encode(),
                                     f"R{i}")).id for i in range(23)]
        newest_first = ids[::-1]
        total = store.count()
        for offset in range(0, 23, 5):
            page = store.summaries_at(offset, 5, total)
            assert [d.id for d in page] == newest_first[offset:offset + 5], offset
        top = ids[19]                     # a view opened before the last three arrived
        assert [d.id for d in store.summaries_at(0, 3, store.count(max_id=top), max_id=top)] \
            == ids[19:16:-1]
        assert store.count(after_id=ids[9], max_id=top) == 10
        assert [d.record_id for d in store.summaries_at(0, 5, 1, text="R7")] == ["R7"]
    finally:
        store.close()


def test_a_big_history_opens_without_reading_every_page(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite3"
    store = EventStore(path)
    store.open()
    store.append_now(make(b'{"content": {}}'))
    store.close()
    checks = []
    real = sqlite3.connect

    class Spy(sqlite3.Connection):
        def execute(self, sql, *args):
            checks.append(sql)
            return super().execute(sql, *args)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real(*a, factory=Spy, **k))
    monkeypatch.setattr(events, "QUICK_CHECK_MAX_BYTES", 0)
    store = EventStore(path)
    try:
        store.open()
        assert not [c for c in checks if "quick_check" in c]
        assert store.count() == 1
    finally:
        store.close()
    garbage = tmp_path / "g.sqlite3"
    garbage.write_bytes(b"not a database at all" * 1000)
    store = EventStore(garbage)
    try:
        assert store.open().moved_aside is not None      # still caught without quick_check
    finally:
        store.close()
