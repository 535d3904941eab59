"""Installs and removes the menu entry and hicolor icons for one user under $XDG_DATA_HOME.

Nothing outside the user's own data folder is touched; the entry runs this very
installation (the bundle, the pip script or `python -m`), so it keeps working without a
`compass-listener` on PATH. The desktop's caches are refreshed when their tools exist;
desktops that watch these folders pick the changes up anyway.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compass_listener import APP_ID
from compass_listener.store import assets, desktop_entry


def data_home() -> Path:
    env = os.environ.get("XDG_DATA_HOME")
    # The XDG spec says a relative value is invalid and must be ignored.
    return Path(env) if env and os.path.isabs(env) else Path.home() / ".local" / "share"


@dataclass
class InstallResult:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def _targets(base: Path) -> dict[str, Path]:
    icons = base / "icons" / "hicolor"
    targets = {"desktop": base / "applications" / f"{APP_ID}.desktop",
               "scalable": icons / "scalable" / "apps" / f"{APP_ID}.svg"}
    for size in assets.HICOLOR_PNG_SIZES:
        targets[f"png{size}"] = icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    return targets


def _refresh_caches(base: Path) -> None:
    # Best effort: a missing tool or a failing cache update must not fail the install.
    for argv in (["update-desktop-database", "-q", str(base / "applications")],
                 ["gtk-update-icon-cache", "-q", "-t", "-f", str(base / "icons" / "hicolor")]):
        if shutil.which(argv[0]):
            try:
                subprocess.run(argv, check=False, timeout=30, capture_output=True)
            except (OSError, subprocess.SubprocessError):
                pass


def install(argv: Sequence[str], base: Path | None = None, refresh: bool = True) -> InstallResult:
    """Write the menu entry (running argv) and the icons; returns what was written."""
    base = base or data_home()
    result = InstallResult()
    for key, target in _targets(base).items():
        if key == "desktop":
            data = desktop_entry.desktop_entry(argv).encode("utf-8")
        elif key == "scalable":
            data = assets.app_icon_svg().read_bytes()
        else:
            data = assets.app_icon_png(int(key[3:])).read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        result.written.append(target)
    if refresh:
        _refresh_caches(base)
    return result


def uninstall(base: Path | None = None, refresh: bool = True) -> InstallResult:
    """Remove what install() wrote (and nothing else); returns what was removed."""
    base = base or data_home()
    result = InstallResult()
    for target in _targets(base).values():
        if target.exists():
            target.unlink()
            result.removed.append(target)
    if refresh:
        _refresh_caches(base)
    return result


def is_installed(base: Path | None = None) -> bool:
    return _targets(base or data_home())["desktop"].is_file()
