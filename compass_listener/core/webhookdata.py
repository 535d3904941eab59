"""WebhookData and WebhookConfig records: field discovery, ordering, redaction, explanations.

HCL does not publish the field names of these record types, so everything here works
from names seen at run time, by keyword (status, response, retry, …). Pure Python.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

MAX_ATTEMPTS = 10  # Compass retries a failed delivery up to 10 times (protocol doc §1)
REDACTED = "(hidden)"
_SECRET_WORDS = ("secret", "password", "passwd", "token")

# Columns worth seeing first, in this order; matched on lower-cased names without "_".
_FIRST_KEYWORDS = ("status", "code", "response", "message", "retry", "attempt", "count")
_SYSTEM_FIELDS = {"dbid", "id", "record_type", "lock_version", "ratl_mastership",
                  "ratl_keysite", "is_active", "version", "history"}


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_secret_field(name: str) -> bool:
    """True when a field's value must never be shown in clear (by its name)."""
    squashed = _squash(name)
    return any(word in squashed for word in _SECRET_WORDS)


def redact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with secret-looking values replaced (empty values stay empty: 'no secret set')."""
    return {name: (REDACTED if value not in (None, "") else value) if is_secret_field(name)
            else value for name, value in fields.items()}


def order_fields(names: Iterable[str]) -> list[str]:
    """Status/response/retry-like fields first, the schema's own next, system fields last."""
    names = list(dict.fromkeys(names))

    def key(item: tuple[int, str]) -> tuple[int, int, int]:
        index, name = item
        squashed = _squash(name)
        for rank, word in enumerate(_FIRST_KEYWORDS):
            if word in squashed:
                return (0, rank, index)
        if name.lower() in _SYSTEM_FIELDS:
            return (2, 0, index)
        return (1, 0, index)

    return [name for _, name in sorted(enumerate(names), key=key)]


def discover_fields(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every field name seen in any record, ordered for display."""
    seen: dict[str, None] = {}
    for record in records:
        for name in record:
            seen.setdefault(name, None)
    return order_fields(seen)


def fields_from_record_json(record: Mapping[str, Any]) -> dict[str, str]:
    """`{"fields": [{"name", "value", …}]}` (REST record) → `{name: value}` as strings."""
    out: dict[str, str] = {}
    for item in record.get("fields") or []:
        if isinstance(item, Mapping) and "name" in item:
            out[str(item["name"])] = _as_text(item.get("value"))
    return out


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _pick(fields: Mapping[str, Any], *patterns: str, exclude: tuple[str, ...] = ()) -> str | None:
    """The first field name whose squashed form contains every word of one pattern."""
    for pattern in patterns:
        words = pattern.split()
        for name in fields:
            squashed = _squash(name)
            if all(w in squashed for w in words) and not any(x in squashed for x in exclude):
                return name
    return None


def _int(value: Any) -> int | None:
    match = re.search(r"-?\d+", str(value or ""))
    return int(match.group()) if match else None


@dataclass
class QueuedDelivery:
    """One WebhookData record, read by keyword: what Compass still holds and why."""

    fields: dict[str, Any]
    status_code: int | None = None
    response: str = ""
    attempts: int | None = None
    record_id: str | None = None
    target_url: str | None = None
    config_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def route(self) -> str | None:
        if not self.target_url:
            return None
        return urlsplit(self.target_url).path or "/"


def interpret_queued(fields: Mapping[str, Any]) -> QueuedDelivery:
    """Find the status, response, retry count, record id and target in a WebhookData row."""
    safe = redact(fields)
    status_name = (_pick(fields, "response code", "status code", "http status", "httpcode")
                   or _pick(fields, "status", exclude=("message", "text")))
    response_name = _pick(fields, "response message", "response text", "response body",
                          "message", "response", exclude=("code", "status"))
    attempts_name = _pick(fields, "retry", "attempt")
    payload_name = _pick(fields, "payload", "body", "json", exclude=("response",))
    payload = _parse_payload(fields.get(payload_name) if payload_name else None)
    record_name = _pick(fields, "record id", "recordid", "entity id", "source id",
                        exclude=("dbid",))
    url_name = _pick(fields, "target url", "webhook url", "url", exclude=("weburl",))
    config_name_field = _pick(fields, "config", "webhook name", exclude=("url", "dbid"))

    status_code = _int(fields.get(status_name)) if status_name else None
    if status_code is not None and not 100 <= status_code <= 599:
        status_code = None
    record_id = str(fields[record_name]) if record_name and fields.get(record_name) else None
    target = str(fields[url_name]) if url_name and fields.get(url_name) else None
    if payload:
        content = payload.get("content") if isinstance(payload.get("content"), dict) else {}
        if not record_id and isinstance(content.get("id"), dict):
            record_id = str(content["id"].get("value") or "") or None
        if not target and isinstance(payload.get("webUrl"), str):
            target = payload["webUrl"]
    return QueuedDelivery(
        fields=safe,
        status_code=status_code,
        response=str(fields.get(response_name) or "") if response_name else "",
        attempts=_int(fields.get(attempts_name)) if attempts_name else None,
        record_id=record_id,
        target_url=target,
        config_name=str(fields.get(config_name_field) or "") or None if config_name_field else None,
    )


def _parse_payload(value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def hint_for(status: int | None, response: str, route: str | None) -> str:
    """What a Compass admin should check, from the listener's last reply."""
    where = f"route {route}" if route else "the route"
    low = response.lower()
    if status is None and ("timed out" in low or "timeout" in low):
        return ("no reply reached Compass in time, though the delivery may have arrived: "
                "check the listener's speed and the network (a retry will be a duplicate)")
    if status is None:
        return (f"the listener was not reached: check that it is running and that the "
                f"config's URL is reachable from the Compass REST server")
    if "signature" in low or (status in (401, 403) and "secret" in low):
        return f"check the secret of {where}"
    if status in (401, 403):
        return f"check the secret and signature settings of {where}"
    if status == 404:
        return f"the listener serves no {where}: check the config's URL"
    if status == 413:
        return f"the payload is larger than {where} accepts: raise its size limit"
    if 500 <= status <= 599:
        return f"the listener failed to store the delivery: see its log"
    if 200 <= status <= 299:
        return "the listener accepted it; Compass deletes the record at its next poll"
    return f"check {where}"


def explain(queued: QueuedDelivery, max_attempts: int = MAX_ATTEMPTS) -> str | None:
    """E.g. 'attempt 3 of 10, last reply 401 signature mismatch: check the secret of route /x'.

    The retry count Compass keeps is read as the number of attempts made so far.
    """
    if queued.status_code is None and queued.attempts in (None, 0) and not queued.response:
        return None
    parts = []
    if queued.attempts is not None:
        parts.append(f"attempt {queued.attempts} of {max_attempts}")
    if queued.status_code is not None:
        reply = f"last reply {queued.status_code}"
        if queued.response:
            reply += f" {_short_message(queued.response)}"
        parts.append(reply)
    elif queued.response:
        parts.append(f"last reply: {_short_message(queued.response)}")
    text = ", ".join(parts) or "not delivered yet"
    if queued.attempts is not None and queued.attempts >= max_attempts:
        text += " (no attempts left: Compass will not retry)"
    return f"{text}: {hint_for(queued.status_code, queued.response, queued.route)}"


def _short_message(response: str) -> str:
    """The `message` of a JSON reply when there is one, else the text, kept short."""
    text = response.strip()
    parsed = _parse_payload(text)
    if parsed and isinstance(parsed.get("message"), str):
        text = parsed["message"]
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "…"


# ---------------------------------------------------------------- WebhookConfig


@dataclass(frozen=True)
class ConfigSummary:
    name: str
    url: str
    tracked_record: str
    webhook_type: str
    secret_set: bool
    fields: dict[str, Any]


def summarize_config(fields: Mapping[str, Any]) -> ConfigSummary:
    """Name, URL, tracked record, type and whether a secret is set (never its value)."""
    name = _pick(fields, "name", exclude=("record", "dbid"))
    url = _pick(fields, "url")
    tracked = _pick(fields, "tracked", "record type", "entity", exclude=("id",))
    kind = _pick(fields, "webhook type", "type", exclude=("record", "entity", "tracked"))
    secret = next((n for n in fields if is_secret_field(n)), None)
    return ConfigSummary(
        name=str(fields.get(name) or "") if name else "",
        url=str(fields.get(url) or "") if url else "",
        tracked_record=str(fields.get(tracked) or "") if tracked else "",
        webhook_type=str(fields.get(kind) or "") if kind else "",
        secret_set=bool(secret and str(fields.get(secret) or "").strip()),
        fields=redact(fields),
    )


OURS = "ours"
LOCAL_UNKNOWN_ROUTE = "local-unknown-route"
ELSEWHERE = "elsewhere"


def classify_config_url(url: str, routes: Iterable[str], local_hosts: Iterable[str],
                        port: int | None) -> str:
    """Does a config's URL point at one of our routes, at this machine but no route, or away?"""
    try:
        parts = urlsplit(url)
        url_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return ELSEWHERE
    host = (parts.hostname or "").lower()
    hosts = {h.lower() for h in local_hosts} | {"localhost", "127.0.0.1", "::1"}
    if host not in hosts or (port is not None and url_port != port):
        return ELSEWHERE
    path = "/" + parts.path.strip("/")
    served = {"/" + r.strip("/") for r in routes}
    return OURS if path in served else LOCAL_UNKNOWN_ROUTE
