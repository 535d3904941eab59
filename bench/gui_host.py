"""The GUI-hosted app under measurement: the real AppController on the GUI's event loop, offscreen,
with probes for what the figures need (loop lag, the moment each row reaches the model,
filter and scroll times over a large history).

It is a separate process from the load generator so that the client's work never shows up
as the app's loop lag. It prints `READY {json}` once the window is shown and the listener
listens, and `RESULT {json}` at the end. Times are time.monotonic(), which is one clock for
every process on Linux, so the orchestrator can subtract a client's send time from the
moment the row appeared here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import common  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--expect", type=int, default=0,
                        help="finish once this many live rows reached the model")
    parser.add_argument("--probe-ms", type=int, default=0,
                        help="run a QTimer probe at this interval and report its lag")
    parser.add_argument("--row-times", action="store_true",
                        help="report when each record id's row reached the model")
    parser.add_argument("--scale", metavar="NEEDLE", default="",
                        help="history mode: time filtering for NEEDLE and scrolling to the end")
    parser.add_argument("--diagnose", action="store_true",
                        help="also report garbage-collector pauses and asyncio callbacks "
                             "over 10 ms (what the lag probe cannot name)")
    parser.add_argument("--idle", type=float, default=0,
                        help="finish after this many seconds without load (probe baseline)")
    parser.add_argument("--scroll-cap", type=float, default=30.0,
                        help="give up scrolling to the end after this many seconds")
    opts = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t_process = time.monotonic()
    gc_pauses: list[tuple[float, int, float]] = []      # (when, generation, ms)
    slow: list[tuple[float, float, str]] = []           # (when, ms, callback)
    if opts.diagnose:
        import gc
        started = [0.0]

        def on_gc(phase, info) -> None:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                gc_pauses.append((time.monotonic(), info["generation"],
                                  (time.perf_counter() - started[0]) * 1000))
        gc.callbacks.append(on_gc)
        from asyncio import events
        run = events.Handle._run

        def timed_run(self) -> None:
            t = time.perf_counter()
            run(self)
            ms = (time.perf_counter() - t) * 1000
            if ms > 10:
                slow.append((time.monotonic(), ms, repr(self._callback)[:160]))
        events.Handle._run = timed_run

    from compass_listener.app.qt_loop import new_event_loop
    from PySide6.QtCore import QModelIndex, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from compass_listener.app.controller import AppController
    from compass_listener.cli import build_parser

    args = build_parser().parse_args(["--port", str(opts.port), "--secret-env", "BENCH_SECRET"])
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    result: dict = {}
    lags: list[tuple[float, float]] = []          # (when, lag in ms)
    row_times: dict[str, float] = {}
    inserted = [0]
    done = asyncio.Event()

    with loop:
        controller = AppController(app, args)
        model = controller.window.model

        def rows_inserted(parent, first, last) -> None:
            now = time.monotonic()
            if first != 0:
                return                            # a page fetched at the end, not live rows
            inserted[0] += last - first + 1
            if opts.row_times:
                for row in range(first, last + 1):
                    row_times[model.delivery_at(row).record_id] = now
            if opts.expect and inserted[0] >= opts.expect and "last_row_at" not in result:
                result["last_row_at"] = now
                # Keep probing a little after the last row: a late stall counts too.
                QTimer.singleShot(300, done.set)

        model.rowsInserted.connect(rows_inserted)

        if opts.probe_ms:
            # The probe: a precise timer that should fire every probe_ms; the excess of each
            # interval over probe_ms is the time the loop was busy elsewhere (lag).
            probe = QTimer()
            probe.setTimerType(Qt.TimerType.PreciseTimer)
            probe.setInterval(opts.probe_ms)
            last = [time.monotonic()]

            def tick() -> None:
                now = time.monotonic()
                lags.append((now, max(0.0, (now - last[0]) * 1000 - opts.probe_ms)))
                last[0] = now
            probe.timeout.connect(tick)
            probe.start()

        async def drive() -> None:
            while not controller.listener.running:
                await asyncio.sleep(0.005)
            ready = {"at": time.monotonic(), "since_process": time.monotonic() - t_process,
                     "port": controller.listener.port, "url": controller.listener.urls[0],
                     "rows": model.rowCount()}
            print("READY " + json.dumps(ready), flush=True)
            if opts.scale:
                result.update(await scale(controller, app, opts))
            elif opts.expect:
                await done.wait()
            elif opts.idle:
                await asyncio.sleep(opts.idle)
            else:
                await asyncio.Event().wait()
            result["lags"] = lags
            result["gc_pauses"] = gc_pauses
            result["slow_callbacks"] = slow
            result["row_times"] = row_times
            result["inserted"] = inserted[0]
            result["stored_rows"] = controller.store.count()
            result["peak_rss_mb"] = common.peak_rss_mb()
            controller.request_quit()

        loop.create_task(drive())
        loop.run_until_complete(controller.run())
    print("RESULT " + json.dumps(result), flush=True)
    return 0


async def scale(controller, app, opts) -> dict:
    """Figure 4's interactions, each timed from the user's action until the table has been
    laid out and painted (processEvents), as the user would see it."""
    window = controller.window
    model, table = window.model, window.table
    out: dict = {}
    await asyncio.sleep(0.2)                       # let the first paint happen
    app.processEvents()

    t = time.perf_counter()
    window.filter_edit.setText(opts.scale)
    window._apply_filter()                         # what the debounce timer or Enter does
    app.processEvents()
    out["filter_ms"] = (time.perf_counter() - t) * 1000
    out["filter_rows"] = model.rowCount()
    out["filter_label"] = window.shown_label.text()

    window.filter_edit.setText("")
    window._apply_filter()
    app.processEvents()

    # Scrolling to the end: what the user does by dragging the scroll bar to the bottom (or
    # Ctrl+End); the view asks the model for more rows whenever it reaches the end, so keep
    # going until the oldest delivery is the last row, the way the user would keep dragging.
    oldest = controller.store._reader().execute("SELECT MIN(id) FROM deliveries").fetchone()[0]
    t = time.perf_counter()
    steps = 0
    while True:
        table.scrollToBottom()
        app.processEvents()
        steps += 1
        last = model.delivery_at(model.rowCount() - 1) if model.rowCount() else None
        if last is not None and last.id == oldest:
            break
        if time.perf_counter() - t > opts.scroll_cap:
            break
    out["scroll_ms"] = (time.perf_counter() - t) * 1000
    out["scroll_reached_end"] = last is not None and last.id == oldest
    out["scroll_steps"] = steps
    out["scroll_model_rows"] = model.rowCount()
    bottom = table.rowAt(table.viewport().height() - 1)
    out["scroll_last_visible_row"] = bottom if bottom >= 0 else model.rowCount() - 1
    return out


if __name__ == "__main__":
    sys.exit(main())
