"""`compass-listener deliveries`: list Compass's queue of pending deliveries (WebhookData).

Each queued delivery is shown with its discovered fields (secrets hidden), an explanation
of its last failure, and whether this machine's history already holds its record.
"""

from __future__ import annotations

import sys
import time

from compass_listener.commands import compass_options
from compass_listener.core.text import one_line


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "deliveries", help="list the deliveries Compass still holds (WebhookData records)",
        description="Query the WebhookData records of a Compass database: what is still "
                    "queued, the listener's last reply, the attempts made, and why.")
    compass_options.add_connection_args(parser)
    parser.add_argument("--page-size", type=int, default=100, metavar="N",
                        help="records per REST page (default 100)")
    parser.set_defaults(func=run)


def open_history():
    """This machine's history, read-only use, or None when there is none (yet)."""
    try:
        from compass_listener.store import paths
        from compass_listener.store.events import EventStore

        if not paths.database_file().exists():
            return None
        store = EventStore(paths.database_file())
        store.open()
        return store
    except Exception:  # the history is a bonus here; its problems belong to `events`
        return None


def received_here(store, record_id: str | None) -> list[dict]:
    """Stored deliveries with this record id, newest first."""
    if store is None or not record_id:
        return []
    return [{"id": d.id, "received_at": d.received_at, "route": d.route,
             "reply_status": d.reply_status, "signature": d.signature}
            for d in store.find_by_record_id(record_id)]


def describe_received(items: list[dict]) -> str:
    if not items:
        return ""
    latest = max(items, key=lambda d: d["received_at"])
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(latest["received_at"]))
    return f"received here at {when} on {latest['route']} (replied {latest['reply_status']})"


async def run(args) -> int:
    from compass_listener.cli import UsageError
    from compass_listener.core.webhookdata import explain, interpret_queued
    from compass_listener.net.compass_rest import CompassError

    if args.page_size < 1:
        raise UsageError("--page-size must be 1 or more")
    client = compass_options.make_client(args)
    history = None
    try:
        async with client:
            try:
                package = await client.check_package()
                if not package.has_webhook_data:
                    raise compass_options.fail(args, package.message(client.repo, client.db),
                                               package_applied=False)
                table = await client.list_records("WebhookData", page_size=args.page_size,
                                                  on_progress=compass_options.progress_printer(args))
            except CompassError as exc:
                raise compass_options.fail(args, str(exc)) from None
        history = open_history()
        records = []
        for row in table.rows:
            queued = interpret_queued(row)
            here = received_here(history, queued.record_id)
            records.append({"fields": queued.fields, "record_id": queued.record_id,
                            "status_code": queued.status_code, "attempts": queued.attempts,
                            "target_url": queued.target_url, "explanation": explain(queued),
                            "received_here": here, "received_here_text": describe_received(here)})
    finally:
        if history is not None:
            history.close()
    if compass_options.progress_printer(args):
        sys.stderr.write("\n")
    if args.json:
        compass_options.emit_json({"ok": True, "server": client.base, "repo": client.repo,
                                   "db": client.db, "record_type": "WebhookData",
                                   "package_applied": True, "fields": table.fields,
                                   "count": len(records), "records": records})
        return 0
    if not records:
        print(f"Compass holds no pending deliveries in {client.repo}/{client.db}: every "
              f"delivery so far was accepted (or none was triggered yet).")
        return 0
    print(f"{len(records)} pending deliveries in {client.repo}/{client.db}:")
    for item in records:
        dbid = item["fields"].get("dbid", "?")
        line = f"  {dbid}  {item['record_id'] or '(no record id)'}"
        if item["explanation"]:
            line += f"  {item['explanation']}"
        else:
            line += "  not attempted yet"
        if item["received_here_text"]:
            line += f"  [{item['received_here_text']}]"
        # Record ids and messages come from Compass records: no terminal escapes.
        print(one_line(line, 1000))
    return 0
