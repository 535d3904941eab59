"""`compass-listener demo`: a fake Compass REST server plus a sender, for trying the app without Compass.

The fake server (self-signed TLS, repo 5.0.0, db SAMPL, user admin with an empty
password) holds WebhookConfig and WebhookData records. Every few seconds a sample Defect
is delivered to the running listener; when the listener answers with an error, the fake
server keeps a WebhookData record with that reply, as Compass would, so the WebhookData
page has real failures to explain; every 5th accepted delivery is kept queued as if its
reply had been lost, so "received here at …" shows too. Truncated fields' urls resolve on
the fake server.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from unittest import mock

from compass_listener.net.fake_compass import DEFAULT_LISTENER_URL

DEMO_USER = "admin"
WRONG_SECRET = "not-the-route-secret"   # every 4th delivery is signed with it on purpose


def register(subparsers) -> None:
    from compass_listener.cli import port_number

    parser = subparsers.add_parser(
        "demo", help="run a fake Compass REST server and deliver sample webhooks to the listener",
        description="Start a fake HCL Compass REST server (self-signed TLS) with webhook configs "
                    "and queued deliveries, and deliver a sample Defect to the listener every "
                    "few seconds, so that every page of the app has something real to show.")
    parser.add_argument("--listener-url", default=DEFAULT_LISTENER_URL, metavar="URL",
                        help=f"where the listener listens (default {DEFAULT_LISTENER_URL})")
    parser.add_argument("--secret-env", metavar="VAR",
                        help="sign deliveries with the route secret in environment variable VAR")
    parser.add_argument("--host", default="127.0.0.1", help="fake server address (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8190,
                        help="fake server port (default 8190, Compass's own; 0 picks a free one)")
    parser.add_argument("--interval", type=float, default=5.0, metavar="SECONDS",
                        help="seconds between deliveries (default 5)")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop after this many seconds (default: run until Ctrl+C)")
    parser.add_argument("--json", action="store_true",
                        help="print the server details and each delivery as JSON lines")
    parser.set_defaults(func=run)


def demo_certificate():
    """The demo's own certificate, made once and kept in the data folder (not the repo),
    so that a fingerprint the user trusted stays valid across demo runs."""
    from compass_listener.net import selfsigned
    from compass_listener.store import paths

    folder = paths.data_dir() / "demo-compass"
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    try:
        if cert_path.exists() and key_path.exists():
            return selfsigned.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    except (OSError, ValueError):
        pass  # unreadable: make a new one
    cert = selfsigned.generate()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        cert_path.write_bytes(cert.cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(cert.key_pem)
    except OSError:
        pass  # the demo still works; the fingerprint just changes next time
    return cert


def full_values(seed: int) -> dict[str, str]:
    """Every field value of the sample record the sender sends for `seed`, uncut.

    core.sample cuts the truncated field to TRUNCATED_SHOWN characters; asking it again with
    no cut gives the same record (it is seeded) with the whole value the fake server serves.
    """
    from compass_listener.core import sample

    with mock.patch.object(sample, "TRUNCATED_SHOWN", 10 ** 9):
        content = sample.sample_content(index=1, seed=seed)
    return {name: field["value"] for name, field in content.items()}


def _say(args, text: str, **data) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
    else:
        print(text, flush=True)


async def run(args) -> int:
    from compass_listener.cli import CommandError, UsageError
    from compass_listener.core import sample
    from compass_listener.net import fake_compass
    from compass_listener.net.sender import check_url, send_deliveries

    problem = check_url(args.listener_url)
    if problem:
        raise UsageError(problem)
    if not args.interval > 0:
        raise UsageError("--interval must be a positive number of seconds")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    secret = None
    if args.secret_env:
        secret = os.environ.get(args.secret_env) or None
        if secret is None:
            raise UsageError(f"environment variable {args.secret_env} is not set or empty; "
                             f"export the route's secret in it")

    server = fake_compass.FakeCompassServer(host=args.host, port=args.port,
                                            certificate=demo_certificate(),
                                            users={DEMO_USER: ""})
    fake_compass.populate(server, repo=sample.REPO, db=sample.DATABASE,
                          listener_url=args.listener_url)
    try:
        await server.start()
    except OSError as exc:
        raise CommandError(f"the fake Compass server cannot listen on {args.host}:{args.port} "
                           f"({exc.strerror or exc}); pass --port 0 or another free port")
    host_port = f"{args.host}:{server.port}"
    _say(args,
         f"Fake Compass REST server: {server.base_url}\n"
         f"  In the app's Compass server page: server {host_port}, repository {sample.REPO}, "
         f"database {sample.DATABASE}, user {DEMO_USER}, empty password.\n"
         f"  Its self-signed certificate: {server.certificate.subject}, SHA-256 "
         f"{server.certificate.fingerprint}\n"
         f"  (the app asks before trusting it; on the command line use --trust-fingerprint).\n"
         f"Delivering a sample Defect to {args.listener_url} every {args.interval:g} s; "
         f"Ctrl+C stops.",
         event="started", server=server.base_url, host_port=host_port, repo=sample.REPO,
         db=sample.DATABASE, user=DEMO_USER, fingerprint=server.certificate.fingerprint,
         subject=server.certificate.subject, listener_url=args.listener_url)

    base_seed = random.randrange(1, 10 ** 9)
    started = time.monotonic()
    number = 0
    try:
        while args.duration is None or time.monotonic() - started < args.duration:
            number += 1
            seed = base_seed + number
            values = full_values(seed)
            server.add_record(sample.REPO, sample.DATABASE, "Defect", values,
                              types={"Description": "MULTILINE_STRING",
                                     "Notes_Log": "MULTILINE_STRING"})
            signed_with = WRONG_SECRET if number % 4 == 0 else secret
            results = await send_deliveries(args.listener_url, secret=signed_with, count=1,
                                            seed=seed, timeout=10)
            result = results[0]
            lost = result.ok and number % 5 == 0
            if not result.ok or lost:
                _queue_failure(server, sample, args.listener_url, seed, result, lost)
            reply = f"{result.status} {result.message}" if result.status else result.error
            why = (" (signed with a wrong secret on purpose)" if signed_with == WRONG_SECRET
                   else " (Compass is told the reply was lost, so it stays queued)" if lost
                   else "")
            _say(args, f"#{number} {result.record_id} → {reply}{why}",
                 event="delivery", number=number, record_id=result.record_id,
                 status=result.status, message=result.message, error=result.error,
                 wrong_secret=signed_with == WRONG_SECRET, reply_lost=lost)
            remaining = args.interval if args.duration is None else \
                min(args.interval, max(0.0, args.duration - (time.monotonic() - started)))
            await asyncio.sleep(remaining)
    finally:
        await server.stop()
        if not args.json:
            print("Fake Compass server stopped.", file=sys.stderr)
    return 0


def _queue_failure(server, sample, listener_url: str, seed: int, result,
                   lost: bool = False) -> None:
    """Keep a WebhookData record for a failed delivery, as the REST server does.

    `lost` plays the case of a reply that never reached Compass (a timeout): the listener
    has the delivery, Compass still holds it and will send it again.
    """
    body = sample.sample_body(listener_url, index=1, seed=seed).decode("utf-8")
    if lost:
        message = "Read timed out"
    else:
        message = json.dumps({"message": result.message}) if result.status else result.error
    server.add_record(sample.REPO, sample.DATABASE, "WebhookData", {
        "WebhookConfig": "Listener on this machine", "URL": listener_url,
        "Secret": "demo-secret", "RecordType": "Defect", "RecordID": result.record_id,
        "Action": "Submit", "Payload": body,
        "ResponseCode": str(result.status) if result.status and not lost else "",
        "ResponseMessage": message, "RetryCount": "1",
        "Created": time.strftime("%Y-%m-%d %H:%M:%S"), "record_type": "WebhookData"},
        types={"Payload": "MULTILINE_STRING"})
