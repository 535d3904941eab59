"""Record text for widgets that would otherwise guess rich text (tooltips, labels).

Compass fields are user-typed; a Headline like `<img src=...>` must show as those
characters, never render. Widgets that take plain text (items, QPlainTextEdit) need
nothing; tooltips always guess, so they get escaped HTML that renders the literal text.
"""

from __future__ import annotations

import html


def one_line(text: str) -> str:
    """Control and bidirectional-override characters become visible-harmless spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def tooltip(text: str) -> str:
    if not text:
        return ""
    return "<p style='white-space:pre-wrap'>" + html.escape(one_line(text)) + "</p>"
