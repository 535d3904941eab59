"""Start at login: the Linux entry for real, Windows and macOS through injected locations."""

from __future__ import annotations

import plistlib
import subprocess
import shutil
from pathlib import Path

import pytest

from compass_listener import APP_ID, APP_NAME
from compass_listener.store import autostart, launcher

ARGV = ["/opt/Compass Listener/compass-listener"]


def test_xdg_entry_respects_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    backend = autostart.XdgAutostart()
    assert backend.path == tmp_path / "cfg" / "autostart" / f"{APP_ID}.desktop"
    assert not backend.is_enabled()
    backend.enable(ARGV)
    assert backend.is_enabled()
    text = backend.path.read_text()
    assert 'Exec="/opt/Compass Listener/compass-listener" --minimized\n' in text
    assert f"Icon={APP_ID}\n" in text and "X-GNOME-Autostart-enabled=true" in text
    backend.disable()
    assert not backend.path.exists() and not backend.is_enabled()
    backend.disable()  # removing twice is fine


def test_xdg_entry_falls_back_to_dot_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert autostart.XdgAutostart().path == tmp_path / ".config" / "autostart" / f"{APP_ID}.desktop"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # invalid per the spec
    assert autostart.XdgAutostart().path.parent == tmp_path / ".config" / "autostart"


def test_xdg_entry_switched_off_in_gnome_counts_as_off(tmp_path):
    backend = autostart.XdgAutostart(tmp_path)
    backend.enable(ARGV)
    backend.path.write_text(backend.path.read_text().replace(
        "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    assert not backend.is_enabled()


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils missing")
def test_xdg_entry_is_valid(tmp_path):
    backend = autostart.XdgAutostart(tmp_path)
    backend.enable(["/opt/a b/compass-listener", "--data-dir", "/tmp/$x 100%"])
    run = subprocess.run(["desktop-file-validate", str(backend.path)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == "", run.stdout


class FakeRegistry:
    def __init__(self):
        self.values: dict[str, str] = {}

    def get(self, name):
        return self.values.get(name)

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        self.values.pop(name, None)


def test_windows_run_value():
    registry = FakeRegistry()
    backend = autostart.WindowsAutostart(registry)
    assert not backend.is_enabled()
    backend.enable([r"C:\Program Files\Compass Listener\compass-listener.exe", "--data-dir",
                    r"D:\data dir"])
    assert registry.values == {APP_NAME: r'"C:\Program Files\Compass Listener\compass-listener.exe"'
                                         r' --data-dir "D:\data dir" --minimized'}
    assert backend.is_enabled()
    backend.disable()
    assert registry.values == {} and not backend.is_enabled()


def test_windows_registry_key_is_the_users_run_key():
    assert autostart.RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"


def test_macos_launch_agent(tmp_path):
    backend = autostart.MacLaunchAgent(tmp_path / "LaunchAgents")
    assert not backend.is_enabled()
    backend.enable(["/Applications/Compass Listener.app/Contents/MacOS/compass-listener"])
    assert backend.path == tmp_path / "LaunchAgents" / f"{APP_ID}.plist"
    with open(backend.path, "rb") as fh:
        plist = plistlib.load(fh)
    assert plist["Label"] == APP_ID
    assert plist["ProgramArguments"] == [
        "/Applications/Compass Listener.app/Contents/MacOS/compass-listener", "--minimized"]
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is False
    assert backend.is_enabled()
    backend.disable()
    assert not backend.is_enabled()


@pytest.mark.parametrize("platform, kind", [("linux", autostart.XdgAutostart),
                                            ("freebsd14", autostart.XdgAutostart),
                                            ("win32", autostart.WindowsAutostart),
                                            ("darwin", autostart.MacLaunchAgent)])
def test_for_platform(platform, kind):
    assert isinstance(autostart.for_platform(platform), kind)


def test_set_and_read_start_at_login(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(autostart, "_factory", lambda: autostart.XdgAutostart())
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path / "portable"))
    assert autostart.is_start_at_login() is False
    autostart.set_start_at_login(True)
    assert autostart.is_start_at_login() is True
    text = (tmp_path / "autostart" / f"{APP_ID}.desktop").read_text()
    # The entry starts this installation with the same data folder, minimized.
    assert f"--data-dir {tmp_path / 'portable'} --minimized" in text
    autostart.set_start_at_login(False)
    assert autostart.is_start_at_login() is False


def test_launch_command_frozen(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPASS_LISTENER_HOME", raising=False)
    exe = tmp_path / "bundle" / "compass-listener"
    assert launcher.launch_command(frozen=True, executable=str(exe)) == [str(exe.resolve())]


def test_launch_command_prefers_the_installed_script(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPASS_LISTENER_HOME", raising=False)
    (tmp_path / "python3").touch()
    assert launcher.launch_command(False, str(tmp_path / "python3")) == [
        str(tmp_path / "python3"), "-m", "compass_listener"]
    (tmp_path / "compass-listener").touch()
    assert launcher.launch_command(False, str(tmp_path / "python3")) == [
        str(tmp_path / "compass-listener")]


def test_store_modules_here_do_not_import_qt():
    import subprocess
    import sys

    code = ("import sys; import compass_listener.store.autostart, compass_listener.store.assets, "
            "compass_listener.store.desktop_install, compass_listener.commands.install_desktop; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')]; "
            "assert not bad, bad")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
