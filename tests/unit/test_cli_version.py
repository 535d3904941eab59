"""`compass-listener --version` prints the package version and exits 0."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compass_listener import __version__
from compass_listener.cli import main


def test_version_in_process(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"compass-listener {__version__}\n"


def test_version_as_module():
    run = subprocess.run([sys.executable, "-m", "compass_listener", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"compass-listener {__version__}"
    assert "PySide6" not in run.stderr
