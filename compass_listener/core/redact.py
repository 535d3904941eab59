"""Which header values are secrets to hide in the Headers tab and in exports."""

from __future__ import annotations

import re

REDACTED = "•••••• (hidden)"
_SECRET_NAME = re.compile(r"authorization|cookie|token|secret|password|api[-_]?key|session",
                          re.IGNORECASE)


def is_secret_header(name: str) -> bool:
    """Credentials travel in these headers; a signature is not one (it is derived from the
    body and useless without the secret), so signature headers stay visible for debugging."""
    return bool(_SECRET_NAME.search(name))


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, REDACTED if is_secret_header(n) else v) for n, v in headers]
