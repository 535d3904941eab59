"""Property tests (issue 4, part 5) for the payload parser and the signature checker.

The parser must take any bytes and any JSON without raising and always say what it made of
them; the checker must accept what `sign` produces under every scheme it offers, and reject
a body changed in any single byte. Examples are bounded so this file runs in seconds.
"""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from compass_listener.core.delivery import Delivery
from compass_listener.core.payload import ParseStatus, parse_payload
from compass_listener.core.signature import Outcome, Scheme, sign, verify

# deadline=None: a CI machine busy with other tests must not fail on timing; database=None:
# nothing written into the working tree.
FAST = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) \
    | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30)


def check(parsed, body: bytes) -> None:
    """What every parse result promises, whatever the input."""
    assert isinstance(parsed.status, ParseStatus)
    assert (parsed.status is ParseStatus.OK) == (parsed.problem == "")
    for text in (parsed.record_type, parsed.record_id, parsed.state, parsed.headline,
                 parsed.owner, parsed.web_url, parsed.problem):
        assert isinstance(text, str)
    for field in parsed.fields:
        assert isinstance(field.name, str) and isinstance(field.value, str)
        assert isinstance(field.truncated, bool) and isinstance(field.url, str)


def delivery_of(body: bytes, parsed) -> Delivery:
    return Delivery(received_at=0.0, route="/r", peer="", method="POST", path="/r",
                    headers=[], body=body, body_sha256="", signature="unsigned",
                    signature_detail="", parse_status=parsed.status.value,
                    parse_problem=parsed.problem, record_type=parsed.record_type,
                    record_id=parsed.record_id, state=parsed.state,
                    headline=parsed.headline, owner=parsed.owner, reply_status=200,
                    reply_body="", accepted=True)


# ---- the payload parser ----------------------------------------------------------------------
@FAST
@given(st.binary(max_size=2000))
@example(b"")
@example(b"\xef\xbb\xbf{}")                       # a UTF-8 byte-order mark
@example(b"[" * 50_000)                          # deeper than the recursion limit
@example(b'{"content": {"a": ' * 3000 + b"1" + b"}" * 6001)
@example(b"\xff\xfe\x00")
def test_parser_takes_any_bytes(body):
    parsed = parse_payload(body, fallback_type="Defect")
    check(parsed, body)
    if parsed.status is not ParseStatus.OK:
        assert parsed.record_type == "Defect"
    # What the window does with the stored body never raises either.
    d = delivery_of(body, parsed)
    assert isinstance(d.pretty_body(), str) and isinstance(d.summary_line(), str)
    check(d.parsed(), body)


@FAST
@given(json_values)
def test_parser_takes_any_json(document):
    body = json.dumps(document).encode()
    parsed = parse_payload(body)
    check(parsed, body)
    is_record = isinstance(document, dict) and isinstance(document.get("content"), dict)
    assert parsed.status is (ParseStatus.OK if is_record else ParseStatus.BAD_SHAPE)
    if is_record:
        assert [f.name for f in parsed.fields] == [str(k) for k in document["content"]]
        assert sorted(parsed.extra_keys) == sorted(k for k in document
                                                   if k not in ("webUrl", "content"))


@settings(FAST, max_examples=100)
@given(st.dictionaries(st.text(max_size=20), json_values, max_size=8), st.booleans())
def test_parser_takes_any_record_content(content, ascii_only):
    body = json.dumps({"webUrl": "http://127.0.0.1/x", "content": content},
                      ensure_ascii=ascii_only).encode()
    parsed = parse_payload(body, fallback_type="Defect")
    check(parsed, body)
    assert parsed.status is ParseStatus.OK and len(parsed.fields) == len(content)
    raw_id = content.get("id")
    if isinstance(raw_id, dict) and isinstance(raw_id.get("value"), str) and raw_id["value"]:
        assert parsed.record_id == raw_id["value"]


# ---- the signature checker -------------------------------------------------------------------
secrets = st.text(min_size=1, max_size=40)
header_names = st.from_regex(r"\AX-[A-Za-z][A-Za-z0-9-]{0,20}\Z")
SCHEMES = [(algorithm, encoding, upper, prefix, fixed)
           for algorithm in ("sha1", "sha256")
           for encoding, upper in (("hex", False), ("hex", True), ("base64", False))
           for prefix in (False, True)
           for fixed in (False, True)]


def signature_value(body: bytes, secret: str, algorithm: str, encoding: str, upper: bool,
                    prefix: bool) -> str:
    value = sign(body, secret, algorithm, encoding)
    if upper:
        value = value.upper()
    return f"{algorithm}={value}" if prefix else value


def scheme_for(algorithm: str, encoding: str, fixed: bool, header: str) -> Scheme:
    return Scheme(algorithm=algorithm, header=header if fixed else "",
                  encoding=encoding if fixed else "auto")


def test_every_supported_scheme_is_covered():
    assert len(SCHEMES) == 2 * 3 * 2 * 2 == 24


@FAST
@given(st.binary(max_size=3000), secrets, header_names, st.sampled_from(SCHEMES))
def test_sign_then_verify_is_valid_for_every_scheme(body, secret, header, scheme):
    algorithm, encoding, upper, prefix, fixed = scheme
    value = signature_value(body, secret, algorithm, encoding, upper, prefix)
    headers = [("Host", "127.0.0.1"), ("Content-Type", "application/json"), (header, value)]
    verdict = verify(body, headers, secret, scheme_for(algorithm, encoding, fixed, header))
    assert verdict.outcome is Outcome.VALID, verdict.detail
    assert verdict.header == header and verdict.encoding == encoding
    assert verdict.learned is (not fixed)


@FAST
@given(st.binary(min_size=1, max_size=3000), secrets, header_names, st.sampled_from(SCHEMES),
       st.data())
def test_any_single_byte_change_of_the_body_is_invalid(body, secret, header, scheme, data):
    algorithm, encoding, upper, prefix, fixed = scheme
    value = signature_value(body, secret, algorithm, encoding, upper, prefix)
    position = data.draw(st.integers(0, len(body) - 1), label="position")
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != body[position]),
                            label="byte")
    changed = body[:position] + bytes([replacement]) + body[position + 1:]
    verdict = verify(changed, [(header, value)], secret,
                     scheme_for(algorithm, encoding, fixed, header))
    assert verdict.outcome is Outcome.INVALID, verdict.detail
    assert "mismatch" in verdict.detail


@FAST
@given(st.binary(max_size=500), secrets, st.sampled_from(SCHEMES), st.data())
def test_any_single_character_change_of_the_signature_is_invalid(body, secret, scheme, data):
    algorithm, encoding, upper, prefix, fixed = scheme
    value = signature_value(body, secret, algorithm, encoding, upper, prefix)
    start = len(algorithm) + 1 if prefix else 0
    position = data.draw(st.integers(start, len(value) - 1), label="position")
    alphabet = "0123456789abcdefABCDEF" if encoding == "hex" else \
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    new = data.draw(st.sampled_from(alphabet), label="character")
    assume(new.lower() != value[position].lower() if encoding == "hex" else
           new != value[position])
    changed = value[:position] + new + value[position + 1:]
    if encoding == "base64":
        # The last character of base64 carries spare bits: a change there may decode to
        # the same digest, which is the same signature and not a forgery.
        digest = base64.b64decode(value[start:])
        assume(base64.b64decode(changed[start:] + "=" * (-len(changed[start:]) % 4)) != digest)
    verdict = verify(body, [("X-Sig", changed)], secret,
                     scheme_for(algorithm, encoding, fixed, "X-Sig"))
    assert verdict.outcome is Outcome.INVALID, verdict.detail


@FAST
@given(st.binary(max_size=500), st.lists(st.tuples(st.text(max_size=20), st.text(max_size=80)),
                                         max_size=8),
       st.one_of(st.none(), secrets), st.sampled_from(SCHEMES))
def test_verify_takes_any_header_set(body, headers, secret, scheme):
    algorithm, encoding, _, _, fixed = scheme
    verdict = verify(body, headers, secret, scheme_for(algorithm, encoding, fixed, "X-Sig"))
    assert isinstance(verdict.outcome, Outcome) and verdict.detail
    if not secret:
        assert verdict.outcome is Outcome.UNSIGNED
