"""Desktop driver, run under shared/tools/gui-session by test_real_desktop.py: the GUI's
controller on a real X11 display with an XEmbed tray; one signed delivery; prints JSON with
what a user would see (tray available, window shown, balloon texts, tray tooltip)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

SECRET = "desktop-secret"


def main() -> int:
    import aiohttp
    from compass_listener.app.qt_loop import new_event_loop
    from PySide6.QtWidgets import QApplication, QLabel, QSystemTrayIcon

    from compass_listener.app.controller import AppController
    from compass_listener.cli import build_parser
    from compass_listener.core.sample import sample_body
    from compass_listener.core.signature import sign

    os.environ["DESKTOP_SECRET"] = SECRET
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    seen: dict = {"platform": app.platformName(),
                  "tray_available": QSystemTrayIcon.isSystemTrayAvailable()}
    args = build_parser().parse_args(["--port", "0", "--secret-env", "DESKTOP_SECRET"])
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)

    def balloons():
        return [w for w in app.topLevelWidgets()
                if w.metaObject().className() == "QBalloonTip" and w.isVisible()]

    async def drive(controller: AppController) -> None:
        try:
            while not controller.listener.running:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            seen["window_shown"] = controller.window.isVisible()
            seen["tray_icon_shown"] = controller.tray.icon.isVisible()
            url = controller.listener.urls[0]
            body = sample_body(url, index=1, seed=1)
            async with aiohttp.ClientSession() as session:
                async with session.post(
                        url, data=body, headers={"X-Compass-Signature": sign(body, SECRET)}) as r:
                    seen["status"] = r.status
            for _ in range(50):
                if balloons():
                    break
                await asyncio.sleep(0.1)
            seen["balloon_texts"] = [label.text() for b in balloons()
                                     for label in b.findChildren(QLabel)]
            seen["tray_tooltip"] = controller.tray.icon.toolTip()
            await asyncio.sleep(float(os.environ.get("DESKTOP_LINGER", "0")))
        finally:
            controller.request_quit()

    with loop:
        controller = AppController(app, args)
        loop.create_task(drive(controller))
        loop.run_until_complete(controller.run())
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
