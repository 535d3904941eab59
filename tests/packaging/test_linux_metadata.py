"""The Linux desktop files pass the freedesktop validators and use the one application id.

The validators come from Debian's `desktop-file-utils` and `appstream` packages; CI installs
them. Without them (a developer machine) these tests skip, unless CI is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from compass_listener import APP_ID, APP_NAME

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing; CI installs it with apt (see packaging/README.md)")
        pytest.skip(f"{name} not installed")
    return path


def test_desktop_file_validates():
    run = subprocess.run([_tool("desktop-file-validate"), str(DESKTOP)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "", run.stdout + run.stderr


def test_metainfo_validates():
    run = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", "--explain", str(METAINFO)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_one_application_id_everywhere():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == APP_NAME
    assert root.findtext("launchable") == DESKTOP.name
    assert f"\nIcon={APP_ID}\n" in DESKTOP.read_text()
    icons = ROOT / "resources" / "icons" / "hicolor"
    assert (icons / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert sorted(p.parent.parent.name for p in icons.glob(f"*/apps/{APP_ID}.png"))


def test_metainfo_release_is_the_package_version():
    from compass_listener import __version__

    releases = ET.parse(METAINFO).getroot().find("releases")
    assert releases[0].get("version") == __version__
