"""The one event loop of the GUI: asyncio's own selector loop, driven from Qt's event loop.

Why not qasync's loop (measured, issue 5): qasync runs every asyncio callback as its own Qt
timer (startTimer, a timer event, killTimer) and every socket readiness as a Qt signal
followed by one more such timer. aiohttp makes a dozen callbacks per request, so under a
burst the GUI thread spent most of its time in that machinery: the same listener answered
~940 signed deliveries/s in the GUI and ~1,650/s headless on a plain asyncio loop.

How: asyncio's SelectorEventLoop keeps all of its own machinery (ready queue, timers,
transports, the self-pipe of call_soon_threadsafe), and only its wait is handed to Qt. The
selector's epoll (kqueue on macOS) descriptor is itself pollable: it reads as ready exactly
when one of the sockets in it is. Qt watches that one descriptor, and a due timer or a ready
callback arms a Qt timer; each of those runs one iteration of asyncio (`_run_once`) that
polls without waiting. So a burst costs one Qt wake-up per batch of work, not per callback,
and Qt's own events (painting, input) are handled between two iterations, never starved.

Windows has no pollable selector; there the factory falls back to qasync.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import selectors
import sys
import threading
from asyncio import events

from PySide6.QtCore import QCoreApplication, QSocketNotifier, Qt, QTimer


_LONGEST_WAIT_MS = 86_400_000


class _PollOnly:
    """The loop's selector, except that select() never waits: Qt does the waiting."""

    def __init__(self, selector: selectors.BaseSelector):
        self._selector = selector
        self.register = selector.register
        self.unregister = selector.unregister
        self.modify = selector.modify
        self.get_key = selector.get_key
        self.get_map = selector.get_map
        self.fileno = selector.fileno
        self.close = selector.close

    def select(self, timeout=None):
        return self._selector.select(0)


def pollable_selector() -> selectors.BaseSelector | None:
    """A selector whose own descriptor Qt can watch, or None on platforms without one."""
    selector = selectors.DefaultSelector()
    try:
        selector.fileno()
    except (AttributeError, NotImplementedError):
        selector.close()
        return None
    return selector


class QtEventLoop(asyncio.SelectorEventLoop):
    """asyncio on Qt's event loop: run_forever() runs QCoreApplication.exec()."""

    def __init__(self, app: QCoreApplication, selector: selectors.BaseSelector | None = None):
        selector = selector or pollable_selector()
        if selector is None:
            raise RuntimeError("this platform's selector cannot be watched by Qt")
        self._app = app
        self._in_step = False
        self._kicked = False
        # Before super().__init__: it registers the self-pipe, which calls _call_soon hooks
        # of ours that read these.
        super().__init__(_PollOnly(selector))
        self._watch = QSocketNotifier(selector.fileno(), QSocketNotifier.Type.Read)
        self._watch.setEnabled(False)
        self._watch.activated.connect(self._step)
        # Ready callbacks waiting: one zero-time timer, so Qt handles its own events
        # (paint, input, socket notifiers of its own) between two asyncio iterations.
        self._soon = QTimer()
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self._step)
        # The earliest call_later: a precise timer (a coarse one may be 5% late).
        self._later = QTimer()
        self._later.setSingleShot(True)
        self._later.setTimerType(Qt.TimerType.PreciseTimer)
        self._later.timeout.connect(self._step)

    # ---- scheduling: wake Qt when work is added from outside an iteration ----------------
    def _call_soon(self, callback, args, context):
        handle = events.Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        if not self._in_step and not self._kicked:
            self._kick()
        return handle

    def call_soon_threadsafe(self, callback, *args, context=None):
        # From another thread: the self-pipe in the selector wakes Qt's watch; a Qt timer
        # can only be started from the loop's own thread.
        self._check_closed()
        handle = events.Handle(callback, args, self, context)
        self._ready.append(handle)
        self._write_to_self()
        return handle

    def call_at(self, when, callback, *args, context=None):
        handle = super().call_at(when, callback, *args, context=context)
        if not self._in_step and not self._kicked:
            self._kick()        # the iteration re-arms the timer for the earliest one
        return handle

    def stop(self) -> None:
        super().stop()
        if not self._in_step and not self._kicked:
            self._kick()

    def _kick(self) -> None:
        if self._thread_id != threading.get_ident():
            return      # not running, or (wrongly) not the loop's thread: nothing to wake
        self._kicked = True
        self._soon.start()

    # ---- one asyncio iteration per Qt wake-up ---------------------------------------------
    def _step(self) -> None:
        if self._in_step or self.is_closed() or not self.is_running():
            return
        self._in_step = True
        self._kicked = False
        try:
            self._run_once()
        finally:
            self._in_step = False
        if self._stopping:
            self._app.exit(0)
            return
        self._arm()

    def _arm(self) -> None:
        if self._ready:
            if not self._soon.isActive():
                self._soon.start()
            return
        while self._scheduled and self._scheduled[0]._cancelled:
            # Cancelled handles stay in the heap until asyncio drops them; never wake
            # up just for one of them.
            self._timer_cancelled_count -= 1
            self._scheduled[0]._scheduled = False
            heapq.heappop(self._scheduled)
        if self._scheduled:
            delay = self._scheduled[0]._when - self.time()
            # Whole milliseconds, rounded up: firing a little late is harmless, early is a
            # wasted wake-up (asyncio would find nothing due yet). At most a day: QTimer
            # takes a C int of milliseconds (~24.8 days), and a longer call_later raised
            # OverflowError here; waking early just re-arms for the rest.
            self._later.start(max(0, math.ceil(min(delay * 1000, _LONGEST_WAIT_MS))))
        else:
            self._later.stop()

    # ---- running ----------------------------------------------------------------------------
    def run_forever(self) -> None:
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_hooks = sys.get_asyncgen_hooks()
        try:
            self._thread_id = threading.get_ident()
            sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                                   finalizer=self._asyncgen_finalizer_hook)
            events._set_running_loop(self)
            self._watch.setEnabled(True)
            self._soon.start()              # whatever was scheduled before the loop ran
            self._app.exec()
        finally:
            self._watch.setEnabled(False)
            self._soon.stop()
            self._later.stop()
            self._kicked = False
            self._stopping = False
            self._thread_id = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_hooks)

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if not self.is_closed():
            # Qt must stop watching the descriptor before the selector closes it.
            self._watch.setEnabled(False)
            self._soon.stop()
            self._later.stop()
        super().close()

    def __enter__(self) -> "QtEventLoop":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def new_event_loop(app: QCoreApplication) -> asyncio.AbstractEventLoop:
    """The GUI's loop: QtEventLoop where Qt can watch the selector, else qasync's."""
    selector = pollable_selector()
    if selector is not None:
        return QtEventLoop(app, selector)
    import qasync

    return qasync.QEventLoop(app)
