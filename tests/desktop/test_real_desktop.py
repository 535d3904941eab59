"""On a real X11 desktop with a system tray (shared/tools/gui-session: Xvfb + trayer): the
tray is available, the window is shown, and a tray balloon appears after a delivery.

Skipped where no such desktop can be made (no gui-session, Xvfb or trayer), except in CI,
where that is a failure: CI installs them (.ci/run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUI_SESSION = ROOT.parent / "shared" / "tools" / "gui-session"
DRIVER = Path(__file__).with_name("desktop_driver.py")


def _desktop_missing() -> str:
    if not GUI_SESSION.exists():
        return f"{GUI_SESSION} is not there"
    for tool in ("Xvfb", "trayer", "import"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (gui-session --install installs it)"
    return ""


@pytest.mark.desktop
def test_tray_window_and_balloon_on_a_real_desktop(tmp_path):
    missing = _desktop_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real-desktop test, but {missing}")
        pytest.skip(f"no real desktop here: {missing}")
    shot = tmp_path / "desktop.png"
    env = dict(os.environ, COMPASS_LISTENER_HOME=str(tmp_path / "home"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", DESKTOP_LINGER="4")
    env.pop("QT_QPA_PLATFORM", None)      # gui-session sets xcb
    proc = subprocess.run(["bash", str(GUI_SESSION), "--shot", str(shot), "--after", "4", "--",
                           sys.executable, str(DRIVER)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["platform"] == "xcb"
    assert seen["tray_available"] and seen["tray_icon_shown"] and seen["window_shown"]
    assert seen["status"] == 200
    assert any("Defect SAMPL" in t and "Submitted" in t for t in seen["balloon_texts"]), seen
    assert "listening on http://127.0.0.1:" in seen["tray_tooltip"]
    assert shot.exists() and shot.stat().st_size > 10_000
