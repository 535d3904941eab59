"""Pure WebhookData/WebhookConfig logic: discovery, ordering, redaction, explanations, urls."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from compass_listener.core import compass_urls, webhookdata as wd


def test_secret_like_fields_are_redacted_but_empty_ones_stay_empty():
    row = {"Secret": "abc", "Webhook_Password": "pw", "API token": "t", "Name": "x", "secret2": ""}
    out = wd.redact(row)
    assert out == {"Secret": wd.REDACTED, "Webhook_Password": wd.REDACTED,
                   "API token": wd.REDACTED, "Name": "x", "secret2": ""}
    assert row["Secret"] == "abc"  # the input is not modified


@given(st.text(min_size=1, max_size=20), st.text(max_size=20), st.text(min_size=1, max_size=30))
def test_no_secret_value_survives_redaction(prefix, suffix, value):
    name = prefix + "SeCrEt" + suffix
    assert wd.redact({name: value})[name] == wd.REDACTED


def test_field_order_status_response_retry_first_system_last():
    names = ["dbid", "Payload", "RetryCount", "record_type", "URL", "ResponseMessage",
             "ResponseCode", "Headline"]
    assert wd.order_fields(names) == ["ResponseCode", "ResponseMessage", "RetryCount",
                                      "Payload", "URL", "Headline", "dbid", "record_type"]


def test_discover_fields_unions_records():
    assert set(wd.discover_fields([{"a": 1}, {"b": 2, "Status": 3}])) == {"a", "b", "Status"}
    assert wd.discover_fields([{"a": 1}, {"b": 2, "Status": 3}])[0] == "Status"


def test_fields_from_record_json():
    record = {"dbId": "1", "fields": [{"name": "A", "value": None}, {"name": "B", "value": 3},
                                      {"value": "no name"}, {"name": "C", "value": ["x"]}]}
    assert wd.fields_from_record_json(record) == {"A": "", "B": "3", "C": '["x"]'}


def test_explain_failed_delivery_with_route():
    row = {"ResponseCode": "401", "ResponseMessage": '{"message": "signature mismatch"}',
           "RetryCount": "3", "URL": "http://127.0.0.1:8080/compassdefect", "Secret": "x"}
    queued = wd.interpret_queued(row)
    assert queued.route == "/compassdefect"
    assert wd.explain(queued) == ("attempt 3 of 10, last reply 401 signature mismatch: "
                                  "check the secret of route /compassdefect")
    assert queued.fields["Secret"] == wd.REDACTED


def test_explain_other_names_and_payload_fallbacks():
    payload = {"webUrl": "http://h:1/hooks/a", "content": {"id": {"truncated": "false",
                                                                  "value": "SAMPL00000001"}}}
    row = {"Status": "404", "Last Response": "Not Found", "Attempts": "10",
           "Payload": json.dumps(payload)}
    queued = wd.interpret_queued(row)
    assert queued.status_code == 404 and queued.attempts == 10
    assert queued.record_id == "SAMPL00000001" and queued.route == "/hooks/a"
    text = wd.explain(queued)
    assert text.startswith("attempt 10 of 10, last reply 404 Not Found (no attempts left")
    assert "serves no route /hooks/a" in text


def test_explain_nothing_when_not_tried_yet():
    assert wd.explain(wd.interpret_queued({"ResponseCode": "", "RetryCount": "0"})) is None


def test_explain_500():
    text = wd.explain(wd.interpret_queued({"ResponseCode": "500", "RetryCount": "1"}))
    assert text == "attempt 1 of 10, last reply 500: the listener failed to store the delivery: see its log"


def test_summarize_config_never_shows_secret():
    summary = wd.summarize_config({"Name": "n", "URL": "http://x/y", "Secret": "zzz",
                                   "TrackedRecord": "Defect", "WebhookType": "Commit"})
    assert (summary.name, summary.url, summary.tracked_record, summary.webhook_type,
            summary.secret_set) == ("n", "http://x/y", "Defect", "Commit", True)
    assert "zzz" not in repr(summary)
    assert not wd.summarize_config({"Name": "n", "Secret": " "}).secret_set


@pytest.mark.parametrize("url,expected", [
    ("http://127.0.0.1:8080/compassdefect", wd.OURS),
    ("http://localhost:8080/compassdefect/", wd.OURS),
    ("http://myhost:8080/other", wd.LOCAL_UNKNOWN_ROUTE),
    ("http://127.0.0.1:9999/compassdefect", wd.ELSEWHERE),
    ("https://ci.example.com/hooks", wd.ELSEWHERE),
    ("not a url", wd.ELSEWHERE),
])
def test_classify_config_url(url, expected):
    assert wd.classify_config_url(url, ["/compassdefect"], ["myhost"], 8080) == expected


@pytest.mark.parametrize("text,expected", [
    ("compass", "https://compass:8190/ccmweb/rest"),
    ("compass:9443", "https://compass:9443/ccmweb/rest"),
    ("https://compass.example.com/", "https://compass.example.com:8190/ccmweb/rest"),
    ("http://10.0.0.1:8080/ccmweb/rest/", "http://10.0.0.1:8080/ccmweb/rest"),
])
def test_normalize_server(text, expected):
    assert compass_urls.normalize_server(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "ftp://x", "host:notaport"])
def test_normalize_server_rejects(text):
    with pytest.raises(compass_urls.ServerAddressError):
        compass_urls.normalize_server(text)


def test_resolve_field_url():
    base = "https://compass.corp:8190/ccmweb/rest"
    url = "https://localhost:8190/ccmweb/rest/repos/R/databases/D/records/Defect/X/fields/F"
    address = compass_urls.resolve_field_url(url, base)
    assert address.url == "https://compass.corp:8190/ccmweb/rest/repos/R/databases/D/records/Defect/X/fields/F"
    assert address.redirected_from == url and "localhost:8190" in address.note
    same = url.replace("localhost", "compass.corp")
    assert compass_urls.resolve_field_url(same, base).redirected_from is None
    with pytest.raises(compass_urls.ServerAddressError):
        compass_urls.resolve_field_url(url.replace("localhost", "other.corp"), base)


def test_explain_lost_reply():
    text = wd.explain(wd.interpret_queued({"ResponseCode": "", "ResponseMessage": "Read timed out",
                                           "RetryCount": "1"}))
    assert text.startswith("attempt 1 of 10, last reply: Read timed out: no reply reached Compass")
