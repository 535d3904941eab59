"""parse_payload(with_fields=False), the listener's fast path, says the same as the full
parse about everything but the field list."""

import json

from hypothesis import given, settings, strategies as st

from compass_listener.core.payload import parse_payload
from compass_listener.core.sample import sample_body

NAMES = st.sampled_from(["id", "ID", "dbid", "State", "state", "STATE", "Headline",
                         "headline", "Owner", "record_type", "Record_Type", "Other"])
VALUES = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none(),
                   st.lists(st.integers(), max_size=2))
RAW = st.one_of(VALUES, st.fixed_dictionaries({"value": VALUES}),
                st.fixed_dictionaries({"truncated": st.just("true")}))


def _summary(p):
    return (p.status, p.problem, p.record_type, p.record_id, p.state, p.headline, p.owner,
            p.web_url, p.extra_keys)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NAMES, RAW, max_size=8), st.text(max_size=4))
def test_summary_path_agrees_with_the_full_parse(content, fallback):
    body = json.dumps({"webUrl": "u", "content": content, "x": 1}).encode()
    full, fast = parse_payload(body, fallback), parse_payload(body, fallback, with_fields=False)
    assert _summary(fast) == _summary(full) and fast.fields == []


def test_summary_path_on_real_payloads_and_bad_bodies():
    for body in [sample_body("http://h/p", index=i, seed=i) for i in range(20)] + [
            b"", b"[]", b"not json", b'{"content": 3}', b"\xff\xfe"]:
        assert _summary(parse_payload(body, "Defect", with_fields=False)) == \
            _summary(parse_payload(body, "Defect"))
