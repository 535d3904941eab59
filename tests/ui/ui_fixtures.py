"""Deliveries built the way the listener builds them (same parser, same reply rules)."""

from __future__ import annotations

import hashlib
import json
import time

from compass_listener.core import replies
from compass_listener.core.delivery import Delivery
from compass_listener.core.payload import parse_payload
from compass_listener.core.routes import Route
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import Scheme, sign, verify

SECRET = "ui-test-secret"


def build_delivery(body: bytes | None = None, *, index: int = 1, secret: str | None = SECRET,
                   signed_with: str | None = SECRET, route: Route | None = None,
                   extra_headers: list[tuple[str, str]] | None = None) -> Delivery:
    route = route or Route("/compassdefect", "Defect")
    body = body if body is not None else sample_body(
        "http://127.0.0.1:8080/compassdefect", index=index, seed=index)
    headers = [("Host", "127.0.0.1:8080"), ("Content-Type", "application/json")]
    if signed_with:
        headers.append(("X-Compass-Signature", sign(body, signed_with)))
    headers += extra_headers or []
    verdict = verify(body, headers, secret, Scheme(), route.path)
    parsed = parse_payload(body, route.label)
    reply = replies.decide(route, verdict, parsed)
    return Delivery(
        received_at=time.time(), route=route.path, route_label=route.label, peer="127.0.0.1",
        method="POST", path=route.path, headers=headers, body=body,
        body_sha256=hashlib.sha256(body).hexdigest(), signature=verdict.outcome.value,
        signature_detail=verdict.detail, parse_status=parsed.status.value,
        parse_problem=parsed.problem, record_type=parsed.record_type,
        record_id=parsed.record_id, state=parsed.state, headline=parsed.headline,
        owner=parsed.owner, reply_status=reply.status, reply_body=reply.body(),
        accepted=reply.accepted)


def record_body(**fields: str) -> bytes:
    return json.dumps({"webUrl": "http://127.0.0.1:8080/compassdefect",
                       "content": {k: {"truncated": "false", "value": v}
                                   for k, v in fields.items()}}).encode()
