"""The detail pane of one delivery: fields, body (pretty and exact bytes), headers, reply.

Every piece of record text goes into plain-text widgets (table items, QPlainTextEdit), so
HTML or Qt rich text typed into a Compass field shows as the characters it is.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit,
    QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from compass_listener.core.curl import as_curl
from compass_listener.core.delivery import Delivery
from compass_listener.core.redact import is_secret_header, REDACTED
from compass_listener.ui import plain


# A record has dozens of fields; a hostile body can have 100,000, and a table item per
# field would freeze the window (and the listener on its loop) for seconds. The Body tab
# shows every field; the Fields tab lists this many.
FIELD_ROWS_MAX = 2000
# Likewise for the text views: laying out megabytes in a QPlainTextEdit takes seconds.
# The exact bytes stay one click away (Copy payload).
TEXT_VIEW_MAX = 256 * 1024


def _bounded(text: str) -> str:
    if len(text) <= TEXT_VIEW_MAX:
        return text
    return (text[:TEXT_VIEW_MAX] + f"\n… {len(text) - TEXT_VIEW_MAX} more characters are not "
            f"shown here (Copy payload copies the whole body)")


def _item(text: str, limit: int = plain.SHOWN_MAX) -> QTableWidgetItem:
    item = QTableWidgetItem(plain.one_line(text, limit))
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    item.setToolTip(plain.tooltip(text[:2000]))
    return item


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    # The value column takes the room; the others keep their width.
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setWordWrap(False)
    return table


def _text_view() -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return view


# Printable ASCII stays, every other byte shows as "." in the text column.
_PRINTABLE = bytes(b if 32 <= b < 127 else ord(".") for b in range(256))


def hex_dump(data: bytes, limit: int = 256 * 1024) -> str:
    # bytes.hex/translate do the per-byte work in C: a 256 KiB dump in ~40 ms, not ~600 ms
    # of Python on the GUI loop (which the listener shares).
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset:offset + 16]
        lines.append(f"{offset:08x}  {chunk.hex(' '):<47}  "
                     f"{chunk.translate(_PRINTABLE).decode('ascii')}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes (use Copy payload for all of them)")
    return "\n".join(lines)


class DetailPane(QWidget):
    load_full_value_requested = Signal(str, str)   # url, field name
    copied = Signal(str)                           # what was copied, for the status bar

    def __init__(self, listener_base_url=lambda: "", parent=None):
        super().__init__(parent)
        self._listener_base_url = listener_base_url
        self.delivery: Delivery | None = None

        self.title = QLabel("Select a delivery to see its fields, body, headers and our reply.")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.copy_payload_button = QPushButton("Copy &payload")
        self.copy_curl_button = QPushButton("Copy as c&url")
        self.copy_payload_button.clicked.connect(self.copy_payload)
        self.copy_curl_button.clicked.connect(self.copy_as_curl)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.copy_payload_button)
        top.addWidget(self.copy_curl_button)

        self.tabs = QTabWidget()
        self.fields = _table(["Field", "Value", "Truncated"])
        self.fields.setColumnWidth(2, 260)
        self.fields.cellDoubleClicked.connect(self._field_activated)
        self.load_full_button = QPushButton("&Load full value")
        self.load_full_button.setEnabled(False)
        self.load_full_button.setToolTip("Fetch the whole value of a truncated field from the "
                                         "Compass REST server")
        self.load_full_button.clicked.connect(self._load_full_value)
        self.fields.itemSelectionChanged.connect(self._update_load_button)
        fields_page = QWidget()
        fl = QVBoxLayout(fields_page)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.fields)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.load_full_button)
        fl.addLayout(row)
        self.tabs.addTab(fields_page, "F&ields")

        self.body_tabs = QTabWidget()
        self.pretty = _text_view()
        self.raw = _text_view()
        self.hex = _text_view()
        self.body_tabs.addTab(self.pretty, "Pretty JSON")
        self.body_tabs.addTab(self.raw, "As received")
        self.body_tabs.addTab(self.hex, "Exact bytes (hex)")
        self.tabs.addTab(self.body_tabs, "&Body")

        self.headers = _table(["Header", "Value"])
        self.reveal = QCheckBox("Reveal secret-loo&king header values")
        self.reveal.toggled.connect(lambda _=None: self._fill_headers())
        headers_page = QWidget()
        hl = QVBoxLayout(headers_page)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.headers)
        hl.addWidget(self.reveal)
        self.tabs.addTab(headers_page, "He&aders")

        self.reply = _text_view()
        self.tabs.addTab(self.reply, "Our repl&y")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self.show_delivery(None)

    # ---- filling -------------------------------------------------------------------------
    def show_delivery(self, delivery: Delivery | None) -> None:
        self.delivery = delivery
        has = delivery is not None
        self.copy_payload_button.setEnabled(has)
        self.copy_curl_button.setEnabled(has)
        self.fields.setRowCount(0)
        for view in (self.pretty, self.raw, self.hex, self.reply):
            view.clear()
        self.headers.setRowCount(0)
        if delivery is None:
            self.title.setText("Select a delivery to see its fields, body, headers and our reply.")
            return
        self.title.setText(
            f"#{delivery.id} · {plain.one_line(delivery.summary_line())} · "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(delivery.received_at))} "
            f"from {delivery.peer or 'unknown'}")
        parsed = delivery.parsed()
        listed = parsed.fields[:FIELD_ROWS_MAX]
        self.fields.setRowCount(len(listed))
        for row, field in enumerate(listed):
            self.fields.setItem(row, 0, _item(field.name))
            self.fields.setItem(row, 1, _item(field.value))
            marker = f"truncated · {field.url}" if field.truncated else ""
            item = _item(marker)
            item.setData(Qt.ItemDataRole.UserRole, field.url if field.truncated else "")
            self.fields.setItem(row, 2, item)
        self.fields.resizeColumnToContents(0)
        self.fields.setColumnWidth(0, min(self.fields.columnWidth(0), 220))
        if len(parsed.fields) > len(listed):
            self.fields.setRowCount(self.fields.rowCount() + 1)
            self.fields.setItem(self.fields.rowCount() - 1, 0, _item("(more fields)"))
            self.fields.setItem(self.fields.rowCount() - 1, 1, _item(
                f"{len(parsed.fields) - len(listed)} more fields are not listed here; the "
                f"Body tab shows all {len(parsed.fields)}"))
        if parsed.problem:
            self.fields.setRowCount(self.fields.rowCount() + 1)
            self.fields.setItem(self.fields.rowCount() - 1, 0, _item("(not readable)"))
            self.fields.setItem(self.fields.rowCount() - 1, 1, _item(parsed.problem))
        # Direction and control characters as \uXXXX: they cannot reorder what is shown.
        if len(delivery.body) <= TEXT_VIEW_MAX:
            pretty = delivery.pretty_body()
        else:
            pretty = (f"The body is {len(delivery.body)} bytes, too large to pretty-print here; "
                      f"the As received tab shows its start, Copy payload copies all of it.")
        self.pretty.setPlainText(plain.visible_controls(_bounded(pretty)))
        self.raw.setPlainText(plain.visible_controls(_bounded(delivery.body_text)))
        self.hex.setPlainText(hex_dump(delivery.body))
        self._fill_headers()
        self.reply.setPlainText(
            f"Status: {delivery.reply_status}\nBody: {delivery.reply_body}\n\n"
            f"Signature: {delivery.signature}\n{delivery.signature_detail}\n"
            + (f"\nDuplicate of delivery #{delivery.duplicate_of} (same body on this route "
               f"within 24 h; not notified again)\n" if delivery.is_duplicate else ""))

    def _fill_headers(self) -> None:
        d = self.delivery
        self.headers.setRowCount(0)
        if d is None:
            return
        self.headers.setRowCount(len(d.headers))
        for row, (name, value) in enumerate(d.headers):
            shown = value if self.reveal.isChecked() or not is_secret_header(name) else REDACTED
            self.headers.setItem(row, 0, _item(name))
            self.headers.setItem(row, 1, _item(shown))
        self.headers.resizeColumnToContents(0)

    # ---- actions -------------------------------------------------------------------------
    def _selected_truncated(self) -> tuple[str, str] | None:
        row = self.fields.currentRow()
        marker = self.fields.item(row, 2) if row >= 0 else None
        url = marker.data(Qt.ItemDataRole.UserRole) if marker else ""
        return (url, self.fields.item(row, 0).text()) if url else None

    def _update_load_button(self) -> None:
        self.load_full_button.setEnabled(self._selected_truncated() is not None)

    def _field_activated(self, row: int, column: int) -> None:
        self._load_full_value()

    def _load_full_value(self) -> None:
        picked = self._selected_truncated()
        if picked:
            self.load_full_value_requested.emit(*picked)

    def show_full_value(self, field_name: str, value: str) -> None:
        """Put a fetched full value in place of the truncated one."""
        for row in range(self.fields.rowCount()):
            if self.fields.item(row, 0) and self.fields.item(row, 0).text() == field_name:
                # Asked for by the user from their Compass server: shown whole.
                self.fields.setItem(row, 1, _item(value, limit=len(value)))
                self.fields.setItem(row, 2, _item(f"full value loaded ({len(value)} characters)"))

    def copy_payload(self) -> None:
        if self.delivery is None:
            return
        QGuiApplication.clipboard().setText(self.delivery.body_text)
        self.copied.emit("payload")

    def copy_as_curl(self) -> None:
        if self.delivery is None:
            return
        url = self._listener_base_url() + self.delivery.path
        QGuiApplication.clipboard().setText(as_curl(url, self.delivery.headers, self.delivery.body))
        self.copied.emit("curl command")
