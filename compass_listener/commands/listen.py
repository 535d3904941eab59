"""`compass-listener listen`: the webhook listener without a window, on a plain asyncio loop.

Same Listener, same history file as the GUI. The first line on stdout says where it listens
("listening on URL ...", or with --json {"event": "listening", "urls": [...]}, so that every
stdout line is JSON), then one line per delivery (human, or JSON with --json). Ctrl-C
or SIGTERM stop it cleanly: the listener finishes the deliveries in flight, the store
commits every queued write, and the exit code is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import os
import signal
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

from compass_listener.core.delivery import Delivery
from compass_listener.core.routes import (
    Route, normalise_path, parse_route_option, path_problem, secret_key,
)
from compass_listener.core.text import json_line, one_line


def register(subparsers) -> None:
    from compass_listener.cli import port_number

    # SUPPRESS: an option left out here is absent, so plan() falls back to the settings
    # file. (The window's --port etc. before `listen` are refused by cli.main.)
    parser = subparsers.add_parser(
        "listen", help="run the listener without a window",
        description="Receive Compass deliveries without a window: verify, store and print "
                    "them. Defaults come from the settings file.",
        argument_default=argparse.SUPPRESS)
    parser.add_argument("--host", help="address to listen on (default: from settings, "
                                       "127.0.0.1)")
    parser.add_argument("--port", type=port_number, help="port to listen on; 0 picks a free one "
                                                 "(default: from settings, 8080)")
    parser.add_argument("--route", action="append", metavar="PATH[:LABEL]",
                        help="serve this route instead of the configured ones (repeatable)")
    parser.add_argument("--secret-env", metavar="VAR",
                        help="take the secret of every route from environment variable VAR "
                             "(instead of the keyring)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per line: first "
                             '{"event": "listening", "urls": [...]}, then one per delivery')
    parser.add_argument("--allow-unsigned", action="store_true",
                        help="allow listening beyond loopback while a route has no secret")
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="serve HTTPS with this PEM certificate (with --tls-key; default: "
                             "from settings)")
    parser.add_argument("--tls-key", metavar="FILE",
                        help="the PEM private key of --tls-cert, without a passphrase")
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def human_line(delivery: Delivery) -> str:
    """One terminal line; record text goes through core.text, so an ESC sequence or a
    direction override typed into a Compass field cannot act on the terminal."""
    when = datetime.fromtimestamp(delivery.received_at).strftime("%Y-%m-%d %H:%M:%S")
    parts = [when, one_line(delivery.route), one_line(delivery.summary_line(), 1000),
             f"signature {delivery.signature}", str(delivery.reply_status)]
    if delivery.is_duplicate:
        parts.append(f"duplicate of #{delivery.duplicate_of}")
    return "  ".join(parts)


def _routes_for(args, settings) -> tuple[list[Route], set[str]]:
    """The routes to serve and the paths among them that came from the settings file."""
    from compass_listener.store import paths

    # Learned schemes are written back only into a settings file the user already has.
    saved = {r.path for r in settings.routes} if paths.settings_file().exists() else set()
    options = getattr(args, "route", None)
    if not options:
        return list(settings.routes), saved
    from compass_listener.cli import UsageError

    routes: dict[str, Route] = {}
    from_settings: set[str] = set()
    for text in options:
        if not text.split(":", 1)[0].strip(" /"):
            raise UsageError(f"--route {text!r} has no path; give one like "
                             f"/compassdefect or /compassdefect:Defect")
        problem = path_problem(text) if "://" in text else path_problem(text.partition(":")[0])
        if problem:
            raise UsageError(f"--route {problem}")
        route = parse_route_option(text)
        known = settings.route(route.path)
        if known is not None:
            # Same path as a configured route: keep its scheme, policy and whether it expects
            # a signature (what it learned, what the user set).
            route = replace(known, label=text.partition(":")[2] or known.label)
            from_settings |= {route.path} & saved
        if route.path in routes:
            raise UsageError(f"--route {route.path} is given twice; give each path once")
        routes[route.path] = route
    return list(routes.values()), from_settings


def _secret_lookup(args, routes: list[Route]) -> Callable[[str], "str | None"]:
    """secret_for(path): the --secret-env value for every route, else each route's keyring
    entry (read once, so a keyring prompt cannot stall a delivery)."""
    from compass_listener.cli import UsageError

    var = getattr(args, "secret_env", None)
    if var:
        value = os.environ.get(var, "")
        if not value:
            raise UsageError(f"the environment variable {var} named by --secret-env is not "
                             f"set or empty; export it with the WebhookConfig's Secret")
        return lambda path: value
    from compass_listener.store.secrets import SecretStore

    secrets = SecretStore()
    found = {r.path: secrets.get(secret_key(r.path)) for r in routes}
    return lambda path: found.get(normalise_path(path))


def _save_learned(route: Route) -> None:
    """Write what auto-detect learned into the settings file, re-read first so that we only
    change this route's scheme (the GUI may have saved other changes meanwhile)."""
    from compass_listener.store.settings import load_settings, save_settings

    settings = load_settings()
    if settings.load_problem:
        return          # never overwrite a file we could not read
    settings.routes = [r.with_scheme(route.scheme) if r.path == route.path else r
                       for r in settings.routes]
    save_settings(settings)


@dataclass
class Plan:
    """What `listen` will do, resolved from the options and the settings file."""

    host: str
    port: int
    routes: list[Route]
    from_settings: set[str]          # paths whose learned scheme goes back to the file
    secret_for: Callable[[str], "str | None"]
    unsigned: list[str]              # paths without a secret
    body_limit: int
    keep_days: int = 0               # retention from the settings file (0: no limit)
    keep_count: int = 0
    tls_cert: str = ""               # HTTPS when both are set
    tls_key: str = ""
    header_timeout: float = 30.0
    body_timeout: float = 60.0


def plan(args) -> Plan:
    """Resolve options over settings; raises UsageError for a combination that cannot or
    should not run."""
    from compass_listener.cli import UsageError
    from compass_listener.store.settings import load_settings

    settings = load_settings()
    if settings.load_problem:
        print(f"compass-listener: warning: {settings.load_problem}", file=sys.stderr)
    host = getattr(args, "host", None) or settings.host
    port = getattr(args, "port", None)
    port = settings.port if port is None else port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port; give a number from 1 to 65535 "
                         f"(or 0 for any free port)")
    routes, from_settings = _routes_for(args, settings)
    secret_for = _secret_lookup(args, routes)
    unsigned = [r.path for r in routes if not secret_for(r.path) and not r.secret_required]
    allow = getattr(args, "allow_unsigned", False) or settings.allow_unsigned_remote
    if unsigned and not is_loopback(host) and not allow:
        raise UsageError(f"listening on {host} (beyond this machine) while route "
                         f"{', '.join(unsigned)} has no secret would accept anyone's "
                         f"deliveries; give --secret-env VAR, or --allow-unsigned to do it "
                         f"anyway")
    retention = dict(keep_days=settings.history_keep_days,
                     keep_count=settings.history_keep_count)
    tls_cert = getattr(args, "tls_cert", None) or settings.tls_cert_file
    tls_key = getattr(args, "tls_key", None) or settings.tls_key_file
    if bool(tls_cert) != bool(tls_key):
        given, missing = ("--tls-cert", "--tls-key") if tls_cert else ("--tls-key", "--tls-cert")
        raise UsageError(f"{given} needs {missing} as well: HTTPS takes a certificate and its "
                         f"key")
    return Plan(host, port, routes, from_settings, secret_for, unsigned, settings.body_limit,
                tls_cert=tls_cert, tls_key=tls_key, header_timeout=settings.header_timeout,
                body_timeout=settings.body_timeout, **retention)


def run(args) -> int:
    from compass_listener.cli import CommandError

    resolved = plan(args)
    try:
        return asyncio.run(_serve(args, resolved))
    except KeyboardInterrupt:       # a second Ctrl-C during shutdown
        raise CommandError("interrupted while stopping; deliveries already answered are "
                           "stored") from None


def _tls(job: Plan) -> dict:
    """Listener.start's HTTPS arguments, or none for plain HTTP."""
    if not job.tls_cert:
        return {}
    from compass_listener.cli import CommandError
    from compass_listener.net.tls_server import TlsSetupError, server_context, url_host

    try:
        return {"ssl_context": server_context(job.tls_cert, job.tls_key),
                "url_host": url_host(job.tls_cert, job.host)}
    except TlsSetupError as exc:
        raise CommandError(str(exc)) from None


async def _serve(args, job: Plan) -> int:
    from compass_listener.cli import CommandError
    from compass_listener.net.listener import Listener, ListenerError
    from compass_listener.store import paths
    from compass_listener.store.events import EventStore, StoreError

    store = EventStore(paths.database_file())
    try:
        report = store.open()
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"the history {store.path} cannot be opened ({exc.strerror or exc}); "
                           f"check the folder's permissions or use --data-dir") from None
    if report.moved_aside:
        print(f"compass-listener: warning: the history was unreadable and was moved to "
              f"{report.moved_aside}; a new one was started", file=sys.stderr)

    as_json = getattr(args, "json", False)

    def show(delivery: Delivery) -> None:
        line = json_line(delivery.to_json()) if as_json \
            else human_line(delivery)
        print(line, flush=True)

    def learned(route: Route) -> None:
        print(f"compass-listener: route {route.path} learned its signature: "
              f"{route.scheme.describe()}", file=sys.stderr, flush=True)
        if route.path in job.from_settings:
            _save_learned(route)

    def problem(text: str) -> None:
        if text:
            print(f"compass-listener: {text}", file=sys.stderr, flush=True)

    from compass_listener.net.http_guard import ConnectionLimits

    listener = Listener(store, job.routes, job.secret_for, body_limit=job.body_limit,
                        limits=ConnectionLimits(header_timeout=job.header_timeout,
                                                body_timeout=job.body_timeout))
    from compass_listener.store.retention import Retention, RetentionKeeper

    keeper = RetentionKeeper(store, lambda: Retention(job.keep_days, job.keep_count))
    listener.on_delivery(show)
    listener.on_scheme_learned(learned)
    listener.on_problem(problem)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
        except (NotImplementedError, RuntimeError):    # Windows: Ctrl-C raises instead
            pass
    try:
        try:
            await listener.start(job.host, job.port, **_tls(job))
        except ListenerError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
                # The listener's own text points at Settings, which `listen` does not read
                # for a port given on its command line; here the fix is an option.
                raise CommandError(f"port {job.port} on {job.host} is already in use by "
                                   f"another program; choose another one with --port (0 "
                                   f"picks a free one), or stop that program") from None
            raise CommandError(str(exc)) from None
        if as_json:
            print(json_line({"event": "listening", "urls": listener.urls}), flush=True)
        else:
            print("listening on " + " ".join(listener.urls), flush=True)
        if keeper.policy().active:
            print(f"compass-listener: note: keeping {keeper.policy().describe()} of history; "
                  f"older deliveries are deleted (export them with `compass-listener export`)",
                  file=sys.stderr, flush=True)
            keeper.start()
        for path in job.unsigned:
            print(f"compass-listener: note: route {path} has no secret; deliveries are "
                  f"stored as unsigned", file=sys.stderr, flush=True)
        for route in listener.routes:
            if route.secret_required and not job.secret_for(route.path):
                print(f"compass-listener: warning: route {route.path} has a secret in the "
                      f"settings but none is available here (give --secret-env VAR, or set it "
                      f"in the app); its deliveries are answered 503 and Compass retries them",
                      file=sys.stderr, flush=True)
        try:
            await stop.wait()
        except asyncio.CancelledError:
            pass
    finally:
        # Stop accepting, let deliveries in flight be stored and answered, then make sure
        # every queued write is committed before the process ends.
        await listener.stop()
        await keeper.stop()
        store.close()
        for signum in handled:
            loop.remove_signal_handler(signum)
    return 0
