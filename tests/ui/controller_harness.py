"""Runs the GUI's real AppController on the GUI's event loop for one scenario, then quits it through
its own quit path; shared by the controller, HTTPS and store-fault tests."""

from __future__ import annotations

import asyncio

from compass_listener.app.qt_loop import new_event_loop

from compass_listener.app.controller import AppController
from compass_listener.cli import build_parser


def run_controller(qapp, argv, scenario):
    """Start the app with `argv`, await `scenario(controller)` once it listens (or shows a
    problem), quit, and return what the scenario returned."""
    args = build_parser().parse_args(list(argv))
    # As in app.gui: a tray app does not quit when its window hides (here, on quit); else a
    # window left by an earlier test decides whether Qt leaves the loop mid-test.
    qapp.setQuitOnLastWindowClosed(False)
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    outcome = {}

    async def main(controller):
        runner = asyncio.ensure_future(controller.run())
        try:
            while not (controller.listener.running or controller.window.banner_box.isVisible()):
                await asyncio.sleep(0.02)
            outcome["value"] = await scenario(controller)
        finally:
            controller.request_quit()
            await runner

    with loop:
        controller = AppController(qapp, args)
        loop.run_until_complete(main(controller))
    return outcome.get("value")
