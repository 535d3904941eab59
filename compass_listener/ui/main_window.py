"""The main window: the live Deliveries page (filter, table, detail pane), notifications,
a problem banner and a status bar. It asks the controller for actions through signals."""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QDockWidget, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QListWidget, QListWidgetItem, QMainWindow, QPushButton, QSplitter, QTableView,
    QTabWidget, QVBoxLayout, QWidget,
)

from compass_listener import APP_NAME
from compass_listener.core.delivery import Delivery
from compass_listener.core.folding import Notice
from compass_listener.store.events import EventStore
from compass_listener.ui import icons, plain
from compass_listener.ui.delivery_model import ID_ROLE, DeliveryTableModel
from compass_listener.ui.detail_pane import DetailPane
from compass_listener.ui.throttle import Throttle


class MainWindow(QMainWindow):
    settings_requested = Signal()
    export_requested = Signal()
    toggle_listener_requested = Signal()
    send_test_requested = Signal()
    quit_requested = Signal()
    about_requested = Signal()
    load_full_value_requested = Signal(str, str)
    shown = Signal()

    def __init__(self, store: EventStore, tray_available: bool, listener_base_url=lambda: "",
                 parent=None):
        super().__init__(parent)
        self.store = store
        self.tray_available = tray_available
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icons.app_icon())
        self.resize(1200, 760)

        # ---- deliveries page --------------------------------------------------------------
        self.model = DeliveryTableModel(store, self)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by record id, headline or any field value")
        self.filter_edit.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._apply_filter)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for col, width in enumerate((140, 115, 90, 125, 85, 300, 70, 215)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.detail = DetailPane(listener_base_url)
        self.detail.load_full_value_requested.connect(self.load_full_value_requested)
        self.detail.copied.connect(lambda what: self.statusBar().showMessage(
            f"Copied the {what} to the clipboard", 4000))

        self.banner = QLabel()
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { background: #fdecea; color: #8a1c12; "
                                  "border: 1px solid #f5c2c0; padding: 6px; }")
        self.banner_button = QPushButton("Open &Settings")
        self.banner_action = None   # what the button does instead of opening Settings
        self.banner_button.clicked.connect(
            lambda: self.banner_action() if self.banner_action else self.settings_requested.emit())
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.banner_button)
        self.banner_box = QWidget()
        self.banner_box.setLayout(banner_row)
        self.banner_box.hide()

        top = QHBoxLayout()
        filter_label = QLabel("Filte&r:")
        filter_label.setBuddy(self.filter_edit)
        top.addWidget(filter_label)
        top.addWidget(self.filter_edit, 1)
        self.shown_label = QLabel()
        top.addWidget(self.shown_label)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.banner_box)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.pages = QTabWidget()
        self.pages.addTab(page, "&Deliveries")
        self.setCentralWidget(self.pages)

        # ---- notifications list (the tray's stand-in when there is no tray) -----------------
        self.notices = QListWidget()
        self.notices.itemActivated.connect(self._notice_activated)
        self.notices_dock = QDockWidget("Notifications", self)
        self.notices_dock.setObjectName("notifications")
        self.notices_dock.setWidget(self.notices)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.notices_dock)
        self.notices_dock.setVisible(not tray_available)

        # ---- actions, menus, status bar ------------------------------------------------------
        self.listener_action = QAction("Stop &listener", self)
        self.listener_action.triggered.connect(self.toggle_listener_requested)
        self.send_test_action = QAction("Send &test delivery", self)
        self.send_test_action.setShortcut(QKeySequence("Ctrl+T"))
        self.send_test_action.triggered.connect(self.send_test_requested)
        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.triggered.connect(self.settings_requested)
        self.export_action = QAction("&Export deliveries…", self)
        self.export_action.triggered.connect(self.export_requested)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.quit_requested)
        find = QAction("&Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: (self.filter_edit.setFocus(), self.filter_edit.selectAll()))
        copy_payload = QAction("Copy &payload", self)
        copy_payload.setShortcut(QKeySequence("Ctrl+Shift+C"))
        copy_payload.triggered.connect(self.detail.copy_payload)
        copy_curl = QAction("Copy as c&url", self)
        copy_curl.triggered.connect(self.detail.copy_as_curl)
        about = QAction("&About Compass Listener", self)
        about.triggered.connect(self.about_requested)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.listener_action)
        file_menu.addAction(self.send_test_action)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(find)
        edit_menu.addAction(copy_payload)
        edit_menu.addAction(copy_curl)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.notices_dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(about)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.addAction(self.listener_action)
        toolbar.addAction(self.send_test_action)
        toolbar.addAction(self.settings_action)

        self.urls_label = QLabel()
        self.urls_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts_label = QLabel()
        self.last_label = QLabel("no deliveries yet")
        for label in (self.urls_label, self.counts_label, self.last_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addWidget(self.urls_label, 1)
        self.statusBar().addPermanentWidget(self.counts_label)
        self.statusBar().addPermanentWidget(self.last_label)
        # The status line follows a burst at most ten times a second (see ui.throttle).
        self._last_delivery: Delivery | None = None
        self._last_refresh = Throttle(100, self._show_last, self)

        self.session_received = 0
        self.session_rejected = 0
        # A running count: COUNT(*) over a million rows on every live batch stalled the UI.
        # It is read again from the store whenever the model reloads (a filter change).
        self.stored_total = 0
        self.model.modelReset.connect(self._recount)
        self.model.count_changed.connect(self._update_counts)
        self.model.reload("")
        latest = store.latest()
        if latest:
            self._set_last(latest)

    # ---- pages ---------------------------------------------------------------------------
    def add_page(self, widget: QWidget, title: str) -> None:
        self.pages.addTab(widget, title)

    # ---- live updates --------------------------------------------------------------------
    def delivery_received(self, delivery: Delivery) -> None:
        self.session_received += 1
        if not delivery.accepted:
            self.session_rejected += 1
        if delivery.id:
            self.stored_total += 1
        self.model.add_live(delivery)
        self._last_delivery = delivery
        self._last_refresh.poke()

    def _show_last(self) -> None:
        if self._last_delivery is not None:
            self._set_last(self._last_delivery)
            self._last_delivery = None

    def _set_last(self, delivery: Delivery) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(delivery.received_at))
        self.last_label.setText(f"last delivery {when}")
        self.last_label.setToolTip(plain.tooltip(delivery.summary_line()))

    def add_notice(self, notice: Notice) -> None:
        stamp = time.strftime("%H:%M:%S")
        item = QListWidgetItem(plain.one_line(f"{stamp} {notice.title}"))
        item.setToolTip(plain.tooltip(notice.message))
        item.setData(Qt.ItemDataRole.UserRole, notice.delivery_id)
        if notice.warning:
            item.setForeground(Qt.GlobalColor.darkRed)
        self.notices.insertItem(0, item)
        while self.notices.count() > 500:
            self.notices.takeItem(self.notices.count() - 1)

    def _notice_activated(self, item: QListWidgetItem) -> None:
        delivery_id = item.data(Qt.ItemDataRole.UserRole)
        if delivery_id:
            self.show_delivery_id(delivery_id)

    def set_listener_state(self, state: str, urls: list[str], problem: str = "") -> None:
        if state == "listening":
            self.urls_label.setText("Listening on " + "  ".join(urls))
        elif state == "error":
            self.urls_label.setText("Listener not running")
        else:
            self.urls_label.setText("Listener stopped")
        self.listener_action.setText("Stop &listener" if state == "listening"
                                     else "Start &listener")
        self.show_problem(problem)

    def show_problem(self, text: str, button: tuple | None = None) -> None:
        """The banner; its button opens Settings unless `button` is (label, callable)."""
        self.banner.setText(text)
        self.banner_button.setText(button[0] if button else "Open &Settings")
        self.banner_action = button[1] if button else None
        self.banner_box.setVisible(bool(text))

    def _recount(self) -> None:
        self.stored_total = self.model.rowCount() if not self.model.filter_text \
            else self.store.count()

    def _update_counts(self) -> None:
        text = f"{self.stored_total} stored · {self.session_received} received this session"
        if self.session_rejected:
            text += f" · {self.session_rejected} rejected"
        self.counts_label.setText(text)
        # The model holds every matching row (read a page at a time): its size is the count.
        matching = self.model.rowCount()
        self.shown_label.setText(
            "" if not self.model.filter_text else "no match" if not matching
            else "1 match" if matching == 1 else f"{matching} matches")

    # ---- selection and filter ------------------------------------------------------------
    def _apply_filter(self) -> None:
        self._filter_timer.stop()
        text = self.filter_edit.text().strip()
        if text != self.model.filter_text:
            self.model.reload(text)
            self.detail.show_delivery(None)

    def _current_changed(self, current, _previous) -> None:
        delivery_id = self.model.data(current, ID_ROLE) if current.isValid() else None
        self.detail.show_delivery(self.store.get(delivery_id) if delivery_id else None)

    def show_delivery_id(self, delivery_id: int | None) -> None:
        """Bring the window up; select the delivery when given (clearing a filter hiding it)."""
        self.show_and_raise()
        if not delivery_id:
            return
        self.model.flush_pending()
        row = self.model.row_of(delivery_id)
        if row < 0 and self.model.filter_text:
            self.filter_edit.clear()
            self._apply_filter()
            row = self.model.row_of(delivery_id)
        if row < 0:
            self.detail.show_delivery(self.store.get(delivery_id))
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def stop_updates(self) -> None:
        """Part of the quit path: no timer may read the store once it is closed."""
        self._filter_timer.stop()
        self._last_refresh.cancel()
        self.model.stop_updates()

    def show_and_raise(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shown.emit()

    def closeEvent(self, event) -> None:
        if self.tray_available:
            # A tray app keeps listening with its window closed.
            event.ignore()
            self.hide()
        else:
            # Without a tray the window is the app: closing it quits through the one path.
            event.ignore()
            self.quit_requested.emit()
