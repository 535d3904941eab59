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

import html

from compass_listener.core.text import SHOWN_MAX, escape_controls, one_line

# one_line and SHOWN_MAX live in core.text (the command line uses them too).
__all__ = ["SHOWN_MAX", "one_line", "tooltip", "notification", "visible_controls"]

_NOTIFY_LINE_MAX = 240
TOOLTIP_MAX = 2000


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


def visible_controls(text: str) -> str:
    """Text for the body views: control and direction characters as JSON escapes."""
    return escape_controls(text)
