"""The record of one delivery as the listener stored it: what arrived, what we made of it,
and what we answered. The store writes it, the UI, the CLI and the notifier read it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from compass_listener.core.payload import ParsedPayload, ParseStatus, parse_payload


@dataclass
class Delivery:
    received_at: float                     # epoch seconds
    route: str                             # the route's path, e.g. /compassdefect
    peer: str                              # the sender's address
    method: str
    path: str                              # the request path as received (query included)
    headers: list[tuple[str, str]]         # in arrival order, duplicates kept
    body: bytes                            # the exact bytes received
    body_sha256: str
    signature: str                         # core.signature.Outcome value
    signature_detail: str
    parse_status: str                      # core.payload.ParseStatus value
    parse_problem: str
    record_type: str
    record_id: str
    state: str
    headline: str
    owner: str
    reply_status: int
    reply_body: str
    accepted: bool                         # False: answered with an error (rejected)
    id: int = 0                            # assigned by the store
    duplicate_of: int | None = None        # earlier delivery with the same body on the route
    route_label: str = ""
    extra: dict = field(default_factory=dict)

    def without_payload(self) -> "Delivery":
        """A copy for lists and tables: no body, headers or reply (the store keeps them).
        copy.copy, not dataclasses.replace: this runs for every live delivery, and replace
        re-reads every field's definition each time."""
        light = copy.copy(self)
        light.body, light.headers, light.reply_body = b"", [], ""
        return light

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None

    @property
    def body_text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def parsed(self) -> ParsedPayload:
        """The full parse (fields included), done again from the stored body on demand so the
        store keeps only the summary columns."""
        return parse_payload(self.body, fallback_type=self.route_label)

    def pretty_body(self) -> str:
        if self.parse_status == ParseStatus.NOT_JSON.value:
            return self.body_text
        try:
            return json.dumps(json.loads(self.body.decode("utf-8-sig")), indent=2,
                              ensure_ascii=False)
        except (ValueError, RecursionError):
            return self.body_text

    def summary_line(self) -> str:
        """One line for notifications and the CLI, e.g. 'Defect SAMPL00000084 · Submitted ·
        Example Defect'."""
        parts = [f"{self.record_type} {self.record_id}".strip(), self.state, self.headline]
        return " · ".join(p for p in parts if p) or f"delivery on {self.route}"

    def to_json(self) -> dict:
        """The CLI's `--json` line shape."""
        from datetime import datetime, timezone

        return {
            "id": self.id,
            "time": datetime.fromtimestamp(self.received_at, timezone.utc).isoformat(
                timespec="milliseconds"),
            "route": self.route,
            "record_type": self.record_type,
            "record_id": self.record_id,
            "state": self.state,
            "headline": self.headline,
            "signature": self.signature,
            "duplicate": self.is_duplicate,
            "status": self.reply_status,
        }
