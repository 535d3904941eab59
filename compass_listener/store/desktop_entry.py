"""Writes freedesktop.org desktop entries: the application menu entry and the autostart entry.

One generator for both, so that packaging/linux/<app-id>.desktop (for distribution
packages, Exec=compass-listener) and the entries written by `install-desktop` and "Start at
login" (Exec=<absolute path of this installation>) cannot drift apart; a test compares the
committed file with `desktop_entry(["compass-listener"])`.
"""

from __future__ import annotations

from collections.abc import Sequence

from compass_listener import APP_ID, APP_NAME

COMMENT = "Receive, verify and show HCL Compass webhook deliveries"
# Characters that force quoting of an Exec argument (Desktop Entry spec, "The Exec key").
_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')
_ESCAPED_IN_QUOTES = '"`$\\'


def quote_exec_arg(arg: str) -> str:
    """One Exec argument, quoted per the spec, then escaped as a desktop-entry string."""
    if "%" in arg:
        arg = arg.replace("%", "%%")  # a literal percent sign is written %% (field codes)
    if arg and not (set(arg) & _RESERVED):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in _ESCAPED_IN_QUOTES else c for c in arg) + '"'
    # The whole value is a "string" type: backslashes are escaped once more.
    return quoted.replace("\\", "\\\\")


def exec_line(argv: Sequence[str]) -> str:
    return " ".join(quote_exec_arg(a) for a in argv)


def desktop_entry(argv: Sequence[str], *, autostart: bool = False) -> str:
    """The text of a desktop entry that runs argv (with --minimized added for autostart)."""
    argv = list(argv)
    if autostart and "--minimized" not in argv:
        argv.append("--minimized")
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",  # the newest desktop-file-validate in Debian 12 knows
        f"Name={APP_NAME}",
        "GenericName=Webhook Listener",
        f"Comment={COMMENT}",
        f"Icon={APP_ID}",
        f"Exec={exec_line(argv)}",
        "Terminal=false",
        "Categories=Development;",
        "Keywords=Compass;ClearQuest;HCL;webhook;webhooks;notification;",
        "StartupNotify=false",
    ]
    if autostart:
        # GNOME honours this key for entries in ~/.config/autostart; others ignore it.
        lines.append("X-GNOME-Autostart-enabled=true")
    return "\n".join(lines) + "\n"
