"""Loads the full value of a truncated field from its REST `url`, for the event detail pane.

Uses the saved Compass credentials. A `localhost` url is fetched from the configured
server instead (the REST server's own name for itself means nothing here), and the user
is told; a url naming any other host is refused, so credentials never leave for it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from compass_listener.core.compass_urls import ServerAddressError
from compass_listener.ui.compass_session import CompassSession
from compass_listener.ui.compass_tasks import TaskRunner, error_text


class FullValueLoader(QObject):
    loaded = Signal(str, str, str)    # field name, full value, note for the user ("" if none)
    problem = Signal(str)             # one sentence

    def __init__(self, session: CompassSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self)
        self.runner.finished.connect(lambda r: self.loaded.emit(*r))
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(lambda: self.problem.emit("Loading the full value was "
                                                                 "cancelled."))

    def load(self, url: str, field_name: str) -> None:
        try:
            self.session.profile.base_url
        except ServerAddressError:
            self.problem.emit("No Compass server is set up, so the full value cannot be "
                              "loaded; fill in the Compass server page first.")
            return
        if self.runner.busy:
            self.problem.emit("A full value is already loading; wait for it or cancel it.")
            return
        self.runner.start(self._load(url, field_name), f"Loading the full value of {field_name}")

    async def _load(self, url: str, field_name: str) -> tuple[str, str, str]:
        value, address = await self.session.client().get_field_value(url)
        note = address.note
        return field_name, value, (note[:1].upper() + note[1:] + ".") if note else ""

    def _failed(self, exc: BaseException) -> None:
        text = error_text(exc)
        if hasattr(exc, "trust_error"):
            text += " Review the certificate on the Compass server page."
        self.problem.emit(text)


def connect_to_window(loader: FullValueLoader, window,
                      status: Callable[[str], None] | None = None) -> None:
    """Wire the main window's detail pane (signal load_full_value_requested, show_full_value)."""
    window.load_full_value_requested.connect(loader.load)
    show_status = status or (lambda text: window.statusBar().showMessage(text, 15000))

    def loaded(name: str, value: str, note: str) -> None:
        window.detail.show_full_value(name, value)
        show_status(f"Loaded the full value of {name} ({len(value)} characters). {note}".strip())

    loader.loaded.connect(loaded)
    loader.problem.connect(getattr(window, "show_problem", show_status))
    loader.runner.started.connect(lambda what: show_status(what + "…"))
