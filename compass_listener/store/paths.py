"""Where the history, settings and logs live, and the rotating log file set-up.

$COMPASS_LISTENER_HOME (or `--data-dir`, which sets it) puts everything in one folder, for
tests and portable use; otherwise the platform's user data, config and log directories.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

HOME_ENV = "COMPASS_LISTENER_HOME"
_APP_DIR = "compass-listener"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value) if value else None


def data_dir() -> Path:
    home = _home()
    path = home if home else Path(platformdirs.user_data_dir(_APP_DIR, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    home = _home()
    path = home if home else Path(platformdirs.user_config_dir(_APP_DIR, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    home = _home()
    path = home / "logs" if home else Path(platformdirs.user_log_dir(_APP_DIR, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_file() -> Path:
    return data_dir() / "history.sqlite3"


def settings_file() -> Path:
    return config_dir() / "settings.toml"


def log_file() -> Path:
    return log_dir() / "compass-listener.log"


def setup_logging(console: bool = False, level: int = logging.INFO) -> None:
    """Send log records to a rotating file (tracebacks included); warnings also to stderr."""
    root = logging.getLogger("compass_listener")
    if any(getattr(h, "_compass_listener", False) for h in root.handlers):
        return
    root.setLevel(level)
    try:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file(), maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._compass_listener = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False
