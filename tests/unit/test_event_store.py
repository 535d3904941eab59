"""store.events: durable appends, duplicates, paging newest first, filters, recovery."""

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from compass_listener.core.delivery import Delivery
from compass_listener.store import events
from compass_listener.store.events import EventStore, StoreError

NOW = 1_800_000_000.0


def make(body: bytes = b'{"content": {}}', route: str = "/compassdefect",
         received_at: float = NOW, record_id: str = "SAMPL00000084",
         headline: str = "Example Defect", status: int = 200) -> Delivery:
    return Delivery(
        received_at=received_at, route=route, route_label="Defect", peer="127.0.0.1",
        method="POST", path=route, headers=[("Content-Type", "application/json"),
                                             ("X-Compass-Signature", "ab" * 20)],
        body=body, body_sha256=hashlib.sha256(body).hexdigest(), signature="valid",
        signature_detail="ok", parse_status="ok", parse_problem="", record_type="Defect",
        record_id=record_id, state="Submitted", headline=headline, owner="lead",
        reply_status=status, reply_body='{"message": "Payload received successfully"}',
        accepted=status == 200)


def _rows_seen_by_another_connection(path) -> list[tuple]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT id, record_id, reply_status, duplicate_of FROM deliveries "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def test_append_now_is_committed_when_it_returns(store, db_path):
    stored = store.append_now(make())
    assert stored.id == 1 and stored.duplicate_of is None
    assert _rows_seen_by_another_connection(db_path) == [(1, "SAMPL00000084", 200, None)]


async def test_async_append_is_committed_when_it_returns(store, db_path):
    stored = await store.append(make(record_id="SAMPL2"))
    assert stored.id == 1
    assert _rows_seen_by_another_connection(db_path)[0][1] == "SAMPL2"


def test_everything_is_kept(store):
    original = make(body='{"content": {"Headline": {"value": "é"}}}'.encode())
    store.append_now(original)
    got = store.get(original.id)
    assert got.body == original.body and got.headers == original.headers
    assert got.reply_body == original.reply_body and got.peer == "127.0.0.1"
    assert (got.received_at, got.route_label, got.signature_detail) == (NOW, "Defect", "ok")
    assert store.get(999) is None


def test_duplicates_same_body_same_route_within_24_hours(store):
    first = store.append_now(make(body=b"A"))
    again = store.append_now(make(body=b"A", received_at=NOW + 3600))
    other_route = store.append_now(make(body=b"A", route="/other", received_at=NOW + 3600))
    other_body = store.append_now(make(body=b"B", received_at=NOW + 3600))
    assert again.duplicate_of == first.id and again.is_duplicate
    assert other_route.duplicate_of is None
    assert other_body.duplicate_of is None
    assert not first.is_duplicate


def test_same_body_after_24_hours_is_not_a_duplicate(store):
    store.append_now(make(body=b"A"))
    later = store.append_now(make(body=b"A", received_at=NOW + events.DUPLICATE_WINDOW_S + 1))
    assert later.duplicate_of is None
    # ...and the one after it, within 24 h of `later`, points at `later`.
    third = store.append_now(make(body=b"A", received_at=NOW + events.DUPLICATE_WINDOW_S + 60))
    assert third.duplicate_of == later.id


async def test_duplicates_within_one_group_commit(store):
    results = await asyncio.gather(*(store.append(make(body=b"SAME")) for _ in range(20)))
    originals = [r for r in results if r.duplicate_of is None]
    assert len(originals) == 1
    assert all(r.duplicate_of == originals[0].id for r in results if r is not originals[0])
    assert len({r.id for r in results}) == 20


def test_paging_newest_first(store):
    for i in range(25):
        store.append_now(make(body=str(i).encode(), record_id=f"R{i}", received_at=NOW + i))
    first = store.summaries(limit=10)
    assert [d.record_id for d in first] == [f"R{i}" for i in range(24, 14, -1)]
    second = store.summaries(limit=10, before_id=first[-1].id)
    assert [d.record_id for d in second] == [f"R{i}" for i in range(14, 4, -1)]
    last = store.summaries(limit=10, before_id=second[-1].id)
    assert [d.record_id for d in last] == [f"R{i}" for i in range(4, -1, -1)]
    assert store.summaries(limit=10, before_id=last[-1].id) == []
    # Summaries leave the heavy columns out.
    assert first[0].body == b"" and first[0].headers == [] and first[0].reply_body == ""
    assert store.count() == 25 and store.latest().record_id == "R24"


def test_filter_by_text_and_route(store):
    store.append_now(make(body=b'{"content": {"Notes_Log": {"value": "needle 50%"}}}',
                          record_id="SAMPL1", headline="first"))
    store.append_now(make(body=b"2", record_id="SAMPL2", headline="Login fails"))
    store.append_now(make(body=b"3", record_id="TASK3", headline="x", route="/task"))
    assert [d.record_id for d in store.summaries(text="needle")] == ["SAMPL1"]
    assert [d.record_id for d in store.summaries(text="login")] == ["SAMPL2"]   # any case
    assert [d.record_id for d in store.summaries(text="SAMPL")] == ["SAMPL2", "SAMPL1"]
    assert [d.record_id for d in store.summaries(text="50%")] == ["SAMPL1"]
    assert store.summaries(text="5_%") == []         # LIKE wildcards are taken literally
    assert [d.record_id for d in store.summaries(route="/task")] == ["TASK3"]
    assert store.count(route="/compassdefect") == 2 and store.count(text="zzz") == 0


def test_find_by_record_id(store):
    store.append_now(make(body=b"1", record_id="SAMPL1"))
    store.append_now(make(body=b"2", record_id="SAMPL2"))
    store.append_now(make(body=b"3", record_id="SAMPL1"))
    found = store.find_by_record_id("SAMPL1")
    assert [d.id for d in found] == [3, 1]
    assert store.find_by_record_id("nope") == []


def test_survives_reopen(db_path):
    first = EventStore(db_path)
    first.open()
    for i in range(5):
        first.append_now(make(body=str(i).encode()))
    first.close()
    second = EventStore(db_path)
    report = second.open()
    try:
        assert report.moved_aside is None and second.count() == 5
        again = second.append_now(make(body=b"0"))
        assert again.id == 6 and again.duplicate_of == 1    # duplicates span restarts
    finally:
        second.close()


async def test_close_commits_every_queued_write(db_path):
    store = EventStore(db_path)
    store.open()
    tasks = [asyncio.ensure_future(store.append(make(body=str(i).encode()))) for i in range(300)]
    await asyncio.sleep(0)          # every append is now queued for the writer
    store.close()                   # must drain the queue before returning
    assert len(_rows_seen_by_another_connection(db_path)) == 300
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


def test_corrupt_file_is_moved_aside(db_path):
    db_path.write_bytes(b"this is not a database, " * 100)
    store = EventStore(db_path)
    report = store.open()
    try:
        assert report.moved_aside is not None and report.moved_aside.exists()
        assert b"not a database" in report.moved_aside.read_bytes()
        # No handle is left on the moved file (on Windows it could not have been moved).
        open_files = {f.path for f in psutil.Process().open_files()}
        assert str(report.moved_aside) not in open_files
        assert store.count() == 0
        assert store.append_now(make()).id == 1
    finally:
        store.close()


def test_history_from_a_newer_version_is_refused_not_destroyed(db_path):
    conn = sqlite3.connect(str(db_path))
    conn.execute(f"PRAGMA user_version={events.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        EventStore(db_path).open()
    assert db_path.exists()


def test_reading_a_closed_store_is_a_store_error(db_path):
    store = EventStore(db_path)
    with pytest.raises(StoreError):
        store.summaries()


def test_a_failed_write_is_reported_and_the_next_one_works(store, monkeypatch):
    real = store._write_batch
    calls = []

    def failing_once(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise sqlite3.OperationalError("database or disk is full")
        return real(batch)

    monkeypatch.setattr(store, "_write_batch", failing_once)
    with pytest.raises(StoreError, match="full"):
        store.append_now(make(body=b"1"))
    assert "full" in store.last_error
    assert store.append_now(make(body=b"2")).id == 1
    assert store.last_error == ""


def test_group_commit_pays_for_bursts(store):
    # Not a benchmark: a sanity bound so a per-row fsync regression shows up.
    started = time.perf_counter()

    async def burst():
        await asyncio.gather(*(store.append(make(body=str(i).encode())) for i in range(500)))
    asyncio.run(burst())
    assert store.count() == 500
    assert time.perf_counter() - started < 20


async def test_an_unexpected_write_error_does_not_stop_the_writer(store):
    bad = make(body=b"bad")
    bad.headers = [(b"bytes", b"cannot be JSON")]      # json.dumps raises TypeError
    with pytest.raises(StoreError, match="cannot be written"):
        await asyncio.wait_for(store.append(bad), 5)
    # The writer thread is still there: the next delivery is stored, not left waiting.
    stored = await asyncio.wait_for(store.append(make(body=b"good")), 5)
    assert stored.id >= 1 and store.count() == 1


async def test_append_after_close_fails_at_once_instead_of_hanging(tmp_path):
    store = EventStore(tmp_path / "closed.sqlite3")
    store.open()
    store.close()
    delivery = make()
    with pytest.raises(StoreError, match="is closed"):
        await asyncio.wait_for(store.append(delivery), timeout=2)
    with pytest.raises(StoreError, match="is closed"):
        store.append_now(delivery)


async def test_the_wal_stays_bounded_under_a_sustained_burst(store, db_path):
    # Under a load that never pauses, the writer always adds frames while a checkpoint
    # runs; unless the WAL starts over it grows without end (50 MB a second was seen).
    wal = db_path.with_name(db_path.name + "-wal")
    body = b'{"content": {"Description": "' + b"x" * 5000 + b'"}}'
    bound = 8 * events.CHECKPOINT_WAL_BYTES
    # Every body goes into the WAL at least once, so a WAL that never started over
    # would end up larger than all of them together: more than the bound.
    goal = 12 * events.CHECKPOINT_WAL_BYTES
    written = 0
    largest = 0
    give_up = time.monotonic() + 60

    async def appender(n: int) -> None:
        nonlocal written, largest
        i = 0
        while written < goal and time.monotonic() < give_up:
            i += 1
            await store.append(make(body + b"%d-%d" % (n, i), received_at=NOW + i))
            written += len(body)
            largest = max(largest, wal.stat().st_size)

    await asyncio.gather(*(appender(n) for n in range(20)))
    assert written >= goal
    assert largest < bound, f"the WAL grew to {largest} bytes for {written} bytes of bodies"



_BURST_IN_A_CHILD = """
import asyncio, sys, time
sys.path[:0] = sys.argv[2:4]
from test_event_store import NOW, make
from compass_listener.store.events import EventStore, StoreError

store = EventStore(sys.argv[1])
store.open()
body = b'{"content": {"Description": "' + b"x" * 5000 + b'"}}'
stored = failed = 0

async def appender(n, end):
    global stored, failed
    i = 0
    while time.monotonic() < end:
        i += 1
        try:
            await store.append(make(body + b"%d-%d" % (n, i), received_at=NOW + i))
            stored += 1
        except StoreError:
            failed += 1

async def main():
    print("ready", flush=True)
    end = time.monotonic() + 4
    await asyncio.gather(*(appender(n, end) for n in range(20)))

asyncio.run(main())
store.close()
print(stored, failed, flush=True)
"""


def test_other_processes_may_open_the_history_during_a_burst(db_path):
    # The store must never touch SQLite's files behind SQLite's back. It once read the
    # -shm file to learn how full the WAL was; closing that descriptor dropped SQLite's
    # locks on the file for the whole process, so the next process to open the history
    # (`compass-listener export`, the window of a second instance) thought it was the
    # first, rebuilt the wal-index under the writer, and the listener died of SIGBUS.
    here = Path(__file__).resolve()
    child = subprocess.Popen(
        [sys.executable, "-c", _BURST_IN_A_CHILD, str(db_path), str(here.parent),
         str(here.parents[2])], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        opened = 0
        while child.poll() is None:
            conn = sqlite3.connect(str(db_path), timeout=10)
            try:
                conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()
            finally:
                conn.close()
            opened += 1
            time.sleep(0.02)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, f"the writing process died ({child.returncode}): {err[-2000:]}"
    stored, failed = map(int, out.split())
    assert failed == 0 and stored > 1000 and opened > 20
    assert len(_rows_seen_by_another_connection(db_path)) == stored
