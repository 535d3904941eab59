"""The live table of deliveries: the whole history, newest first, read from the store a
page at a time as rows are looked at; live rows inserted in batches.

The model knows how many rows there are (one COUNT through the id index), so the scroll bar
spans the whole history and dragging it to the end reads only the last page (the store
reads it from the oldest end), never the pages in between. Rows hold only the summary
columns; at most MAX_PAGES pages are kept (least recently used first out), so memory stays
bounded however long the history or the session. Live deliveries go in on a short timer:
the first after a quiet spell at once (the row appears within a frame of the reply), the
rest of a burst together (BATCH_INTERVAL_MS, BURST_INTERVAL_MS apart), so a burst of thousands costs a
handful of beginInsertRows calls (at most ten a second while a burst lasts).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor

from compass_listener.core.delivery import Delivery
from compass_listener.ui import plain
from compass_listener.store.events import EventStore, search_text

COLUMNS = ("Time", "Route", "Record type", "Record id", "State", "Headline", "Owner", "Signature")
PAGE_SIZE = 500
MAX_ROWS = 5000             # rows kept in memory: live rows plus cached pages
BATCH_INTERVAL_MS = 16      # a trickle: each row in the table within a frame
BURST_INTERVAL_MS = 100     # a burst: ten inserts a second (each one repaints the window)
BURST_RATE = 200            # deliveries a second above which a burst is on
ID_ROLE = Qt.ItemDataRole.UserRole + 1
_SERVED_ROLES = frozenset(
    r for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                   Qt.ItemDataRole.ForegroundRole, ID_ROLE)
    for r in (role, int(role)))
_BRUSHES: dict[str, QBrush] = {}


def _brush(color: str) -> QBrush:
    brush = _BRUSHES.get(color)
    if brush is None:
        brush = _BRUSHES[color] = QBrush(QColor(color))
    return brush


def signature_text(d: Delivery) -> str:
    text = {"valid": "signature valid", "invalid": "signature invalid",
            "missing": "signature missing", "unsigned": "unsigned",
            "unverifiable": "not verified: secret missing"}.get(d.signature, d.signature)
    if not d.accepted and d.signature in ("invalid", "missing", "unverifiable"):
        text += f" · rejected ({d.reply_status})"
    elif not d.accepted:
        text += f" · unreadable body ({d.reply_status})"
    elif d.signature in ("invalid", "missing"):
        text += " · flagged"
    if d.is_duplicate:
        text += " · duplicate"
    return text


def matches(d: Delivery, text: str) -> bool:
    """The live-row twin of the store's filter (record id, headline or any field value)."""
    if not text:
        return True
    return text.lower() in search_text(d.record_id, d.headline, d.body).lower()


class DeliveryTableModel(QAbstractTableModel):
    count_changed = Signal()

    def __init__(self, store: EventStore, parent=None):
        super().__init__(parent)
        self.store = store
        self._live: list[Delivery] = []       # arrived since the last reload, newest first
        self._top_id = 0                      # rows below the live ones have ids up to this
        self._total = 0                       # how many of those match the filter
        self._pages: OrderedDict[int, list[Delivery]] = OrderedDict()
        self._texts: dict[int, tuple[str, ...]] = {}     # id -> the row's display texts
        self._pending: list[Delivery] = []
        self._filter = ""
        self._last_flush = 0.0
        self._burst = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self.flush_pending)

    # ---- loading -------------------------------------------------------------------------
    def reload(self, text: str | None = None) -> None:
        if text is not None:
            self._filter = text
        self.beginResetModel()
        self._pending.clear()
        self._live = []
        self._pages.clear()
        self._top_id = self.store.newest_id()
        self._total = self.store.count(text=self._filter, max_id=self._top_id)
        self.endResetModel()
        self.count_changed.emit()

    @property
    def filter_text(self) -> str:
        return self._filter

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return False          # every row is there already; pages load as they are read

    def fetchMore(self, parent=QModelIndex()) -> None:
        pass

    def _page(self, number: int) -> list[Delivery]:
        page = self._pages.get(number)
        if page is None:
            page = self.store.summaries_at(number * PAGE_SIZE, PAGE_SIZE, self._total,
                                           text=self._filter, max_id=self._top_id)
            self._pages[number] = page
            while len(self._pages) > max(1, (MAX_ROWS - len(self._live)) // PAGE_SIZE):
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page

    def add_live(self, delivery: Delivery) -> None:
        """Queue a live delivery; rows are inserted in one batch when the timer fires."""
        if not matches(delivery, self._filter):
            return
        # Keep the row light: the body stays in the store, the detail pane reads it back.
        self._pending.append(delivery.without_payload())
        if not self._flush_timer.isActive():
            # Leading edge: after a quiet spell at once. Then a frame apart while rows come
            # one by one, and 100 ms apart in a burst: painting the window was over half
            # the loop's time when a burst repainted it every frame.
            interval = BURST_INTERVAL_MS if self._burst else BATCH_INTERVAL_MS
            since = (time.monotonic() - self._last_flush) * 1000
            self._flush_timer.start(max(0, int(interval - since)))

    def flush_pending(self) -> None:
        self._flush_timer.stop()
        if not self._pending:
            return
        now = time.monotonic()
        batch, self._pending = self._pending, []
        # The arrival rate since the last insert, not the batch size: at a steady 50/s a
        # 100 ms batch holds five rows, which must not keep the table 100 ms behind.
        self._burst = len(batch) / max(now - self._last_flush, 0.001) > BURST_RATE
        self._last_flush = now
        batch.sort(key=lambda d: d.id, reverse=True)
        self.beginInsertRows(QModelIndex(), 0, len(batch) - 1)
        self._live[0:0] = batch
        self.endInsertRows()
        if len(self._live) > MAX_ROWS // 2:
            # Fold the live rows into the stored part (same rows, same order: no signal), so
            # memory stays bounded in a long session; they are read back like any page.
            self._top_id = max(self._top_id, self._live[0].id)
            self._total = self.store.count(text=self._filter, max_id=self._top_id)
            self._live = []
            self._pages.clear()
        self.count_changed.emit()

    def stop_updates(self) -> None:
        self._flush_timer.stop()
        self._pending.clear()

    # ---- access --------------------------------------------------------------------------
    def delivery_at(self, row: int) -> Delivery | None:
        live = len(self._live)
        if 0 <= row < live:
            return self._live[row]
        offset = row - live
        if not 0 <= offset < self._total:
            return None
        page = self._page(offset // PAGE_SIZE)
        return page[offset % PAGE_SIZE] if offset % PAGE_SIZE < len(page) else None

    def row_of(self, delivery_id: int) -> int:
        for row, d in enumerate(self._live):
            if d.id == delivery_id:
                return row
        if not 0 < delivery_id <= self._top_id:
            return -1
        # Its place among the stored rows is the number of newer ones shown (id index).
        row = len(self._live) + self.store.count(text=self._filter, after_id=delivery_id,
                                                 max_id=self._top_id)
        d = self.delivery_at(row)
        return row if d is not None and d.id == delivery_id else -1

    @property
    def loaded_rows(self) -> int:
        return len(self._live) + sum(len(p) for p in self._pages.values())

    # ---- Qt model interface --------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._live) + self._total

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        # The view asks each visible cell for a dozen roles on every repaint; most we do not
        # serve, and answering those first halves the cost of a repaint during a burst.
        if role not in _SERVED_ROLES:
            return None
        d = self.delivery_at(index.row()) if index.isValid() else None
        if d is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole and 0 <= col < len(COLUMNS):
            # Every repaint asks for every visible cell again (a burst repaints each frame):
            # the row's texts are made once.
            texts = self._texts.get(d.id)
            if texts is None:
                if len(self._texts) > 2 * MAX_ROWS:
                    self._texts.clear()
                texts = self._texts[d.id] = (
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.received_at)),
                    *(plain.one_line(v) for v in (d.route, d.record_type, d.record_id,
                                                  d.state, d.headline, d.owner,
                                                  signature_text(d))))
            return texts[col]
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
                return _brush("#c62828")
            if d.signature in ("invalid", "missing"):
                return _brush("#ef6c00")
            if d.signature == "valid":
                return _brush("#2e7d32")
        if role == ID_ROLE:
            return d.id
        return None
