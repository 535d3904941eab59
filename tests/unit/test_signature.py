"""core.signature: every accepted form verifies, anything else does not, and the four
outcomes (valid, invalid, missing, unsigned) are told apart."""

import base64
import hashlib
import hmac
import itertools

import pytest
from hypothesis import given, settings, strategies as st

from compass_listener.core.signature import AUTO, Outcome, Scheme, sign, verify

BODY = b'{"webUrl": "http://127.0.0.1:8080/compassdefect", "content": {}}'
SECRET = "s3cr\u00e9t"      # non-ASCII: the key is the UTF-8 encoding of the secret


def _value(body, secret, algorithm, encoding, prefix, upper):
    value = sign(body, secret, algorithm=algorithm, encoding=encoding, prefix=prefix)
    if upper:
        head, sep, digest = value.rpartition("=") if prefix else ("", "", value)
        value = f"{head.upper()}{sep}{digest.upper()}"
    return value


def test_sign_matches_a_known_hmac_sha1_vector():
    # RFC 2104-style vector, computed independently of the code under test.
    body = b"The quick brown fox jumps over the lazy dog"
    assert sign(body, "key") == "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
    assert sign(body, "key", prefix=True) == "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
    expected256 = hmac.new(b"key", body, hashlib.sha256).digest()
    assert sign(body, "key", "sha256", "base64") == base64.b64encode(expected256).decode()


COMBINATIONS = [
    (algorithm, encoding, prefix, upper)
    for algorithm, encoding, prefix, upper in itertools.product(
        ("sha1", "sha256"), ("hex", "base64"), (False, True), (False, True))
    if not (encoding == "base64" and upper)      # base64 is case-sensitive by nature
]


@pytest.mark.parametrize("algorithm,encoding,prefix,upper", COMBINATIONS)
@pytest.mark.parametrize("fixed", [False, True], ids=["auto-header", "fixed-header"])
def test_every_accepted_form_is_valid(algorithm, encoding, prefix, upper, fixed):
    value = _value(BODY, SECRET, algorithm, encoding, prefix, upper)
    scheme = Scheme(algorithm=algorithm, header="X-Compass-Signature" if fixed else AUTO)
    # Header names are case-insensitive on the wire.
    verdict = verify(BODY, [("Host", "x"), ("x-compass-signature", value)], SECRET, scheme)
    assert verdict.outcome is Outcome.VALID, verdict.detail
    assert verdict.encoding == encoding
    assert verdict.learned is (not fixed)


@pytest.mark.parametrize("algorithm,encoding,prefix,upper", COMBINATIONS)
def test_one_byte_changed_in_the_body_is_invalid(algorithm, encoding, prefix, upper):
    value = _value(BODY, SECRET, algorithm, encoding, prefix, upper)
    tampered = BODY.replace(b"8080", b"8081")
    verdict = verify(tampered, {"X-Compass-Signature": value}, SECRET,
                     Scheme(algorithm=algorithm))
    assert verdict.outcome is Outcome.INVALID
    assert "mismatch" in verdict.detail


def test_one_character_changed_in_the_signature_is_invalid():
    value = sign(BODY, SECRET)
    flipped = value[:-1] + ("0" if value[-1] != "0" else "1")
    verdict = verify(BODY, {"X-Compass-Signature": flipped}, SECRET, Scheme())
    assert verdict.outcome is Outcome.INVALID


def test_another_secret_is_invalid():
    verdict = verify(BODY, {"X-Compass-Signature": sign(BODY, "other")}, SECRET, Scheme())
    assert verdict.outcome is Outcome.INVALID
    assert verdict.header == "X-Compass-Signature"


def test_base64_without_padding_and_urlsafe_alphabet_are_accepted():
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    unpadded = base64.b64encode(digest).decode().rstrip("=")
    urlsafe = base64.urlsafe_b64encode(digest).decode()
    for value in (unpadded, urlsafe):
        verdict = verify(BODY, {"X-Sig": value}, SECRET, Scheme(algorithm="sha256"))
        assert verdict.outcome is Outcome.VALID, value


def test_prefix_of_the_other_algorithm_is_not_accepted():
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    verdict = verify(BODY, {"X-Sig": f"sha256={digest}"}, SECRET, Scheme(algorithm="sha1"))
    assert verdict.outcome is not Outcome.VALID


def test_sha256_signature_on_a_sha1_route_is_invalid():
    value = sign(BODY, SECRET, algorithm="sha256")
    verdict = verify(BODY, {"X-Compass-Signature": value}, SECRET, Scheme(algorithm="sha1"))
    assert verdict.outcome is Outcome.INVALID


def test_no_secret_is_unsigned_whatever_the_headers():
    for secret in (None, ""):
        verdict = verify(BODY, {"X-Compass-Signature": "garbage"}, secret, Scheme())
        assert verdict.outcome is Outcome.UNSIGNED


def test_no_signature_header_is_missing_not_invalid():
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json",
               "User-Agent": "Java/17", "Content-Length": str(len(BODY))}
    verdict = verify(BODY, headers, SECRET, Scheme(), route_path="/compassdefect")
    assert verdict.outcome is Outcome.MISSING
    assert "/compassdefect" in verdict.detail
    assert "route of route" not in verdict.detail


def test_signature_named_header_with_garbage_is_invalid_not_missing():
    verdict = verify(BODY, {"X-Compass-Signature": "not-a-digest"}, SECRET, Scheme())
    assert verdict.outcome is Outcome.INVALID
    assert "X-Compass-Signature" in verdict.detail


def test_digest_shaped_value_in_an_unnamed_header_is_invalid():
    verdict = verify(BODY, {"X-Request-Id": sign(BODY, "other")}, SECRET, Scheme())
    assert verdict.outcome is Outcome.INVALID


def test_authorization_header_is_never_taken_as_a_signature():
    value = sign(BODY, SECRET)
    verdict = verify(BODY, {"Authorization": value}, SECRET, Scheme())
    assert verdict.outcome is Outcome.MISSING


def test_fixed_header_absent_or_empty_is_missing():
    scheme = Scheme(header="X-Compass-Signature", encoding="hex")
    # The right HMAC in another header does not count: the header is fixed.
    other = {"X-Other-Signature": sign(BODY, SECRET)}
    assert verify(BODY, other, SECRET, scheme).outcome is Outcome.MISSING
    empty = {"X-Compass-Signature": "  "}
    verdict = verify(BODY, empty, SECRET, scheme, route_path="/compassdefect")
    assert verdict.outcome is Outcome.MISSING
    assert "the X-Compass-Signature header is empty" in verdict.detail


def test_fixed_encoding_rejects_the_other_encoding():
    b64 = sign(BODY, SECRET, encoding="base64")
    scheme = Scheme(header="X-Compass-Signature", encoding="hex")
    assert verify(BODY, {"X-Compass-Signature": b64}, SECRET, scheme).outcome is Outcome.INVALID
    scheme = Scheme(header="X-Compass-Signature", encoding="base64")
    assert verify(BODY, {"X-Compass-Signature": b64}, SECRET, scheme).outcome is Outcome.VALID


def test_auto_detect_reports_which_header_and_encoding_matched():
    headers = [("Content-Type", "application/json"), ("X-Trace", "abc"),
               ("X-Hub-Signature", sign(BODY, SECRET, encoding="base64", prefix=True))]
    verdict = verify(BODY, headers, SECRET, Scheme())
    assert (verdict.outcome, verdict.header, verdict.encoding) == (
        Outcome.VALID, "X-Hub-Signature", "base64")
    assert verdict.learned


def test_learned_header_is_the_only_one_looked_at():
    scheme = Scheme(learned_header="X-Hub-Signature", learned_encoding="hex")
    good = sign(BODY, SECRET)
    verdict = verify(BODY, {"X-Hub-Signature": good}, SECRET, scheme)
    assert verdict.outcome is Outcome.VALID and not verdict.learned
    moved = verify(BODY, {"X-Compass-Signature": good}, SECRET, scheme)
    assert moved.outcome is Outcome.MISSING
    wrong = verify(BODY, {"X-Hub-Signature": sign(BODY, "other")}, SECRET, scheme)
    assert wrong.outcome is Outcome.INVALID


def test_forget_and_describe():
    learned = Scheme(learned_header="X-Hub-Signature", learned_encoding="hex")
    assert "learned" in learned.describe() and "X-Hub-Signature" in learned.describe()
    assert learned.forget() == Scheme()
    assert "auto-detected" in Scheme().describe()
    assert "X-Sig" in Scheme(header="X-Sig", encoding="hex").describe()
    assert "HMAC-SHA256" in Scheme(algorithm="sha256").describe()


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=40),
       algorithm=st.sampled_from(["sha1", "sha256"]),
       encoding=st.sampled_from(["hex", "base64"]), position=st.integers(min_value=0))
def test_property_signed_bodies_verify_and_altered_ones_do_not(body, secret, algorithm,
                                                               encoding, position):
    value = sign(body, secret, algorithm, encoding)
    scheme = Scheme(algorithm=algorithm)
    assert verify(body, {"X-Compass-Signature": value}, secret, scheme).outcome is Outcome.VALID
    altered = bytearray(body or b"\x00")
    index = position % len(altered)
    altered[index] ^= 0x01
    outcome = verify(bytes(altered), {"X-Compass-Signature": value}, secret, scheme).outcome
    assert outcome is Outcome.INVALID


def test_an_empty_fixed_header_is_called_empty_not_absent():
    scheme = Scheme(header="X-Compass-Signature")
    empty = verify(b"{}", [("X-Compass-Signature", "  ")], "s", scheme, "/compassdefect")
    absent = verify(b"{}", [], "s", scheme, "/compassdefect")
    assert empty.outcome is absent.outcome is Outcome.MISSING
    assert "the X-Compass-Signature header is empty" in empty.detail
    assert "no X-Compass-Signature header" in absent.detail
