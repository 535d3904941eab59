"""Runs one REST coroutine at a time for a Compass page, cancellable, reporting through signals.

The coroutine runs as an asyncio task on the qasync loop, so the window never blocks;
its end is turned into Qt signals (finished/failed/cancelled) that widgets connect to.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class TaskRunner(QObject):
    started = Signal(str)             # what is being done, for the progress label
    progress = Signal(int, int)       # rows so far, total (-1 when unknown)
    finished = Signal(object)         # the coroutine's result
    failed = Signal(object)           # the exception (a CompassError carries one sentence)
    cancelled = Signal()
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._task: asyncio.Task | None = None
        self.what = ""

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, coro: Awaitable[Any], what: str) -> bool:
        """Run `coro` unless another one is running (then it is closed unrun)."""
        if self.busy:
            if hasattr(coro, "close"):
                coro.close()
            return False
        self.what = what
        self._task = asyncio.ensure_future(coro)
        self._task.add_done_callback(self._done)
        self.started.emit(what)
        self.busy_changed.emit(True)
        return True

    def report_progress(self, done: int, total: int | None) -> None:
        self.progress.emit(done, -1 if total is None else total)

    def cancel(self) -> None:
        if self.busy:
            self._task.cancel()

    async def wait(self) -> None:
        """For shutdown: let the current task end (after a cancel)."""
        if self._task is not None and not self._task.done():
            try:
                await self._task
            except BaseException:
                pass

    def _done(self, task: asyncio.Task) -> None:
        if task is not self._task:
            return
        self.busy_changed.emit(False)
        if task.cancelled():
            self.cancelled.emit()
            return
        exc = task.exception()
        if exc is not None:
            if not _expected(exc):
                log.error("Compass REST task %r failed", self.what, exc_info=exc)
            self.failed.emit(exc)
        else:
            self.finished.emit(task.result())


def _expected(exc: BaseException) -> bool:
    from compass_listener.core.compass_urls import ServerAddressError
    from compass_listener.net.compass_rest import CompassError
    from compass_listener.net.tls_trust import TrustError

    return isinstance(exc, (CompassError, ServerAddressError, TrustError))


def error_text(exc: BaseException) -> str:
    """One sentence for the user, capitalised, ending with a full stop."""
    if _expected(exc):
        text = str(exc)
    else:
        text = f"something unexpected went wrong ({type(exc).__name__}: {exc}); details are in the log file"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
