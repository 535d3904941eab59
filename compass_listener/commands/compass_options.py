"""Options shared by the Compass REST sub-commands: server, credentials, TLS trust, --json.

Passwords come from an environment variable, stdin or the keyring, never from the command
line. Defaults for server/repo/db/user come from the saved Compass profile, so a user who
set things up in the window can run `compass-listener deliveries` with no options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from compass_listener.store.compass_profile import CompassProfile



def add_connection_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Compass REST server")
    group.add_argument("--server", metavar="URL",
                       help="the REST server: host, host:port or https://host:8190/ccmweb/rest "
                            "(default: the saved profile)")
    group.add_argument("--repo", metavar="R", help="the schema repository (e.g. 5.0.0)")
    group.add_argument("--db", metavar="D", help="the user database (e.g. SAMPL)")
    group.add_argument("--user", metavar="U", help="the Compass user name")
    secret = group.add_mutually_exclusive_group()
    secret.add_argument("--password-env", metavar="VAR",
                        help="read the password from environment variable VAR (may be empty)")
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    secret.add_argument("--token-env", metavar="VAR",
                        help="use the personal access token in environment variable VAR")
    trust = group.add_mutually_exclusive_group()
    trust.add_argument("--ca-file", metavar="F",
                       help="trust the server's certificate if it is signed by the CA in PEM file F")
    trust.add_argument("--trust-fingerprint", metavar="SHA256",
                       help="trust exactly the certificate with this SHA-256 fingerprint")
    group.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="give up on a REST call after this many seconds (default 30)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def load_saved_profile() -> CompassProfile:
    try:
        from compass_listener.store.settings import load_settings

        return CompassProfile.from_dict(load_settings().compass)
    except Exception:  # no settings yet, or unreadable: the options must then say it all
        return CompassProfile()


def resolve(args: argparse.Namespace, *, need_repo_db: bool = True):
    """Build (profile, password, token, trust) from the options and the saved profile."""
    from compass_listener.cli import UsageError
    from compass_listener.core.compass_urls import ServerAddressError
    from compass_listener.net.tls_trust import TrustPolicy, normalize_fingerprint

    saved = load_saved_profile()
    profile = CompassProfile(
        server=args.server or saved.server, repo=args.repo or saved.repo,
        db=args.db or saved.db, user=args.user if args.user is not None else saved.user,
        ca_file=saved.ca_file, pinned=saved.pinned, use_token=saved.use_token,
        timeout=args.timeout or saved.timeout)
    if not profile.server:
        raise UsageError("no Compass server given; pass --server HOST (e.g. --server "
                         "compass.example.com:8190)")
    try:
        profile.base_url
    except ServerAddressError as exc:
        raise UsageError(str(exc)) from None
    if need_repo_db and not (profile.repo and profile.db):
        raise UsageError("the repo and db are needed; pass --repo R --db D")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")

    password, token = "", None
    if args.token_env:
        if args.token_env not in os.environ:
            raise UsageError(f"environment variable {args.token_env} is not set; export the "
                             f"personal access token in it")
        token = os.environ[args.token_env]
    elif args.password_env:
        if args.password_env not in os.environ:
            raise UsageError(f"environment variable {args.password_env} is not set; export the "
                             f"password in it (an empty value means an empty password)")
        password = os.environ[args.password_env]
    elif args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        # the password saved by the window, if any; else Compass's default empty password
        try:
            from compass_listener.store.secrets import SecretStore

            password = SecretStore().get(profile.secret_key()) or ""
        except Exception:
            password = ""
        if saved.use_token and profile.user == saved.user and password:
            token, password = password, ""   # the window saved an access token there
    if not token and not profile.user:
        raise UsageError("no Compass user given; pass --user U (or --token-env VAR)")

    if args.trust_fingerprint:
        try:
            trust = TrustPolicy(pinned_fingerprint=normalize_fingerprint(args.trust_fingerprint))
        except ValueError as exc:
            raise UsageError(f"{exc}; copy the fingerprint from the error message") from None
    elif args.ca_file:
        if not os.path.isfile(args.ca_file):
            raise UsageError(f"the CA file {args.ca_file} does not exist; give a PEM file")
        trust = TrustPolicy(ca_file=args.ca_file)
    else:
        trust = TrustPolicy(ca_file=profile.ca_file or None,
                            pinned_fingerprint=profile.pinned_fingerprint())
    return profile, password, token, trust


def make_client(args: argparse.Namespace, *, need_repo_db: bool = True):
    from compass_listener.net.compass_rest import CompassClient

    profile, password, token, trust = resolve(args, need_repo_db=need_repo_db)
    return CompassClient(profile.server, repo=profile.repo, db=profile.db, user=profile.user,
                         password=password, access_token=token, trust=trust,
                         timeout=profile.timeout)


def emit_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


def fail(args: argparse.Namespace, message: str, **extra: Any):
    """Report a failure: a JSON document on stdout with --json, then exit code 1."""
    from compass_listener.cli import CommandError

    if getattr(args, "json", False):
        emit_json({"ok": False, "error": message, **extra})
    return CommandError(message)


def progress_printer(args: argparse.Namespace):
    """Progress lines on stderr for people at a terminal; silent for scripts and --json."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        sys.stderr.write(f"\rread {done}{f' of {total}' if total else ''} records…")
        sys.stderr.flush()

    return show
