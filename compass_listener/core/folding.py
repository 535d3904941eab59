"""Which notifications to raise for a stream of deliveries, so a burst is one summary.

Compass delivers every pending WebhookData record at each one-minute poll, so deliveries
come in bursts. Up to MAX_SINGLE within WINDOW seconds are announced one by one; beyond
that they are collected and announced as one summary ("12 more deliveries: 9 Defect,
3 Task") once the burst has settled. Duplicates are never announced.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from compass_listener.core.delivery import Delivery

WINDOW = 5.0
MAX_SINGLE = 3
SETTLE = 1.0   # a burst is over when nothing arrived for this long (or WINDOW passed)


@dataclass(frozen=True)
class Notice:
    title: str
    message: str
    warning: bool = False
    delivery_id: int | None = None   # what a click opens; None for a summary


def notice_for(delivery: Delivery) -> Notice:
    if delivery.signature == "unverifiable":
        return Notice(f"Delivery on {delivery.route} not accepted: the route's secret is missing",
                      delivery.signature_detail, warning=True, delivery_id=delivery.id)
    if not delivery.accepted and delivery.signature in ("invalid", "missing"):
        reason = "signature mismatch" if delivery.signature == "invalid" else "no signature"
        return Notice(f"Rejected delivery on {delivery.route}: {reason}",
                      f"{delivery.summary_line()}\n{delivery.signature_detail}",
                      warning=True, delivery_id=delivery.id)
    if not delivery.accepted:
        return Notice(f"Unreadable delivery on {delivery.route}",
                      delivery.parse_problem or f"answered {delivery.reply_status}",
                      warning=True, delivery_id=delivery.id)
    if delivery.signature in ("invalid", "missing"):   # accepted under the "flag" policy
        return Notice(delivery.summary_line(),
                      f"received on {delivery.route} · signature {delivery.signature} "
                      f"(accepted and flagged)", warning=True, delivery_id=delivery.id)
    return Notice(delivery.summary_line(),
                  f"received on {delivery.route} · signature {delivery.signature}",
                  delivery_id=delivery.id)


class NotificationFolder:
    def __init__(self, window: float = WINDOW, max_single: int = MAX_SINGLE,
                 settle: float = SETTLE):
        self.window, self.max_single, self.settle = window, max_single, settle
        self._shown: deque[float] = deque()
        self._pending: list[Delivery] = []
        self._first_pending = 0.0
        self._last_pending = 0.0

    def add(self, delivery: Delivery, now: float) -> Notice | None:
        """The notice to raise at once for this delivery, or None (folded or duplicate)."""
        if delivery.is_duplicate:
            return None
        while self._shown and now - self._shown[0] > self.window:
            self._shown.popleft()
        if not self._pending and len(self._shown) < self.max_single:
            self._shown.append(now)
            return notice_for(delivery)
        if not self._pending:
            self._first_pending = now
        self._pending.append(delivery)
        self._last_pending = now
        return None

    @property
    def flush_due(self) -> float | None:
        """When flush() should be called next, or None when nothing is pending."""
        if not self._pending:
            return None
        return min(self._first_pending + self.window, self._last_pending + self.settle)

    def flush(self, now: float, force: bool = False) -> Notice | None:
        due = self.flush_due
        if due is None or (now < due and not force):
            return None
        pending, self._pending = self._pending, []
        self._shown.append(now)
        if len(pending) == 1:
            return notice_for(pending[0])
        return summary_notice(pending)


def summary_notice(deliveries: list[Delivery]) -> Notice:
    kinds = Counter(d.record_type or d.route for d in deliveries)
    parts = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    rejected = sum(1 for d in deliveries if not d.accepted)
    message = "Open the window to see them"
    if rejected:
        message = f"{rejected} rejected · " + message
    # "more": the first deliveries of the burst were already announced one by one.
    return Notice(f"{len(deliveries)} more deliveries: {parts}", message,
                  warning=bool(rejected))
