"""Generates a history of N deliveries (default 1,000,000) for figure 4, fast: rows go
straight into the store's own schema in big transactions.

Why not through the listener: at ~1,000 deliveries/s that would take a quarter of an hour.
The schema comes from EventStore itself (open/close creates and migrates it), so the
generated file is what the app would have written; then rows are bulk-inserted with
synchronous=OFF (a generator may lose its file on a crash, the app may not). Bodies are 512
realistic ~40-field payloads (3-8 KB) with a distinct record id per row; every 1,000th row
carries the word NEEDLE in its headline and a field value, so a filter for it matches 0.1%.

Usage: make_history.py PATH [--count N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NEEDLE = "quasar"           # in no sample vocabulary, so it matches only the marked rows
TEMPLATES = 512
CHUNK = 20_000


def templates(url: str) -> list[dict]:
    from compass_listener.core.payload import parse_payload
    from compass_listener.core.sample import sample_body

    out = []
    for i in range(TEMPLATES):
        state = ("Submitted", "Assigned", "Opened", "Resolved", "Closed")[i % 5]
        body = sample_body(url, index=i, seed=99, state=state)
        p = parse_payload(body, "Defect")
        out.append({"body": body, "record_id": p.record_id.encode(), "headline": p.headline,
                    "state": p.state, "owner": p.owner})
    return out


def _search_index(conn: sqlite3.Connection) -> tuple[bool, list[str]]:
    """Whether the store keeps a filter index, and the SQL of the triggers on deliveries.
    The generator drops those triggers while it loads, and fills the index itself with the
    store's own search_text() (one JSON parse per template, not per row): the store's SQL
    re-parses each body, which made a million rows take a quarter of an hour. Then it
    records how far the index goes (search_progress, schema 5), so the store's background
    indexer finds nothing left to do and the filter nothing to scan."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE name='deliveries_search'").fetchone()
    triggers = [r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name='deliveries'")]
    return bool(has), triggers


def generate(path: Path, count: int, progress: bool = True) -> dict:
    from compass_listener.core.signature import sign
    from compass_listener.store.events import EventStore

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    store = EventStore(path)
    store.open()              # creates the schema at the current version, migrations and all
    store.close()
    url = "http://127.0.0.1:8080/compassdefect"
    tpl = templates(url)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    indexed, triggers = _search_index(conn)
    for name, in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger' "
                              "AND tbl_name='deliveries'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    if indexed:
        from compass_listener.store.events import search_text
        for t in tpl:
            t["search"] = search_text(t["record_id"].decode(), t["headline"], t["body"])
        # Bulk load: merge the index's segments once at the end, not after every insert.
        conn.execute("INSERT INTO deliveries_search (deliveries_search, rank) "
                     "VALUES ('automerge', 0)")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(deliveries)")]
    insert = (f"INSERT INTO deliveries ({', '.join(columns)}) "
              f"VALUES ({', '.join('?' * len(columns))})")
    start_time = time.time() - 365 * 86400        # a year of history, oldest first
    step = 365 * 86400 / max(count, 1)
    body_bytes = 0
    t0 = time.perf_counter()
    reply = json.dumps({"message": "Payload received successfully"})
    for chunk_start in range(0, count, CHUNK):
        rows, search = [], []
        for i in range(chunk_start, min(count, chunk_start + CHUNK)):
            t = tpl[i % TEMPLATES]
            record_id = f"SAMPL{i:08d}".encode()      # same length as the template's id
            body = t["body"].replace(t["record_id"], record_id)
            headline = t["headline"]
            if i % 1000 == 500:
                marked = f"{headline} {NEEDLE}"
                body = body.replace(json.dumps(headline).encode(), json.dumps(marked).encode())
                headline = marked
            body_bytes += len(body)
            sig = sign(body, "bench-secret") if i % 4096 == 0 else "0" * 40
            values = {
                "id": i + 1, "received_at": start_time + i * step, "route": "/compassdefect",
                "route_label": "Defect", "peer": "127.0.0.1", "method": "POST",
                "path": "/compassdefect",
                "headers": json.dumps([["Host", "127.0.0.1:8080"],
                                       ["Content-Type", "application/json"],
                                       ["X-Compass-Signature", sig]]),
                "body": body, "body_sha256": hashlib.sha256(body).hexdigest(),
                "signature": "valid",
                "signature_detail": "HMAC-SHA1 in X-Compass-Signature (hex) matches the body",
                "parse_status": "ok", "parse_problem": "", "record_type": "Defect",
                "record_id": record_id.decode(), "state": t["state"], "headline": headline,
                "owner": t["owner"], "reply_status": 200, "reply_body": reply, "accepted": 1,
                "duplicate_of": None,
            }
            rows.append(tuple(values.get(c) for c in columns))
            if indexed:
                search.append((i + 1, search_text(values["record_id"], headline, body)
                               if headline != t["headline"] else
                               t["search"].replace(t["record_id"].decode(),
                                                   values["record_id"])))
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        if search:
            conn.executemany("INSERT INTO deliveries_search (rowid, text) VALUES (?, ?)",
                             search)
        conn.execute("COMMIT")
        if progress:
            done = min(count, chunk_start + CHUNK)
            rate = done / (time.perf_counter() - t0)
            print(f"\r  history: {done:,}/{count:,} rows ({rate:,.0f}/s)", end="",
                  file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    if indexed:
        conn.execute("INSERT INTO deliveries_search (deliveries_search) VALUES ('optimize')")
        conn.execute("INSERT INTO deliveries_search (deliveries_search, rank) "
                     "VALUES ('automerge', 4)")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='search_progress'").fetchone():
            conn.execute("UPDATE search_progress SET indexed_upto = ?", (count,))
    for sql in triggers:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return {"count": count, "seconds": time.perf_counter() - t0, "body_bytes": body_bytes,
            "needle": NEEDLE, "needle_rows": len(range(500, count, 1000))}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--count", type=int, default=1_000_000)
    o = p.parse_args()
    print(json.dumps(generate(Path(o.path), o.count)))
