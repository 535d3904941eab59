"""The tray: menu, states, unread count, folded notifications, pause."""

from compass_listener.ui.tray import TrayController

from ui_fixtures import build_delivery, record_body


def _tray(qtbot):
    tray = TrayController()
    notices = []
    tray.notice_raised.connect(notices.append)
    return tray, notices


def test_menu_has_the_actions_a_user_needs(qtbot):
    tray, _ = _tray(qtbot)
    texts = [a.text().replace("&", "") for a in tray.menu.actions() if a.text()]
    assert texts == ["Show window", "Pause notifications", "Stop listener",
                     "Send test delivery", "Quit"]
    fired = []
    tray.quit_requested.connect(lambda: fired.append("quit"))
    tray.send_test_requested.connect(lambda: fired.append("test"))
    tray.quit_action.trigger()
    tray.send_test_action.trigger()
    assert fired == ["quit", "test"]


def test_one_notice_per_delivery_then_a_burst_folds_into_a_summary(qtbot, store):
    tray, notices = _tray(qtbot)
    d = store.append_now(build_delivery(index=1))
    tray.delivery_received(d, window_visible=False)
    assert notices[0].title == d.summary_line()
    assert notices[0].title.startswith(f"Defect {d.record_id} · Submitted · ")
    for i in range(2, 12):
        tray.delivery_received(store.append_now(build_delivery(index=i)), window_visible=False)
    task = store.append_now(build_delivery(record_body(id="T1", record_type="Task")))
    tray.delivery_received(task, window_visible=False)
    assert len(notices) == 3
    qtbot.waitUntil(lambda: len(notices) == 4, timeout=3000)
    assert notices[3].title == "9 more deliveries: 8 Defect, 1 Task"
    assert tray.unread == 12


def test_rejected_delivery_is_a_warning_and_duplicates_are_not_notified(qtbot, store):
    tray, notices = _tray(qtbot)
    bad = store.append_now(build_delivery(signed_with="forged"))
    tray.delivery_received(bad, window_visible=True)
    assert notices[-1].warning and "signature mismatch" in notices[-1].title
    a = store.append_now(build_delivery(index=4))
    b = store.append_now(build_delivery(index=4))
    tray.delivery_received(a, window_visible=True)
    tray.delivery_received(b, window_visible=True)
    assert b.is_duplicate and len(notices) == 2
    assert tray.unread == 0


def test_paused_notifications_stay_quiet_and_resume(qtbot, store):
    tray, notices = _tray(qtbot)
    tray.pause_notifications(1800)
    tray.delivery_received(store.append_now(build_delivery(index=1)), window_visible=False)
    assert notices == [] and tray.notifications_paused
    assert "notifications paused until" in tray.icon.toolTip()
    tray.resume_notifications()
    tray.delivery_received(store.append_now(build_delivery(index=2)), window_visible=False)
    assert len(notices) == 1


def test_listener_state_changes_the_menu_and_tooltip(qtbot):
    tray, _ = _tray(qtbot)
    tray.set_listener_state("listening", ["http://127.0.0.1:8080/compassdefect"])
    assert "listening on http://127.0.0.1:8080/compassdefect" in tray.icon.toolTip()
    assert tray.listener_action.text() == "Stop &listener"
    tray.set_listener_state("stopped", [])
    assert tray.listener_action.text() == "Start &listener"
