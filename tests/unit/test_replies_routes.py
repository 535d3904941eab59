"""core.replies (what we answer Compass) and core.routes (paths, labels, keyring keys)."""

import json

import pytest

from compass_listener.core import replies
from compass_listener.core.payload import parse_payload
from compass_listener.core.routes import (DEFAULT_PATH, POLICY_FLAG, POLICY_REJECT, Route,
                                          normalise_path, parse_route_option, secret_key)
from compass_listener.core.signature import Outcome, Scheme, Verdict

GOOD = parse_payload(b'{"content": {"id": {"value": "SAMPL1"}}}')
NOT_JSON = parse_payload(b"<html>")
BAD_SHAPE = parse_payload(b"[1]")


def _verdict(outcome):
    return Verdict(outcome, detail=f"{outcome.value} because of reasons")


@pytest.mark.parametrize("outcome", [Outcome.VALID, Outcome.UNSIGNED])
def test_good_delivery_gets_200_with_the_documented_message(outcome):
    for policy in (POLICY_REJECT, POLICY_FLAG):
        reply = replies.decide(Route(policy=policy), _verdict(outcome), GOOD)
        assert (reply.status, reply.accepted) == (200, True)
        assert json.loads(reply.body()) == {"message": "Payload received successfully"}


@pytest.mark.parametrize("outcome", [Outcome.INVALID, Outcome.MISSING])
def test_bad_signature_under_reject_is_401_naming_the_reason(outcome):
    reply = replies.decide(Route(policy=POLICY_REJECT), _verdict(outcome), GOOD)
    assert (reply.status, reply.accepted) == (401, False)
    assert json.loads(reply.body())["message"] == f"{outcome.value} because of reasons"


@pytest.mark.parametrize("outcome", [Outcome.INVALID, Outcome.MISSING])
def test_bad_signature_under_flag_is_accepted(outcome):
    reply = replies.decide(Route(policy=POLICY_FLAG), _verdict(outcome), GOOD)
    assert (reply.status, reply.accepted) == (200, True)


@pytest.mark.parametrize("parsed", [NOT_JSON, BAD_SHAPE], ids=["not-json", "bad-shape"])
def test_unreadable_body_is_400_saying_it_was_stored(parsed):
    reply = replies.decide(Route(), _verdict(Outcome.VALID), parsed)
    assert (reply.status, reply.accepted) == (400, False)
    message = json.loads(reply.body())["message"]
    assert parsed.problem in message and "stored" in message


def test_signature_problem_wins_over_an_unreadable_body():
    reply = replies.decide(Route(), _verdict(Outcome.INVALID), NOT_JSON)
    assert reply.status == 401
    flagged = replies.decide(Route(policy=POLICY_FLAG), _verdict(Outcome.INVALID), NOT_JSON)
    assert flagged.status == 400


def test_error_reply():
    reply = replies.error(503, 'disk "full"')
    assert not reply.accepted and json.loads(reply.body()) == {"message": 'disk "full"'}


@pytest.mark.parametrize("given,expected", [
    ("/compassdefect", "/compassdefect"), ("compassdefect", "/compassdefect"),
    ("/compassdefect/", "/compassdefect"), ("  /a/b/ ", "/a/b"), ("", "/"), ("/", "/"),
])
def test_normalise_path(given, expected):
    assert normalise_path(given) == expected


def test_parse_route_option():
    assert parse_route_option("/compasstask:Task") == Route(path="/compasstask", label="Task")
    assert parse_route_option("hooks/defect/").path == "/hooks/defect"
    assert parse_route_option("hooks/defect/").label == "hooks/defect"
    assert parse_route_option("/x").scheme == Scheme() and parse_route_option("/x").policy \
        == POLICY_REJECT


def test_secret_key_is_the_same_for_every_spelling_of_a_path():
    assert secret_key("compassdefect") == secret_key("/compassdefect/") \
        == f"route:{DEFAULT_PATH}"
    assert secret_key("/a") != secret_key("/b")


def test_with_scheme_keeps_the_rest():
    route = Route(path="/r", label="Task", policy=POLICY_FLAG)
    changed = route.with_scheme(Scheme(header="X-Sig"))
    assert changed.scheme.header == "X-Sig" and (changed.path, changed.label, changed.policy) \
        == ("/r", "Task", POLICY_FLAG)
    assert route.scheme == Scheme()


def test_route_paths_that_are_urls_or_have_spaces_are_named_as_such():
    from compass_listener.core.routes import path_problem

    assert path_problem("/compassdefect") == "" and path_problem("compass-task_2") == ""
    assert "is a URL" in path_problem("http://host/x")
    assert "not a usable URL path" in path_problem("/a b")
