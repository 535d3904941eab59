"""Record text for widgets that would otherwise guess rich text (tooltips, labels), and for
the desktop's notification server.

Compass fields are user-typed; a Headline like `<img src=...>` must show as those
characters, never render. Widgets that take plain text (items, QPlainTextEdit) need
nothing; tooltips always guess, so they get escaped HTML that renders the literal text.

Notifications are different: the text leaves the app. On X11 with an XEmbed tray Qt draws
the balloon itself (its message label is plain text, its title label guesses), and where a
StatusNotifierItem host exists Qt hands title and body to the freedesktop notification
server, which may read the body as markup (`<b>`, `<a href>`, `<img src>`: the
"body-markup" capability) and cannot be told not to. HTML-escaping would show `&lt;b&gt;`
wherever markup is not read, so instead `<` and `>` become the look-alikes ‹ and › in
notification text only: on every desktop the text reads as typed and can never become a
tag, a link or a remote image. The window shows the exact characters.
"""

from __future__ import annotations

import functools
import html
import unicodedata

_NOTIFY_LINE_MAX = 240


# Compass itself truncates a field at 5,000 characters. Longer record text (a hostile
# Headline of megabytes) would cost Qt seconds of layout on every repaint, with the
# listener waiting on the same loop; widgets show this much, the Body tab and Copy
# payload have the rest.
SHOWN_MAX = 5000
TOOLTIP_MAX = 2000


def one_line(text: str, limit: int = SHOWN_MAX) -> str:
    """Control and bidirectional-override characters become visible-harmless spaces; text
    beyond `limit` characters becomes "…"."""
    cut = len(text) > limit
    text = text[:limit] if cut else text
    return "".join(ch if ch.isprintable() else " " for ch in text) + ("…" if cut else "")


def tooltip(text: str) -> str:
    if not text:
        return ""
    return ("<p style='white-space:pre-wrap'>" + html.escape(one_line(text, TOOLTIP_MAX))
            + "</p>")


def notification(text: str, max_lines: int = 4) -> str:
    """Text for a tray balloon or desktop notification: no markup, no control or direction
    characters, lines kept, each line and the line count bounded."""
    lines = []
    for line in text.split("\n")[:max_lines]:
        line = one_line(line).replace("<", "\u2039").replace(">", "\u203a")
        lines.append(line if len(line) <= _NOTIFY_LINE_MAX else line[:_NOTIFY_LINE_MAX] + "…")
    return "\n".join(lines)


# Control (Cc), format (Cf: bidi overrides, isolates, zero-width) and line/paragraph
# separator (Zl, Zp) characters, except tab, line feed and carriage return: about 230 code
# points, so one str.translate escapes even a 10 MiB body quickly. Unicode puts them only
# in planes 0, 1 and 14; the table is read from this Python's Unicode data on first use.
_CONTROL_PLANES = (range(0x00000, 0x20000), range(0xE0000, 0xE1000))


@functools.cache
def _escapes() -> dict[int, str]:
    return {code: _json_escape(code) for plane in _CONTROL_PLANES for code in plane
            if code not in (9, 10, 13)
            and unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")}


def _json_escape(code: int) -> str:
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000          # beyond the BMP: a surrogate pair, as JSON writes it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def visible_controls(text: str) -> str:
    """Text for the body views: line breaks and tabs stay; every other control or direction
    character shows as its JSON escape (\\u202e), so it can neither hide nor reorder the
    text around it. Inside a JSON string the escape means the same character."""
    return text.translate(_escapes())
