"""Notification folding: a few deliveries one by one, a burst as one summary, no duplicates."""

from compass_listener.core.delivery import Delivery
from compass_listener.core.folding import NotificationFolder


def delivery(n, record_type="Defect", accepted=True, signature="valid", duplicate_of=None):
    return Delivery(received_at=0.0, route="/compassdefect", peer="", method="POST",
                    path="/compassdefect", headers=[], body=b"", body_sha256=str(n),
                    signature=signature, signature_detail="HMAC mismatch", parse_status="ok",
                    parse_problem="", record_type=record_type, record_id=f"SAMPL{n:08d}",
                    state="Submitted", headline=f"Headline {n}", owner="lead",
                    reply_status=200 if accepted else 401, reply_body="", accepted=accepted,
                    id=n, duplicate_of=duplicate_of)


def test_three_single_notices_then_a_summary_once_the_burst_settles():
    folder = NotificationFolder()
    singles = [folder.add(delivery(i), now=0.1 * i) for i in range(3)]
    assert [n.title for n in singles] == [f"Defect SAMPL{i:08d} · Submitted · Headline {i}"
                                          for i in range(3)]
    assert all(n.delivery_id == i for i, n in enumerate(singles))
    for i in range(3, 12):
        assert folder.add(delivery(i, "Task" if i >= 9 else "Defect"), now=0.1 * i) is None
    assert folder.flush(now=1.5) is None                 # still arriving: not yet
    assert folder.flush_due == 1.1 + 1.0
    summary = folder.flush(now=2.2)
    assert summary.title == "9 more deliveries: 6 Defect, 3 Task"
    assert summary.delivery_id is None and not summary.warning
    assert folder.flush(now=10) is None


def test_a_long_burst_is_summarised_no_later_than_the_window():
    folder = NotificationFolder()
    for i in range(3):
        folder.add(delivery(i), now=0)
    t = 0.0
    for i in range(3, 40):
        t += 0.5
        folder.add(delivery(i), now=t)
    assert folder.flush_due == 0.5 + 5.0


def test_rejected_deliveries_warn_and_duplicates_stay_silent():
    folder = NotificationFolder()
    rejected = folder.add(delivery(1, accepted=False, signature="invalid"), now=0)
    assert rejected.warning and "signature mismatch" in rejected.title
    assert folder.add(delivery(2, duplicate_of=1), now=0.1) is None
    flagged = folder.add(delivery(3, signature="missing"), now=0.2)
    assert flagged.warning and "accepted and flagged" in flagged.message
    for i in range(4, 8):
        folder.add(delivery(i, accepted=False, signature="invalid"), now=0.3)
    summary = folder.flush(now=9)
    assert summary.warning and summary.message.startswith("3 rejected")   # 1 shown alone


def test_after_a_quiet_window_single_notices_resume():
    folder = NotificationFolder()
    for i in range(3):
        folder.add(delivery(i), now=0)
    assert folder.add(delivery(3), now=6) is not None
