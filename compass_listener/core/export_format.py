"""The shape of one exported delivery, for JSON lines and CSV: everything that was stored,
the raw body kept exactly (as text when it is UTF-8, base64 when not), secret-looking header
values redacted."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

from compass_listener.core.delivery import Delivery
from compass_listener.core.redact import redact_headers

FORMATS = ("jsonl", "csv")

# CSV columns, in order; JSON lines carry the same keys (headers as a list of pairs there).
COLUMNS = ("id", "time", "received_at", "route", "route_label", "peer", "method", "path",
           "record_type", "record_id", "state", "headline", "owner", "signature",
           "signature_detail", "parse_status", "parse_problem", "reply_status", "accepted",
           "duplicate_of", "body_sha256", "reply_body", "headers", "body_encoding", "body")


def body_fields(body: bytes) -> tuple[str, str]:
    """(encoding, text): "utf-8" and the text when the bytes decode strictly (so encoding
    the text again gives the same bytes), otherwise "base64" and the base64 of the bytes."""
    try:
        return "utf-8", body.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(body).decode("ascii")


def body_bytes(encoding: str, text: str) -> bytes:
    """The raw body back from an exported record (the inverse of body_fields)."""
    return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")


def record(d: Delivery) -> dict:
    encoding, body = body_fields(d.body)
    return {
        "id": d.id,
        "time": datetime.fromtimestamp(d.received_at, timezone.utc).isoformat(
            timespec="milliseconds"),
        "received_at": d.received_at,
        "route": d.route, "route_label": d.route_label, "peer": d.peer, "method": d.method,
        "path": d.path, "record_type": d.record_type, "record_id": d.record_id,
        "state": d.state, "headline": d.headline, "owner": d.owner,
        "signature": d.signature, "signature_detail": d.signature_detail,
        "parse_status": d.parse_status, "parse_problem": d.parse_problem,
        "reply_status": d.reply_status, "accepted": d.accepted,
        "duplicate_of": d.duplicate_of, "body_sha256": d.body_sha256,
        "reply_body": d.reply_body,
        # Exports leave the machine (mail, tickets): credentials never go with them.
        "headers": [list(pair) for pair in redact_headers(d.headers)],
        "body_encoding": encoding, "body": body,
    }


def json_line(d: Delivery) -> str:
    return json.dumps(record(d), ensure_ascii=False)


def csv_row(d: Delivery) -> list[str]:
    """One CSV row in COLUMNS order; headers as JSON, booleans and None spelled plainly."""
    values = record(d)
    values["headers"] = json.dumps(values["headers"], ensure_ascii=False)
    values["accepted"] = "true" if values["accepted"] else "false"
    values["duplicate_of"] = "" if values["duplicate_of"] is None else values["duplicate_of"]
    return [str(values[c]) for c in COLUMNS]
