"""`install-desktop`: writes the menu entry and icons under $XDG_DATA_HOME and removes them."""

from __future__ import annotations

import argparse
import shutil
import subprocess

import pytest

from compass_listener import APP_ID
from compass_listener.commands import install_desktop
from compass_listener.store import assets, desktop_install


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("COMPASS_LISTENER_HOME", raising=False)
    return tmp_path / "home"


def test_default_is_dot_local_share(home):
    assert desktop_install.data_home() == home / ".local" / "share"


def test_install_and_uninstall_under_xdg_data_home(home, tmp_path, monkeypatch):
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    result = desktop_install.install(["/opt/cl/compass-listener"], refresh=False)
    entry = data / "applications" / f"{APP_ID}.desktop"
    assert result.written[0] == entry and entry.is_file()
    assert "Exec=/opt/cl/compass-listener\n" in entry.read_text()
    svg = data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert svg.read_bytes() == assets.app_icon_svg().read_bytes()
    for size in assets.HICOLOR_PNG_SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert desktop_install.is_installed()
    assert not (home / ".local").exists()  # XDG_DATA_HOME wins

    (data / "applications" / "other.desktop").write_text("[Desktop Entry]\n")
    removed = desktop_install.uninstall(refresh=False).removed
    assert sorted(removed) == sorted(result.written)
    assert not desktop_install.is_installed()
    assert (data / "applications" / "other.desktop").exists()  # only our files go


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils missing")
def test_installed_entry_validates(home):
    desktop_install.install(["/opt/Compass Listener/compass-listener"])  # with cache refresh
    entry = home / ".local" / "share" / "applications" / f"{APP_ID}.desktop"
    run = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == "", run.stdout


def test_command(home, capsys):
    assert install_desktop.run(argparse.Namespace(uninstall=False, print_only=False)) == 0
    out = capsys.readouterr().out
    assert "Added Compass Listener to the application menu" in out
    assert desktop_install.is_installed()
    assert install_desktop.run(argparse.Namespace(uninstall=True, print_only=False)) == 0
    assert "Removed the menu entry and icons" in capsys.readouterr().out
    assert not desktop_install.is_installed()
    assert install_desktop.run(argparse.Namespace(uninstall=True, print_only=False)) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_print_only_writes_nothing(home, capsys):
    assert install_desktop.run(argparse.Namespace(uninstall=False, print_only=True)) == 0
    assert capsys.readouterr().out.startswith("[Desktop Entry]\n")
    assert not desktop_install.is_installed()
