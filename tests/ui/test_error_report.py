"""Uncaught exceptions: logged with the traceback, shown once, and the listener keeps serving."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from compass_listener.app.qt_loop import new_event_loop
from PySide6.QtCore import QObject, QTimer, Signal

from compass_listener.app.controller import AppController
from compass_listener.app.error_report import ErrorReporter
from compass_listener.cli import build_parser
from compass_listener.store import paths


def test_reporter_logs_every_traceback_and_shows_only_the_first(log_file):
    shown = []
    reporter = ErrorReporter(shown.append)
    for n in range(3):
        try:
            raise ValueError(f"boom {n}")
        except ValueError as exc:
            reporter.excepthook(type(exc), exc, exc.__traceback__)
    for handler in __import__("logging").getLogger("compass_listener").handlers:
        handler.flush()
    log = paths.log_file().read_text()
    assert log.count("Traceback (most recent call last)") >= 3 and "boom 2" in log
    assert len(shown) == 1
    assert "ValueError: boom 0" in shown[0] and str(paths.log_file()) in shown[0]


class _Emitter(QObject):
    fire = Signal()


@pytest.mark.qt_no_exception_capture
def test_a_failing_slot_is_reported_and_the_listener_keeps_serving(qapp, log_file):
    args = build_parser().parse_args(["--port", "0"])
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    result = {}

    def broken_slot():
        raise RuntimeError("a slot bug")

    async def scenario(c: AppController):
        while not c.listener.running:
            await asyncio.sleep(0.02)
        emitter = _Emitter()
        emitter.fire.connect(broken_slot)
        QTimer.singleShot(0, emitter.fire.emit)
        await asyncio.sleep(0.2)
        async def failing_task():
            raise KeyError("a task bug")
        c.spawn(failing_task())
        await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as session:
            async with session.post(c.listener.urls[0], data=b'{"content": {}}') as resp:
                result["status"] = resp.status
        result["banner"] = c.window.banner.text()
        result["count"] = c.error_reporter.count
        c.request_quit()

    with loop:
        controller = AppController(qapp, args)
        reporter = ErrorReporter(controller.show_internal_error)
        reporter.install(loop)
        controller.error_reporter = reporter
        try:
            loop.create_task(scenario(controller))
            loop.run_until_complete(controller.run())
        finally:
            import sys
            sys.excepthook = sys.__excepthook__
    assert result["status"] == 200
    assert "RuntimeError: a slot bug" in result["banner"]
    assert result["count"] == 2
    assert "KeyError: 'a task bug'" in log_file.read_text()
