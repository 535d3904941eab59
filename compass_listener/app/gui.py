"""Starts the GUI: QApplication, the Qt-driven asyncio loop, the controller; returns the exit code."""

from __future__ import annotations

import asyncio
import logging
import sys

log = logging.getLogger(__name__)


def run_gui(args) -> int:
    from PySide6.QtWidgets import QApplication

    from compass_listener import APP_ID, APP_NAME
    from compass_listener.app.controller import AppController
    from compass_listener.app.error_report import ErrorReporter
    from compass_listener.app.qt_loop import new_event_loop
    from compass_listener.app.single_instance import InstanceServer, ask_running_instance_to_show
    from compass_listener.store import paths
    from compass_listener.store.events import StoreError
    from compass_listener.ui import icons

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("compass-listener")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(icons.app_icon())
    # A tray app lives on with its window closed; quitting goes through controller.shutdown.
    app.setQuitOnLastWindowClosed(False)
    if ask_running_instance_to_show():
        print(f"{APP_NAME} is already running with the data folder {paths.data_dir()}; "
              f"its window was brought forward.", file=sys.stderr)
        return 0
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    with loop:
        try:
            controller = AppController(app, args)
        except (StoreError, OSError) as exc:
            from compass_listener.app.start_problem import cannot_start

            text = str(exc) if isinstance(exc, StoreError) else (
                f"the history cannot be opened ({exc.strerror or exc}: {exc.filename}); "
                f"check the folder's permissions or start with --data-dir")
            return cannot_start(loop, text, args.quit_after)
        reporter = ErrorReporter(controller.show_internal_error)
        reporter.install(loop)
        controller.error_reporter = reporter
        instance = InstanceServer(controller.show_for_second_launch)
        watcher = None
        if sys.platform != "win32":
            from compass_listener.app.unix_signals import SignalWatcher

            watcher = SignalWatcher(controller.request_quit)
        try:
            return loop.run_until_complete(controller.run())
        except RuntimeError as exc:
            # Qt left its loop under us (the display went away, the session ended): the
            # quit path could not run, so do its essential part now.
            log.warning("the event loop stopped early (%s); closing the history", exc)
            controller.close_now()
            return 0
        finally:
            instance.close()
            sys.excepthook = sys.__excepthook__
            if watcher is not None:
                watcher.close()

