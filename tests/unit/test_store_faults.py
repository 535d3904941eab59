"""store.events under faults: disk full and read-only are StoreErrors that clear when the
fault does; corrupt, truncated, older and newer history files at start."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from compass_listener.store import events
from compass_listener.store.events import EventStore, StoreError

from test_event_store import make

# The statement version 1 shipped with, frozen here: a migration test must start from the
# file an old version really wrote, not from whatever _SCHEMA_V1 says today.
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, received_at REAL NOT NULL, route TEXT NOT NULL,
    route_label TEXT NOT NULL DEFAULT '', peer TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL DEFAULT 'POST', path TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '[]', body BLOB NOT NULL, body_sha256 TEXT NOT NULL,
    signature TEXT NOT NULL, signature_detail TEXT NOT NULL DEFAULT '',
    parse_status TEXT NOT NULL, parse_problem TEXT NOT NULL DEFAULT '',
    record_type TEXT NOT NULL DEFAULT '', record_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '', headline TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '', reply_status INTEGER NOT NULL,
    reply_body TEXT NOT NULL DEFAULT '', accepted INTEGER NOT NULL, duplicate_of INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_dup ON deliveries (route, body_sha256, received_at);
CREATE INDEX IF NOT EXISTS deliveries_record ON deliveries (record_id);
"""


def _pragma(conn: sqlite3.Connection, text: str) -> None:
    conn.execute(text).fetchall()


# ---- faults while running ------------------------------------------------------------------
async def test_read_only_history_is_a_store_error_and_clears_when_writable_again(store):
    # query_only makes SQLite itself refuse the write (SQLITE_READONLY), as a read-only file
    # would; chmod cannot do it here because the tests run as root.
    await store.call_in_writer(lambda c: _pragma(c, "PRAGMA query_only=ON"))
    with pytest.raises(StoreError, match="read-only; make it writable") as caught:
        await store.append(make(body=b"1"))
    assert str(store.path) in str(caught.value) and "Compass will retry" in str(caught.value)
    assert store.count() == 0 and "read-only" in store.last_error
    await store.call_in_writer(lambda c: _pragma(c, "PRAGMA query_only=OFF"))
    stored = await store.append(make(body=b"2"))
    assert stored.id == 1 and store.count() == 1 and store.last_error == ""


async def test_disk_full_is_a_store_error_and_clears_when_space_is_free(store):
    # max_page_count at the current size: SQLite reports SQLITE_FULL for real.
    await store.call_in_writer(lambda c: _pragma(
        c, f"PRAGMA max_page_count={c.execute('PRAGMA page_count').fetchone()[0]}"))
    big = make(body=b"x" * 200_000)
    with pytest.raises(StoreError, match="full; free some space"):
        await store.append(big)
    assert store.count() == 0
    await store.call_in_writer(lambda c: _pragma(c, "PRAGMA max_page_count=1073741823"))
    assert (await store.append(make(body=b"y" * 200_000))).id >= 1
    assert store.count() == 1 and store.last_error == ""


async def test_writer_jobs_run_between_group_commits_in_order(store):
    order = []
    results = await asyncio.gather(
        store.append(make(body=b"a")),
        store.call_in_writer(lambda c: order.append("job1") or 1),
        store.call_in_writer(lambda c: order.append("job2") or 2),
        store.append(make(body=b"b")))
    assert order == ["job1", "job2"] and results[1:3] == [1, 2]
    assert store.count() == 2


async def test_a_failing_writer_job_is_a_store_error_and_the_writer_goes_on(store):
    def boom(conn):
        raise sqlite3.OperationalError("database or disk is full")
    with pytest.raises(StoreError, match="full"):
        await store.call_in_writer(boom)
    assert (await store.append(make())).id == 1


# ---- at start ------------------------------------------------------------------------------
def _assert_fresh_after_move(db_path: Path, report, marker: bytes) -> None:
    moved = report.moved_aside
    assert moved is not None and moved.exists() and moved.parent == db_path.parent
    assert moved.name.startswith("history.corrupt-") and moved.suffix == ".sqlite3"
    assert moved.read_bytes().startswith(marker)


def test_garbage_bytes_are_moved_aside_with_a_timestamp_and_a_fresh_history_starts(db_path):
    db_path.write_bytes(b"\x00\xffgarbage" * 5000)
    store = EventStore(db_path)
    report = store.open()
    try:
        _assert_fresh_after_move(db_path, report, b"\x00\xffgarbage")
        assert store.count() == 0 and store.append_now(make()).id == 1
    finally:
        store.close()


def test_a_truncated_history_is_moved_aside_and_a_fresh_one_starts(db_path):
    first = EventStore(db_path)
    first.open()
    for i in range(300):
        first.append_now(make(body=(b"%d" % i) * 500))
    first.close()
    data = db_path.read_bytes()
    assert len(data) > 100_000
    db_path.write_bytes(data[: len(data) // 2 + 123])    # cut mid-page, half the file gone
    store = EventStore(db_path)
    report = store.open()
    try:
        _assert_fresh_after_move(db_path, report, b"SQLite format 3\x00")
        assert store.count() == 0 and store.append_now(make()).id == 1
    finally:
        store.close()


def test_two_bad_starts_in_the_same_second_keep_both_files(db_path):
    reports = []
    for _ in range(2):
        db_path.unlink(missing_ok=True)
        for side in db_path.parent.glob("history.sqlite3-*"):
            side.unlink()
        db_path.write_bytes(b"not a database " * 100)
        store = EventStore(db_path)
        reports.append(store.open())
        store.close()
    moved = {r.moved_aside for r in reports}
    assert len(moved) == 2 and all(p.exists() for p in moved)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_read_only_opening_reports_damage_and_moves_nothing(db_path, damage):
    if damage == "garbage":
        db_path.write_bytes(b"\x00garbage\xff" * 500)
    else:
        s = EventStore(db_path)
        s.open()
        for i in range(200):
            s.append_now(make(body=b"%d" % i * 700))
        s.close()
        db_path.write_bytes(db_path.read_bytes()[: db_path.stat().st_size // 3 + 77])
    before = sorted(p.name for p in db_path.parent.iterdir())
    store = EventStore(db_path)
    with pytest.raises(StoreError, match="is damaged .*start Compass Listener or "
                                         "`compass-listener listen` to move it aside"):
        store.open(read_only=True)
    assert sorted(p.name for p in db_path.parent.iterdir()) == before


def test_read_only_opening_reads_an_intact_history_and_writes_nothing(store, db_path):
    store.append_now(make())
    store.close()
    stamp = db_path.stat().st_mtime_ns
    reader = EventStore(db_path)
    reader.open(read_only=True)
    try:
        assert reader.count() == 1 and reader.latest().record_id == "SAMPL00000084"
        with pytest.raises(StoreError, match="closed"):
            reader.append_now(make())
    finally:
        reader.close()
    assert db_path.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["history.sqlite3"]


def test_a_wal_history_in_a_read_only_folder_is_explained(db_path, monkeypatch):
    db_path.write_bytes(b"")
    try:
        sqlite3.connect(f"file:{db_path.parent}/missing/x.sqlite3?mode=ro", uri=True)
    except sqlite3.OperationalError as exc:
        cantopen = exc
    monkeypatch.setattr(events.os, "access", lambda path, mode: False)
    text = events.read_problem(db_path, cantopen)
    assert text.startswith(f"the history {db_path} cannot be read because its folder ")
    assert "read-only" in text and "history.sqlite3-shm" in text and "--data-dir" in text


def test_a_locked_history_is_a_store_error_and_is_not_moved_aside(db_path, monkeypatch):
    created = EventStore(db_path)
    created.open()
    created.close()
    holder = sqlite3.connect(str(db_path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(events.sqlite3, "connect", _short_timeout(sqlite3.connect))
    try:
        with pytest.raises(StoreError, match="no other program holds"):
            EventStore(db_path).open()
        assert not list(db_path.parent.glob("history.corrupt-*"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _short_timeout(connect):
    def wrapped(*args, **kwargs):
        kwargs["timeout"] = 0.2
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA busy_timeout=200")
        return conn
    return wrapped


def test_a_version_1_history_is_migrated_with_its_data(db_path):
    conn = sqlite3.connect(str(db_path))
    conn.executescript(V1_SCHEMA)
    old = make(body=b'{"content": {"id": {"value": "OLD1"}}}', record_id="OLD1")
    conn.execute(
        "INSERT INTO deliveries (received_at, route, route_label, peer, method, path, headers,"
        " body, body_sha256, signature, signature_detail, parse_status, parse_problem,"
        " record_type, record_id, state, headline, owner, reply_status, reply_body, accepted)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (old.received_at, old.route, old.route_label, old.peer, old.method, old.path,
         '[["Content-Type", "application/json"]]', old.body, old.body_sha256, old.signature,
         old.signature_detail, old.parse_status, old.parse_problem, old.record_type,
         old.record_id, old.state, old.headline, old.owner, 200, old.reply_body, 1))
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()

    store = EventStore(db_path)
    report = store.open()
    try:
        assert report.migrated_from == 1 and report.moved_aside is None
        got = store.get(1)
        assert got.body == old.body and got.record_id == "OLD1"
        assert got.headers == [("Content-Type", "application/json")]
        again = store.append_now(make(body=old.body, record_id="OLD1"))
        assert again.id == 2 and again.duplicate_of == 1
    finally:
        store.close()
    check = sqlite3.connect(str(db_path))
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == events.SCHEMA_VERSION
        indexes = {r[0] for r in check.execute(
            "SELECT name FROM sqlite_master WHERE type='index'")}
        assert "deliveries_received" in indexes           # version 2's step ran
    finally:
        check.close()


def test_a_new_history_is_current_and_vacuums_incrementally(store, db_path):
    conn = sqlite3.connect(str(db_path))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == events.SCHEMA_VERSION
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2      # incremental
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_history_from_a_newer_version_gets_a_clear_sentence_and_is_kept(db_path):
    conn = sqlite3.connect(str(db_path))
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version={events.SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as caught:
        EventStore(db_path).open()
    text = str(caught.value)
    assert "newer version of Compass Listener" in text and str(db_path) in text
    assert f"history format {events.SCHEMA_VERSION + 5}" in text and "--data-dir" in text
    # Kept where it was, its data and version untouched (not moved aside, not migrated).
    check = sqlite3.connect(str(db_path))
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == events.SCHEMA_VERSION + 5
        assert check.execute("SELECT name FROM sqlite_master").fetchall() == [("future",)]
    finally:
        check.close()
    assert not list(db_path.parent.glob("history.corrupt-*"))
