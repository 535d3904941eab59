"""Run a view update at most once per interval: at once after a quiet spell, then coalesced.

Why: a burst of 2,000 deliveries in a second asked the status line and the tray's icon and
tooltip to redraw 2,000 times; nobody reads them that fast, and redrawing them was a large
share of the GUI thread's time in a burst (issue 5). The first change after a quiet spell
shows at once, so a single delivery is never shown late.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    def __init__(self, interval_ms: int, update: Callable[[], None], parent: QObject | None = None):
        super().__init__(parent)
        self._interval = interval_ms / 1000
        self._update = update
        self._last = float("-inf")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run)

    def poke(self) -> None:
        """Something changed: update now, or once the interval since the last update ends."""
        if self._timer.isActive():
            return
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self._run()
        else:
            self._timer.start(max(1, int(wait * 1000)))

    def flush(self) -> None:
        """Update now if a change is waiting (e.g. before the view is read or hidden)."""
        if self._timer.isActive():
            self._run()

    def cancel(self) -> None:
        self._timer.stop()

    def _run(self) -> None:
        self._timer.stop()
        self._last = time.monotonic()
        self._update()
