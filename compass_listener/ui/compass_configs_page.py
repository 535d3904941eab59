"""The WebhookConfig page: which configs exist, and which point at this listener.

Configs aimed at one of our routes are highlighted; a config aimed at this machine but at
no route we serve is flagged, as that delivery can only fail.
"""

from __future__ import annotations

import socket
from typing import Callable

from compass_listener.core.webhookdata import (
    LOCAL_UNKNOWN_ROUTE, OURS, classify_config_url, summarize_config)
from compass_listener.ui.compass_records_page import RecordsPage

OURS_BACKGROUND = "#e3f4e1"
WARN_BACKGROUND = "#fff0c2"
RELOAD_NOTE = ("Compass re-reads WebhookConfig records every 15 minutes (or when the REST "
               "server starts): a new or changed config can take that long to fire.")


def local_hosts() -> set[str]:
    names = {"localhost", "127.0.0.1", "::1"}
    try:
        names.update({socket.gethostname(), socket.getfqdn()})
    except OSError:
        pass
    return {n.lower() for n in names if n}


class WebhookConfigPage(RecordsPage):
    title = "webhook configs (WebhookConfig)"

    def __init__(self, session, routes: Callable[[], list[str]] = lambda: ["/compassdefect"],
                 listener_port: Callable[[], int | None] = lambda: 8080, parent=None) -> None:
        super().__init__(session, parent)
        self.routes = routes
        self.listener_port = listener_port
        self.hosts = local_hosts()
        self.note.setText(RELOAD_NOTE)
        self.note.show()

    async def fetch(self):
        client = self.session.client()
        package = await client.check_package()
        if not package.has_webhook_config:
            return package.message(client.repo, client.db)
        return await client.list_records("WebhookConfig", on_progress=self.runner.report_progress)

    def fill(self, result) -> None:
        if isinstance(result, str):
            self.set_rows(["Problem"], [([result], {}, None)])
            self.status.setText(result[:1].upper() + result[1:] + ".")
            return
        routes, port = self.routes(), self.listener_port()
        rows, ours, warnings = [], 0, []
        for row in result.rows:
            summary = summarize_config(row)
            where = classify_config_url(summary.url, routes, self.hosts, port)
            if where == OURS:
                ours += 1
                verdict, background = "→ this listener", OURS_BACKGROUND
            elif where == LOCAL_UNKNOWN_ROUTE:
                verdict, background = "this machine, but no such route here", WARN_BACKGROUND
                warnings.append(f"{summary.name} points at {summary.url}, on this machine, "
                                f"but no route serves that path")
            else:
                verdict, background = "", None
            cells = [summary.name, summary.url, summary.tracked_record, summary.webhook_type,
                     "set" if summary.secret_set else "none", verdict]
            rows.append((cells, summary.fields, background))
        self.set_rows(["Name", "URL", "Tracked record", "Type", "Secret", "Points at"], rows)
        text = f"{len(rows)} configs, {ours} pointing at this listener."
        if warnings:
            text += " Warning: " + "; ".join(warnings) + ": add that route or fix the config's URL."
        self.status.setText(text)
