"""The WebhookData page: Compass's queue of pending deliveries, explained and correlated.

Refresh by hand or every 60 s while the page is visible. Each queued delivery is explained
("attempt 3 of 10, last reply 401 …: check the secret of route …") and marked "received
here at …" when this machine's history holds its record.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QTimer

from compass_listener.core.webhookdata import explain, interpret_queued
from compass_listener.ui.compass_records_page import RecordsPage

AUTO_REFRESH_MS = 60_000
FAILED_BACKGROUND = "#fde2e1"
RECEIVED_BACKGROUND = "#e3f4e1"


class WebhookDataPage(RecordsPage):
    title = "pending deliveries (WebhookData)"

    def __init__(self, session, find_received: Callable[[str], list] | None = None,
                 parent=None) -> None:
        super().__init__(session, parent)
        self.find_received = find_received
        self.timer = QTimer(self)
        self.timer.setInterval(AUTO_REFRESH_MS)
        self.timer.timeout.connect(self._auto_refresh)
        self.refresh_button.setToolTip("Also refreshed every 60 s while this page is open")

    async def fetch(self):
        client = self.session.client()
        package = await client.check_package()
        if not package.has_webhook_data:
            return package.message(client.repo, client.db)
        return await client.list_records("WebhookData", on_progress=self.runner.report_progress)

    def received_text(self, record_id: str | None) -> str:
        if not record_id or self.find_received is None:
            return ""
        try:
            found = self.find_received(record_id)
        except Exception:   # the history is a bonus here; never fail the page for it
            return ""
        if not found:
            return ""
        latest = max(found, key=lambda d: d.received_at)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(latest.received_at))
        return f"received here at {when} (replied {latest.reply_status})"

    def fill(self, result) -> None:
        if isinstance(result, str):   # the package is not applied
            self.set_rows(["Problem"], [([result], {}, None)])
            self.status.setText(result[:1].upper() + result[1:] + ".")
            return
        headers = ["Explanation", "Received here", *result.fields]
        rows = []
        failed = 0
        for row in result.rows:
            queued = interpret_queued(row)
            explanation = explain(queued) or "not attempted yet"
            received = self.received_text(queued.record_id)
            is_failure = queued.status_code is not None and not 200 <= queued.status_code < 300
            failed += is_failure
            background = FAILED_BACKGROUND if is_failure else (RECEIVED_BACKGROUND if received
                                                               else None)
            cells = [explanation, received, *[str(queued.fields.get(f, "")) for f in result.fields]]
            detail = {"Explanation": explanation, **({"Received": received} if received else {}),
                      **queued.fields}
            rows.append((cells, detail, background))
        self.set_rows(headers, rows)
        stamp = time.strftime("%H:%M:%S")
        if not rows:
            self.status.setText(f"Compass holds no pending deliveries (read at {stamp}): every "
                                f"delivery so far was accepted, or none was triggered yet.")
        else:
            self.status.setText(f"{len(rows)} pending deliveries, {failed} with a failed last "
                                f"attempt (read at {stamp}; next automatic refresh in 60 s).")

    def _auto_refresh(self) -> None:
        if self.isVisible() and not self.runner.busy:
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)   # the first show with a complete profile loads the page
        self.timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()
