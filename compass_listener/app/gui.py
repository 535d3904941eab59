"""Starts the GUI: QApplication, the qasync loop, the controller; returns the exit code."""

from __future__ import annotations

import asyncio
import logging
import sys

log = logging.getLogger(__name__)


def run_gui(args) -> int:
    from PySide6.QtWidgets import QApplication
    import qasync

    from compass_listener import APP_ID, APP_NAME
    from compass_listener.app.controller import AppController
    from compass_listener.ui import icons

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("compass-listener")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(icons.app_icon())
    # A tray app lives on with its window closed; quitting goes through controller.shutdown.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(_log_loop_exception)
    with loop:
        controller = AppController(app, args)
        watcher = None
        if sys.platform != "win32":
            from compass_listener.app.unix_signals import SignalWatcher

            watcher = SignalWatcher(controller.request_quit)
        try:
            return loop.run_until_complete(controller.run())
        finally:
            if watcher is not None:
                watcher.close()


def _log_loop_exception(loop, context) -> None:
    exc = context.get("exception")
    log.error("event loop: %s", context.get("message"), exc_info=exc)
