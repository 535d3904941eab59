"""Parsing a Compass delivery body into a record summary and its fields.

The documented shape is `{"webUrl": ..., "content": {FieldName: {"truncated": "false",
"value": "...", "url": ...}}}` (compass-protocol.md §2), but nothing about it is promised:
values may be numbers or null, `truncated` a boolean, fields missing, extra keys present.
Whatever arrives is parsed as far as it goes and never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum


class ParseStatus(str, Enum):
    OK = "ok"
    NOT_JSON = "not_json"        # not UTF-8 JSON at all
    BAD_SHAPE = "bad_shape"      # JSON, but not an object with a `content` object


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    truncated: bool = False
    url: str = ""


@dataclass
class ParsedPayload:
    status: ParseStatus
    problem: str = ""                      # why it is not OK, one sentence
    record_type: str = ""
    record_id: str = ""
    state: str = ""
    headline: str = ""
    owner: str = ""
    web_url: str = ""
    fields: list[Field] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)   # unknown top-level keys, kept


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Text that can be stored and shown: JSON's \\ud800-style escapes can produce lone
    surrogates, which SQLite and Qt cannot encode; they become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def as_text(value: object) -> str:
    """A field value as Compass would show it: strings as they are, others as JSON."""
    if isinstance(value, str):
        return clean(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    try:
        return clean(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _truthy(flag: object) -> bool:
    if isinstance(flag, str):
        return flag.strip().lower() in ("true", "1", "yes")
    return bool(flag) if isinstance(flag, (bool, int)) else False


def _field(name: str, raw: object) -> Field:
    name = clean(name)
    if isinstance(raw, dict):
        url = raw.get("url")
        return Field(name=name, value=as_text(raw.get("value")),
                     truncated=_truthy(raw.get("truncated")),
                     url=clean(url) if isinstance(url, str) else "")
    return Field(name=name, value=as_text(raw))


def decode_json(body: bytes) -> tuple[object, str]:
    """(document, problem): problem is "" when body is UTF-8 JSON."""
    if not body.strip():
        return None, "the body is empty"
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"the body is not UTF-8 (byte {exc.start})"
    try:
        return json.loads(text), ""
    except RecursionError:
        return None, "the body is JSON nested too deeply to read"
    except ValueError as exc:
        return None, f"the body is not valid JSON ({exc})"


def _value(raw: object) -> str:
    """What _field(name, raw).value is, without building the Field."""
    return as_text(raw.get("value")) if isinstance(raw, dict) else as_text(raw)


def parse_payload(body: bytes, fallback_type: str = "", with_fields: bool = True) -> ParsedPayload:
    """Parse one delivery body; `fallback_type` (the route's label) names the record type
    when the record itself does not say. with_fields=False leaves `fields` empty: the
    listener needs only the summary, and building ~40 Field objects per delivery was a
    tenth of the GUI loop's time in a burst (the detail pane parses the stored body again)."""
    document, problem = decode_json(body)
    if problem:
        return ParsedPayload(ParseStatus.NOT_JSON, problem=problem, record_type=fallback_type)
    if not isinstance(document, dict):
        return ParsedPayload(ParseStatus.BAD_SHAPE, record_type=fallback_type,
                             problem=f"the body is a JSON {type(document).__name__}, "
                                     f"not an object with a 'content' object")
    web_url = document.get("webUrl")
    extra = [clean(k) for k in document if k not in ("webUrl", "content")]
    content = document.get("content")
    if not isinstance(content, dict):
        what = "missing" if content is None else f"a {type(content).__name__}"
        return ParsedPayload(ParseStatus.BAD_SHAPE, record_type=fallback_type,
                             web_url=clean(web_url) if isinstance(web_url, str) else "",
                             extra_keys=extra,
                             problem=f"'content' is {what}, not an object of record fields")
    if with_fields:
        fields = [_field(str(name), raw) for name, raw in content.items()]
        by_name = {f.name: f.value for f in fields}
        lower = {f.name.lower(): f.value for f in fields}

        def pick(*names: str) -> str:
            for name in names:
                value = by_name.get(name) or lower.get(name.lower())
                if value:
                    return value
            return ""
    else:
        fields = []
        raw_lower: dict[str, object] = {}
        for name, raw in content.items():
            raw_lower[str(name).lower()] = raw

        def pick(*names: str) -> str:
            for name in names:
                value = (_value(content[name]) if name in content else "") \
                    or (_value(raw_lower[name.lower()]) if name.lower() in raw_lower else "")
                if value:
                    return value
            return ""

    return ParsedPayload(
        ParseStatus.OK,
        record_type=pick("record_type") or fallback_type,
        record_id=pick("id", "dbid"),
        state=pick("State"),
        headline=pick("Headline"),
        owner=pick("Owner"),
        web_url=clean(web_url) if isinstance(web_url, str) else "",
        fields=fields,
        extra_keys=extra,
    )
