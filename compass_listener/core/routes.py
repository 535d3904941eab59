"""A route: one POST path of the listener, with its label, signature scheme and policy.

The secret itself is not part of a route: it lives in the keyring (store.secrets) and is
looked up by the route's path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from compass_listener.core.signature import Scheme

DEFAULT_PATH = "/compassdefect"
POLICY_REJECT = "reject"          # invalid/missing signatures get 401 (stored, shown rejected)
POLICY_FLAG = "flag"              # accepted with 200, shown flagged
POLICIES = (POLICY_REJECT, POLICY_FLAG)


@dataclass(frozen=True)
class Route:
    path: str = DEFAULT_PATH
    label: str = "Defect"
    scheme: Scheme = field(default_factory=Scheme)
    policy: str = POLICY_REJECT
    # The user gave this route a secret. Remembered (never the secret itself) so that a route
    # whose secret was lost (kept in memory only, keyring entry gone) refuses to accept
    # deliveries unverified instead of silently turning into an unsigned route.
    secret_required: bool = False

    def with_scheme(self, scheme: Scheme) -> "Route":
        return replace(self, scheme=scheme)


def normalise_path(path: str) -> str:
    """'/compassdefect', 'compassdefect' and '/compassdefect/' are the same route."""
    path = (path or "").strip()
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1:
        path = path.rstrip("/")
    return path


_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=@%/-]*")


def path_problem(text: str) -> str:
    """Why `text` cannot be a route's path ("" when it can): a WebhookConfig URL ends in
    a plain path such as /compassdefect, and a URL or spaces there are typing slips."""
    if "://" in text:
        return (f"{text!r} is a URL; a route is only its path, such as /compassdefect (the "
                f"listener's address and port are set separately)")
    if not _PATH.fullmatch(normalise_path(text)):
        return (f"{text!r} is not a usable URL path; use letters, digits and - _ . / only, "
                f"such as /compassdefect")
    return ""


def parse_route_option(text: str) -> Route:
    """`PATH[:LABEL]` as given on the command line."""
    path, _, label = text.partition(":")
    path = normalise_path(path)
    return Route(path=path, label=label or path.strip("/") or "Record")


def secret_key(path: str) -> str:
    """The keyring entry name of a route's secret."""
    return f"route:{normalise_path(path)}"
