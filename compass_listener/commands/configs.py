"""`compass-listener configs`: list the WebhookConfig records and check their URLs against our routes.

A config pointing at this machine but at no route we serve is the usual reason why "my
webhook never arrives"; Compass re-reads configs only every 15 minutes.
"""

from __future__ import annotations

import socket

from compass_listener.commands import compass_options
from compass_listener.core.text import one_line

RELOAD_NOTE = ("Compass re-reads WebhookConfig records every 15 minutes (or when the REST "
               "server starts), so a new or changed config can take that long to fire.")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "configs", help="list the WebhookConfig records of a Compass database",
        description="List the webhook configs (name, URL, tracked record, type, whether a "
                    "secret is set) and say which point at this listener's routes.")
    compass_options.add_connection_args(parser)
    parser.set_defaults(func=run)


def local_hosts() -> set[str]:
    names = {"localhost", "127.0.0.1", "::1"}
    try:
        names.add(socket.gethostname())
        names.add(socket.getfqdn())
    except OSError:
        pass
    return {n.lower() for n in names if n}


def listener_routes() -> tuple[list[str], int | None]:
    try:
        from compass_listener.store.settings import load_settings

        settings = load_settings()
        return [r.path for r in settings.routes], settings.port
    except Exception:
        return ["/compassdefect"], 8080


async def run(args) -> int:
    from compass_listener.core.webhookdata import (
        LOCAL_UNKNOWN_ROUTE, OURS, classify_config_url, summarize_config)
    from compass_listener.net.compass_rest import CompassError

    client = compass_options.make_client(args)
    async with client:
        try:
            package = await client.check_package()
            if not package.has_webhook_config:
                raise compass_options.fail(args, package.message(client.repo, client.db),
                                           package_applied=False)
            table = await client.list_records("WebhookConfig")
        except CompassError as exc:
            raise compass_options.fail(args, str(exc)) from None
    routes, port = listener_routes()
    hosts = local_hosts()
    configs = []
    for row in table.rows:
        summary = summarize_config(row)
        where = classify_config_url(summary.url, routes, hosts, port)
        configs.append({"name": summary.name, "url": summary.url,
                        "tracked_record": summary.tracked_record, "type": summary.webhook_type,
                        "secret_set": summary.secret_set, "points_at": where})
    if args.json:
        compass_options.emit_json({"ok": True, "server": client.base, "repo": client.repo,
                                   "db": client.db, "count": len(configs), "configs": configs,
                                   "routes": routes, "note": RELOAD_NOTE})
        return 0
    print(f"{len(configs)} webhook configs in {client.repo}/{client.db}:")
    for c in configs:
        mark = {OURS: "→ this listener", LOCAL_UNKNOWN_ROUTE:
                "! this machine, but no such route here"}.get(c["points_at"], "")
        secret = "secret set" if c["secret_set"] else "no secret"
        print(one_line(f"  {c['name']}  {c['url']}  {c['tracked_record']}  {c['type']}  "
                       f"{secret}  {mark}", 1000))      # record text: no terminal escapes
    print(RELOAD_NOTE)
    return 0
