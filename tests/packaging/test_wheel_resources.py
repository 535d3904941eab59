"""A wheel carries the icons inside the package, and an installed copy finds them there."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from compass_listener import APP_ID

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if importlib.util.find_spec("wheel") is None and importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools/wheel not installed")
    # Build from the tracked files only, as a fresh clone would.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    source = tmp_path_factory.mktemp("source")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    if not (source / "README.md").exists():  # named by pyproject; not this test's subject
        (source / "README.md").write_text("Compass Listener\n")
    out = tmp_path_factory.mktemp("wheel")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "--no-build-isolation", "-q", "-w", str(out), str(source)],
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0 and "bdist_wheel" in run.stdout + run.stderr:
        pytest.skip("the `wheel` package is not installed")
    assert run.returncode == 0, run.stdout + run.stderr
    return next(out.glob("*.whl"))


def test_wheel_contains_the_icons(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    base = "compass_listener/resources/icons/"
    assert f"{base}hicolor/scalable/apps/{APP_ID}.svg" in names
    assert f"{base}hicolor/48x48/apps/{APP_ID}.png" in names
    assert {f"{base}tray/{s}.svg" for s in ("listening", "paused", "error", "stopped")} <= names


def test_installed_copy_reads_its_own_icons(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("from compass_listener.store import assets; "
            "print(assets.app_icon_svg()); assert assets.app_icon_svg().read_bytes()")
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(str(target))


def test_license_is_an_spdx_expression(wheel):
    # The TOML-table form made every `pip install` print setuptools' deprecation banner.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist()
                        if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in metadata.splitlines()
