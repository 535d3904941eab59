"""The store's filter index: a trigram full-text table (schema 3) filled in the background
by the writer thread (schema 5), the filter that also scans the rows it does not hold yet,
and the index's Python twin for live rows."""

import asyncio
import hashlib
import sqlite3
import time

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


def wait_indexed(store: EventStore, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while store.search_backlog():
        assert time.monotonic() < deadline, f"{store.search_backlog()} rows still not indexed"
        time.sleep(0.01)


def indexed_ids(store: EventStore) -> list[int]:
    return [r[0] for r in store._reader().execute(
        "SELECT rowid FROM deliveries_search ORDER BY rowid")]


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
        wait_indexed(store)     # the background indexer fills the index, oldest first
        assert indexed_ids(store) == [1, 2, 3, new.id]
        assert found("borealis") == ["OLD1"] and found("old") == ["OLD3", "OLD2", "OLD1"]
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
        wait_indexed(store)
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


FILTERS = ["zoe", "ZOE", "oe", "z", "SAMPL", "head", "z%e", "o_", "nothing-like-it"]


def test_the_filter_finds_rows_the_index_does_not_hold_yet(tmp_path):
    """The filter gives the same answer before and after the indexer has reached a row,
    for indexed texts (3+ characters) and scanned ones (shorter, or with LIKE wildcards)."""
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        store.hold_indexing(True)
        for i, owner in enumerate(["zoe", "zed", "o_o", "z%e", "ann"] * 3):
            store.append_now(make(f'{{"content": {{"Owner": {{"value": "{owner}"}}}}}}'
                                  .encode(), f"SAMPL{i}", f"Head {i}"))
        assert store.search_backlog() == 15 and indexed_ids(store) == []
        before = {t: ([d.id for d in store.summaries(text=t)], store.count(text=t))
                  for t in FILTERS}
        assert before["zoe"][1] == before["ZOE"][1] == 3 and before["z%e"][1] == 3
        assert before["o_"][1] == 3 and before["nothing-like-it"] == ([], 0)
        store.hold_indexing(False)
        wait_indexed(store)
        assert len(indexed_ids(store)) == 15
        after = {t: ([d.id for d in store.summaries(text=t)], store.count(text=t))
                 for t in FILTERS}
        assert after == before
    finally:
        store.close()


def test_half_indexed_history_counts_each_row_once(tmp_path):
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        store.hold_indexing(True)
        for i in range(10):
            store.append_now(make(b'{"content": {"Owner": {"value": "zoe"}}}', f"R{i}"))
        store._index_step()                     # one chunk, as the writer would run it
        store._write_conn.execute("UPDATE search_progress SET indexed_upto = 4")
        # rows 5..10 may be in the index as well as above indexed_upto: never twice
        assert store.search_backlog() == 6
        assert store.count(text="zoe") == 10 and len(store.summaries(text="zoe")) == 10
    finally:
        store.close()


def test_a_version_4_history_is_not_indexed_again(tmp_path):
    """Versions 3 and 4 indexed every row as it was inserted: version 5 starts past them."""
    path = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(path)
    for script in events.MIGRATIONS[:4]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version=4")
    conn.execute("INSERT INTO deliveries (received_at, route, body, body_sha256, signature,"
                 " parse_status, record_id, headline, reply_status, accepted)"
                 " VALUES (1, '/r', '{\"content\": {}}', 'x', 'valid', 'ok', 'V4ROW', 'h',"
                 " 200, 1)")
    conn.commit()
    conn.close()
    store = EventStore(path)
    try:
        assert store.open().migrated_from == 4
        assert store.search_backlog() == 0
        assert store._reader().execute(
            "SELECT indexed_upto FROM search_progress").fetchone()[0] == 1
        assert [d.record_id for d in store.summaries(text="v4row")] == ["V4ROW"]
        assert not store._reader().execute(
            "SELECT 1 FROM sqlite_master WHERE name='deliveries_search_insert'").fetchone()
    finally:
        store.close()


def test_an_id_used_again_after_the_newest_rows_are_deleted_is_indexed(store):
    for i in range(3):
        store.append_now(make(b'{"content": {"Owner": {"value": "first"}}}', f"R{i}"))
    wait_indexed(store)
    store._write_conn.execute("DELETE FROM deliveries WHERE id >= 2")
    again = store.append_now(make(b'{"content": {"Owner": {"value": "second"}}}', "AGAIN"))
    assert again.id == 2
    assert [d.record_id for d in store.summaries(text="second")] == ["AGAIN"]
    wait_indexed(store)
    assert indexed_ids(store) == [1, 2]
    assert [d.record_id for d in store.summaries(text="second")] == ["AGAIN"]
    assert [d.record_id for d in store.summaries(text="first")] == ["R0"]


def test_indexing_waits_for_a_pause_and_deliveries_go_first(tmp_path):
    """A long backlog is indexed in small transactions: a delivery that comes meanwhile is
    committed long before the backlog is gone."""
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        store.hold_indexing(True)
        body = sample_body("http://127.0.0.1:8080/compassdefect", index=1, seed=1)

        async def burst():         # one group commit per batch, not an fsync per row
            await asyncio.gather(*(store.append(make(body, f"R{i}")) for i in range(3000)))
        asyncio.run(burst())
        store.append_now(make(body, "LAST"))
        assert store.search_backlog() == 3001
        store.hold_indexing(False)
        time.sleep(0.05)
        started = time.monotonic()
        mid = store.append_now(make(b'{"content": {"Owner": {"value": "midway"}}}', "MID"))
        waited = time.monotonic() - started
        backlog = store.search_backlog()
        assert backlog > 0, "the whole backlog was indexed before the delivery was stored"
        assert waited < 0.5, f"a delivery waited {waited:.3f} s behind the indexer"
        assert [d.id for d in store.summaries(text="midway")] == [mid.id]
        wait_indexed(store)
    finally:
        store.close()


def test_a_load_that_never_pauses_cannot_grow_the_backlog_without_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "INDEX_QUIET_S", 3600.0)      # never quiet
    monkeypatch.setattr(events, "INDEX_FORCE_BACKLOG", 50)
    store = EventStore(tmp_path / "h.sqlite3")
    store.open()
    try:
        for i in range(400):
            store.append_now(make(f'{{"content": {{"n": {{"value": "v{i}"}}}}}}'.encode(),
                                  f"R{i}"))
        assert store.search_backlog() <= 50 + events.INDEX_CHUNK_ROWS_MAX
        assert store.search_backlog() < 400
    finally:
        store.close()


def test_a_failed_chunk_is_retried_and_deliveries_still_work(store, monkeypatch, caplog):
    monkeypatch.setattr(events, "INDEX_RETRY_S", 0.05)
    store.hold_indexing(True)
    store.append_now(make(b'{"content": {"Owner": {"value": "zoe"}}}', "R1"))
    real = store._write_conn
    fails = {"left": 1}

    class Failing:
        def execute(self, sql, *args):
            if "INSERT OR REPLACE INTO deliveries_search" in sql and fails["left"]:
                fails["left"] -= 1
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    store._write_conn = Failing()
    try:
        assert store._index_step() == 0
        assert "indexing the history for the filter failed" in caplog.text
        assert store.search_backlog() == 1 and store.count(text="zoe") == 1
        store.hold_indexing(False)
        wait_indexed(store)
    finally:
        store._write_conn = real
    assert indexed_ids(store) == [1]
