"""Common frame of the WebhookData and WebhookConfig pages: refresh, cancel, progress, table.

Subclasses say what to fetch (`fetch`) and how to turn it into rows (`fill`); this class
runs the fetch as a cancellable task, shows progress, the trust banner and errors, and
shows the selected record's fields beside the table. A page loads by itself the first time
it is shown with a complete server profile; without one it says what to fill in.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QProgressBar,
    QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from compass_listener.core.compass_urls import ServerAddressError
from compass_listener.ui import plain
from compass_listener.ui.compass_session import CompassSession
from compass_listener.ui.compass_tasks import TaskRunner, error_text
from compass_listener.ui.compass_trust import TrustBanner

ROW_DATA = Qt.ItemDataRole.UserRole + 1   # the row's fields as "name: value" lines (redacted)


class RecordsPage(QWidget):
    title = "records"
    empty_text = "Nothing to show."

    def __init__(self, session: CompassSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self)
        self.loaded_once = False
        self.auto_tried = False   # loaded by itself once for this profile (even if it failed)

        # Plain text: these show names and messages from the Compass server.
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.refresh_button = QPushButton("&Refresh")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner = TrustBanner()
        self.banner.trusted.connect(self._trusted)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.hide()

        self.model = QStandardItemModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a record to see all its fields.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.banner)
        layout.addWidget(self.status)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)

        self.refresh_button.clicked.connect(self.refresh)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.runner.busy_changed.connect(self._busy)
        self.runner.started.connect(lambda what: self.status.setText(what + "…"))
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(
            lambda: self.status.setText("Cancelled; the table still shows the previous "
                                        "results." if self.loaded_once else "Cancelled."))
        session.profile_changed.connect(self._update_heading)
        session.profile_changed.connect(self._profile_changed)
        self._update_heading()

    # ---- to override --------------------------------------------------------------------
    async def fetch(self):
        raise NotImplementedError

    def fill(self, result) -> None:
        raise NotImplementedError

    # ---- running ------------------------------------------------------------------------
    def _update_heading(self) -> None:
        p = self.session.profile
        where = f"{p.repo or '?'}/{p.db or '?'} on {p.server}" if p.server else \
            "no Compass server set yet (see the Compass server tab)"
        self.heading.setText(f"{self.title[:1].upper() + self.title[1:]} in {where}")

    def missing_settings(self) -> list[str]:
        """What the profile still lacks before anything can be read ([] when complete)."""
        p = self.session.profile
        missing = []
        try:
            p.base_url
        except ServerAddressError:
            missing.append("server")
        if not p.repo.strip():
            missing.append("repository")
        if not p.db.strip():
            missing.append("database")
        if not p.user.strip() and not p.use_token:
            missing.append("user")
        return missing

    def not_configured_text(self) -> str:
        missing = self.missing_settings()
        what = missing[0] if len(missing) == 1 else \
            ", ".join(missing[:-1]) + " and " + missing[-1]
        return f"Not loaded yet: enter the {what} on the Compass server tab, then Refresh."

    def refresh(self) -> None:
        if self.missing_settings():
            self.status.setText(self.not_configured_text())
            return
        self.banner.hide()
        self.runner.start(self.fetch(), f"Reading the {self.title}")

    def _profile_changed(self) -> None:
        self.auto_tried = False   # a new server (or a fixed one) deserves a load on next show

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.loaded_once or self.runner.busy:
            return
        if self.missing_settings():
            self.status.setText(self.not_configured_text())
        elif not self.auto_tried:
            self.auto_tried = True
            self.refresh()

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)   # busy until the first page says how many
        self.cancel_button.setEnabled(busy)
        self.refresh_button.setEnabled(not busy)

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        self.status.setText(f"Read {done}{f' of {total}' if total > 0 else ''} records…")

    def _finished(self, result) -> None:
        self.loaded_once = True
        self.fill(result)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(self.banner.STATUS if self.banner.show_error(exc)
                            else error_text(exc))

    def _trusted(self, fingerprint: str) -> None:
        self.session.trust_fingerprint(fingerprint)
        self.refresh()

    # ---- table --------------------------------------------------------------------------
    def set_rows(self, headers: list[str], rows: list[tuple[list[str], dict, str | None]]) -> None:
        """rows: (cell texts, the record's fields for the detail view, background or None)."""
        self.table.setSortingEnabled(False)
        self.model.clear()
        self.model.setHorizontalHeaderLabels(headers)
        from PySide6.QtGui import QBrush, QColor

        for cells, fields, background in rows:
            items = []
            for text in cells:
                item = QStandardItem(text)
                # Record values are user-typed: a tooltip would render `<b>` as bold.
                item.setToolTip(plain.tooltip(text if len(text) < 2000 else text[:2000] + "…"))
                if background:
                    item.setBackground(QBrush(QColor(background)))
                items.append(item)
            # stored as text: a dict would become a QVariantMap, which sorts its keys
            items[0].setData("\n".join(f"{name}: {value}" for name, value in fields.items()),
                             ROW_DATA)
            self.model.appendRow(items)
        self.table.setSortingEnabled(True)
        for column in range(len(headers)):
            self.table.resizeColumnToContents(column)
            if self.table.columnWidth(column) > 360:
                self.table.setColumnWidth(column, 360)
        self.details.clear()

    def _row_changed(self, current, _previous) -> None:
        if not current.isValid():
            self.details.clear()
            return
        self.details.setPlainText(self.model.item(current.row(), 0).data(ROW_DATA) or "")
