"""Uncaught exceptions in Qt slots and asyncio tasks: logged with their traceback to the
log file, shown to the user once per session, and the app (and its listener) keeps going."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from compass_listener.store import paths

log = logging.getLogger("compass_listener.errors")


class ErrorReporter:
    def __init__(self, show: Callable[[str], None]):
        self._show = show
        self.shown = False
        self.count = 0

    def report(self, exc: BaseException | None, where: str) -> None:
        self.count += 1
        log.error("unhandled error in %s", where,
                  exc_info=(type(exc), exc, exc.__traceback__) if exc else None)
        if self.shown:
            return   # once is enough: the log has every one of them
        self.shown = True
        what = f"{type(exc).__name__}: {exc}" if exc else where
        self._show(f"An internal error occurred ({what}). The listener keeps running; the "
                   f"details are in {paths.log_file()}. Please include that file in a bug "
                   f"report.")

    # sys.excepthook: PySide6 hands exceptions raised in slots and virtual overrides here.
    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if exc is not None and exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        self.report(exc, "a window or tray action")

    def loop_handler(self, loop, context) -> None:
        exc = context.get("exception")
        self.report(exc, context.get("message") or "a background task")

    def install(self, loop) -> None:
        sys.excepthook = self.excepthook
        loop.set_exception_handler(self.loop_handler)
