"""`compass-listener events`: list the stored deliveries, newest first (a table or JSON lines)."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime

from compass_listener.core.delivery import Delivery
from compass_listener.core.text import json_line, one_line

_HEADLINE_WIDTH = 50


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "events", help="list stored deliveries, newest first",
        description="List the deliveries in the history, newest first.")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per delivery")
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="show at most N deliveries (default: 50)")
    parser.add_argument("--route", metavar="PATH", help="only deliveries on this route")
    parser.set_defaults(func=run)


def _cut(text: str, width: int) -> str:
    # A headline with newlines must not break the table, nor an ESC sequence the terminal.
    text = " ".join(one_line(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def table(deliveries: list[Delivery]) -> list[str]:
    header = ("#", "time", "route", "type", "record", "state", "signature", "status",
              "headline")
    rows = []
    for d in deliveries:
        status = str(d.reply_status) + (" dup" if d.is_duplicate else "")
        rows.append((str(d.id),
                     datetime.fromtimestamp(d.received_at).strftime("%Y-%m-%d %H:%M:%S"),
                     *(one_line(v, _HEADLINE_WIDTH) or "-" for v in (d.route, d.record_type,
                                                                     d.record_id, d.state)),
                     d.signature, status, _cut(d.headline or d.parse_problem, _HEADLINE_WIDTH)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1]
            for r in [header, *rows]]


def _nothing(args, where: str, database) -> int:
    # With --json, stdout stays valid JSON lines (none); the friendly line goes to stderr.
    print(f"no deliveries stored yet{where} (history: {database})",
          file=sys.stderr if args.json else sys.stdout)
    return 0


def run(args) -> int:
    from compass_listener.cli import CommandError, UsageError
    from compass_listener.core.routes import normalise_path
    from compass_listener.store import paths
    from compass_listener.store.events import EventStore, StoreError, read_problem

    if args.limit < 1:
        raise UsageError(f"--limit {args.limit} shows nothing; give 1 or more")
    route = normalise_path(args.route) if args.route else None
    where = f" on route {route}" if route else ""
    database = paths.database_file()
    # Never create, change or move the history just to list it (a damaged one is the
    # listener's to move aside): read-only, and an empty file has nothing yet.
    if not database.exists() or database.stat().st_size == 0:
        return _nothing(args, where, database)
    store = EventStore(database)
    try:
        store.open(read_only=True)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    try:
        deliveries = store.summaries(limit=args.limit, route=route)
        total = store.count(route=route)
    except sqlite3.Error as exc:        # damage past what opening checks (a big history)
        raise CommandError(read_problem(database, exc)) from None
    finally:
        store.close()
    if not deliveries:
        return _nothing(args, where, database)
    if args.json:
        for d in deliveries:
            print(json_line(d.to_json()))
        return 0
    print("\n".join(table(deliveries)))
    if total > len(deliveries):
        print(f"({len(deliveries)} newest of {total}; use --limit to see more)")
    return 0
