"""Retention (trim by days and/or count, space reclaimed, quiet moments) and export (JSON
lines and CSV round-trip the raw bytes, credentials redacted, `export` exit codes)."""

import asyncio
import base64
import csv
import io
import json
import sqlite3
import threading
import time

import pytest

from compass_listener import cli
from compass_listener.core import export_format
from compass_listener.core.redact import REDACTED
from compass_listener.store import export
from compass_listener.store.events import EventStore
from compass_listener.store.retention import Retention, RetentionKeeper
from compass_listener.store.settings import Settings, load_settings, save_settings

from test_event_store import make

DAY = 86400.0
NOW = time.time()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # cli.main sets up the process's log file once; in-process it would pin every later
    # test's log to this temporary home.
    monkeypatch.setattr("compass_listener.store.paths.setup_logging", lambda **kw: None)
    return tmp_path


@pytest.fixture
def store(home):
    s = EventStore(home / "history.sqlite3")
    s.open()
    yield s
    s.close()


def _fill_days(store, days: int, per_day: int = 10, size: int = 2000) -> None:
    """per_day deliveries for each of the last `days` days, oldest first."""
    for day in range(days, 0, -1):
        for i in range(per_day):
            store.append_now(make(body=b"%d-%d-" % (day, i) + b"x" * size,
                                  received_at=NOW - day * DAY + i, record_id=f"D{day}-{i}"))


# ---- retention -----------------------------------------------------------------------------
async def test_trim_by_days_keeps_the_recent_ones(store):
    _fill_days(store, 10)
    assert store.count_to_trim(keep_days=3, now=NOW) == 70
    assert await store.trim(keep_days=3, now=NOW) == 70
    kept = {d.record_id.split("-")[0] for d in store.summaries(limit=1000)}
    assert kept == {"D1", "D2", "D3"} and store.count() == 30


async def test_trim_by_count_keeps_the_newest(store, monkeypatch):
    monkeypatch.setattr("compass_listener.store.events.TRIM_CHUNK", 7)   # several chunks
    _fill_days(store, 5)
    newest = [d.id for d in store.summaries(limit=12)]
    assert await store.trim(keep_count=12) == 38
    assert [d.id for d in store.summaries(limit=1000)] == newest


async def test_days_and_count_together_the_stricter_wins(store):
    _fill_days(store, 10)
    assert await store.trim(keep_days=5, keep_count=100, now=NOW) == 50
    assert await store.trim(keep_days=5, keep_count=20, now=NOW) == 30
    assert store.count() == 20


async def test_no_limit_deletes_nothing(store):
    _fill_days(store, 3)
    assert store.count_to_trim() == 0 and await store.trim() == 0 and store.count() == 30


async def test_trim_and_reclaim_give_the_space_back(store, home):
    _fill_days(store, 20, per_day=20, size=20_000)
    db = home / "history.sqlite3"
    await store.call_in_writer(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
    before = db.stat().st_size
    assert await store.trim(keep_days=2, now=NOW) == 360
    await store.reclaim()
    after = db.stat().st_size
    wal = home / "history.sqlite3-wal"
    assert after < before * 0.3, (before, after)
    assert not wal.exists() or wal.stat().st_size == 0
    assert store.count() == 40 and store.get(store.latest().id).body.endswith(b"x" * 20_000)


async def test_reclaim_switches_an_old_file_to_incremental_vacuum(home):
    db = home / "history.sqlite3"
    conn = sqlite3.connect(str(db))
    conn.execute("PRAGMA auto_vacuum=NONE")
    conn.execute("CREATE TABLE t (x)")          # an old file: created without auto_vacuum
    conn.close()
    conn = sqlite3.connect(str(db))
    conn.execute("DROP TABLE t")
    conn.close()
    s = EventStore(db)
    s.open()
    try:
        _fill_days(s, 5, size=20_000)
        assert await s.trim(keep_count=5) == 45
        await s.reclaim()
        mode = await s.call_in_writer(lambda c: c.execute("PRAGMA auto_vacuum").fetchone()[0])
        assert mode == 2 and s.count() == 5
    finally:
        s.close()


async def test_deliveries_keep_flowing_while_a_trim_runs(store, monkeypatch):
    monkeypatch.setattr("compass_listener.store.events.TRIM_CHUNK", 50)
    _fill_days(store, 10, per_day=100, size=100)
    trim = asyncio.ensure_future(store.trim(keep_count=10))
    stored = await asyncio.gather(*(store.append(make(body=b"live-%d" % i)) for i in range(30)))
    deleted = await trim
    assert all(d.id for d in stored) and deleted >= 990
    assert store.count() >= 30


async def test_the_keeper_waits_for_a_quiet_moment_then_trims(store):
    _fill_days(store, 5)
    policy = Retention(keep_count=10)
    keeper = RetentionKeeper(store, lambda: policy, interval=3600, quiet=0.3)
    store.append_now(make(body=b"just now"))          # the store is busy right now
    started = time.monotonic()
    keeper.start()
    try:
        for _ in range(100):
            if keeper.passes:
                break
            await asyncio.sleep(0.05)
        assert keeper.passes == 1 and time.monotonic() - started >= 0.25
        assert keeper.last_trimmed == 41 and store.count() == 10
        policy = Retention(keep_count=3)
        keeper.trim_soon()
        for _ in range(100):
            if keeper.passes == 2:
                break
            await asyncio.sleep(0.05)
        assert keeper.last_trimmed == 7 and store.count() == 3
    finally:
        await keeper.stop()


def test_retention_is_off_by_default_and_saved_in_the_settings_file(home):
    assert not Settings().retention.active
    settings = Settings(history_keep_days=30, history_keep_count=5000)
    save_settings(settings)
    again = load_settings()
    assert (again.history_keep_days, again.history_keep_count) == (30, 5000)
    assert again.retention == Retention(30, 5000)
    assert "[history]" in (home / "settings.toml").read_text()


def test_stricter_means_rows_could_go():
    off = Retention()
    assert Retention(keep_days=30).stricter_than(off)
    assert Retention(keep_days=7).stricter_than(Retention(keep_days=30))
    assert not Retention(keep_days=30).stricter_than(Retention(keep_days=7))
    assert not off.stricter_than(Retention(keep_days=7))          # turning it off
    assert Retention(keep_days=30, keep_count=10).stricter_than(Retention(keep_days=30))
    assert Retention(30, 0).describe() == "30 days" and off.describe() == "everything"


# ---- export --------------------------------------------------------------------------------
BINARY = b"\xff\xfe\x00raw \x80 bytes"
UTF8 = '{"content": {"Headline": {"value": "caf\u00e9 \u2603"}}}'.encode()


def _two(store):
    a = make(body=UTF8, record_id="UTF8")
    a.headers = [("Authorization", "Bearer s3cr3t-token"), ("X-Compass-Signature", "ab" * 20),
                 ("Cookie", "session=abc")]
    store.append_now(a)
    store.append_now(make(body=BINARY, record_id="BIN", received_at=NOW))
    return a


def test_jsonl_round_trips_raw_bytes_and_redacts_credentials(store, home):
    _two(store)
    out = io.StringIO()
    assert export.write(home / "history.sqlite3", out, "jsonl") == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["record_id"] for r in lines] == ["UTF8", "BIN"]         # oldest first
    assert lines[0]["body_encoding"] == "utf-8" and "caf\u00e9" in lines[0]["body"]
    assert lines[1]["body_encoding"] == "base64"
    for r, raw in zip(lines, (UTF8, BINARY)):
        assert export_format.body_bytes(r["body_encoding"], r["body"]) == raw
        assert set(r) == set(export_format.COLUMNS)
    headers = dict(map(tuple, lines[0]["headers"]))
    assert headers["Authorization"] == REDACTED and headers["Cookie"] == REDACTED
    assert headers["X-Compass-Signature"] == "ab" * 20
    assert "s3cr3t" not in out.getvalue() and "session=abc" not in out.getvalue()


def test_csv_round_trips_raw_bytes(store, home):
    _two(store)
    target = home / "out.csv"
    assert export.to_file(home / "history.sqlite3", target, "csv") == 2
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["record_id"] for r in rows] == ["UTF8", "BIN"]
    assert export_format.body_bytes(rows[1]["body_encoding"], rows[1]["body"]) == BINARY
    assert export_format.body_bytes(rows[0]["body_encoding"], rows[0]["body"]) == UTF8
    assert base64.b64decode(rows[1]["body"]) == BINARY
    assert rows[0]["accepted"] == "true" and rows[0]["duplicate_of"] == ""
    assert "s3cr3t" not in target.read_text(encoding="utf-8")


def test_csv_cells_that_look_like_formulas_are_neutralised_but_json_is_not(store, home):
    # CSV injection: a headline typed into Compass must not run as a spreadsheet formula.
    hostile = {"=HYPERLINK(\"http://x\")": "=", "+1+1": "+", "-2+3": "-", "@SUM(A1)": "@",
               "\tcmd": "\t", "\rcmd": "\r"}
    for i, headline in enumerate(hostile):
        store.append_now(make(body=b"=1+1 body %d" % i, record_id=f"R{i}", headline=headline,
                              received_at=NOW + i))
    store.append_now(make(record_id="PLAIN", headline="a = b", received_at=NOW + 10))
    target = home / "out.csv"
    export.to_file(home / "history.sqlite3", target, "csv")
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["headline"] for r in rows] == ["'" + h for h in hostile] + ["a = b"]
    assert all(r["body"].startswith("'=1+1 body") for r in rows[:-1])
    assert rows[-1]["body"] == '{"content": {}}'
    out = io.StringIO()
    export.write(home / "history.sqlite3", out, "jsonl")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["headline"] for r in lines] == list(hostile) + ["a = b"]
    assert lines[0]["body"] == "=1+1 body 0"


def test_a_body_that_is_almost_utf8_is_base64():
    # Lone surrogates and cut sequences do not survive text: they go as base64.
    for raw in (b"abc\xe2\x82", b"\xed\xa0\x80", b""):
        encoding, text = export_format.body_fields(raw)
        assert export_format.body_bytes(encoding, text) == raw


def test_cancel_leaves_no_file_and_progress_is_reported(store, home, monkeypatch):
    monkeypatch.setattr(export, "PAGE", 5)
    _fill_days(store, 3)
    seen, cancel = [], threading.Event()

    def progress(done, total):
        seen.append((done, total))
        if done >= 10:
            cancel.set()
    target = home / "cancelled.jsonl"
    with pytest.raises(export.ExportCancelled):
        export.to_file(home / "history.sqlite3", target, "jsonl", progress=progress,
                       cancel=cancel)
    assert not target.exists() and not list(home.glob(".cancelled.jsonl*"))
    assert seen[0] == (0, 30) and seen[-1] == (10, 30)


def test_since_filters_by_time(store, home):
    _fill_days(store, 5)
    out = io.StringIO()
    assert export.write(home / "history.sqlite3", out, "jsonl", since=NOW - 2 * DAY) == 20


# ---- `compass-listener export` --------------------------------------------------------------
def test_cli_export_to_a_file_and_to_stdout(store, home, capsys):
    _two(store)
    target = home / "all.jsonl"
    assert cli.main(["export", "--format", "jsonl", "--output", str(target)]) == 0
    assert "exported 2 deliveries" in capsys.readouterr().err
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2
    assert cli.main(["export", "--format", "csv", "--since", "1d"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["record_id"] for r in rows] == ["UTF8", "BIN"]


def test_cli_export_usage_errors_exit_2(home, capsys):
    assert cli.main(["export", "--since", "last tuesday"]) == 2
    assert "--since 'last tuesday' is not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        cli.main(["export", "--format", "xml"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_export_failures_exit_1(store, home, capsys):
    _two(store)
    missing_dir = home / "no" / "such" / "folder" / "out.jsonl"
    assert cli.main(["export", "--output", str(missing_dir)]) == 1
    err = capsys.readouterr().err
    assert "cannot write in" in err and "choose a folder" in err
    (home / "history.sqlite3").unlink()
    for side in home.glob("history.sqlite3-*"):
        side.unlink()
    (home / "history.sqlite3").write_bytes(b"not a database at all" * 50)
    assert cli.main(["export"]) == 1
    assert "is damaged" in capsys.readouterr().err


def test_cli_export_without_a_history_exports_nothing(home, capsys):
    assert cli.main(["export", "--format", "csv", "--output", str(home / "e.csv")]) == 0
    assert "nothing to export" in capsys.readouterr().err
    assert (home / "e.csv").read_text().startswith("id,time,")
    assert not (home / "history.sqlite3").exists()


def test_parse_since_forms():
    from datetime import datetime, timezone

    from compass_listener.commands.export import parse_since

    now = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_since("7d", now) == now.timestamp() - 7 * DAY
    assert parse_since("12h", now) == now.timestamp() - 12 * 3600
    assert parse_since("2026-06-01T10:00+00:00") == now.timestamp() - 7200
    with pytest.raises(ValueError):
        parse_since("yesterday")


async def test_a_long_reader_does_not_hold_deliveries_behind_reclaim(store, home):
    # reclaim() ends with a TRUNCATE checkpoint on the writer thread, which waits for
    # every reader; with the store's 30 s busy timeout an export held every delivery
    # behind it for as long as it read.
    _fill_days(store, 3, per_day=20, size=5_000)
    reader = sqlite3.connect(str(home / "history.sqlite3"), isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM deliveries").fetchone()
        for i in range(20):          # frames beyond the reader's snapshot
            await store.append(make(b'{"late": %d}' % i))
        t = time.monotonic()
        await asyncio.wait_for(store.reclaim(), 10)
        stored = await asyncio.wait_for(store.append(make(b'{"after": 1}')), 10)
        waited = time.monotonic() - t
    finally:
        reader.close()
    assert stored.id and waited < 2, waited
