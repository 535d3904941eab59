"""The one place where the listener's plain-Python callbacks become Qt signals.

Everything runs on the qasync loop in the GUI thread, so this is not about threads: it lets
widgets connect to deliveries with signals and slots instead of knowing the listener.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from compass_listener.net.listener import Listener


class ListenerBridge(QObject):
    delivery_received = Signal(object)     # core.delivery.Delivery
    problem_changed = Signal(str)          # "" when the problem is gone
    scheme_learned = Signal(object)        # core.routes.Route
    delivery_refused = Signal(str)         # a sentence: refused without being stored

    def __init__(self, listener: Listener, parent: QObject | None = None):
        super().__init__(parent)
        listener.on_delivery(self.delivery_received.emit)
        listener.on_problem(self.problem_changed.emit)
        listener.on_scheme_learned(self.scheme_learned.emit)
        listener.on_refusal(self.delivery_refused.emit)
