"""`compass-listener hooksetup`: enable webhooks on a Compass REST server (POST /hooksetup).

Exit code 0 when the server answers 2xx, 1 otherwise; the status and the body are shown
verbatim, as the reply's shape is not documented (compass-protocol.md §5).
"""

from __future__ import annotations

import sys

from compass_listener.commands import compass_options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "hooksetup", help="enable webhooks on a Compass REST server",
        description="POST /hooksetup with the user, password, repo and db, so that the REST "
                    "server can deliver webhooks; then restart the REST server.")
    compass_options.add_connection_args(parser)
    parser.set_defaults(func=run)


async def run(args) -> int:
    from compass_listener.net.compass_rest import CompassError

    client = compass_options.make_client(args)
    async with client:
        try:
            result = await client.hooksetup()
        except CompassError as exc:
            raise compass_options.fail(args, str(exc), server=client.base) from None
    if args.json:
        compass_options.emit_json({
            "ok": result.ok, "status": result.status, "body": result.body,
            "content_type": result.content_type, "message": result.message,
            "server": client.base, "repo": client.repo, "db": client.db})
    else:
        print(f"POST {client.base}/hooksetup → {result.status}")
        if result.body:
            print(result.body)
        stream = sys.stdout if result.ok else sys.stderr
        print(result.message, file=stream)
    return 0 if result.ok else 1
