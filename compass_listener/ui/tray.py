"""The tray icon: state (listening, paused, error, stopped), unread count, menu, notifications.

Notifications are folded by core.folding so a Compass burst raises one summary. Where no
system tray exists the same notices go to the window's notification list instead. Record
text leaves the app only through plain.notification (no markup can reach a notification
server; ui/plain.py says why).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from compass_listener import APP_NAME
from compass_listener.core.delivery import Delivery
from compass_listener.core.folding import Notice, NotificationFolder
from compass_listener.ui import icons, plain
from compass_listener.ui.throttle import Throttle


class TrayController(QObject):
    show_window_requested = Signal(object)      # delivery id to open, or None
    toggle_listener_requested = Signal()
    send_test_requested = Signal()
    quit_requested = Signal()
    notice_raised = Signal(object)              # every Notice, shown in the tray or not

    def __init__(self, parent=None):
        super().__init__(parent)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.state = "stopped"
        self.unread = 0
        self.notifications_enabled = True
        self.paused_until: float | None = None      # float("inf") = until resumed
        self._last_notice_id: int | None = None
        self._folder = NotificationFolder()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self._resume_timer = QTimer(self)
        self._resume_timer.setSingleShot(True)
        self._resume_timer.timeout.connect(self.resume_notifications)
        self._listener_text = ""
        self._last_text = "no deliveries yet"
        self._last_delivery: Delivery | None = None     # shown as _last_text at the refresh
        # In a burst the icon's badge and the tooltip follow at most ten times a second.
        self._delivery_refresh = Throttle(100, self._refresh, self)

        self.icon = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.show_action = self.menu.addAction("&Show window")
        self.show_action.triggered.connect(lambda: self.show_window_requested.emit(None))
        pause_menu = self.menu.addMenu("&Pause notifications")
        self.pause_actions = QActionGroup(self)
        for label, seconds in (("For &30 minutes", 1800), ("For &1 hour", 3600),
                               ("&Until resumed", float("inf"))):
            action = pause_menu.addAction(label)
            action.triggered.connect(lambda _=False, s=seconds: self.pause_notifications(s))
        pause_menu.addSeparator()
        self.resume_action = pause_menu.addAction("&Resume notifications")
        self.resume_action.triggered.connect(self.resume_notifications)
        self.resume_action.setEnabled(False)
        self.listener_action = self.menu.addAction("Stop &listener")
        self.listener_action.triggered.connect(self.toggle_listener_requested.emit)
        self.send_test_action = self.menu.addAction("Send &test delivery")
        self.send_test_action.triggered.connect(self.send_test_requested.emit)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("&Quit")
        self.quit_action.triggered.connect(self.quit_requested.emit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(
            lambda: self.show_window_requested.emit(self._last_notice_id))
        self._refresh()
        if self.available:
            self.icon.show()

    # ---- state ---------------------------------------------------------------------------
    @property
    def notifications_paused(self) -> bool:
        return self.paused_until is not None and time.time() < self.paused_until

    def set_listener_state(self, state: str, urls: list[str], problem: str = "") -> None:
        self.state = state
        self._listener_text = problem if state == "error" else (
            "listening on " + ", ".join(urls) if state == "listening" else "listener stopped")
        self.listener_action.setText("Stop &listener" if state in ("listening", "paused")
                                     else "Start &listener")
        self._refresh()

    def pause_notifications(self, seconds: float) -> None:
        self.paused_until = time.time() + seconds
        self.resume_action.setEnabled(True)
        if seconds != float("inf"):
            self._resume_timer.start(int(seconds * 1000))
        self._refresh()

    def resume_notifications(self) -> None:
        self.paused_until = None
        self._resume_timer.stop()
        self.resume_action.setEnabled(False)
        self._refresh()

    def clear_unread(self) -> None:
        if self.unread:
            self.unread = 0
            self._refresh()

    def _refresh(self) -> None:
        if self._last_delivery is not None:
            delivery, self._last_delivery = self._last_delivery, None
            when = time.strftime('%H:%M:%S', time.localtime(delivery.received_at))
            self._last_text = f"{when} {delivery.summary_line()}"
        shown_state = self.state
        if shown_state == "listening" and self.notifications_paused:
            shown_state = "paused"
        self.icon.setIcon(icons.tray_icon(shown_state, self.unread))
        lines = [APP_NAME, self._listener_text, f"last: {self._last_text}"]
        if self.notifications_paused:
            until = ("until resumed" if self.paused_until == float("inf") else
                     time.strftime("until %H:%M", time.localtime(self.paused_until)))
            lines.append(f"notifications paused {until}")
        if self.unread:
            lines.append(f"{self.unread} unread")
        # XEmbed trays show this as a Qt tooltip, StatusNotifierItem hosts (KDE) may read
        # markup in it: record text goes through the notification rules.
        self.icon.setToolTip("\n".join(plain.notification(line, max_lines=1)
                                       for line in lines if line))

    # ---- deliveries ----------------------------------------------------------------------
    def delivery_received(self, delivery: Delivery, window_visible: bool) -> None:
        self._last_delivery = delivery
        if not window_visible:
            self.unread += 1
        self._delivery_refresh.poke()
        if not self.notifications_enabled or self.notifications_paused:
            return
        notice = self._folder.add(delivery, time.monotonic())
        if notice is not None:
            self._raise(notice)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        due = self._folder.flush_due
        if due is not None:
            self._flush_timer.start(max(0, int((due - time.monotonic()) * 1000)))

    def _flush(self) -> None:
        notice = self._folder.flush(time.monotonic())
        if notice is not None:
            self._raise(notice)
        self._schedule_flush()

    def raise_problem(self, title: str, message: str) -> None:
        self._raise(Notice(title, message, warning=True))

    def _raise(self, notice: Notice) -> None:
        self._last_notice_id = notice.delivery_id
        self.notice_raised.emit(notice)
        if self.available and self.icon.isVisible():
            level = (QSystemTrayIcon.MessageIcon.Warning if notice.warning
                     else QSystemTrayIcon.MessageIcon.Information)
            self.icon.showMessage(plain.notification(notice.title, max_lines=1),
                                  plain.notification(notice.message), level, 8000)

    def _activated(self, reason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_window_requested.emit(None)

    def hide(self) -> None:
        """Part of the quit path: the icon goes, and no timer fires afterwards."""
        self._flush_timer.stop()
        self._resume_timer.stop()
        self.icon.hide()
