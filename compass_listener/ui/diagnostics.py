"""The facts a bug report needs (versions, platform, locations), with every secret left out.

What goes in is an allow-list: versions, the platform, the app's own folders, and the
values of a few display-related environment variables. Never keyring contents, settings
values, or any other environment variable (a webhook secret may sit in one, named by
--secret-env), so the text can be pasted into a public issue as it is.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication

from compass_listener import APP_ID, APP_NAME, __version__
from compass_listener.store import paths

# Environment variables whose values say how the display is set up and hold nothing secret.
SAFE_ENV = ("XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE", "DESKTOP_SESSION", "QT_QPA_PLATFORM",
            "QT_SCALE_FACTOR", "QT_SCREEN_SCALE_FACTORS", "LANG")


@dataclass(frozen=True)
class Location:
    label: str
    path: str


def versions() -> list[tuple[str, str]]:
    return [
        (APP_NAME, __version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
    ]


def locations() -> list[Location]:
    return [
        Location("Data", str(paths.data_dir())),
        Location("Logs", str(paths.log_dir())),
        Location("Settings", str(paths.config_dir())),
    ]


def _tray_available() -> str:
    if QGuiApplication.instance() is None:
        return "unknown"
    from PySide6.QtWidgets import QSystemTrayIcon

    return "yes" if QSystemTrayIcon.isSystemTrayAvailable() else "no"


def diagnostics_text() -> str:
    """A plain-text block for bug reports: secrets excluded by construction (see module doc)."""
    lines = [f"{name}: {value}" for name, value in versions()]
    app = QGuiApplication.instance()
    lines += [
        f"Application id: {APP_ID}",
        f"Platform: {platform.platform()} ({sys.platform}, {platform.machine()})",
        f"Frozen bundle: {'yes' if getattr(sys, 'frozen', False) else 'no'}",
        f"Qt platform plugin: {QGuiApplication.platformName() if app else 'none'}",
        f"System tray available: {_tray_available()}",
    ]
    lines += [f"{loc.label} folder: {loc.path}" for loc in locations()]
    lines.append(f"Portable data folder set: {'yes' if os.environ.get(paths.HOME_ENV) else 'no'}")
    for name in SAFE_ENV:
        if name in os.environ:
            lines.append(f"${name}: {os.environ[name]}")
    if os.environ.get("WAYLAND_DISPLAY"):
        lines.append("Wayland display: yes")
    return "\n".join(lines) + "\n"
