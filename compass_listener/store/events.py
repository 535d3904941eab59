"""The delivery history: one SQLite file, appended by a writer thread with group commits.

Why these settings (chosen on purpose, see issue 4):
- WAL: readers (the window, `events`) never block the writer and the writer never blocks them.
- synchronous=FULL: Compass deletes its WebhookData record as soon as we answer 200, so after
  that our row is the only copy. FULL makes every commit durable against power loss as well
  as process kills; NORMAL in WAL mode could lose the last commits on power loss.
- Group commit: one writer thread drains every delivery waiting in its queue into a single
  transaction, so a burst of N concurrent deliveries pays for one fsync, not N. Each
  delivery's future resolves only after the COMMIT that contains it, and the listener
  replies only after that: a 200 means the row is on disk.
- The writer is a thread, not the event loop: an fsync never stalls the GUI.
- fullfsync (macOS only; ignored elsewhere): there a plain fsync leaves data in the drive's
  cache, so FULL alone would not survive a power cut.
- A SIGKILL cannot lose a committed row even with synchronous=OFF (the OS has the pages);
  tests/e2e/test_kill_durability.py checks the other half of the promise: that no 200 is
  sent before the COMMIT. Power loss is what FULL is for, and no test here can cut power.
- auto_vacuum=INCREMENTAL (set when the file is created): retention deletes old rows, and
  the freed pages are handed back to the disk in small steps at a quiet moment, never on
  the delivery path.
- Checkpoints run on a thread of their own, past 4 MB of WAL, and the writer finishes each
  one between two batches so that the WAL starts over even under a load that never pauses
  (issue 5; see _checkpoint_loop): the WAL stays a few MB instead of growing without end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from compass_listener.core.delivery import Delivery

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
DUPLICATE_WINDOW_S = 24 * 3600
_BATCH_MAX = 500
QUICK_CHECK_MAX_BYTES = 64 * 2**20     # histories up to this size are fully checked on open
CHECKPOINT_WAL_BYTES = 4 * 2**20      # the WAL is copied into the database past this size
CHECKPOINT_INTERVAL_S = 0.05        # how often the checkpointer looks, in a burst
CHECKPOINT_MAX_INTERVAL_S = 2.0     # and at the least, while deliveries trickle in
WAL_KEEP_BYTES = 64 * 2**20         # the WAL's size kept on disk after it starts over
TRUNCATE_PATIENCE_MS = 100          # how long reclaim's truncation waits for readers
TRIM_CHUNK = 2000           # rows deleted per transaction: deliveries wait one chunk at most
VACUUM_CHUNK = 2000         # pages returned to the disk per step
# The background search indexer (schema 5): it runs once no delivery has come for
# INDEX_QUIET_S, in transactions of about INDEX_CHUNK_S of work each (a delivery that comes
# meanwhile waits that long at most); past INDEX_FORCE_BACKLOG rows behind it also runs one
# chunk after every delivery batch, so a load that never pauses cannot grow the backlog
# (and the filter's scan of it) without bound.
INDEX_QUIET_S = 0.010
INDEX_CHUNK_S = 0.005
INDEX_FORCE_BACKLOG = 50_000
INDEX_ROW_S_GUESS = 300e-6  # first chunk's size: one row's cost measured here, with the FTS5
INDEX_CHUNK_ROWS_MAX = 1000 # insert; later chunks are sized from the measured cost
INDEX_RETRY_S = 5.0         # after a failed chunk (disk full): deliveries first, then retry

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    route TEXT NOT NULL,
    route_label TEXT NOT NULL DEFAULT '',
    peer TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL DEFAULT 'POST',
    path TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '[]',
    body BLOB NOT NULL,
    body_sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,
    signature_detail TEXT NOT NULL DEFAULT '',
    parse_status TEXT NOT NULL,
    parse_problem TEXT NOT NULL DEFAULT '',
    record_type TEXT NOT NULL DEFAULT '',
    record_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    headline TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    reply_status INTEGER NOT NULL,
    reply_body TEXT NOT NULL DEFAULT '',
    accepted INTEGER NOT NULL,
    duplicate_of INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_dup ON deliveries (route, body_sha256, received_at);
CREATE INDEX IF NOT EXISTS deliveries_record ON deliveries (record_id);
"""

# Version 2: retention trims by age; without this index every trim reads the whole table.
_SCHEMA_V2 = """
CREATE INDEX IF NOT EXISTS deliveries_received ON deliveries (received_at);
"""

# Version 3: the filter ("record id, headline or any field value") as a trigram full-text
# index. LIKE over CAST(body AS TEXT) read every body: ~6 s for a million deliveries.
# The indexed text is the record id, the headline and the first SEARCH_VALUE_CHARS of every
# field value of `content` (the whole body, cut, when it is not JSON). Version 3 kept it in
# step with an insert trigger and back-filled older rows when the file was opened; version 5
# replaced both by the background indexer (see _SCHEMA_V5), so this step now only creates
# what version 3 had (the insert trigger included: version 5 drops it in the same
# transaction) and leaves the back-fill to the indexer.
SEARCH_VALUE_CHARS = 256


def search_text_sql(alias: str) -> str:
    """The search text of the row `alias` of deliveries, as one SQL expression: the one
    definition that both fills the index and scans the rows it does not hold yet, so the
    two can never disagree."""
    return f"""
{alias}.record_id || ' ' || {alias}.headline || ' ' || coalesce((
    SELECT group_concat(substr(CASE WHEN type = 'object'
                                    THEN json_extract(value, '$.value') ELSE value END,
                               1, {SEARCH_VALUE_CHARS}), ' ')
    FROM json_each(CASE WHEN json_valid(CAST({alias}.body AS TEXT))
                             AND json_type(CAST({alias}.body AS TEXT), '$.content') = 'object'
                        THEN CAST({alias}.body AS TEXT) ELSE '{{"content": {{}}}}' END,
                   '$.content')),
    substr(CAST({alias}.body AS TEXT), 1, {SEARCH_VALUE_CHARS * 4}))"""


_SCHEMA_V3 = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS deliveries_search USING fts5(
    text, tokenize = 'trigram', detail = none);
CREATE TRIGGER IF NOT EXISTS deliveries_search_insert AFTER INSERT ON deliveries BEGIN
    INSERT INTO deliveries_search (rowid, text) VALUES (new.id, {search_text_sql("new")});
END;
CREATE TRIGGER IF NOT EXISTS deliveries_search_delete AFTER DELETE ON deliveries BEGIN
    DELETE FROM deliveries_search WHERE rowid = old.id;
END;
"""

# Version 4: an index of ids alone. The table keeps each row (body included, ~6 KB) in its
# own pages, so counting rows or skipping to the n-th newest walked a page per row; the
# table view jumps to any row (the end of a million) through this index in milliseconds.
_SCHEMA_V4 = """
CREATE INDEX IF NOT EXISTS deliveries_id ON deliveries (id);
"""

# Version 5: the index is filled in the background, off the delivery path. The insert
# trigger cost ~370 us of the ~400 us a delivery spent in its transaction, before the COMMIT
# and so before the reply; a plain INSERT is ~35 us. Now the writer thread indexes rows in
# id order when deliveries pause (EventStore._index_step), and search_progress records how
# far it got: every row with id <= indexed_upto is in deliveries_search, and the filter
# scans the rows above it with the same expression (EventStore._where), so it never misses
# a row the index does not hold yet.
# A file at version 3 or 4 has every row indexed (by the trigger, and by version 3's
# back-fill); a file from before version 3 reaches here with an empty index (0, all of it
# left to the indexer). The delete trigger now also keeps indexed_upto at or below the
# newest id: ids are max(id) + 1, so after the newest rows are deleted (an emptied history,
# a clock that went back) a new row may get an id the index has already passed.
_SCHEMA_V5 = """
DROP TRIGGER IF EXISTS deliveries_search_insert;
CREATE TABLE IF NOT EXISTS search_progress (indexed_upto INTEGER NOT NULL);
INSERT INTO search_progress (indexed_upto)
    SELECT coalesce((SELECT rowid FROM deliveries_search ORDER BY rowid DESC LIMIT 1), 0)
    WHERE NOT EXISTS (SELECT 1 FROM search_progress);
DROP TRIGGER IF EXISTS deliveries_search_delete;
CREATE TRIGGER deliveries_search_delete AFTER DELETE ON deliveries BEGIN
    DELETE FROM deliveries_search WHERE rowid = old.id;
    UPDATE search_progress SET indexed_upto = (SELECT coalesce(max(id), 0) FROM deliveries)
        WHERE indexed_upto > (SELECT coalesce(max(id), 0) FROM deliveries);
END;
"""

# Migrations from version N-1 to N, applied in order; index 0 creates version 1.
MIGRATIONS: list[str] = [_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4, _SCHEMA_V5]
_SEARCH_TEXT_D = search_text_sql("d")


def _statements(script: str) -> list[str]:
    """The statements of a migration, split at the semicolons that end one (a trigger's
    body holds semicolons of its own)."""
    out, buf = [], ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf)
            buf = ""
    return out


def search_text(record_id: str, headline: str, body: bytes) -> str:
    """What the filter searches for one delivery: the Python twin of search_text_sql(), for
    rows that arrive while a filter is shown (compared case-insensitively)."""
    text = body.decode("utf-8", "replace")
    try:
        content = json.loads(text).get("content")
    except (ValueError, AttributeError, RecursionError):
        content = None
    if isinstance(content, dict):
        values = [(v.get("value") if isinstance(v, dict) else v) for v in content.values()]
        rest = " ".join((x if isinstance(x, str) else json.dumps(x))[:SEARCH_VALUE_CHARS]
                        for x in values if x is not None)
    else:
        rest = text[:SEARCH_VALUE_CHARS * 4]
    return f"{record_id} {headline} {rest}"


_SUMMARY_COLUMNS = ("id, received_at, route, route_label, peer, method, path, signature, "
                    "signature_detail, parse_status, parse_problem, record_type, record_id, "
                    "state, headline, owner, reply_status, accepted, duplicate_of, body_sha256")
_ALL_COLUMNS = _SUMMARY_COLUMNS + ", headers, body, reply_body"


class StoreError(Exception):
    """The history cannot be written: the message says why and what to do."""


@dataclass
class OpenReport:
    """What happened when the store was opened, for the user to see."""

    moved_aside: Path | None = None
    migrated_from: int | None = None


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None,
                           check_same_thread=False)
    try:
        # Must come before the first table exists; a no-op on an existing file.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA fullfsync=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except BaseException:
        # A corrupt file fails here; an open handle would keep Windows from moving it aside.
        conn.close()
        raise
    return conn


def is_corrupt(exc: sqlite3.Error) -> bool:
    """True for a file that is damaged or not a database at all; False for a healthy file
    we could not use just now (locked, no permission, disk error): never move that aside."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return True
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that can neither change nor create the history, for commands that
    only read. First read-write without create and query_only: SQLite then removes the
    -wal and -shm it makes for a WAL file when the connection closes. Where the file or
    its folder cannot be written, SQLite's read-only mode (`file:...?mode=ro`)."""
    uri = Path(path).resolve().as_uri()
    conn = None
    try:
        conn = sqlite3.connect(f"{uri}?mode=rw", uri=True, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA user_version").fetchone()     # the first read opens the WAL
        return conn
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        if is_corrupt(exc):
            raise
    return sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None,
                           check_same_thread=False)


def damaged_message(path: Path, exc: Exception) -> str:
    """For commands that only read: they never move a damaged history aside themselves."""
    return (f"the history {path} is damaged ({exc}); start Compass Listener or "
            f"`compass-listener listen` to move it aside and start a fresh one")


def read_problem(path: Path, exc: sqlite3.Error) -> str:
    """Why a read-only connection (`file:...?mode=ro`) could not read the history."""
    if is_corrupt(exc):
        return damaged_message(path, exc)
    folder = Path(path).parent
    if getattr(exc, "sqlite_errorname", "") == "SQLITE_CANTOPEN" and path.exists() \
            and not os.access(folder, os.W_OK):
        # A WAL history is read through its -shm index, which SQLite must create.
        return (f"the history {path} cannot be read because its folder {folder} is "
                f"read-only and SQLite must create {path.name}-shm beside it; make the "
                f"folder writable, or copy the history to a writable folder and use "
                f"--data-dir there")
    return (f"the history {path} cannot be read ({exc}); check that you may read it and "
            f"its folder")


def _row_to_delivery(row: sqlite3.Row, full: bool) -> Delivery:
    return Delivery(
        id=row["id"], received_at=row["received_at"], route=row["route"],
        route_label=row["route_label"], peer=row["peer"], method=row["method"],
        path=row["path"],
        headers=[tuple(h) for h in json.loads(row["headers"])] if full else [],
        body=bytes(row["body"]) if full else b"", body_sha256=row["body_sha256"],
        signature=row["signature"], signature_detail=row["signature_detail"],
        parse_status=row["parse_status"], parse_problem=row["parse_problem"],
        record_type=row["record_type"], record_id=row["record_id"], state=row["state"],
        headline=row["headline"], owner=row["owner"], reply_status=row["reply_status"],
        reply_body=row["reply_body"] if full else "", accepted=bool(row["accepted"]),
        duplicate_of=row["duplicate_of"],
    )


class EventStore:
    """Append deliveries durably; read them back in pages, newest first."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.report = OpenReport()
        self._read: sqlite3.Connection | None = None
        self._queue: queue.Queue = queue.Queue()
        self._writer: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_stop = threading.Event()
        self._checkpoint_tail = threading.Event()   # the writer finishes a checkpoint
        self._write_conn: sqlite3.Connection | None = None
        self.last_error: str = ""
        self.last_write_at: float = 0.0     # monotonic; retention waits for a quiet moment
        self._version = SCHEMA_VERSION      # of the file; older only for a read-only open
        # The background indexer's state, owned by the writer thread.
        self._index_pending = False         # rows above indexed_upto may exist
        self._index_held = False            # hold_indexing(True): tests keep the indexer off
        self._index_row_s = INDEX_ROW_S_GUESS   # measured seconds per indexed row
        self._index_retry_at = 0.0
        self._indexed_upto = 0              # mirrors search_progress after each chunk
        self._newest_id = 0                 # the newest id this writer knows of
        self._relaxed = False               # synchronous is NORMAL (inside an index chunk)

    # ---- opening -------------------------------------------------------------------------
    def open(self, read_only: bool = False) -> OpenReport:
        """Open for the listener (create, migrate, move a damaged file aside), or with
        read_only for commands that only read: those never create, change or move a file,
        and a damaged history is a StoreError that says so."""
        if read_only:
            self._open_read_only()
            return self.report
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            conn = self._open_checked()
        except sqlite3.Error as exc:
            if not is_corrupt(exc):
                raise StoreError(
                    f"the history {self.path} cannot be opened ({exc}); check that its "
                    f"folder is writable and that no other program holds the file, or "
                    f"start with another --data-dir") from exc
            moved = self._move_aside(exc)
            self.report.moved_aside = moved
            conn = self._open_checked()
        self._write_conn = conn
        # Checkpoints (copying the WAL into the database file, with its own fsync) ran inside
        # whichever COMMIT crossed 1,000 WAL pages: every ~250 deliveries one reply waited
        # 50-200 ms more. A checkpointer thread does them beside the writer instead
        # (PASSIVE never blocks it); durability is the COMMIT's fsync of the WAL, unchanged.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # A WAL that grew while a reader held it back (a long export) is cut back to this
        # when it starts over, so the disk gets the space back after the burst.
        conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        # Whatever is not indexed yet (rows a closed store left behind, a history from
        # before version 5) is indexed in the background, from the oldest row up.
        self._indexed_upto = conn.execute(
            "SELECT indexed_upto FROM search_progress").fetchone()[0]
        self._newest_id = conn.execute(
            "SELECT coalesce(MAX(id), 0) FROM deliveries").fetchone()[0]
        self._index_pending = self._newest_id > self._indexed_upto
        self._read = _connect(self.path)
        self._read.row_factory = sqlite3.Row
        self._writer = threading.Thread(target=self._write_loop, name="event-store-writer",
                                        daemon=True)
        self._writer.start()
        self._checkpoint_stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop,
                                              name="event-store-checkpointer", daemon=True)
        self._checkpointer.start()
        return self.report

    def _open_read_only(self) -> None:
        try:
            conn = connect_read_only(self.path)
        except sqlite3.Error as exc:
            raise StoreError(read_problem(self.path, exc)) from exc
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the history {self.path} was written by a newer version of Compass "
                    f"Listener (history format {version}, this version reads up to "
                    f"{SCHEMA_VERSION}); install the newer version again")
            if self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("quick_check failed")
            conn.execute("SELECT id FROM deliveries ORDER BY id DESC LIMIT 1").fetchone()
            self._version = version
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(read_problem(self.path, exc)) from exc
        except BaseException:
            conn.close()
            raise
        conn.row_factory = sqlite3.Row
        self._read = conn

    def _checkpoint_loop(self) -> None:
        """PASSIVE checkpoints beside the writer, then a word to it to finish the tail.

        Why the second half (issue 5): SQLite starts the WAL over only when a write begins
        with every frame in it checkpointed, and under a sustained load the writer always
        adds frames while a checkpoint runs. So the WAL never started over: it grew by
        ~50 MB a second (546 MB after 10 s of wrk), and every commit extended the file,
        which ext4 pays for by zeroing each new block (a quarter of the commit's time in a
        profile). The few frames written during this checkpoint are left to the writer
        thread (_finish_checkpoint), between two batches: it copies them in about a
        millisecond, and its next transaction starts the WAL from the beginning again."""
        wal = self.path.with_name(self.path.name + "-wal")
        conn = None
        page = 4096
        seen = None             # the WAL's mtime when it was last checkpointed
        filling_since = None    # when frames began to come after that
        rate = 0.0              # bytes a second the WAL filled at, as last seen
        due = 0.0
        try:
            while not self._checkpoint_stop.wait(CHECKPOINT_INTERVAL_S):
                try:
                    if self._checkpoint_tail.is_set():
                        continue        # the writer has yet to finish the last one
                    st = wal.stat()
                    if st.st_mtime_ns == seen or st.st_size < CHECKPOINT_WAL_BYTES:
                        continue        # nothing new, or too small to hold that much
                    now = time.monotonic()
                    if filling_since is None:
                        filling_since = now - CHECKPOINT_INTERVAL_S
                    if now < due:
                        continue
                    seen = st.st_mtime_ns
                    if conn is None:
                        conn = sqlite3.connect(str(self.path), timeout=0,
                                               isolation_level=None, check_same_thread=False)
                        # A checkpoint lets the writer start the WAL over: the database
                        # pages it wrote must be on disk first, whatever the library's
                        # compiled-in default (some builds make WAL connections NORMAL/OFF).
                        conn.execute("PRAGMA synchronous=FULL")
                        conn.execute("PRAGMA fullfsync=ON")
                        page = conn.execute("PRAGMA page_size").fetchone()[0]
                    busy, frames, done = conn.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    # The file keeps its size when the WAL starts over, so only the
                    # checkpoint says how much it held: look again when it will hold
                    # CHECKPOINT_WAL_BYTES at the rate it filled since frames began to come
                    # (50 ms apart in a burst, 2 s apart for a trickle). Nothing reads
                    # the -shm file directly: closing a descriptor of it would drop
                    # SQLite's locks on it for the whole process.
                    now = time.monotonic()
                    if busy or frames <= 0:
                        # It met the writer's own checkpoint, or the WAL had just started
                        # over: nothing learnt about the rate, so look again soon.
                        due = now + CHECKPOINT_INTERVAL_S
                        continue
                    sample = frames * page / max(now - filling_since, CHECKPOINT_INTERVAL_S)
                    # A low sample (the WAL started over in between) must not put the next
                    # look seconds away in a burst: the rate falls by half a look at most.
                    rate = max(sample, rate / 2)
                    filling_since = None
                    due = now + min(CHECKPOINT_MAX_INTERVAL_S, CHECKPOINT_WAL_BYTES / rate)
                    if done == frames:
                        # Done as far as the WAL went when it began; under load more has
                        # come since, and only the writer can copy that without a race.
                        self._checkpoint_tail.set()
                        self._queue.put(_WAKE)
                except (OSError, sqlite3.Error) as exc:
                    # Never fatal: a checkpoint left for later only makes the WAL longer.
                    log.debug("checkpoint skipped: %s", exc)
        finally:
            if conn is not None:
                conn.close()

    def _finish_checkpoint(self) -> None:
        """On the writer thread, between batches: if the checkpointer asked, checkpoint the
        frames it left, so the next write starts the WAL over (see _checkpoint_loop). The
        flag is cleared only afterwards: until then the checkpointer keeps away, instead of
        running into this checkpoint."""
        if not self._checkpoint_tail.is_set():
            return
        self._strict()      # the database pages it writes are synced like a commit's
        try:
            busy, frames, done = self._write_conn.execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or done < frames:
                log.debug("the WAL's tail is held by a reader: %d of %d frames", done, frames)
        except sqlite3.Error as exc:
            log.debug("checkpoint of the WAL's tail skipped: %s", exc)
        finally:
            self._checkpoint_tail.clear()

    def _open_checked(self) -> sqlite3.Connection:
        self._create_private()
        conn = _connect(self.path)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("quick_check failed")
            elif version:
                # quick_check reads every page: 11 s for a million deliveries (6 GB) before
                # the window could show. A big file gets what every start reads anyway (the
                # header, the schema, the paths to the newest and the oldest row); damage
                # elsewhere is reported as SQLITE_CORRUPT by the read that meets it.
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                for order in ("DESC", "ASC"):
                    conn.execute(f"SELECT id, length(body), reply_body FROM deliveries "
                                 f"ORDER BY id {order} LIMIT 1").fetchone()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the history {self.path} was written by a newer version of Compass "
                    f"Listener (history format {version}, this version reads up to "
                    f"{SCHEMA_VERSION}); install the newer version again, or start this one "
                    f"with another --data-dir")
            if version < SCHEMA_VERSION:
                if version:
                    self.report.migrated_from = version
                conn.execute("BEGIN IMMEDIATE")
                for step in range(version, SCHEMA_VERSION):
                    for statement in _statements(MIGRATIONS[step]):
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            return conn
        except BaseException:
            conn.close()
            raise

    def _create_private(self) -> None:
        """Create a missing history file as 0600 (whatever the umask) before SQLite opens
        it: every payload is in it, and SQLite gives its -wal and -shm the same mode."""
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError:
            return      # there already, or a folder we cannot write: SQLite says which
        os.chmod(self.path, 0o600)

    def _move_aside(self, exc: Exception) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.stem}.corrupt-{stamp}{self.path.suffix}")
        n = 1
        while target.exists():      # two failed starts within one second keep both files
            n += 1
            target = self.path.with_name(
                f"{self.path.stem}.corrupt-{stamp}-{n}{self.path.suffix}")
        log.error("history %s is unreadable (%s); moving it to %s", self.path, exc, target)
        self.path.rename(target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        return target

    # ---- writing -------------------------------------------------------------------------
    async def append(self, delivery: Delivery) -> Delivery:
        """Store one delivery; returns when its transaction is committed (id and duplicate_of
        filled in). Raises StoreError when it could not be written."""
        self._check_writable()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((delivery, future, loop))
        return await future

    def _check_writable(self) -> None:
        # Without a writer thread nothing would ever settle the future: fail now instead of
        # leaving the caller (and Compass's request) waiting forever.
        if self._writer is None:
            raise StoreError(f"the history {self.path} is closed; restart Compass Listener "
                             f"(Compass will retry this delivery)")

    def append_now(self, delivery: Delivery) -> Delivery:
        """Blocking append, for tools and tests without an event loop."""
        self._check_writable()
        done = threading.Event()
        box: list = []
        self._queue.put((delivery, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    async def call_in_writer(self, job: Callable[[sqlite3.Connection], object]) -> object:
        """Run job(write connection) on the writer thread, between two group commits, and
        return its result. Retention and maintenance use it, so there is only ever one
        writer and a delivery never waits for more than one small job."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Job(job, future, loop))
        return await future

    def _run_job(self, item: "_Job") -> None:
        self._strict()
        try:
            result: object = item.job(self._write_conn)
        except Exception as exc:
            log.error("a history maintenance step failed: %s", exc,
                      exc_info=not isinstance(exc, sqlite3.Error))
            result = StoreError(self._explain(exc))
        self._index_pending = True      # a job may have added rows; a look costs little
        item.loop.call_soon_threadsafe(_settle, item.future, result)

    def _write_loop(self) -> None:
        carry = _NOTHING
        while True:
            item, carry = (self._next_item() if carry is _NOTHING else carry), _NOTHING
            if item is None:
                return
            if item is _WAKE:
                self._finish_checkpoint()
                continue
            if isinstance(item, _Job):
                self._run_job(item)
                continue
            batch = [item]
            while len(batch) < _BATCH_MAX:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _WAKE:
                    continue
                if nxt is None or isinstance(nxt, _Job):
                    carry = nxt             # commit this batch first, then stop or run it
                    break
                batch.append(nxt)
            try:
                self._write_batch([d for d, _, _ in batch])
                outcome: BaseException | None = None
            except Exception as exc:
                # Any error, not only sqlite3's: if this thread died, every later append
                # would wait forever and the listener would never reply again.
                outcome = StoreError(self._explain(exc))
                self.last_error = str(outcome)
                log.error("could not store %d deliveries: %s", len(batch), exc,
                          exc_info=not isinstance(exc, sqlite3.Error))
            else:
                self.last_error = ""
            self.last_write_at = time.monotonic()
            # One wake-up per event loop per batch, not one per delivery: on the GUI's
            # qasync loop each cross-thread call is a Qt event, and a batch of 20 cost 20.
            settle: dict[asyncio.AbstractEventLoop, list] = {}
            for delivery, target, waiter in batch:
                result = outcome if outcome is not None else delivery
                if isinstance(target, list):
                    target.append(result)
                    waiter.set()
                else:
                    settle.setdefault(waiter, []).append((target, result))
            for loop, pairs in settle.items():
                loop.call_soon_threadsafe(_settle_all, pairs)
            self._finish_checkpoint()
            if outcome is None:
                self._newest_id = max(self._newest_id, batch[-1][0].id)
                self._index_pending = True
                # Under a load that never pauses for INDEX_QUIET_S, the backlog (counted in
                # ids: an upper bound, and no query) would grow for as long as it lasts.
                if (self._newest_id - self._indexed_upto > INDEX_FORCE_BACKLOG
                        and not self._index_held
                        and time.monotonic() >= self._index_retry_at):
                    self._index_step()

    def _next_item(self) -> object:
        """The next item in the queue. While rows wait to be indexed, the wait is cut short
        once no delivery has come for INDEX_QUIET_S, and a chunk of them is indexed
        (deliveries first: the one that comes during a chunk waits INDEX_CHUNK_S at most)."""
        while True:
            if not self._index_pending or self._index_held:
                return self._queue.get()
            now = time.monotonic()
            wait = max(self.last_write_at + INDEX_QUIET_S, self._index_retry_at) - now
            try:
                return self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                self._index_step()

    def _index_step(self) -> int:
        """Index the next rows above indexed_upto, oldest first, and move indexed_upto past
        them in the same transaction; returns how many. The chunk holds as many rows as the
        measured cost per row fits into INDEX_CHUNK_S."""
        conn = self._write_conn
        assert conn is not None
        want = max(1, min(INDEX_CHUNK_ROWS_MAX, int(INDEX_CHUNK_S / self._index_row_s)))
        started = time.perf_counter()
        try:
            # synchronous=NORMAL: this COMMIT skips its fsync (~1 ms here, paid by the drain
            # and by a delivery waiting behind the chunk). A power cut can lose only whole
            # chunks, rows and indexed_upto together, which are simply indexed again; and the
            # next delivery's FULL COMMIT syncs the WAL up to and including this chunk.
            # Deliveries and jobs get FULL back first (_strict), whatever happens here.
            self._relaxed = True
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                upto = conn.execute("SELECT indexed_upto FROM search_progress").fetchone()[0]
                n, last = conn.execute(
                    "SELECT COUNT(*), MAX(id) FROM (SELECT id FROM deliveries WHERE id > ? "
                    "ORDER BY id LIMIT ?)", (upto, want)).fetchone()
                if n:
                    # OR REPLACE: a row indexed already (by a tool that wrote the index
                    # itself) is indexed again, instead of failing every chunk from here on.
                    conn.execute(
                        f"INSERT OR REPLACE INTO deliveries_search (rowid, text) "
                        f"SELECT d.id, {_SEARCH_TEXT_D} FROM deliveries AS d "
                        f"WHERE d.id > ? AND d.id <= ?", (upto, last))
                    conn.execute("UPDATE search_progress SET indexed_upto = ?", (last,))
                conn.execute("COMMIT")
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise
            self._strict()
        except Exception as exc:
            # Never fatal: the filter scans what is not indexed, and deliveries come first.
            log.warning("indexing the history for the filter failed, will retry: %s", exc,
                        exc_info=not isinstance(exc, sqlite3.Error))
            self._index_retry_at = time.monotonic() + INDEX_RETRY_S
            return 0
        self._indexed_upto = last if n else upto
        self._index_pending = n == want
        if n:
            per_row = (time.perf_counter() - started) / n
            self._index_row_s = (self._index_row_s + per_row) / 2
        return n

    def _strict(self) -> None:
        """synchronous=FULL again after an index chunk, before anything else is written."""
        if self._relaxed:
            self._write_conn.execute("PRAGMA synchronous=FULL")
            self._relaxed = False

    def hold_indexing(self, hold: bool) -> None:
        """Keep the background indexer off (True) or let it run again (False). For tests
        that need rows the index does not hold yet; the app never calls it."""
        self._index_held = hold
        self._queue.put(_WAKE)      # a writer asleep on an empty queue looks again

    def _explain(self, exc: Exception) -> str:
        text = str(exc).lower()
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL" or "full" in text:
            return (f"the disk holding {self.path} is full; free some space so deliveries "
                    f"can be stored (Compass will retry them)")
        if (name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text
                or "permission" in text):
            return (f"the history {self.path} is read-only; make it writable so deliveries "
                    f"can be stored (Compass will retry them)")
        return f"the history {self.path} cannot be written ({exc}); Compass will retry"

    def _write_batch(self, batch: list[Delivery]) -> None:
        conn = self._write_conn
        assert conn is not None
        self._strict()
        conn.execute("BEGIN IMMEDIATE")
        try:
            seen: dict[tuple[str, str], int] = {}
            for d in batch:
                key = (d.route, d.body_sha256)
                dup = seen.get(key)
                if dup is None:
                    row = conn.execute(
                        "SELECT id FROM deliveries WHERE route=? AND body_sha256=? "
                        "AND received_at>=? ORDER BY id LIMIT 1",
                        (d.route, d.body_sha256, d.received_at - DUPLICATE_WINDOW_S)).fetchone()
                    dup = row[0] if row else None
                d.duplicate_of = dup
                cur = conn.execute(
                    "INSERT INTO deliveries (received_at, route, route_label, peer, method, path,"
                    " headers, body, body_sha256, signature, signature_detail, parse_status,"
                    " parse_problem, record_type, record_id, state, headline, owner,"
                    " reply_status, reply_body, accepted, duplicate_of)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (d.received_at, d.route, d.route_label, d.peer, d.method, d.path,
                     json.dumps(d.headers), d.body, d.body_sha256, d.signature,
                     d.signature_detail, d.parse_status, d.parse_problem, d.record_type,
                     d.record_id, d.state, d.headline, d.owner, d.reply_status, d.reply_body,
                     int(d.accepted), dup))
                d.id = cur.lastrowid
                if dup is None:
                    seen[key] = d.id
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for d in batch:
                d.id, d.duplicate_of = 0, None
            raise

    # ---- retention -----------------------------------------------------------------------
    def trim_plan(self, keep_days: int = 0, keep_count: int = 0,
                  now: float | None = None) -> tuple[float | None, int | None]:
        """(received before, id up to) that a trim with these limits deletes; None = no limit."""
        before = (now if now is not None else time.time()) - keep_days * 86400 \
            if keep_days > 0 else None
        upto = None
        if keep_count > 0:
            row = self._reader().execute("SELECT id FROM deliveries ORDER BY id DESC "
                                         "LIMIT 1 OFFSET ?", (keep_count,)).fetchone()
            upto = row[0] if row else 0
        return before, upto

    def count_to_trim(self, keep_days: int = 0, keep_count: int = 0,
                      now: float | None = None) -> int:
        """How many deliveries a trim with these limits would delete now."""
        before, upto = self.trim_plan(keep_days, keep_count, now)
        if before is None and not upto:
            return 0
        return self._reader().execute(
            "SELECT COUNT(*) FROM deliveries WHERE received_at < ? OR id <= ?",
            (before if before is not None else float("-inf"), upto or 0)).fetchone()[0]

    async def trim(self, keep_days: int = 0, keep_count: int = 0,
                   now: float | None = None) -> int:
        """Delete deliveries older than keep_days and beyond the newest keep_count (0 = no
        limit), in chunks on the writer thread so deliveries keep flowing; returns how many."""
        before, upto = self.trim_plan(keep_days, keep_count, now)
        if before is None and not upto:
            return 0
        params = (before if before is not None else float("-inf"), upto or 0, TRIM_CHUNK)

        def chunk(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(
                    "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries "
                    "WHERE received_at < ? OR id <= ? ORDER BY id LIMIT ?)", params)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return cur.rowcount

        total = 0
        while True:
            deleted = await self.call_in_writer(chunk)
            total += deleted
            if deleted < TRIM_CHUNK:
                return total

    async def reclaim(self) -> None:
        """Give the pages freed by a trim back to the disk, in small steps. A file from
        before version 2 has no incremental vacuum yet: it gets one VACUUM (once) to switch."""

        def step(conn: sqlite3.Connection) -> int:
            if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                conn.execute("VACUUM")
                return 0
            conn.execute(f"PRAGMA incremental_vacuum({VACUUM_CHUNK})").fetchall()
            return conn.execute("PRAGMA freelist_count").fetchone()[0]

        def truncate(conn: sqlite3.Connection) -> None:
            # TRUNCATE waits for every reader to finish, and deliveries wait behind it on
            # this thread: a long export held them for the whole busy timeout (30 s).
            # Long enough for the checkpointer's own checkpoint (milliseconds), and then
            # it does what it can; a WAL it could not cut is cut to WAL_KEEP_BYTES when it
            # next starts over.
            patience = conn.execute("PRAGMA busy_timeout").fetchone()[0]
            conn.execute(f"PRAGMA busy_timeout={TRUNCATE_PATIENCE_MS}")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(patience)}")

        while await self.call_in_writer(step):
            pass
        # The WAL grew by every page the vacuum moved; truncate it too.
        await self.call_in_writer(truncate)

    # ---- reading -------------------------------------------------------------------------
    def _where(self, text: str = "", route: str | None = None,
               before_id: int | None = None, max_id: int | None = None,
               after_id: int | None = None) -> tuple[str, list]:
        clauses, params = [], []
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        if max_id is not None:
            clauses.append("id <= ?")
            params.append(max_id)
        if after_id is not None:
            clauses.append("id > ?")
            params.append(after_id)
        if route:
            clauses.append("route = ?")
            params.append(route)
        if text:
            if len(text) >= 3 and not set(text) & set("%_\\"):
                # The trigram index answers a LIKE of 3+ characters without wildcards itself.
                like, pattern = "LIKE ?", f"%{text}%"
            else:
                # Shorter texts or LIKE wildcards: the same search text, scanned.
                like = "LIKE ? ESCAPE '\\'"
                pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%") \
                    .replace("_", "\\_") + "%"
            # The rows the index holds, and those above indexed_upto, not indexed yet, matched
            # by the same text and the same LIKE (the trigram index's LIKE folds case as
            # LIKE itself does: ASCII only). indexed_upto is read by this same statement, so
            # a chunk the indexer commits meanwhile can neither hide rows nor count them
            # twice. One IN (... UNION ALL ...), not an OR of two conditions: the planner
            # then still reads just the matching ids, never the whole table.
            indexed, upto = self._search_sources()
            parts = []
            if indexed:
                parts.append(f"SELECT rowid FROM deliveries_search WHERE text {like}")
                params.append(pattern)
            if upto is not None:
                parts.append(f"SELECT d.id FROM deliveries AS d WHERE d.id > {upto} "
                             f"AND {_SEARCH_TEXT_D} {like}")
                params.append(pattern)
            clauses.append(f"id IN ({' UNION ALL '.join(parts)})")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _search_sources(self) -> tuple[bool, str | None]:
        """(whether the file has the search index, SQL for the id above which rows are not
        in it, or None when every row is). Only a read-only open meets a file from before
        version 5, which is never changed, and its version is read again: the app may
        upgrade it meanwhile."""
        version = self._version
        if version < SCHEMA_VERSION:
            version = self._reader().execute("PRAGMA user_version").fetchone()[0]
        if version >= 5:
            return True, "(SELECT indexed_upto FROM search_progress)"
        if version >= 3:
            return True, None         # versions 3 and 4 indexed every row in its INSERT
        return False, "0"

    def search_backlog(self) -> int:
        """How many deliveries the filter's index does not hold yet (the filter still finds
        them, by reading them). Counted through the id index, bodies unread."""
        indexed, upto = self._search_sources()
        if upto is None:
            return 0
        return self._reader().execute(
            f"SELECT COUNT(*) FROM deliveries WHERE id > {upto}").fetchone()[0]

    def summaries(self, limit: int = 200, before_id: int | None = None, text: str = "",
                  route: str | None = None) -> list[Delivery]:
        """One page of deliveries, newest first, without bodies and headers."""
        where, params = self._where(text, route, before_id)
        rows = self._reader().execute(
            f"SELECT {_SUMMARY_COLUMNS}, '' AS headers, x'' AS body, '' AS reply_body "
            f"FROM deliveries{where} ORDER BY id DESC LIMIT ?", params + [limit]).fetchall()
        return [_row_to_delivery(r, full=False) for r in rows]

    def summaries_at(self, offset: int, limit: int, total: int, text: str = "",
                     max_id: int | None = None) -> list[Delivery]:
        """The page of `limit` deliveries starting at the `offset`-th newest (of `total`
        matching, ids up to max_id), newest first. Pages past the middle are read from the
        oldest end, so the last page of a million is as quick as the first."""
        limit = max(0, min(limit, total - offset))
        if limit <= 0:
            return []
        where, params = self._where(text, max_id=max_id)
        from_oldest = offset + limit / 2 > total / 2
        skip = total - offset - limit if from_oldest else offset
        # Ids first, through the id index (the table itself holds a page per row), then the
        # summary columns of just those rows.
        rows = self._reader().execute(
            f"SELECT {_SUMMARY_COLUMNS}, '' AS headers, x'' AS body, '' AS reply_body "
            f"FROM deliveries WHERE id IN (SELECT id FROM deliveries{where} "
            f"ORDER BY id {'ASC' if from_oldest else 'DESC'} LIMIT ? OFFSET ?) "
            f"ORDER BY id DESC", params + [limit, max(0, skip)]).fetchall()
        return [_row_to_delivery(r, full=False) for r in rows]

    def newest_id(self) -> int:
        return self._reader().execute("SELECT coalesce(MAX(id), 0) FROM deliveries").fetchone()[0]

    def get(self, delivery_id: int) -> Delivery | None:
        row = self._reader().execute(f"SELECT {_ALL_COLUMNS} FROM deliveries WHERE id=?",
                                     (delivery_id,)).fetchone()
        return _row_to_delivery(row, full=True) if row else None

    def count(self, text: str = "", route: str | None = None, max_id: int | None = None,
              after_id: int | None = None) -> int:
        where, params = self._where(text, route, max_id=max_id, after_id=after_id)
        return self._reader().execute(f"SELECT COUNT(*) FROM deliveries{where}",
                                      params).fetchone()[0]

    def latest(self) -> Delivery | None:
        page = self.summaries(limit=1)
        return page[0] if page else None

    def find_by_record_id(self, record_id: str) -> list[Delivery]:
        rows = self._reader().execute(
            f"SELECT {_SUMMARY_COLUMNS}, '' AS headers, x'' AS body, '' AS reply_body "
            f"FROM deliveries WHERE record_id=? ORDER BY id DESC", (record_id,)).fetchall()
        return [_row_to_delivery(r, full=False) for r in rows]

    def _reader(self) -> sqlite3.Connection:
        if self._read is None:
            raise StoreError("the history is not open")
        return self._read

    # ---- closing -------------------------------------------------------------------------
    def close(self) -> None:
        """Finish every queued write, then close both connections."""
        if self._checkpointer is not None:
            self._checkpoint_stop.set()
            self._checkpointer.join()
            self._checkpointer = None
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        for conn in (self._write_conn, self._read):
            if conn is not None:
                conn.close()
        self._write_conn = self._read = None


@dataclass
class _Job:
    job: Callable[[sqlite3.Connection], object]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


_NOTHING = object()
_WAKE = object()            # wakes the writer to look at the indexer's state again


def _settle_all(pairs: list[tuple[asyncio.Future, object]]) -> None:
    for future, result in pairs:
        _settle(future, result)


def _settle(future: asyncio.Future, result: object) -> None:
    if future.cancelled():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
