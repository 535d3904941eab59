"""Where the history, settings and logs live, and the rotating log file set-up.

$COMPASS_LISTENER_HOME (or `--data-dir`, which sets it) puts everything in one folder, for
tests and portable use; otherwise the platform's user data, config and log directories.

The history holds every payload Compass sent (record fields, people's names) and the log
names records too: a folder the app creates is private (0700) and so is the log file
(0600), whatever the umask; folders that already exist are left as their owner set them.
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


def _private_dir(path: Path) -> Path:
    """Create path (and its parents) if missing; the folder itself is made 0700."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            if not path.is_dir():
                raise
        else:
            os.chmod(path, 0o700)
    return path


def data_dir() -> Path:
    home = _home()
    path = home if home else Path(platformdirs.user_data_dir(_APP_DIR, appauthor=False))
    return _private_dir(path)


def config_dir() -> Path:
    home = _home()
    path = home if home else Path(platformdirs.user_config_dir(_APP_DIR, appauthor=False))
    return _private_dir(path)


def log_dir() -> Path:
    home = _home()
    path = home / "logs" if home else Path(platformdirs.user_log_dir(_APP_DIR, appauthor=False))
    return _private_dir(path)


def database_file() -> Path:
    return data_dir() / "history.sqlite3"


def settings_file() -> Path:
    return config_dir() / "settings.toml"


def log_file() -> Path:
    return log_dir() / "compass-listener.log"


class _PrivateLogHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (the first and each one after a rollover) are 0600."""

    def _open(self):
        os.close(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        return super()._open()


_active_log: Path | None = None


def active_log_file() -> Path | None:
    """The log file that setup_logging opened; None when it could not be written."""
    return _active_log


class _NoTracebacks(logging.Formatter):
    # Without a log file records go to stderr: one line each, tracebacks left out.
    def formatException(self, ei) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = ""
        return super().format(record)


def setup_logging(console: bool = False, level: int = logging.INFO) -> None:
    """Send log records to a rotating file (tracebacks included); warnings also to stderr."""
    root = logging.getLogger("compass_listener")
    if any(getattr(h, "_compass_listener", False) for h in root.handlers):
        return
    global _active_log
    root.setLevel(level)
    text = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    try:
        path = log_file()
        handler: logging.Handler = _PrivateLogHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter(text))
        _active_log = path
    except OSError:
        handler = logging.StreamHandler()
        handler.setFormatter(_NoTracebacks(text))
    handler._compass_listener = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False
