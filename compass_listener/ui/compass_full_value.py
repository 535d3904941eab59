"""Loads the full value of a truncated field from its REST `url`, for the event detail pane.

Uses the saved Compass credentials. A `localhost` url is fetched from the configured
server instead (the REST server's own name for itself means nothing here), and the user
is told beside the field; a url naming any other host is refused, so credentials never
leave for it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from compass_listener.core.compass_urls import ServerAddressError, host_port
from compass_listener.ui import plain
from compass_listener.ui.compass_session import CompassSession
from compass_listener.ui.compass_tasks import TaskRunner, error_text

# The problem banner's button for a Compass failure: the server is set up on that tab.
SERVER_TAB_BUTTON = "Go to the Compass server &tab"


def _host(url: str) -> str:
    host, port = host_port(url)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class FullValueLoader(QObject):
    # field name, full value, where it was asked ("127.0.0.1:8190 instead of localhost:8190",
    # "" if as given), the sentence explaining that ("" if none)
    loaded = Signal(str, str, str, str)
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
                              "loaded; fill in the Compass server tab first.")
            return
        if self.runner.busy:
            self.problem.emit("A full value is already loading; wait for it or cancel it.")
            return
        self.runner.start(self._load(url, field_name), f"Loading the full value of {field_name}")

    async def _load(self, url: str, field_name: str) -> tuple[str, str, str, str]:
        value, address = await self.session.client().get_field_value(url)
        note = address.note
        where = (f"{_host(address.url)} instead of {_host(address.redirected_from)}"
                 if address.redirected_from else "")
        return field_name, value, where, (note[:1].upper() + note[1:] + ".") if note else ""

    def _failed(self, exc: BaseException) -> None:
        text = error_text(exc)
        if hasattr(exc, "trust_error"):
            text += " Review the certificate on the Compass server tab."
        self.problem.emit(text)


def _annotate(detail, field_name: str, where: str, note: str) -> None:
    """Say beside the loaded field which server was asked (the detail pane's Truncated cell)."""
    fields = getattr(detail, "fields", None)
    if not where or fields is None:
        return
    for row in range(fields.rowCount()):
        name, marker = fields.item(row, 0), fields.item(row, 2)
        if name is not None and marker is not None and name.text() == field_name:
            marker.setText(f"{marker.text()}; asked {where}")
            marker.setToolTip(plain.tooltip(note))


def connect_to_window(loader: FullValueLoader, window,
                      status: Callable[[str], None] | None = None,
                      open_server: Callable[[], None] | None = None) -> None:
    """Wire the main window's detail pane (signal load_full_value_requested, show_full_value).

    A failure replaces the "Loading…" status and goes to the window's problem banner, whose
    button then calls `open_server` (the Compass server tab) rather than opening Settings.
    """
    window.load_full_value_requested.connect(loader.load)
    show_status = status or (lambda text: window.statusBar().showMessage(text, 15000))
    report = getattr(window, "show_problem", None)
    shown = {"problem": ""}   # the banner text we put up, taken down again by a success

    def problem(text: str) -> None:
        show_status(text)
        if report is None:
            return
        shown["problem"] = text
        if open_server is not None:
            report(text, (SERVER_TAB_BUTTON, open_server))
        else:
            report(text)

    def loaded(name: str, value: str, where: str, note: str) -> None:
        window.detail.show_full_value(name, value)
        _annotate(window.detail, name, where, note)
        show_status(f"Loaded the full value of {name} ({len(value):,} characters)")
        banner = getattr(window, "banner", None)
        if shown["problem"] and report is not None and banner is not None \
                and banner.text() == shown["problem"]:
            report("")
        shown["problem"] = ""

    loader.loaded.connect(loaded)
    loader.problem.connect(problem)
    loader.runner.started.connect(lambda what: show_status(what + "…"))
