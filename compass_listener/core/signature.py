"""Signature checking of Compass deliveries: HMAC over the raw body, compared in constant time.

Compass signs with an HMAC-SHA1 keyed by the WebhookConfig's Secret, but HCL never published
the header's name, nor hex vs base64, nor any `sha1=` prefix (compass-protocol.md §3). So a
route's scheme is configurable, and under auto-detect the first delivery that matches teaches
the route its header and encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from enum import Enum


class Outcome(str, Enum):
    VALID = "valid"
    INVALID = "invalid"      # a secret is set and a candidate header exists, nothing matches
    MISSING = "missing"      # a secret is set and no header carries anything signature-like
    UNSIGNED = "unsigned"    # the route has no secret
    UNVERIFIABLE = "unverifiable"  # the route needs a secret this listener does not have


ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
ALGORITHM_LABELS = {"sha1": "HMAC-SHA1", "sha256": "HMAC-SHA256"}
ENCODINGS = ("auto", "hex", "base64")
AUTO = ""  # header name meaning "auto-detect"

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_B64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
# Header names that carry a signature by convention in webhook senders; used to tell a
# wrong signature (invalid) from no signature at all (missing) when nothing matched.
_SIGNATURE_NAME = re.compile(r"sig|hmac|hash|digest|token", re.IGNORECASE)
# Headers that never hold a signature, whatever their value looks like.
_NOT_SIGNATURE = {
    "host", "content-type", "content-length", "user-agent", "accept", "accept-encoding",
    "connection", "transfer-encoding", "expect", "date", "cookie", "authorization",
}


@dataclass(frozen=True)
class Scheme:
    """How one route expects its deliveries to be signed."""

    algorithm: str = "sha1"
    header: str = AUTO            # fixed header name, or AUTO
    encoding: str = "auto"        # "auto", "hex" or "base64"
    learned_header: str = ""      # what auto-detect learned (shown to the user, resettable)
    learned_encoding: str = ""

    @property
    def effective_header(self) -> str:
        return self.header or self.learned_header

    def forget(self) -> "Scheme":
        return replace(self, learned_header="", learned_encoding="")

    def describe(self) -> str:
        algo = ALGORITHM_LABELS.get(self.algorithm, self.algorithm)
        if self.header:
            return f"{algo}, {self.encoding} in header {self.header}"
        if self.learned_header:
            return f"{algo}, {self.learned_encoding} in header {self.learned_header} (learned)"
        return f"{algo}, header auto-detected"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    header: str = ""          # the header that matched (valid) or was examined (invalid)
    encoding: str = ""        # "hex" or "base64" when valid
    detail: str = ""          # one sentence for the user and for Compass's WebhookData record
    learned: bool = False     # True when this delivery taught an auto-detect route its scheme


def sign(body: bytes, secret: str, algorithm: str = "sha1", encoding: str = "hex",
         prefix: bool = False) -> str:
    """The signature value Compass would send for `body` (used by the sender and tests)."""
    digest = hmac.new(secret.encode("utf-8"), body, ALGORITHMS[algorithm]).digest()
    value = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")
    return f"{algorithm}={value}" if prefix else value


def _decode(value: str, algorithm: str, size: int) -> list[tuple[str, bytes]]:
    """Every reading of a header value as a digest of `size` bytes, with its encoding."""
    text = value.strip()
    head, sep, rest = text.partition("=")
    # An `algo=` prefix: accepted for the route's own algorithm only.
    if sep and head.lower() in ALGORITHMS and rest:
        if head.lower() != algorithm:
            return []
        text = rest.strip()
    readings = []
    if len(text) == size * 2 and _HEX.match(text):
        readings.append(("hex", bytes.fromhex(text)))
    if _B64.match(text) and len(text) in (4 * ((size + 2) // 3), (size * 8 + 5) // 6):
        padded = text + "=" * (-len(text) % 4)
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decoder(padded)
            except (binascii.Error, ValueError):
                continue
            if len(raw) == size:
                readings.append(("base64", raw))
                break
    return readings


def _looks_like_signature(name: str, value: str) -> bool:
    if name.lower() in _NOT_SIGNATURE:
        return False
    if _SIGNATURE_NAME.search(name):
        return True
    return any(_decode(value, algo, fn().digest_size) for algo, fn in ALGORITHMS.items())


def verify(body: bytes, headers: list[tuple[str, str]] | dict[str, str], secret: str | None,
           scheme: Scheme, route_path: str = "", secret_required: bool = False) -> Verdict:
    """Check one delivery's signature over the exact bytes received."""
    if not secret and secret_required:
        return Verdict(Outcome.UNVERIFIABLE,
                       detail=f"not verified: route {route_path or '?'} has a secret in Compass "
                              f"Listener's settings, but the listener does not have it now (it "
                              f"was kept in memory only, or its keyring entry is gone); enter it "
                              f"again in Settings. Compass will retry this delivery")
    if not secret:
        return Verdict(Outcome.UNSIGNED, detail="the route has no secret; delivery not verified")
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    algorithm = scheme.algorithm if scheme.algorithm in ALGORITHMS else "sha1"
    expected = hmac.new(secret.encode("utf-8"), body, ALGORITHMS[algorithm]).digest()
    algo_label = ALGORITHM_LABELS[algorithm]
    route_hint = f" of route {route_path}" if route_path else ""
    route_name = f"route {route_path}" if route_path else "the route"
    fixed = scheme.effective_header

    if fixed:
        candidates = [(n, v) for n, v in items if n.lower() == fixed.lower()]
        if not any(v.strip() for _, v in candidates):
            what = f"the {fixed} header is empty" if candidates else f"no {fixed} header"
            return Verdict(Outcome.MISSING, header=fixed,
                           detail=f"signature missing: {what}; set the WebhookConfig's "
                                  f"Secret to the secret of {route_name} in Compass Listener")
    else:
        candidates = [(n, v) for n, v in items if n.lower() not in _NOT_SIGNATURE]

    wanted = scheme.encoding if scheme.header else "auto"
    matched: tuple[str, str] | None = None
    for name, value in candidates:
        for encoding, raw in _decode(value, algorithm, len(expected)):
            if wanted != "auto" and encoding != wanted:
                continue
            # compare_digest on equal-length bytes: the time does not depend on the contents.
            if hmac.compare_digest(raw, expected) and matched is None:
                matched = (name, encoding)
    if matched:
        name, encoding = matched
        learned = not scheme.header and not scheme.learned_header
        return Verdict(Outcome.VALID, header=name, encoding=encoding,
                       detail=f"{algo_label} in {name} ({encoding}) matches the body",
                       learned=learned)

    if fixed:
        return Verdict(Outcome.INVALID, header=fixed,
                       detail=f"signature mismatch: {fixed} is not the {algo_label} of the body; "
                              f"check that the secret{route_hint} equals the WebhookConfig's Secret")
    suspects = [n for n, v in candidates if _looks_like_signature(n, v)]
    if suspects:
        return Verdict(Outcome.INVALID, header=suspects[0],
                       detail=f"signature mismatch: no header holds the {algo_label} of the body "
                              f"(looked at {', '.join(suspects)}); check that the secret{route_hint} "
                              f"equals the WebhookConfig's Secret")
    return Verdict(Outcome.MISSING,
                   detail=f"signature missing: {route_name} has a secret but the delivery "
                          f"carries no signature header; set the same Secret in the WebhookConfig")
