"""Record text made safe to show anywhere: no control, escape or direction characters, and
a bounded length.

Compass fields are typed by people, and anyone who can reach the listener can send any
text. An ESC sequence in a Headline could clear or retitle a terminal running `listen`; a
right-to-left override (U+202E) reorders the characters after it on screen; a Headline of
megabytes stalls whatever lays it out. The window (ui.plain) and the command line both
use these functions.
"""

from __future__ import annotations

import functools
import json
import unicodedata

# Compass itself truncates a field at 5,000 characters; nobody reads more on one line.
SHOWN_MAX = 5000

# Control (Cc), format (Cf: bidi overrides, isolates, zero-width) and line/paragraph
# separator (Zl, Zp) characters, except tab, line feed and carriage return: about 230 code
# points, so one str.translate escapes even a 10 MiB body quickly. Unicode puts them only
# in planes 0, 1 and 14; the table is read from this Python's Unicode data on first use.
_CONTROL_PLANES = (range(0x00000, 0x20000), range(0xE0000, 0xE1000))


def one_line(text: str, limit: int = SHOWN_MAX) -> str:
    """Control and bidirectional-override characters become spaces; text beyond `limit`
    characters becomes "…"."""
    cut = len(text) > limit
    text = text[:limit] if cut else text
    return "".join(ch if ch.isprintable() else " " for ch in text) + ("…" if cut else "")


def _json_escape(code: int) -> str:
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000          # beyond the BMP: a surrogate pair, as JSON writes it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


@functools.cache
def _escapes() -> dict[int, str]:
    return {code: _json_escape(code) for plane in _CONTROL_PLANES for code in plane
            if code not in (9, 10, 13)
            and unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")}


def escape_controls(text: str) -> str:
    """Line breaks and tabs stay; every other control or direction character becomes its
    JSON escape (\\u202e), so it can neither hide nor reorder the text around it. Inside a
    JSON string the escape means the same character, so JSON stays JSON."""
    return text.translate(_escapes())


def json_line(document: object) -> str:
    """One line of JSON for a terminal: non-ASCII text kept readable, but no character
    that a terminal would act on or that would reorder the line."""
    return escape_controls(json.dumps(document, ensure_ascii=False))
