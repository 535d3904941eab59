"""The Export dialog: format and file, then the export runs on a worker thread with a
progress bar and a Cancel button; the window keeps receiving deliveries meanwhile.

Opened with open(), never exec(). `exported(count, path)` on success; a cancelled or failed
export leaves no file under the chosen name (store.export writes beside it, then renames).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from compass_listener.store import export


class ExportDialog(QDialog):
    exported = Signal(int, str)         # how many deliveries, the file

    def __init__(self, database: Path, suggested: Path, intro: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export deliveries")
        self.setModal(False)
        self.database = Path(database)
        self._cancel = threading.Event()
        self._task: asyncio.Future | None = None

        self.intro = QLabel(intro)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.intro.setWordWrap(True)
        self.intro.setVisible(bool(intro))
        self.format = QComboBox()
        self.format.addItem("JSON lines (one delivery per line, raw bodies kept)", "jsonl")
        self.format.addItem("CSV (one row per delivery)", "csv")
        self.format.currentIndexChanged.connect(self._format_changed)
        self.path = QLineEdit(str(suggested))
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.path, 1)
        rl.addWidget(browse)
        form = QFormLayout()
        form.addRow("&Format:", self.format)
        form.addRow("&File:", row)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("&Export",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(560, 0)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _format_changed(self) -> None:
        current = Path(self.path.text())
        self.path.setText(str(current.with_suffix("." + self.format.currentData())))

    def _browse(self) -> None:
        chooser = QFileDialog(self, "Export deliveries to")
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.selectFile(self.path.text())
        chooser.fileSelected.connect(self.path.setText)
        chooser.open()                  # never exec(): deliveries keep arriving

    def start(self) -> None:
        target = self.path.text().strip()
        if not target:
            self.status.setText("Choose a file to export to.")
            return
        if self.running:
            return
        self._cancel.clear()
        self.export_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.status.setText("Exporting…")
        self._task = asyncio.ensure_future(self._run(Path(target), self.format.currentData()))

    async def _run(self, target: Path, fmt: str) -> None:
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:   # on the worker thread
            loop.call_soon_threadsafe(self._show_progress, done, total)

        try:
            count = await loop.run_in_executor(
                None, lambda: export.to_file(self.database, target, fmt, progress=progress,
                                             cancel=self._cancel))
        except export.ExportCancelled:
            self._finish_with("Export cancelled; no file was written.")
            return
        except export.ExportError as exc:
            self._finish_with(f"Export failed: {exc}.")
            return
        self._finish_with(f"Exported {count} deliveries to {target}.")
        self.exported.emit(count, str(target))
        self.accept()

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(f"Exporting… {done} of {total}")

    def _finish_with(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)

    def cancel(self) -> None:
        """Stops a running export (the dialog stays, saying so); otherwise closes."""
        if self.running:
            self._cancel.set()
        else:
            self.reject()

    def closeEvent(self, event) -> None:
        self._cancel.set()
        super().closeEvent(event)

    def reject(self) -> None:
        self._cancel.set()
        super().reject()
