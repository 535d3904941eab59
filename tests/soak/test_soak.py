"""Soak: thousands of signed deliveries through the Qt-hosted listener in one process.

Catches interpreter-level crashes under sustained signal traffic (the PySide6 6.12.0 +
Python 3.11 refcount abort is the known one) as well as lost or refused deliveries.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("qt_soak_driver.py")


@pytest.mark.soak
def test_five_thousand_signed_deliveries_through_the_qt_hosted_listener(tmp_path):
    env = dict(os.environ, COMPASS_LISTENER_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    proc = subprocess.run([sys.executable, str(DRIVER), "--count", "5000", "--concurrency", "20",
                           "--rss-mark", "1000"],
                          env=env, capture_output=True, text=True, timeout=240)
    # A negative code is a signal: the interpreter aborted (e.g. "none_dealloc").
    assert proc.returncode == 0, f"soak process died ({proc.returncode}): {proc.stderr[-2000:]}"
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    print("soak figures:", figures)
    assert figures["statuses"] == {"200": 5000}
    assert figures["stored"] == 5000
    assert figures["model_rows"] == 5000
