"""Finds the shipped icon files, whether installed from a wheel, frozen or run from a checkout.

The masters live in the top-level `resources/` folder of the source tree. Builds copy them
into the package as `compass_listener/resources/` (setup.py's build step for wheels, the
PyInstaller spec for the bundle), so installed and frozen copies find them with
importlib.resources and no path computed from the source layout. A source checkout has no
such copy and reads `resources/` itself.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from compass_listener import APP_ID

# Sizes rendered to PNG for the hicolor theme (packaging/make_icons.py writes them).
HICOLOR_PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_STATES = ("listening", "paused", "error", "stopped")


def resource_root() -> Traversable:
    """The folder holding `icons/`: the package's copy if it has one, else the checkout's."""
    packaged = resources.files("compass_listener") / "resources"
    if (packaged / "icons").is_dir():
        return packaged
    # Source checkout: compass_listener/store/assets.py -> <checkout>/resources
    return Path(__file__).resolve().parents[2] / "resources"


def icons_root() -> Traversable:
    return resource_root() / "icons"


def app_icon_svg() -> Traversable:
    return icons_root() / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"


def app_icon_png(size: int) -> Traversable:
    return icons_root() / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def tray_svg(state: str) -> Traversable:
    if state not in TRAY_STATES:
        raise ValueError(f"unknown tray state {state!r}; expected one of {', '.join(TRAY_STATES)}")
    return icons_root() / "tray" / f"{state}.svg"
