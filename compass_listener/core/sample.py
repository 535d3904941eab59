"""Realistic Compass-shaped delivery payloads, for `send-test`, the GUI's test delivery and tests.

The shape follows compass-protocol.md §2: `{"webUrl": <the target URL>, "content": {Field:
{"truncated": "false", "value": "<string>"}}}` with the whole record in `content`, system
fields included, every value a string, and exactly one field truncated (its original was
5,000 characters or more) carrying the REST `url` of its full value. Ids and headlines vary
so that consecutive deliveries are not duplicates of each other; a seed makes them repeatable.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timezone

DATABASE = "SAMPL"
REPO = "5.0.0"
REST_BASE = "https://localhost:8190/ccmweb/rest"
TRUNCATED_SIZE = 5_000          # Compass truncates fields of this many characters or more
TRUNCATED_SHOWN = 2_048         # how much of a truncated field we send (not documented)

_PEOPLE = ["admin", "lead", "alice", "bruno", "chen", "dana", "emeka", "farah", "goran", "hana"]
_PROJECTS = ["Atlas", "Borealis", "Cygnus", "Draco", "Eridanus"]
_PRODUCTS = ["Compass Web", "Compass Client", "REST Server", "Designer"]
_COMPONENTS = ["login", "query editor", "report engine", "attachments", "email rules",
               "web forms", "scheduler", "REST API"]
_SEVERITIES = ["1-Critical", "2-Major", "3-Average", "4-Minor", "5-Enhancement"]
_PRIORITIES = ["1-Resolve Immediately", "2-Give High Attention", "3-Normal Queue",
               "4-Low Priority"]
_OS = ["Windows Server 2022", "RHEL 9", "Ubuntu 24.04", "macOS 15"]
_SYMPTOMS = ["Crash", "Data Loss", "Performance", "User Interface", "Wrong Result"]
_VERBS = ["fails to save", "shows the wrong owner for", "times out while loading",
          "drops attachments of", "duplicates the history of", "cannot export",
          "misorders the fields of", "loses the notes of"]
_OBJECTS = ["records with long headlines", "a query with 3 filters", "the Defect form",
            "a chart report", "records submitted by email", "a saved query",
            "a shared filter", "records over 1,000 attachments"]
_CONTEXTS = ["after the upgrade to 2.2", "under heavy load", "on the web client",
             "when the owner is empty", "in a replicated database", "with a Japanese locale"]
# The action that leads to each usual Defect state, for the history field.
_ACTIONS = {"Submitted": "Submit", "Assigned": "Assign", "Opened": "Open",
            "Resolved": "Resolve", "Closed": "Close", "Postponed": "Postpone",
            "Duplicate": "Duplicate"}
_TRUNCATABLE = ("Description", "Notes_Log")


def field_url(record_type: str, record_id: str, field: str, repo: str = REPO,
              database: str = DATABASE) -> str:
    """The REST address of one field's full value, in the form Compass puts in `url`."""
    return (f"{REST_BASE}/repos/{repo}/databases/{database}/records/{record_type}/"
            f"{record_id}/fields/{field}")


def _long_text(rng: random.Random, record_id: str, size: int) -> str:
    """A multi-line text of at least `size` characters, like a pasted log or a notes log."""
    lines: list[str] = []
    total, step = 0, 0
    while total < size:
        step += 1
        line = (f"[{step:04d}] {rng.choice(_PEOPLE)}: {rng.choice(_VERBS)} "
                f"{rng.choice(_OBJECTS)} {rng.choice(_CONTEXTS)} (see {record_id}).")
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def sample_content(*, index: int = 1, record_type: str = "Defect", state: str = "Submitted",
                   seed: int | None = None, repo: str = REPO,
                   database: str = DATABASE) -> dict[str, dict[str, str]]:
    """The `content` object of one delivery: ~40 fields keyed by Compass field name."""
    rng = random.Random(f"{seed}:{index}") if seed is not None else random.Random()
    number = rng.randrange(1, 99_000_000)
    record_id = f"{database}{number:08d}"
    dbid = str(33_554_432 + number)       # Compass dbids start at 0x2000000
    # With a seed, times are fixed too, so bodies (and their HMACs) are repeatable.
    now = (datetime(2026, 1, 15, 9, 30, tzinfo=timezone.utc).timestamp() + index * 61
           if seed is not None else time.time())
    submitted = now - rng.randrange(60, 30 * 86400)

    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    submitter, owner = rng.choice(_PEOPLE), rng.choice(_PEOPLE)
    component = rng.choice(_COMPONENTS)
    headline = (f"{component[0].upper()}{component[1:]} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} "
                f"{rng.choice(_CONTEXTS)}")
    action = _ACTIONS.get(state, "Modify")
    history = "\n".join([
        f"{dbid}  {stamp(submitted)}  {submitter}  Submit  no_value  Submitted",
        *([f"{dbid}  {stamp(now)}  {owner}  {action}  Submitted  {state}"]
          if state != "Submitted" else []),
    ])
    truncated_field = _TRUNCATABLE[rng.randrange(len(_TRUNCATABLE))]
    description = (f"{headline}.\n\nSteps to reproduce:\n1. Log in as {submitter}.\n"
                   f"2. Open {rng.choice(_OBJECTS)}.\n3. Watch it happen {rng.choice(_CONTEXTS)}.")
    notes_log = (f"==== {stamp(submitted)} {submitter} ====\nReported from "
                 f"{rng.choice(_OS)}; {rng.choice(_PRODUCTS)} build {rng.randrange(100, 999)}.")
    if truncated_field == "Description":
        description = _long_text(rng, record_id, TRUNCATED_SIZE + rng.randrange(0, 3000))
    else:
        notes_log = _long_text(rng, record_id, TRUNCATED_SIZE + rng.randrange(0, 3000))

    values: dict[str, str] = {
        # System fields Compass adds to every stateful record type.
        "id": record_id,
        "dbid": dbid,
        "State": state,
        "record_type": record_type,
        "Submitter": submitter,
        "Submit_Date": stamp(submitted),
        "history": history,
        "ratl_mastership": "<local>",
        "ratl_keysite": "site1",
        "lock_version": str(rng.randrange(1, 9)),
        "locked_by": "-1",
        "is_duplicate": "0",
        "is_active": "1",
        "unduplicate_state": "",
        "old_id": "",
        "version": str(rng.randrange(1, 20)),
        "Duplicates": "",
        "DuplicateOf": "",
        "Attachments": "",
        # The schema's own fields (the SAMPL Defect form).
        "Headline": headline,
        "Owner": owner,
        "Priority": rng.choice(_PRIORITIES),
        "Severity": rng.choice(_SEVERITIES),
        "Description": description,
        "Notes_Entry": "",
        "Notes_Log": notes_log,
        "Project": rng.choice(_PROJECTS),
        "Product": rng.choice(_PRODUCTS),
        "Component": component,
        "Keywords": rng.choice(["regression", "customer", "security", "ui", ""]),
        "Symptoms": rng.choice(_SYMPTOMS),
        "OS": rng.choice(_OS),
        "Found_In_Release": f"2.{rng.randrange(0, 3)}.{rng.randrange(0, 8)}",
        "Target_Release": f"2.{rng.randrange(2, 4)}.0",
        "Customer_Severity": rng.choice(_SEVERITIES),
        "Resolution": "" if state in ("Submitted", "Assigned", "Opened") else "Fixed",
        "Resolution_Note": "",
        "Assign_Date": stamp(submitted + 3600) if state != "Submitted" else "",
        "Resolve_Date": stamp(now) if state in ("Resolved", "Closed") else "",
        "Estimated_Hours": str(rng.randrange(1, 40)),
        "Is_Customer_Reported": rng.choice(["True", "False"]),
        "Email_Notify": rng.choice(["True", "False"]),
    }
    content: dict[str, dict[str, str]] = {}
    for name, value in values.items():
        if name == truncated_field:
            content[name] = {"truncated": "true", "value": value[:TRUNCATED_SHOWN],
                             "url": field_url(record_type, record_id, name, repo, database)}
        else:
            content[name] = {"truncated": "false", "value": value}
    return content


def sample_payload(url: str, *, index: int = 1, record_type: str = "Defect",
                   state: str = "Submitted", seed: int | None = None) -> dict:
    """One whole delivery document, with `webUrl` set to the URL it is sent to."""
    return {"webUrl": url,
            "content": sample_content(index=index, record_type=record_type, state=state,
                                      seed=seed)}


def sample_body(url: str, *, index: int = 1, record_type: str = "Defect",
                state: str = "Submitted", seed: int | None = None) -> bytes:
    """The delivery as the exact bytes to POST (and to sign)."""
    return json.dumps(sample_payload(url, index=index, record_type=record_type, state=state,
                                     seed=seed), ensure_ascii=False).encode("utf-8")
