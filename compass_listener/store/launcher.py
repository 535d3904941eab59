"""The command line that starts this same installation again, from a menu entry or at login."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from compass_listener.store import paths


def launch_command(frozen: bool | None = None, executable: str | None = None) -> list[str]:
    """argv that starts the GUI of the running installation (no --minimized; callers add it).

    Frozen bundle: the bundle's own executable. Installed with pip: the `compass-listener`
    script beside the interpreter. Otherwise `python -m compass_listener`, with pythonw on
    Windows so that no console window opens at login.
    """
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    executable = executable or sys.executable
    if frozen:
        argv = [str(Path(executable).resolve())]
    else:
        bindir = Path(executable).parent
        script = next((bindir / name for name in ("compass-listener", "compass-listener.exe")
                       if (bindir / name).is_file()), None)
        if script is not None:
            argv = [str(script)]
        else:
            interpreter = executable
            if os.name == "nt":
                pythonw = Path(executable).with_name("pythonw.exe")
                interpreter = str(pythonw) if pythonw.is_file() else executable
            argv = [interpreter, "-m", "compass_listener"]
    # A portable or test set-up keeps its data elsewhere; the relaunched app must use the same.
    home = os.environ.get(paths.HOME_ENV)
    if home:
        argv += ["--data-dir", home]
    return argv


def find_on_path() -> str | None:
    """The `compass-listener` on PATH, for messages that suggest a command to run."""
    return shutil.which("compass-listener")
