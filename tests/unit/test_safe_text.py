"""Record text on the command line (issue 4, part 4): control characters, terminal escape
sequences and direction overrides in a Headline are shown harmlessly by `listen` and
`events`, in the human lines and in --json lines (which stay valid JSON)."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings, strategies as st

from compass_listener.commands.events import table
from compass_listener.commands.listen import human_line
from compass_listener.core.payload import parse_payload
from compass_listener.core.delivery import Delivery
from compass_listener.core.text import escape_controls, json_line, one_line

NASTY = ("\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m \u202eexe.txt\u202c \u2066x\u2069 "
         "\x00\x08\x7f\x9b31m \u2028\u2029 \ufeff\u200b end")


def delivery(headline: str, **extra) -> Delivery:
    body = json.dumps({"content": {"id": {"value": "SAMPL1"},
                                   "Headline": {"value": headline}}}).encode()
    parsed = parse_payload(body, "Defect")
    fields = dict(received_at=0.0, route="/compassdefect", peer="127.0.0.1", method="POST",
                  path="/compassdefect", headers=[], body=body, body_sha256="",
                  signature="valid", signature_detail="", parse_status="ok",
                  parse_problem="", record_type="Defect", record_id="SAMPL1", state="",
                  headline=parsed.headline, owner="", reply_status=200,
                  reply_body="", accepted=True, id=1)
    fields.update(extra)
    return Delivery(**fields)


def terminal_safe(line: str) -> bool:
    return all(unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in line)


def test_listen_human_line_is_terminal_safe():
    line = human_line(delivery(NASTY))
    assert terminal_safe(line)
    assert "red" in line and "exe.txt" in line and line.endswith("200")


def test_listen_and_events_json_lines_are_terminal_safe_and_exact():
    d = delivery(NASTY, record_id="A\u202eB")
    line = json_line(d.to_json())
    assert terminal_safe(line) and "\n" not in line
    assert json.loads(line)["headline"] == NASTY            # same value, escaped
    assert json.loads(line)["record_id"] == "A\u202eB"
    assert "ñ" in json_line({"x": "ñ"})                     # readable, not \u00f1


def test_events_table_is_terminal_safe():
    lines = table([delivery(NASTY, state="\x1b[5m", route="/r\x07")])
    assert len(lines) == 2 and all(terminal_safe(line) for line in lines)


def test_one_line_bounds_length():
    assert one_line("x" * 10, 5) == "xxxxx…"
    assert len(one_line("word " * 1_000_000)) == 5001


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=200))
def test_escape_controls_keeps_json_meaning(text):
    line = escape_controls(json.dumps(text, ensure_ascii=False))
    assert json.loads(line) == text
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") or ch in "\t\n\r"
               for ch in line)
    assert terminal_safe(one_line(text))
