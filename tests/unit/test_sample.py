"""core.sample: deliveries shaped like the ones Compass's REST server sends."""

import json
import re

import pytest

from compass_listener.core.payload import ParseStatus, parse_payload
from compass_listener.core.sample import TRUNCATED_SIZE, sample_body, sample_payload

URL = "http://127.0.0.1:8080/compassdefect"
SYSTEM_FIELDS = {"id", "dbid", "State", "record_type", "Submitter", "Submit_Date", "history",
                 "ratl_mastership", "lock_version", "is_duplicate"}
SCHEMA_FIELDS = {"Headline", "Owner", "Priority", "Severity", "Description", "Notes_Log",
                 "Project"}


@pytest.mark.parametrize("index", range(1, 30))
def test_shape(index):
    document = sample_payload(URL, index=index, seed=7)
    assert set(document) == {"webUrl", "content"} and document["webUrl"] == URL
    content = document["content"]
    assert 35 <= len(content) <= 50
    assert SYSTEM_FIELDS | SCHEMA_FIELDS <= set(content)
    for name, field in content.items():
        assert field["truncated"] in ("true", "false"), name
        assert isinstance(field["value"], str), name
    truncated = [name for name, field in content.items() if field["truncated"] == "true"]
    assert len(truncated) == 1
    field = content[truncated[0]]
    record_id = content["id"]["value"]
    assert field["url"] == ("https://localhost:8190/ccmweb/rest/repos/5.0.0/databases/SAMPL/"
                            f"records/Defect/{record_id}/fields/{truncated[0]}")
    assert all("url" not in f for n, f in content.items() if n != truncated[0])
    assert re.fullmatch(r"SAMPL\d{8}", record_id)
    assert 3_000 <= len(sample_body(URL, index=index, seed=7)) <= 8_000


def test_the_truncated_original_was_long_enough(monkeypatch):
    from compass_listener.core import sample
    monkeypatch.setattr(sample, "TRUNCATED_SHOWN", 10**9)   # send the whole original
    content = sample.sample_payload(URL, seed=3)["content"]
    long = [f for f in content.values() if f["truncated"] == "true"][0]
    assert len(long["value"]) >= TRUNCATED_SIZE


def test_record_type_and_state_are_configurable():
    document = sample_payload(URL, record_type="Task", state="Resolved", seed=1)
    content = document["content"]
    assert content["record_type"]["value"] == "Task" and content["State"]["value"] == "Resolved"
    url = [f["url"] for f in content.values() if "url" in f][0]
    assert "/records/Task/" in url
    assert "Resolve" in content["history"]["value"]
    parsed = parse_payload(sample_body(URL, record_type="Task", state="Resolved", seed=1))
    assert parsed.status is ParseStatus.OK
    assert (parsed.record_type, parsed.state) == ("Task", "Resolved")


def test_seeded_bodies_repeat_and_vary_by_index():
    assert sample_body(URL, seed=5, index=2) == sample_body(URL, seed=5, index=2)
    bodies = {sample_body(URL, seed=5, index=i) for i in range(1, 101)}
    assert len(bodies) == 100
    ids = {json.loads(b)["content"]["id"]["value"] for b in bodies}
    headlines = {json.loads(b)["content"]["Headline"]["value"] for b in bodies}
    assert len(ids) >= 99 and len(headlines) >= 50


def test_unseeded_bodies_differ():
    assert sample_body(URL) != sample_body(URL)


def test_parses_to_a_summary():
    parsed = parse_payload(sample_body(URL, seed=11))
    assert parsed.status is ParseStatus.OK and parsed.extra_keys == []
    assert parsed.record_type == "Defect" and parsed.record_id.startswith("SAMPL")
    assert parsed.headline and parsed.owner and parsed.state == "Submitted"
    assert sum(f.truncated for f in parsed.fields) == 1
