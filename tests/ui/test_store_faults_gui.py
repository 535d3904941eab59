"""Store faults and retention in the running GUI (the controller on the GUI's event loop, real
HTTP on 127.0.0.1): a read-only or full history answers 503 and shows in the window banner
and the tray (error state, warning notice) until it clears; a corrupt history at start is
moved aside and the user is told where; a stricter history limit asks before deleting and
offers an export first."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import aiohttp
import pytest
from compass_listener.app.qt_loop import new_event_loop
from PySide6.QtWidgets import QMessageBox

from compass_listener.app.controller import AppController
from compass_listener.core.sample import sample_body
from compass_listener.core.signature import sign
from compass_listener.store import paths
from compass_listener.store.settings import load_settings

from controller_harness import run_controller

SECRET = "faults-secret"


def run(qapp, scenario, argv=("--port", "0", "--secret-env", "FAULTS_SECRET")):
    return run_controller(qapp, argv, scenario)


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("FAULTS_SECRET", SECRET)


_n = iter(range(10**6))


async def deliver(c: AppController) -> tuple[int, str]:
    url = c.listener.urls[0]
    body = sample_body(url, index=next(_n) % 40, seed=1)[:-1] + b', "n": %d}' % next(_n)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers={
                "X-Compass-Signature": sign(body, SECRET)}) as resp:
            return resp.status, (await resp.json())["message"]


def _notices(c: AppController) -> list[str]:
    return [c.window.notices.item(i).text() for i in range(c.window.notices.count())]


def _pragma(text):
    return lambda conn: conn.execute(text).fetchall()


@pytest.mark.parametrize("fault,clear,words", [
    ("PRAGMA query_only=ON", "PRAGMA query_only=OFF", "is read-only; make it writable"),
    ("full", "PRAGMA max_page_count=1073741823", "is full; free some space"),
], ids=["read-only", "disk-full"])
def test_a_store_fault_answers_503_shows_in_window_and_tray_and_clears(qapp, fault, clear,
                                                                       words):
    async def scenario(c: AppController):
        seen = {"ok": await deliver(c)}
        if fault == "full":
            await c.store.call_in_writer(lambda conn: conn.execute(
                f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0]}"))
        else:
            await c.store.call_in_writer(_pragma(fault))
        # A burst, so the group commit has several deliveries to refuse at once.
        seen["faulty"] = await asyncio.gather(*(deliver(c) for _ in range(5)))
        await asyncio.sleep(0.05)
        seen["banner"] = (c.window.banner_box.isVisible(), c.window.banner.text())
        seen["tray"] = (c.tray.state, c.tray.icon.toolTip())
        seen["notices"] = _notices(c)
        seen["count_during"] = c.store.count()
        await c.store.call_in_writer(_pragma(clear))
        seen["after"] = await deliver(c)
        await asyncio.sleep(0.05)
        seen["banner_after"] = c.window.banner_box.isVisible()
        seen["tray_after"] = c.tray.state
        seen["count_after"] = c.store.count()
        return seen

    seen = run(qapp, scenario)
    assert seen["ok"][0] == 200
    for status, message in seen["faulty"]:
        assert status == 503, (status, message)          # never 200: Compass retries
        assert words in message and "Compass will retry" in message
    visible, banner = seen["banner"]
    assert visible and words in banner
    state, tooltip = seen["tray"]
    assert state == "error" and words in tooltip
    assert any("Deliveries cannot be stored" in n for n in seen["notices"])
    assert seen["count_during"] == 1
    assert seen["after"][0] == 200
    assert not seen["banner_after"] and seen["tray_after"] == "listening"
    assert seen["count_after"] == 2


def test_a_corrupt_history_at_start_is_moved_aside_and_the_user_is_told(qapp, tmp_path):
    database = paths.database_file()
    database.write_bytes(b"\x13\x37 definitely not SQLite " * 400)

    async def scenario(c: AppController):
        await _wait(lambda: c.listener.running)
        delivered = await deliver(c)
        # Still there once listening and after a delivery: not a flash before the start.
        return (c.window.banner.text(), _notices(c), c.tray.state, delivered)

    banner, notices, state, delivered = run(qapp, scenario)
    moved = list(database.parent.glob("history.corrupt-*.sqlite3"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"\x13\x37")
    assert str(moved[0]) in banner and "a fresh history was started" in banner
    assert any("Compass Listener" in n for n in notices)
    assert delivered[0] == 200                            # the fresh history works
    assert state == "listening"


# ---- retention -----------------------------------------------------------------------------
DAY = 86400.0


def _age_all(database, days: float) -> None:
    conn = sqlite3.connect(str(database))
    conn.execute("UPDATE deliveries SET received_at = received_at - ?", (days * DAY,))
    conn.commit()
    conn.close()


async def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _with_old_deliveries(c: AppController, old: int, new: int) -> None:
    for _ in range(old):
        await deliver(c)
    _age_all(c.store.path, 40)
    for _ in range(new):
        await deliver(c)


def _stricter(days: int):
    settings = load_settings()
    settings.history_keep_days = days
    return settings


@pytest.fixture
def quick_retention(monkeypatch):
    # The keeper waits for 5 quiet seconds in the app; a test has no time for that.
    monkeypatch.setattr("compass_listener.store.retention.QUIET_S", 0.1)
    monkeypatch.setattr("compass_listener.store.retention.RetentionKeeper.__init__.__defaults__",
                        (3600.0, 0.1))


def test_a_stricter_limit_asks_first_and_delete_trims(qapp, quick_retention):
    async def scenario(c: AppController):
        await _with_old_deliveries(c, old=6, new=3)
        await c.apply_settings(_stricter(30), {}, None)
        change = c.retention_change
        assert change is not None and change.to_delete == 6
        assert change.question.isVisible() and "deletes 6 stored deliveries" in \
            change.question.text()
        assert load_settings().history_keep_days == 0      # nothing applied before the answer
        assert c.store.count() == 9
        change.delete_button.click()
        await _wait(lambda: c.store.count() == 3)
        return load_settings().history_keep_days, c.window.statusBar().currentMessage()

    days, message = run(qapp, scenario)
    assert days == 30 and "keeping 30 days" in message


def test_keep_the_old_limit_deletes_nothing(qapp, quick_retention):
    async def scenario(c: AppController):
        await _with_old_deliveries(c, old=4, new=1)
        await c.apply_settings(_stricter(30), {}, None)
        c.retention_change.keep_button.click()
        await asyncio.sleep(0.5)
        return c.store.count(), load_settings().history_keep_days, c.retention_change

    count, days, pending = run(qapp, scenario)
    assert (count, days, pending) == (5, 0, None)


def test_export_first_writes_the_file_off_the_gui_thread_then_trims(qapp, quick_retention,
                                                                    tmp_path):
    target = tmp_path / "before-trim.jsonl"

    async def scenario(c: AppController):
        await _with_old_deliveries(c, old=5, new=2)
        await c.apply_settings(_stricter(30), {}, None)
        change = c.retention_change
        change.export_button.click()
        dialog = change.export_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.path.setText(str(target))
        dialog.export_button.click()
        assert dialog.running                     # running in the background
        await _wait(lambda: target.exists() and c.store.count() == 2)
        return [json.loads(line) for line in target.read_text().splitlines()], \
            load_settings().history_keep_days

    lines, days = run(qapp, scenario)
    assert len(lines) == 7 and days == 30
    assert all(line["body_encoding"] == "utf-8" and line["body"] for line in lines)


def test_cancelling_the_export_keeps_the_old_limit(qapp, quick_retention, tmp_path):
    async def scenario(c: AppController):
        await _with_old_deliveries(c, old=3, new=1)
        await c.apply_settings(_stricter(30), {}, None)
        c.retention_change.export_button.click()
        c.retention_change.export_dialog.cancel_button.click()      # closes: not started
        await asyncio.sleep(0.5)
        return c.store.count(), load_settings().history_keep_days

    assert run(qapp, scenario) == (4, 0)


def test_a_looser_limit_applies_at_once_without_asking(qapp, quick_retention):
    async def scenario(c: AppController):
        await deliver(c)
        settings = load_settings()
        settings.history_keep_count = 1000
        c.settings.history_keep_count = 10              # as if saved earlier
        await c.apply_settings(settings, {}, None)
        return c.retention_change, load_settings().history_keep_count

    assert run(qapp, scenario) == (None, 1000)


# ---- the dialogs on their own --------------------------------------------------------------
def test_settings_dialog_history_fields_are_off_by_default_and_give_the_limits(qtbot):
    from compass_listener.store.settings import Settings
    from compass_listener.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(), lambda path: True)
    qtbot.addWidget(dialog)
    assert not dialog.keep_days_on.isChecked() and not dialog.keep_days.isEnabled()
    result = dialog.result_settings()
    assert (result.history_keep_days, result.history_keep_count) == (0, 0)
    dialog.keep_days_on.setChecked(True)
    dialog.keep_days.setValue(14)
    dialog.keep_count_on.setChecked(True)
    dialog.keep_count.setValue(2000)
    result = dialog.result_settings()
    assert (result.history_keep_days, result.history_keep_count) == (14, 2000)

    again = SettingsDialog(Settings(history_keep_days=7), lambda path: True)
    qtbot.addWidget(again)
    assert again.keep_days_on.isChecked() and again.keep_days.value() == 7
    assert not again.keep_count_on.isChecked()


def test_export_dialog_shows_progress_and_cancel_stops_the_worker(qapp, qtbot, tmp_path,
                                                                 monkeypatch):
    import threading

    from compass_listener.store import export
    from compass_listener.ui.export_dialog import ExportDialog

    gate = threading.Event()
    worker_threads = []

    def slow_export(database, target, fmt, since=None, progress=None, cancel=None):
        worker_threads.append(threading.current_thread())
        done = 0
        while not cancel.is_set():
            done += 1
            progress(done, 1000)
            gate.set()
            time.sleep(0.01)
        raise export.ExportCancelled("cancelled")

    monkeypatch.setattr(export, "to_file", slow_export)
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    target = tmp_path / "x.jsonl"

    async def scenario():
        dialog = ExportDialog(tmp_path / "history.sqlite3", target)
        dialog.show()
        dialog.start()
        await _wait(lambda: gate.is_set() and dialog.progress.value() > 0)
        seen = (dialog.running, dialog.progress.isVisible(), dialog.status.text())
        dialog.cancel_button.click()
        await _wait(lambda: not dialog.running)
        result = seen + (dialog.status.text(), dialog.isVisible())
        dialog.close()
        return result

    with loop:
        running, bar, during, after, still_open = loop.run_until_complete(scenario())
    assert running and bar and during.startswith("Exporting…") and "of 1000" in during
    assert after == "Export cancelled; no file was written." and still_open
    assert worker_threads and worker_threads[0] is not threading.main_thread()


def test_file_menu_export_writes_the_whole_history(qapp, tmp_path):
    target = tmp_path / "menu.csv"

    async def scenario(c: AppController):
        for _ in range(3):
            await deliver(c)
        c.window.export_action.trigger()
        dialog = c._export_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.format.setCurrentIndex(dialog.format.findData("csv"))
        dialog.path.setText(str(target))
        dialog.export_button.click()
        await _wait(lambda: target.exists())
        await _wait(lambda: "Exported 3 deliveries" in c.window.statusBar().currentMessage())
        return target.read_text(encoding="utf-8")

    text = run(qapp, scenario)
    assert text.startswith("id,time,") and len(text.strip().splitlines()) == 4
