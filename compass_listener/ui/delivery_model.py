"""The live table of deliveries: pages from the store, newest first, live rows in batches.

Rows hold only the summary columns (no bodies), pages are fetched as the view scrolls
(canFetchMore/fetchMore), and live deliveries are queued and inserted together on a short
timer, so a burst of thousands costs a handful of beginInsertRows calls. Memory is bounded:
past MAX_ROWS loaded rows, live inserts drop the oldest loaded rows, which scrolling fetches
again from the store (a listener left running for weeks must not keep every row in memory).
"""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor

from compass_listener.core.delivery import Delivery
from compass_listener.ui import plain
from compass_listener.store.events import EventStore

COLUMNS = ("Time", "Route", "Record type", "Record id", "State", "Headline", "Owner", "Signature")
PAGE_SIZE = 500
MAX_ROWS = 5000             # loaded rows kept after a live insert (10 pages)
BATCH_INTERVAL_MS = 100
ID_ROLE = Qt.ItemDataRole.UserRole + 1


def signature_text(d: Delivery) -> str:
    text = {"valid": "signature valid", "invalid": "signature invalid",
            "missing": "signature missing", "unsigned": "unsigned"}.get(d.signature, d.signature)
    if not d.accepted and d.signature in ("invalid", "missing"):
        text += f" · rejected ({d.reply_status})"
    elif not d.accepted:
        text += f" · unreadable body ({d.reply_status})"
    elif d.signature in ("invalid", "missing"):
        text += " · flagged"
    if d.is_duplicate:
        text += " · duplicate"
    return text


def matches(d: Delivery, text: str) -> bool:
    """The live-row version of the store's filter (record id, headline or any field value)."""
    if not text:
        return True
    needle = text.lower()
    return (needle in d.record_id.lower() or needle in d.headline.lower()
            or needle in d.body.decode("utf-8", "replace").lower())


class DeliveryTableModel(QAbstractTableModel):
    count_changed = Signal()

    def __init__(self, store: EventStore, parent=None):
        super().__init__(parent)
        self.store = store
        self._rows: list[Delivery] = []
        self._pending: list[Delivery] = []
        self._filter = ""
        self._more = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(BATCH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self.flush_pending)

    # ---- loading -------------------------------------------------------------------------
    def reload(self, text: str | None = None) -> None:
        if text is not None:
            self._filter = text
        self.beginResetModel()
        self._pending.clear()
        self._rows = self.store.summaries(limit=PAGE_SIZE, text=self._filter)
        self._more = len(self._rows) == PAGE_SIZE
        self.endResetModel()
        self.count_changed.emit()

    @property
    def filter_text(self) -> str:
        return self._filter

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and self._more

    def fetchMore(self, parent=QModelIndex()) -> None:
        if parent.isValid() or not self._rows:
            return
        page = self.store.summaries(limit=PAGE_SIZE, before_id=self._rows[-1].id,
                                    text=self._filter)
        self._more = len(page) == PAGE_SIZE
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()

    def add_live(self, delivery: Delivery) -> None:
        """Queue a live delivery; rows are inserted in one batch when the timer fires."""
        if not matches(delivery, self._filter):
            return
        # Keep the row light: the body stays in the store, the detail pane reads it back.
        self._pending.append(replace(delivery, body=b"", headers=[], reply_body=""))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush_pending(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        batch.sort(key=lambda d: d.id, reverse=True)
        if len(batch) > MAX_ROWS:
            del batch[MAX_ROWS:]
            self._more = True
        self.beginInsertRows(QModelIndex(), 0, len(batch) - 1)
        self._rows[0:0] = batch
        self.endInsertRows()
        if len(self._rows) > MAX_ROWS:
            # The oldest loaded rows go; they are still in the store, and fetchMore
            # (scrolling down) reads them back, so nothing disappears for the user.
            self.beginRemoveRows(QModelIndex(), MAX_ROWS, len(self._rows) - 1)
            del self._rows[MAX_ROWS:]
            self.endRemoveRows()
            self._more = True
        self.count_changed.emit()

    def stop_updates(self) -> None:
        self._flush_timer.stop()
        self._pending.clear()

    # ---- access --------------------------------------------------------------------------
    def delivery_at(self, row: int) -> Delivery | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, delivery_id: int) -> int:
        for row, d in enumerate(self._rows):
            if d.id == delivery_id:
                return row
        return -1

    @property
    def loaded_rows(self) -> int:
        return len(self._rows)

    # ---- Qt model interface --------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        d = self._rows[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col == 0:
                if role == Qt.ItemDataRole.ToolTipRole:
                    return None
                return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.received_at))
            value = (d.route, d.record_type, d.record_id, d.state, d.headline, d.owner,
                     signature_text(d))[col - 1] if 0 < col < len(COLUMNS) else None
            if value is None:
                return None
            if role == Qt.ItemDataRole.ToolTipRole:
                # Tooltips guess rich text: escape, so `<b>` in a Headline stays literal.
                return plain.tooltip(d.signature_detail if col == 7 else value) or None
            return plain.one_line(value)
        if role == Qt.ItemDataRole.ForegroundRole and col == 7:
            if not d.accepted:
                return QBrush(QColor("#c62828"))
            if d.signature in ("invalid", "missing"):
                return QBrush(QColor("#ef6c00"))
            if d.signature == "valid":
                return QBrush(QColor("#2e7d32"))
        if role == ID_ROLE:
            return d.id
        return None
