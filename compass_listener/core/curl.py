"""A delivery as a curl command line, so a user can replay it against any listener."""

from __future__ import annotations

import shlex

# Headers curl sets itself or that describe the old connection, not the delivery.
_SKIP = {"host", "content-length", "connection", "transfer-encoding", "expect",
         "accept-encoding", "keep-alive"}


def as_curl(url: str, headers: list[tuple[str, str]], body: bytes) -> str:
    parts = ["curl", "-sS", "-X", "POST", shlex.quote(url)]
    for name, value in headers:
        if name.lower() not in _SKIP:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    try:
        text = body.decode("utf-8")
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", body, 0, 1, "NUL")
        parts += ["--data-binary", shlex.quote(text)]
    except UnicodeDecodeError:
        # Bytes a shell cannot carry literally: printf with octal escapes keeps them exact.
        escaped = "".join(f"\\{b:03o}" for b in body)
        return f"printf '{escaped}' | " + " ".join(parts + ["--data-binary", "@-"])
    return " ".join(parts)
