"""`compass-listener send-test`: POST realistic Compass-shaped deliveries and print the replies.

The deliveries are signed the way Compass signs (HMAC-SHA1, hex) when a secret is given,
and the secret only ever comes from an environment variable: a secret on the command line
would end up in the shell history and in `ps`.
"""

from __future__ import annotations

import json
import os
import time

from compass_listener.net.sender import DEFAULT_HEADER, SendResult


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "send-test", help="send Compass-like test deliveries to a listener",
        description="POST realistic Compass-shaped deliveries (a Defect with about 40 fields, "
                    "one of them truncated) to URL and print each reply.")
    parser.add_argument("--url", required=True,
                        help="where to send, e.g. http://127.0.0.1:8080/compassdefect")
    parser.add_argument("--secret-env", metavar="VAR",
                        help="sign with the secret in environment variable VAR "
                             "(unsigned when left out)")
    parser.add_argument("--header", default=DEFAULT_HEADER, metavar="NAME",
                        help=f"the signature header (default: {DEFAULT_HEADER})")
    parser.add_argument("--count", type=int, default=1, metavar="N",
                        help="how many deliveries to send (default: 1)")
    parser.add_argument("--concurrency", type=int, default=1, metavar="C",
                        help="how many to have in flight at once (default: 1)")
    parser.add_argument("--record-type", default="Defect", metavar="T",
                        help="the record type in the payload (default: Defect)")
    parser.add_argument("--state", default="Submitted", metavar="S",
                        help="the record's State (default: Submitted)")
    parser.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                        help="how long to wait for each reply (default: 30)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per reply and for the summary")
    parser.add_argument("--ca-file", metavar="FILE",
                        help="for an https URL: also trust this PEM certificate or CA (e.g. "
                             "the listener's own --tls-cert)")
    parser.set_defaults(func=run)


def _line(result: SendResult, count: int, as_json: bool) -> str:
    if as_json:
        return json.dumps(result.to_json(), ensure_ascii=False)
    width = len(str(count))
    status = str(result.status) if result.status is not None else "---"
    ms = f"{result.elapsed * 1000:.0f} ms"
    what = f"no reply: {result.error}" if result.error else result.message
    return f"#{result.index:<{width}}  {status}  {result.record_id}  {what}  ({ms})"


def _check(args) -> str | None:
    """The secret to sign with; raises UsageError for options that cannot work."""
    from compass_listener.cli import UsageError
    from compass_listener.net.sender import check_url

    problem = check_url(args.url)
    if problem:
        raise UsageError(problem)
    if args.count < 1:
        raise UsageError(f"--count {args.count} sends nothing; give 1 or more")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency} cannot send; give 1 or more")
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g} would never wait; give a number of "
                         f"seconds above 0")
    if not args.record_type.strip() or not args.state.strip():
        raise UsageError("--record-type and --state cannot be empty")
    if not args.header.strip() or any(c in args.header for c in ":\r\n "):
        raise UsageError(f"--header {args.header!r} is not a header name; give one like "
                         f"{DEFAULT_HEADER}")
    if args.secret_env is None:
        return None
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        raise UsageError(f"the environment variable {args.secret_env} named by --secret-env is "
                         f"not set or empty; export it with the route's secret")
    return secret


def _session_trusting(ca_file: str, concurrency: int):
    """A client session that trusts the system CAs and `ca_file` (a self-signed listener)."""
    import ssl

    import aiohttp

    from compass_listener import __version__
    from compass_listener.cli import UsageError
    from compass_listener.net.tls_server import client_context_trusting

    try:
        context = client_context_trusting(ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"--ca-file {ca_file} cannot be used ({reason}); give a readable "
                         f"PEM certificate") from None
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(concurrency, 1), ssl=context),
        headers={"User-Agent": f"compass-listener-send-test/{__version__}"})


async def run(args) -> int:
    from compass_listener.cli import CommandError
    from compass_listener.net.sender import send_deliveries

    secret = _check(args)
    session = _session_trusting(args.ca_file, args.concurrency) if args.ca_file else None
    started = time.perf_counter()
    try:
        results = await send_deliveries(
            args.url, secret=secret, header=args.header, count=args.count,
            concurrency=args.concurrency, record_type=args.record_type, state=args.state,
            timeout=args.timeout, session=session,
            on_reply=lambda r: print(_line(r, args.count, args.json), flush=True))
    finally:
        if session is not None:
            await session.close()
    elapsed = time.perf_counter() - started
    ok = sum(1 for r in results if r.ok)
    failed = len(results) - ok
    rate = len(results) / elapsed if elapsed > 0 else 0.0
    if args.json:
        print(json.dumps({"sent": len(results), "ok": ok, "failed": failed,
                          "seconds": round(elapsed, 3), "per_second": round(rate, 1)}),
              flush=True)
    else:
        print(f"sent {len(results)}, ok {ok}, failed {failed}, {rate:.1f} deliveries/s "
              f"({elapsed:.2f} s)", flush=True)
    if failed:
        errors = {r.error for r in results if r.error}
        if len(errors) == 1 and all(r.error for r in results):
            raise CommandError(errors.pop())      # e.g. nothing listening: say it once
        raise CommandError(f"{failed} of {len(results)} deliveries were not accepted; the "
                           f"replies above say why")
    return 0
