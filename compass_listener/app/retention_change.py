"""A stricter history limit, applied only after the user chose: export first, delete, or
keep the old limit. Every dialog is opened with open(); the export runs off the GUI thread.

The controller saves everything else from the Settings dialog at once; the history limit
waits here, because once a trim ran, the deleted deliveries are gone for good.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from compass_listener.store import paths
from compass_listener.store.events import EventStore
from compass_listener.store.retention import Retention
from compass_listener.ui.export_dialog import ExportDialog

log = logging.getLogger(__name__)


class RetentionChange(QObject):
    """Asks about one stricter limit; `done(applied)` says whether the limit was taken."""

    done = Signal(bool)

    def __init__(self, store: EventStore, new: Retention, apply: Callable[[Retention], None],
                 parent_widget: QWidget):
        super().__init__(parent_widget)
        self.store = store
        self.new = new
        self._apply = apply
        self._parent = parent_widget
        self.to_delete = store.count_to_trim(new.keep_days, new.keep_count)
        self.question: QMessageBox | None = None
        self.export_dialog: ExportDialog | None = None

    def start(self) -> None:
        if self.to_delete == 0:
            self._finish(True)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Delete old deliveries?",
                          f"Keeping {self.new.describe()} of history deletes "
                          f"{self.to_delete} stored deliveries now. They cannot be brought "
                          f"back. Export them to a file first?", parent=self._parent)
        box.setTextFormat(Qt.TextFormat.PlainText)
        self.export_button = box.addButton("&Export first…", QMessageBox.ButtonRole.AcceptRole)
        self.delete_button = box.addButton("&Delete without exporting",
                                           QMessageBox.ButtonRole.DestructiveRole)
        self.keep_button = box.addButton("&Keep the old limit",
                                         QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(self.export_button)
        box.buttonClicked.connect(self._chosen)
        self.question = box
        box.open()

    def _chosen(self, button) -> None:
        if button is self.export_button:
            self._offer_export()
        elif button is self.delete_button:
            self._finish(True)
        else:
            self._finish(False)

    def _offer_export(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        suggested = paths.data_dir() / f"compass-deliveries-{stamp}.jsonl"
        dialog = ExportDialog(self.store.path, suggested,
                              intro=f"Export the history before {self.to_delete} deliveries "
                                    f"are deleted. The new limit applies once the export "
                                    f"has finished; cancel to keep the old limit.",
                              parent=self._parent)
        dialog.exported.connect(lambda count, path: self._finish(True))
        dialog.rejected.connect(lambda: self._finish(False))
        self.export_dialog = dialog
        dialog.open()

    def _finish(self, applied: bool) -> None:
        if applied:
            self._apply(self.new)
        self.done.emit(applied)
