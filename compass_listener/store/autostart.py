"""The "Start at login" setting: one small interface over Linux, Windows and macOS.

The setting lives in the operating system, not in settings.toml: the autostart entry
itself is the truth, so `is_start_at_login()` stays right when the user removes the entry
with the desktop's own tools. Every platform starts the app with --minimized (tray only).

- Linux (and other XDG desktops): $XDG_CONFIG_HOME/autostart/<app-id>.desktop
- Windows: the value "<APP_NAME>" under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run
- macOS: ~/Library/LaunchAgents/<app-id>.plist with RunAtLoad

Only the Linux path runs for real in CI; the Windows and macOS paths are tested through
an injected registry and a temporary LaunchAgents folder.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from compass_listener import APP_ID, APP_NAME
from compass_listener.store import desktop_entry, launcher

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
MINIMIZED = "--minimized"


class Autostart(Protocol):
    def enable(self, argv: Sequence[str]) -> None: ...
    def disable(self) -> None: ...
    def is_enabled(self) -> bool: ...


def _with_minimized(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    return argv if MINIMIZED in argv else argv + [MINIMIZED]


class XdgAutostart:
    """An autostart desktop entry (XDG Autostart spec), honouring $XDG_CONFIG_HOME."""

    def __init__(self, config_home: Path | None = None) -> None:
        self._config_home = config_home

    @property
    def path(self) -> Path:
        base = self._config_home
        if base is None:
            env = os.environ.get("XDG_CONFIG_HOME")
            # The spec says a relative value is invalid and must be ignored.
            base = Path(env) if env and os.path.isabs(env) else Path.home() / ".config"
        return base / "autostart" / f"{APP_ID}.desktop"

    def enable(self, argv: Sequence[str]) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(desktop_entry.desktop_entry(argv, autostart=True), encoding="utf-8")
        os.replace(tmp, path)  # never leave a half-written entry for the session to run

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        path = self.path
        if not path.is_file():
            return False
        # A user who turned it off in GNOME's settings keeps the file with the key false.
        text = path.read_text(encoding="utf-8", errors="replace")
        return "X-GNOME-Autostart-enabled=false" not in text and "Hidden=true" not in text


class Registry(Protocol):
    """The few HKCU Run-key operations needed; the real one is WinRegistry."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class WinRegistry:
    """HKEY_CURRENT_USER\\...\\Run through winreg (Windows only; imported when used)."""

    def __init__(self, key: str = RUN_KEY) -> None:
        self._key = key

    def get(self, name: str) -> str | None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, self._key) as key:
                value, _kind = winreg.QueryValueEx(key, name)
                return str(value)
        except FileNotFoundError:
            return None

    def set(self, name: str, value: str) -> None:
        import winreg

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, self._key, 0,
                                winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, self._key, 0,
                                winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


def windows_command_line(argv: Sequence[str]) -> str:
    """argv as one Windows command line (the Run key holds a string, not a list)."""
    return subprocess.list2cmdline(list(argv))


class WindowsAutostart:
    VALUE_NAME = APP_NAME

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry if registry is not None else WinRegistry()

    def enable(self, argv: Sequence[str]) -> None:
        self._registry.set(self.VALUE_NAME, windows_command_line(_with_minimized(argv)))

    def disable(self) -> None:
        self._registry.delete(self.VALUE_NAME)

    def is_enabled(self) -> bool:
        return bool(self._registry.get(self.VALUE_NAME))


class MacLaunchAgent:
    """A per-user LaunchAgent; launchd reads it at the next login (no launchctl needed)."""

    def __init__(self, agents_dir: Path | None = None) -> None:
        self._agents_dir = agents_dir

    @property
    def path(self) -> Path:
        base = self._agents_dir or Path.home() / "Library" / "LaunchAgents"
        return base / f"{APP_ID}.plist"

    @staticmethod
    def plist(argv: Sequence[str]) -> dict:
        return {
            "Label": APP_ID,
            "ProgramArguments": _with_minimized(argv),
            "RunAtLoad": True,
            # Started once per login; quitting from the tray must not make launchd restart it.
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }

    def enable(self, argv: Sequence[str]) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            plistlib.dump(self.plist(argv), fh)
        os.replace(tmp, path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        return self.path.is_file()


def for_platform(platform: str | None = None) -> Autostart:
    platform = platform or sys.platform
    if platform.startswith("win"):
        return WindowsAutostart()
    if platform == "darwin":
        return MacLaunchAgent()
    return XdgAutostart()


# The backend used by set_start_at_login()/is_start_at_login(); tests may replace it.
_factory: Callable[[], Autostart] = for_platform


def set_start_at_login(enabled: bool) -> None:
    """Turn "Start at login" on (this installation, minimized to the tray) or off.

    Raises OSError if the entry cannot be written; the caller shows it as a sentence.
    """
    backend = _factory()
    if enabled:
        backend.enable(launcher.launch_command())
    else:
        backend.disable()


def is_start_at_login() -> bool:
    try:
        return _factory().is_enabled()
    except OSError:
        return False
