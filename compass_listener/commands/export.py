"""`compass-listener export`: write the history to JSON lines or CSV, oldest first.

Every stored field goes out, the raw body exactly (text when UTF-8, base64 when not) and
header values that look like credentials redacted. To a file with --output (written whole
or not at all), else to stdout.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta

_RELATIVE = re.compile(r"^(\d+)\s*([dhm])$", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="write stored deliveries to JSON lines or CSV",
        description="Export the deliveries in the history, oldest first, with their raw "
                    "bodies (base64 when not UTF-8). Header values that look like "
                    "credentials are redacted.")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                        help="jsonl: one JSON object per line (default); csv: one row per "
                             "delivery with a header row; a CSV cell starting with =, +, -, "
                             "@, a tab or a carriage return gets a leading ' so that a "
                             "spreadsheet shows it as text instead of running it (JSON lines "
                             "are written unchanged)")
    parser.add_argument("--since", metavar="WHEN",
                        help="only deliveries received at or after WHEN: a date or date and "
                             "time (2026-01-31, 2026-01-31T08:00, local time unless it "
                             "names a zone) or an age such as 7d, 12h, 30m")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write to FILE instead of the standard output")
    parser.set_defaults(func=run)


def parse_since(text: str, now: datetime | None = None) -> float:
    """Epoch seconds for a --since value; raises ValueError with the reason."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        now = now or datetime.now().astimezone()
        delta = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
        return (now - delta).timestamp()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r} is not a date, a date and time or an age; give "
                         f"e.g. 2026-01-31, 2026-01-31T08:00 or 7d") from None
    if when.tzinfo is None:
        when = when.astimezone()        # a naive time is the user's local time
    return when.timestamp()


def run(args) -> int:
    from pathlib import Path

    from compass_listener.cli import CommandError, UsageError
    from compass_listener.store import export, paths

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    database = paths.database_file()
    if not database.exists():
        print(f"compass-listener: no history yet at {database}; nothing to export",
              file=sys.stderr)
        if args.output:         # an empty export, so a script finds the file it expects
            from compass_listener.core.export_format import COLUMNS
            try:
                Path(args.output).write_text("" if args.format == "jsonl"
                                             else ",".join(COLUMNS) + "\r\n", encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot write {args.output} ({exc.strerror or exc}); "
                                   f"give --output a file in a folder that exists and is "
                                   f"writable") from None
        return 0
    try:
        if args.output:
            target = Path(args.output)
            if target.is_dir():
                raise UsageError(f"--output {target} is a folder; give a file name in it")
            written = export.to_file(database, target, args.format, since)
            print(f"exported {written} deliveries to {target}", file=sys.stderr)
        else:
            if hasattr(sys.stdout, "reconfigure"):     # exports are UTF-8 on every system
                sys.stdout.reconfigure(encoding="utf-8", newline="")
            written = export.write(database, sys.stdout, args.format, since)
            sys.stdout.flush()
    except export.ExportError as exc:
        raise CommandError(str(exc)) from None
    except BrokenPipeError:             # `export | head`: the reader has seen enough
        sys.stderr.close()
        return 0
    return 0
