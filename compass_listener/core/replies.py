"""What the listener answers Compass for a delivery, as status and a JSON message.

Compass shows the status and the message on the WebhookData record while it retries
(compass-protocol.md §4), so every error message says what went wrong and what to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from compass_listener.core.payload import ParsedPayload, ParseStatus
from compass_listener.core.routes import POLICY_FLAG, Route
from compass_listener.core.signature import Outcome, Verdict

SUCCESS_MESSAGE = "Payload received successfully"


@dataclass(frozen=True)
class Reply:
    status: int
    message: str
    accepted: bool          # True when Compass may consider the delivery done (2xx)

    def body(self) -> str:
        return json.dumps({"message": self.message})


def decide(route: Route, verdict: Verdict, parsed: ParsedPayload) -> Reply:
    """The reply for a delivery on `route`: signature problems first (under the reject
    policy), then a body that cannot be read, else success."""
    if verdict.outcome is Outcome.UNVERIFIABLE:
        # Our side is missing the secret: neither accept unverified nor blame Compass;
        # 503 makes Compass keep the WebhookData record and retry once the secret is back.
        return Reply(503, verdict.detail, accepted=False)
    if verdict.outcome in (Outcome.INVALID, Outcome.MISSING) and route.policy != POLICY_FLAG:
        return Reply(401, verdict.detail, accepted=False)
    if parsed.status is not ParseStatus.OK:
        return Reply(400, f"{parsed.problem}; the delivery was stored but cannot be read as a "
                          f"Compass record", accepted=False)
    return Reply(200, SUCCESS_MESSAGE, accepted=True)


def error(status: int, message: str) -> Reply:
    return Reply(status, message, accepted=False)
