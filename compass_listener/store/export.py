"""Export the history to a JSON lines or CSV file, oldest first, in pages.

Runs on any thread (the CLI's, or a worker thread under the GUI) with its own read-only
connection, so the writer and the window keep going; reports progress and stops when told.
The file is written beside its final name and renamed at the end: a cancelled or failed
export never leaves half a file under the name the user chose.

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
carriage return) get a leading single quote: a record's headline or body is whatever a
Compass user typed. JSON lines are never changed.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Callable, TextIO

from compass_listener.core import export_format
from compass_listener.store.events import (SCHEMA_VERSION, _ALL_COLUMNS, _row_to_delivery,
                                           connect_read_only, read_problem)

PAGE = 500

Progress = Callable[[int, int], None]      # (exported so far, total)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet will show as text: a formula-looking one gets a leading '."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class ExportCancelled(Exception):
    """The user cancelled the export; nothing was written under the chosen name."""


class ExportError(Exception):
    """The export failed: the message names the cause and the fix."""


def _reader(database: Path) -> sqlite3.Connection:
    # Read-only: an export must never create, migrate or lock the history for writing.
    conn = connect_read_only(database)
    conn.row_factory = sqlite3.Row
    return conn


def count(database: Path, since: float | None = None) -> int:
    conn = _reader(database)
    try:
        return conn.execute("SELECT COUNT(*) FROM deliveries WHERE received_at >= ?",
                            (since if since is not None else float("-inf"),)).fetchone()[0]
    finally:
        conn.close()


def write(database: Path, out: TextIO, fmt: str, since: float | None = None,
          progress: Progress | None = None, cancel: threading.Event | None = None) -> int:
    """Write every delivery received at or after `since` to `out`; returns how many."""
    if fmt not in export_format.FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use jsonl or csv")
    try:
        return _write(database, out, fmt, since, progress, cancel)
    except sqlite3.Error as exc:
        raise ExportError(read_problem(Path(database), exc)) from None


def _write(database: Path, out: TextIO, fmt: str, since: float | None,
           progress: Progress | None, cancel: threading.Event | None) -> int:
    conn = _reader(database)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ExportError(f"the history {database} was written by a newer version of "
                              f"Compass Listener (history format {version}); export it with "
                              f"that version")
        floor = since if since is not None else float("-inf")
        total = conn.execute("SELECT COUNT(*) FROM deliveries WHERE received_at >= ?",
                             (floor,)).fetchone()[0]
        writer = None
        if fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(export_format.COLUMNS)
        done, last_id = 0, 0
        if progress:
            progress(0, total)
        while True:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled("the export was cancelled")
            rows = conn.execute(
                f"SELECT {_ALL_COLUMNS} FROM deliveries WHERE id > ? AND received_at >= ? "
                f"ORDER BY id LIMIT ?", (last_id, floor, PAGE)).fetchall()
            if not rows:
                return done
            for row in rows:
                d = _row_to_delivery(row, full=True)
                if writer is not None:
                    writer.writerow([neutralise(c) for c in export_format.csv_row(d)])
                else:
                    out.write(export_format.json_line(d) + "\n")
            done += len(rows)
            last_id = rows[-1]["id"]
            if progress:
                progress(done, max(total, done))
    finally:
        conn.close()


def to_file(database: Path, target: Path, fmt: str, since: float | None = None,
            progress: Progress | None = None, cancel: threading.Event | None = None) -> int:
    """Export into `target` atomically (temp file, then rename); returns how many."""
    target = Path(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=".part")
    except OSError as exc:
        raise ExportError(f"cannot write in {target.parent} ({exc.strerror or exc}); choose "
                          f"a folder you can write to") from None
    try:
        # newline="": the csv module writes its own line ends; JSON lines use "\n".
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            written = write(database, out, fmt, since, progress, cancel)
        os.replace(tmp, target)
        return written
    except OSError as exc:
        raise ExportError(f"cannot write {target} ({exc.strerror or exc}); check the free "
                          f"space and the folder's permissions") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
