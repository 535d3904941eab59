"""When the history cannot be opened at start (written by a newer version, held by another
program, a folder without write permission): say so in a message box and on stderr, then
exit 1, instead of a traceback or a window that cannot store anything."""

from __future__ import annotations

import asyncio
import logging
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from compass_listener import APP_NAME

log = logging.getLogger(__name__)


def cannot_start(loop: asyncio.AbstractEventLoop, text: str,
                 quit_after: float | None = None) -> int:
    """Show `text` (one sentence naming the cause and the fix) until the user closes it;
    returns the exit code 1."""
    sentence = text[0].upper() + text[1:] if text else text
    log.error("cannot start: %s", text)
    print(f"compass-listener: {text}", file=sys.stderr, flush=True)
    box = QMessageBox(QMessageBox.Icon.Critical, f"{APP_NAME} cannot start",
                      f"{sentence}.", QMessageBox.StandardButton.Close)
    box.setTextFormat(Qt.TextFormat.PlainText)
    closed = asyncio.Event()
    box.finished.connect(lambda _result: closed.set())
    if quit_after:
        QTimer.singleShot(int(quit_after * 1000), box.reject)
    box.open()                      # never exec(): the qasync loop runs it
    loop.run_until_complete(closed.wait())
    return 1
