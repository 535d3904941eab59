"""core.payload: the documented shape parses; anything else is tolerated, never raises."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from compass_listener.core.payload import ParseStatus, as_text, parse_payload

DOCUMENTED = {
    "webUrl": "http://127.0.0.1:5000/compassdefect",
    "content": {
        "Headline": {"truncated": "false", "value": "Example Defect"},
        "Owner": {"truncated": "false", "value": "lead"},
        "State": {"truncated": "false", "value": "Submitted"},
        "is_duplicate": {"truncated": "false", "value": "0"},
        "id": {"truncated": "false", "value": "SAMPL00000084"},
        "dbid": {"truncated": "false", "value": "33554516"},
        "record_type": {"truncated": "false", "value": "Defect"},
        "Description": {"truncated": "true", "value": "first part",
                        "url": "https://localhost:8190/ccmweb/rest/repos/5.0.0/databases/SAMPL/"
                               "records/Defect/SAMPL00000084/fields/Description"},
    },
}


def _body(document) -> bytes:
    return json.dumps(document).encode()


def test_documented_shape():
    parsed = parse_payload(_body(DOCUMENTED), fallback_type="Route")
    assert parsed.status is ParseStatus.OK and parsed.problem == ""
    assert (parsed.record_type, parsed.record_id, parsed.state, parsed.headline, parsed.owner) \
        == ("Defect", "SAMPL00000084", "Submitted", "Example Defect", "lead")
    assert parsed.web_url == "http://127.0.0.1:5000/compassdefect"
    assert [f.name for f in parsed.fields] == list(DOCUMENTED["content"])
    description = next(f for f in parsed.fields if f.name == "Description")
    assert description.truncated and description.url.endswith("/fields/Description")
    assert all(not f.truncated and f.url == "" for f in parsed.fields if f is not description)
    assert parsed.extra_keys == []


@pytest.mark.parametrize("flag,expected", [
    ("true", True), ("True", True), ("TRUE", True), (True, True), (1, True),
    ("false", False), ("False", False), (False, False), (0, False), (None, False),
    ("", False), ("nonsense", False), ([], False),
])
def test_truncated_as_bool_or_string(flag, expected):
    document = {"content": {"Notes_Log": {"truncated": flag, "value": "x"}}}
    field = parse_payload(_body(document)).fields[0]
    assert field.truncated is expected


def test_missing_identity_fields_fall_back():
    document = {"content": {"dbid": {"truncated": "false", "value": "33554516"}}}
    parsed = parse_payload(_body(document), fallback_type="Task")
    assert parsed.status is ParseStatus.OK
    assert parsed.record_id == "33554516"          # id missing: dbid
    assert parsed.record_type == "Task"            # record_type missing: the route's label
    assert parsed.state == parsed.headline == parsed.owner == ""


def test_empty_content_is_ok_with_no_fields():
    parsed = parse_payload(b'{"content": {}}', fallback_type="Defect")
    assert parsed.status is ParseStatus.OK and parsed.fields == []
    assert parsed.record_type == "Defect" and parsed.web_url == ""


def test_extra_top_level_keys_are_kept():
    document = dict(DOCUMENTED, action="Submit", schemaRev=7)
    parsed = parse_payload(_body(document))
    assert parsed.status is ParseStatus.OK
    assert parsed.extra_keys == ["action", "schemaRev"]


@pytest.mark.parametrize("body,fragment", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"not json at all", "not valid JSON"),
    (b'{"content": {"a": 1}', "not valid JSON"),     # the kind of typo HCL's sample has
    (b"\xff\xfe{}", "not UTF-8"),
])
def test_not_json(body, fragment):
    parsed = parse_payload(body, fallback_type="Defect")
    assert parsed.status is ParseStatus.NOT_JSON
    assert fragment in parsed.problem
    assert parsed.record_type == "Defect"


def test_bom_is_tolerated():
    parsed = parse_payload("\ufeff".encode() + _body(DOCUMENTED))
    assert parsed.status is ParseStatus.OK and parsed.record_id == "SAMPL00000084"


@pytest.mark.parametrize("document,fragment", [
    ([1, 2], "list"), ("text", "str"), (42, "int"), (None, "NoneType"),
])
def test_not_an_object(document, fragment):
    parsed = parse_payload(_body(document))
    assert parsed.status is ParseStatus.BAD_SHAPE
    assert fragment in parsed.problem


@pytest.mark.parametrize("content,fragment", [
    (None, "missing"), ([], "list"), ("x", "str"), (3, "int"),
])
def test_content_not_an_object(content, fragment):
    document = {"webUrl": "http://h/p", "other": 1}
    if content is not None:
        document["content"] = content
    parsed = parse_payload(_body(document), fallback_type="Defect")
    assert parsed.status is ParseStatus.BAD_SHAPE
    assert fragment in parsed.problem
    assert parsed.web_url == "http://h/p" and parsed.extra_keys == ["other"]


def test_numbers_null_nested_and_bare_values():
    document = {"content": {
        "id": {"truncated": "false", "value": 84},
        "lock_version": {"value": 1.5},
        "Owner": {"truncated": "false", "value": None},
        "is_duplicate": {"value": False},
        "Attachments": {"value": [{"name": "log.txt"}]},
        "Headline": "bare string",
        "Priority": 3,
        "Nothing": None,
        "Odd": {"truncated": "true", "value": "x", "url": 17},
    }}
    parsed = parse_payload(_body(document))
    values = {f.name: f.value for f in parsed.fields}
    assert values["id"] == "84" and parsed.record_id == "84"
    assert values["lock_version"] == "1.5"
    assert values["Owner"] == "" and parsed.owner == ""
    assert values["is_duplicate"] == "False"
    assert json.loads(values["Attachments"]) == [{"name": "log.txt"}]
    assert values["Headline"] == "bare string" and parsed.headline == "bare string"
    assert values["Priority"] == "3" and values["Nothing"] == ""
    odd = next(f for f in parsed.fields if f.name == "Odd")
    assert odd.truncated and odd.url == ""          # a non-string url is dropped, not kept


def test_field_names_are_matched_case_insensitively_for_the_summary():
    document = {"content": {"ID": {"value": "SAMPL1"}, "state": {"value": "Opened"},
                            "headline": {"value": "h"}}}
    parsed = parse_payload(_body(document))
    assert (parsed.record_id, parsed.state, parsed.headline) == ("SAMPL1", "Opened", "h")


def test_webUrl_not_a_string_is_ignored():
    parsed = parse_payload(_body({"webUrl": 5, "content": {}}))
    assert parsed.status is ParseStatus.OK and parsed.web_url == ""


def test_deeply_nested_json_does_not_raise():
    body = b"[" * 100_000 + b"]" * 100_000
    parsed = parse_payload(body)
    assert parsed.status in (ParseStatus.NOT_JSON, ParseStatus.BAD_SHAPE)


def test_as_text():
    assert as_text("x") == "x" and as_text(None) == "" and as_text(True) == "True"
    assert as_text({"a": "é"}) == '{"a": "é"}'


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_property_any_bytes_parse_without_raising(body):
    parsed = parse_payload(body, fallback_type="Defect")
    assert parsed.status in set(ParseStatus)
    assert parsed.status is ParseStatus.OK or parsed.problem


def test_lone_surrogate_escapes_become_replacement_characters_everywhere():
    # Valid JSON ("\ud800" is a legal escape) whose text SQLite and Qt cannot encode.
    body = (b'{"webUrl": "http://x/\\udc00", "\\ud801extra": 1, "content": {'
            b'"id": {"truncated": "false", "value": "SAMPL\\ud800"},'
            b'"Headline": {"truncated": "false", "value": "a\\ud800b"},'
            b'"\\udbffName": {"truncated": "true", "value": "v", "url": "http://x/\\ud800"}}}')
    parsed = parse_payload(body)
    assert parsed.record_id == "SAMPL\ufffd" and parsed.headline == "a\ufffdb"
    texts = [parsed.record_id, parsed.headline, parsed.web_url, *parsed.extra_keys]
    texts += [t for f in parsed.fields for t in (f.name, f.value, f.url)]
    for text in texts:
        text.encode("utf-8")           # raises on a lone surrogate
    summary = parse_payload(body, with_fields=False)
    assert summary.headline == "a\ufffdb"
