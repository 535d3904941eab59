"""Adds the Compass REST pages to the main window and hooks their clean-up into quit.

`install_compass_pages(window, controller=...)` is the one call the app makes: it builds
the shared CompassSession from the settings and secret store, adds the "Compass server",
"WebhookData" and "WebhookConfig" tabs, connects "Load full value" of the detail pane,
and registers `shutdown()` (cancel tasks, log off, close HTTP sessions) with the quit path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget, QWidget

from compass_listener.store.compass_profile import CompassProfile, load_profile, store_profile
from compass_listener.ui.compass_configs_page import WebhookConfigPage
from compass_listener.ui.compass_full_value import FullValueLoader, connect_to_window
from compass_listener.ui.compass_queue_page import WebhookDataPage
from compass_listener.ui.compass_server_page import CompassServerPage
from compass_listener.ui.compass_session import CompassSession

log = logging.getLogger(__name__)


@dataclass
class CompassPages:
    session: CompassSession
    server_page: CompassServerPage
    queue_page: WebhookDataPage
    configs_page: WebhookConfigPage
    full_value: FullValueLoader

    async def shutdown(self) -> None:
        """Cancel running REST calls, log off, close the HTTP sessions."""
        runners = [self.server_page.runner, self.server_page.lookup, self.queue_page.runner,
                   self.configs_page.runner, self.full_value.runner]
        self.queue_page.timer.stop()
        for runner in runners:
            runner.cancel()
        for runner in runners:
            await runner.wait()
        await self.session.close()


def show_page(page: QWidget) -> None:
    """Bring a page forward in the tab widget that holds it (and its window to the front)."""
    holder = page.parentWidget()
    while holder is not None and not isinstance(holder, QTabWidget):
        holder = holder.parentWidget()
    if holder is not None:
        holder.setCurrentWidget(page)
    page.window().activateWindow()
    focus = getattr(page, "first_empty_field", None)
    if callable(focus):
        focus()


def install_compass_pages(window, controller=None, *, settings=None, secrets=None,
                          find_received: Callable[[str], list] | None = None,
                          save: Callable[[], None] | None = None,
                          routes: Callable[[], list[str]] | None = None,
                          listener_port: Callable[[], int | None] | None = None) -> CompassPages:
    """Build and add the pages; every keyword defaults to what `controller` offers."""
    settings = settings if settings is not None else getattr(controller, "settings", None)
    secrets = secrets if secrets is not None else getattr(controller, "secrets", None)
    store = getattr(controller, "store", None) or getattr(window, "store", None)
    if find_received is None and store is not None:
        find_received = store.find_by_record_id
    if save is None:
        def save() -> None:
            from compass_listener.store.settings import save_settings

            if settings is not None:
                save_settings(settings)
    if routes is None:
        routes = lambda: [r.path for r in getattr(settings, "routes", [])]  # noqa: E731
    if listener_port is None:
        def listener_port() -> int | None:
            listener = getattr(controller, "listener", None)
            return (getattr(listener, "port", None) or getattr(controller, "session_port", None)
                    or getattr(settings, "port", None))

    def save_profile(profile: CompassProfile) -> None:
        # never a secret in here: CompassProfile has no password field
        if settings is not None:
            store_profile(settings, profile)
            save()

    profile = load_profile(settings) if settings is not None else CompassProfile()
    owner = window if isinstance(window, QObject) else None   # keeps them alive with the window
    session = CompassSession(profile, secrets, save_profile, parent=owner)
    server_page = CompassServerPage(session)
    queue_page = WebhookDataPage(session, find_received)
    configs_page = WebhookConfigPage(session, routes, listener_port)
    full_value = FullValueLoader(session, owner)
    # Alt+O: Alt+S is the problem banner's "Open Settings" on the Deliveries page
    window.add_page(server_page, "C&ompass server")
    window.add_page(queue_page, "&WebhookData")
    window.add_page(configs_page, "Webhook&Config")
    if hasattr(window, "load_full_value_requested"):
        connect_to_window(full_value, window, open_server=lambda: show_page(server_page))
    pages = CompassPages(session, server_page, queue_page, configs_page, full_value)
    hooks = getattr(controller, "extra_shutdown", None)
    if isinstance(hooks, list):
        hooks.append(pages.shutdown)
    if controller is not None:
        controller.compass_pages = pages
    return pages
