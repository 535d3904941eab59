"""The Compass pages (form, hooksetup, WebhookData, WebhookConfig, full values) with pytest-qt.

The fake Compass REST server runs on the same GUI event loop as the widgets, over real TLS on
127.0.0.1; nothing here blocks the loop, so the tests also prove the UI never does.
"""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
from compass_listener.app.qt_loop import new_event_loop
from PySide6.QtWidgets import QDialog

from compass_listener.net import selfsigned
from compass_listener.net.fake_compass import FakeCompassServer, SilentServer, populate
from compass_listener.store.compass_profile import CompassProfile
from compass_listener.store.secrets import SecretStore
from compass_listener.store.settings import Settings, load_settings, save_settings
from compass_listener.ui.compass_pages import install_compass_pages
from compass_listener.ui.compass_session import CompassSession

pytestmark = pytest.mark.timeout(60)

CERT = selfsigned.generate()


@pytest.fixture
def qloop(qapp):
    loop = new_event_loop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(asyncio.sleep(0.05))
    loop.close()
    asyncio.set_event_loop(None)


def wait_until(loop, predicate, timeout: float = 10.0) -> None:
    async def poll() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)

    loop.run_until_complete(poll())


@pytest.fixture
def fake(qloop):
    server = FakeCompassServer(certificate=CERT, users={"admin": "", "alice": "pw"})
    populate(server, queued=250)
    qloop.run_until_complete(server.start())
    yield server
    qloop.run_until_complete(server.stop())


class Window:
    """The part of MainWindow the pages use: add_page, the full-value signal, detail pane."""

    def __init__(self) -> None:
        from PySide6.QtWidgets import QTabWidget

        self.tabs = QTabWidget()
        self.problems: list[str] = []
        self.shown_values: dict[str, str] = {}
        self.detail = SimpleNamespace(show_full_value=self.shown_values.__setitem__)
        self.messages: list[str] = []
        self.statusBar = lambda: SimpleNamespace(showMessage=lambda t, ms=0: self.messages.append(t))
        from PySide6.QtCore import QObject, Signal

        class Emitter(QObject):
            load_full_value_requested = Signal(str, str)

        self._emitter = Emitter()
        self.load_full_value_requested = self._emitter.load_full_value_requested

    def add_page(self, widget, title: str) -> None:
        self.tabs.addTab(widget, title)

    def show_problem(self, text: str, button=None) -> None:
        self.problems.append(text)
        self.problem_button = button


@pytest.fixture
def pages(qtbot, qloop, fake):
    settings = Settings()
    window = Window()
    qtbot.addWidget(window.tabs)
    controller = SimpleNamespace(settings=settings, secrets=SecretStore(use_keyring=False),
                                 extra_shutdown=[], store=None, session_port=8080)
    received = {"SAMPL00000085": [SimpleNamespace(received_at=1_700_000_000.0,
                                                  reply_status=401)]}
    built = install_compass_pages(window, controller,
                                  find_received=lambda rid: received.get(rid, []))
    assert controller.extra_shutdown == [built.shutdown]
    built.window = window
    built.settings = settings
    yield built
    qloop.run_until_complete(built.shutdown())


def fill_form(page, fake, *, password: str = "pw", user: str = "alice") -> None:
    page.server_edit.setText(f"127.0.0.1:{fake.port}")
    page.repo_combo.setEditText("Sample")
    page.db_combo.setEditText("SAMPL")
    page.user_edit.setText(user)
    page.password_edit.setText(password)


def trust_via_dialog(qtbot, qloop, page) -> None:
    assert page.banner.isVisibleTo(page)
    page.banner.open_dialog()
    dialog = page.banner.dialog
    assert dialog is not None and dialog.isVisible()
    assert CERT.fingerprint in " ".join(w.text() for w in dialog.findChildren(type(page.status)))
    dialog.trust_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_untrusted_then_trusted_by_dialog_then_package_check(qtbot, qloop, fake, pages):
    page = pages.server_page
    fill_form(page, fake)
    page.check_button.click()
    wait_until(qloop, lambda: not page.runner.busy and page.banner.isVisibleTo(page))
    assert CERT.fingerprint in page.banner.label.text()
    assert "CN=localhost" in page.banner.label.text()
    assert fake.logins == 0
    trust_via_dialog(qtbot, qloop, page)
    assert pages.session.profile.pinned_fingerprint() == CERT.fingerprint
    assert CERT.fingerprint in page.trusted_label.text()
    wait_until(qloop, lambda: page.repo_combo.count() == 1 and page.db_combo.count() == 2)
    assert [page.db_combo.itemText(i) for i in range(2)] == ["SAMPL", "TEST"]
    page.check_button.click()
    wait_until(qloop, lambda: "package is applied" in page.status.text())
    assert "WebhookData" in page.output.toPlainText()
    # the pin and profile went to the settings (the password did not)
    saved = pages.settings.compass
    assert saved["server"] == f"127.0.0.1:{fake.port}" and saved["user"] == "alice"
    assert "pw" not in json.dumps(saved).replace('"pinned"', "")


def test_package_missing_is_explained(qtbot, qloop, fake, pages):
    page = pages.server_page
    pages.session.profile.pinned[f"https://127.0.0.1:{fake.port}"] = CERT.fingerprint
    fill_form(page, fake)
    page.db_combo.setEditText("TEST")
    page.check_button.click()
    wait_until(qloop, lambda: not page.runner.busy and "not applied" in page.status.text())
    assert "Designer" in page.status.text()


@pytest.mark.parametrize("case", ["ok", "404", "401"])
def test_enable_webhooks_button(qtbot, qloop, fake, pages, case):
    page = pages.server_page
    pages.session.profile.pinned[f"https://127.0.0.1:{fake.port}"] = CERT.fingerprint
    fake.hooksetup_enabled = case != "404"
    fill_form(page, fake, password="wrong" if case == "401" else "pw")
    page.hooksetup_button.click()
    assert page.cancel_button.isEnabled() and not page.hooksetup_button.isEnabled()
    wait_until(qloop, lambda: not page.runner.busy)
    output, status = page.output.toPlainText(), page.status.text()
    if case == "ok":
        assert "HTTP 200" in output and "Webhooks system user created" in output
        assert "restart the Compass REST server" in status
    elif case == "404":
        assert "HTTP 404" in output and "no hooksetup endpoint" in status
    else:
        assert "HTTP 401" in output and "Invalid user name or password" in output
    assert page.hooksetup_button.isEnabled()


def test_remember_password_uses_secret_store_not_settings(qtbot, qloop, fake, pages):
    page = pages.server_page
    fill_form(page, fake, password="pw")
    page.remember_check.setChecked(True)
    assert page.apply_form()
    key = pages.session.profile.secret_key()
    assert pages.session.secrets.get(key) == "pw"
    assert "pw" not in json.dumps(pages.settings.compass).replace('"pinned"', "")
    page.password_edit.clear()
    page.remember_check.setChecked(False)
    assert page.apply_form()
    assert pages.session.secrets.get(key) is None


def test_cancel_a_server_that_never_answers(qtbot, qloop, pages):
    silent = qloop.run_until_complete(SilentServer().start())
    try:
        page = pages.server_page
        page.server_edit.setText(f"127.0.0.1:{silent.port}")
        page.repo_combo.setEditText("r")
        page.db_combo.setEditText("d")
        page.user_edit.setText("u")
        page.check_button.click()
        wait_until(qloop, lambda: page.runner.busy and page.cancel_button.isEnabled())
        qloop.run_until_complete(asyncio.sleep(0.2))
        assert page.runner.busy  # still waiting: the server never answers
        page.cancel_button.click()
        wait_until(qloop, lambda: not page.runner.busy)
        assert page.status.text().startswith("Cancelled")
        assert page.check_button.isEnabled() and not page.cancel_button.isEnabled()
    finally:
        qloop.run_until_complete(silent.stop())


def test_webhookdata_view_pages_explains_redacts_and_correlates(qtbot, qloop, fake, pages):
    pages.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    view = pages.queue_page
    progress = []
    view.runner.progress.connect(lambda done, total: progress.append((done, total)))
    view.refresh()
    wait_until(qloop, lambda: not view.runner.busy and view.model.rowCount() == 250)
    assert progress[-1] == (250, 250) and len(progress) >= 3
    headers = [view.model.horizontalHeaderItem(c).text() for c in range(view.model.columnCount())]
    assert headers[:5] == ["Explanation", "Received here", "ResponseCode", "ResponseMessage",
                           "RetryCount"]
    cells = {h: view.model.item(0, c).text() for c, h in enumerate(headers)}
    assert cells["Explanation"] == ("attempt 3 of 10, last reply 401 signature mismatch: check "
                                    "the secret of route /compassdefect")
    assert cells["Secret"] == "(hidden)"
    all_text = " ".join(view.model.item(r, c).text() for r in range(250)
                        for c in range(view.model.columnCount()))
    assert "s3cr3t-demo" not in all_text
    second = {h: view.model.item(1, c).text() for c, h in enumerate(headers)}
    assert second["Received here"].startswith("received here at ")
    assert "250 pending deliveries" in view.status.text()
    assert fake.queries_created == fake.queries_deleted
    view.table.selectRow(0)
    details = view.details.toPlainText().splitlines()
    assert details[0].startswith("Explanation: attempt 3 of 10")
    assert "Secret: (hidden)" in details


def test_webhookdata_refresh_can_be_cancelled_and_keeps_old_rows(qtbot, qloop, fake, pages):
    pages.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    view = pages.queue_page
    view.refresh()
    wait_until(qloop, lambda: view.model.rowCount() == 250)
    view.refresh()
    assert view.cancel_button.isEnabled()
    view.cancel_button.click()
    wait_until(qloop, lambda: not view.runner.busy)
    assert "Cancelled" in view.status.text() and view.model.rowCount() == 250
    wait_until(qloop, lambda: fake.queries_created == fake.queries_deleted)


def test_webhookdata_auto_refresh_only_while_visible(qtbot, qloop, pages):
    view = pages.queue_page
    assert view.timer.interval() == 60_000 and not view.timer.isActive()
    pages.window.tabs.show()
    pages.window.tabs.setCurrentWidget(view)
    assert view.timer.isActive()
    pages.window.tabs.setCurrentIndex(0)
    assert not view.timer.isActive()


def test_webhookconfig_view_highlights_ours_and_warns(qtbot, qloop, fake, pages):
    assert [r.path for r in pages.settings.routes] == ["/compassdefect"]
    pages.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    view = pages.configs_page
    view.refresh()
    wait_until(qloop, lambda: not view.runner.busy and view.model.rowCount() == 3)
    rows = {view.model.item(r, 0).text(): [view.model.item(r, c).text() for c in range(6)]
            for r in range(3)}
    assert rows["Listener on this machine"][5] == "→ this listener"
    assert rows["Listener on this machine"][4] == "set"
    assert rows["Retired route"][5] == "this machine, but no such route here"
    assert rows["CI server"][5] == ""
    assert "Warning: Retired route points at" in view.status.text()
    assert "15 minutes" in view.note.text()
    ours = view.model.item(0, 0).background().color().name()
    assert ours == "#e3f4e1"


def test_load_full_value_from_localhost_url_goes_to_configured_server(qtbot, qloop, fake, pages):
    pages.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    url = ("https://localhost:8190/ccmweb/rest/repos/Sample/databases/SAMPL/records/Defect/"
           "SAMPL00000084/fields/Description")
    pages.window.load_full_value_requested.emit(url, "Description")
    wait_until(qloop, lambda: "Description" in pages.window.shown_values)
    value = pages.window.shown_values["Description"]
    assert len(value) > 5000
    # short enough for the status bar; the redirect is told beside the field instead
    assert pages.window.messages[-1] == \
        f"Loaded the full value of Description ({len(value):,} characters)"


def test_load_full_value_without_server_says_so(qtbot, qloop, pages):
    pages.window.load_full_value_requested.emit("https://localhost:8190/x", "Description")
    assert pages.window.problems and "Compass server tab" in pages.window.problems[-1]
    label, go = pages.window.problem_button
    assert label == "Go to the Compass server &tab"
    pages.window.tabs.show()
    go()
    assert pages.window.tabs.currentWidget() is pages.server_page
    assert pages.window.messages[-1] == pages.window.problems[-1]


def test_install_into_real_main_window(qtbot, qloop, store):
    from compass_listener.ui.main_window import MainWindow

    window = MainWindow(store, tray_available=False)
    qtbot.addWidget(window)
    controller = SimpleNamespace(settings=Settings(), secrets=SecretStore(use_keyring=False),
                                 extra_shutdown=[], store=store)
    built = install_compass_pages(window, controller)
    titles = [window.pages.tabText(i) for i in range(window.pages.count())]
    assert titles[-3:] == ["C&ompass server", "&WebhookData", "Webhook&Config"]
    qloop.run_until_complete(built.shutdown())


def test_profile_roundtrip_through_settings_file(tmp_path):
    settings = Settings()
    profile = CompassProfile(server="compass:8190", repo="5.0.0", db="SAMPL", user="admin",
                             remember_password=True, pinned={"https://compass:8190": "AA"})
    from compass_listener.store.compass_profile import load_profile, store_profile

    store_profile(settings, profile)
    path = tmp_path / "settings.toml"
    save_settings(settings, path)
    assert load_profile(load_settings(path)) == profile
    assert profile.secret_key() == "compass:https://compass:8190/ccmweb/rest|admin"


def test_changed_certificate_warns_with_both_fingerprints(qtbot, qloop, fake, pages):
    page = pages.server_page
    old = "AB:" * 31 + "AB"
    pages.session.profile.pinned[f"https://127.0.0.1:{fake.port}"] = old
    fill_form(page, fake)
    page.check_button.click()
    wait_until(qloop, lambda: not page.runner.busy and page.banner.isVisibleTo(page))
    text = page.banner.label.text()
    assert text.startswith("Warning:") and old in text and CERT.fingerprint in text
    assert page.status.text() == page.banner.STATUS
    assert page.banner.button.text() == "Review the new certificate…"
    assert fake.logins == 0


def test_ca_file_in_form_is_trusted(qtbot, qloop, fake, pages, tmp_path):
    page = pages.server_page
    fill_form(page, fake)
    page.ca_edit.setText(CERT.write_ca_file(tmp_path / "ca.pem"))
    page.check_button.click()
    wait_until(qloop, lambda: not page.runner.busy)
    assert "package is applied" in page.status.text()
    assert "CA in" in page.trusted_label.text()
    assert not page.banner.isVisibleTo(page)


def test_shutdown_cancels_and_logs_off(qtbot, qloop, fake, pages):
    pages.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    view = pages.queue_page
    view.refresh()
    wait_until(qloop, lambda: fake.logins == 1)
    qloop.run_until_complete(pages.shutdown())
    assert not view.runner.busy
    assert fake.logoffs == 1
    assert pages.session._client is None


def test_personal_access_token_in_form(qtbot, qloop, fake, pages):
    fake.access_tokens.add("pat-xyz")
    page = pages.server_page
    pages.session.profile.pinned[f"https://127.0.0.1:{fake.port}"] = CERT.fingerprint
    fill_form(page, fake, password="pat-xyz", user="")
    page.token_check.setChecked(True)
    page.check_button.click()
    wait_until(qloop, lambda: not page.runner.busy)
    assert "package is applied" in page.status.text() and fake.logins == 0
    assert pages.settings.compass["use_token"] is True
    assert "pat-xyz" not in json.dumps(pages.settings.compass)
    page.hooksetup_button.click()
    wait_until(qloop, lambda: not page.runner.busy)
    assert "not a token" in page.status.text() and fake.hooksetup_calls == []


def test_webhookconfig_loads_on_first_show_when_the_profile_is_complete(qtbot, qloop, fake,
                                                                         pages):
    pages.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    view = pages.configs_page
    pages.window.tabs.show()
    assert view.model.rowCount() == 0 and not view.runner.busy
    pages.window.tabs.setCurrentWidget(view)   # no Refresh pressed
    wait_until(qloop, lambda: not view.runner.busy and view.model.rowCount() == 3)
    assert "3 configs, 1 pointing at this listener" in view.status.text()
    logins = fake.logins
    pages.window.tabs.setCurrentIndex(0)
    pages.window.tabs.setCurrentWidget(view)   # shown again: no second read
    assert not view.runner.busy and fake.logins == logins


@pytest.mark.parametrize("page_name", ["configs_page", "queue_page"])
def test_records_page_without_server_says_what_to_do_when_shown(qtbot, qloop, pages, page_name):
    view = getattr(pages, page_name)
    pages.window.tabs.show()
    pages.window.tabs.setCurrentWidget(view)
    assert not view.runner.busy
    assert view.status.text() == ("Not loaded yet: enter the server, repository, database and "
                                  "user on the Compass server tab, then Refresh.")
    pages.session.update(CompassProfile(server="127.0.0.1:1", repo="Sample", user="alice"), "")
    view.refresh_button.click()
    assert not view.runner.busy
    assert view.status.text() == ("Not loaded yet: enter the database on the Compass server "
                                  "tab, then Refresh.")


@pytest.fixture
def real_window(qtbot, qloop, fake, store):
    """The real MainWindow with the pages, a profile for the fake server and one delivery
    whose Description is truncated, selected in the detail pane."""
    from compass_listener.ui.main_window import MainWindow

    from ui_fixtures import build_delivery

    window = MainWindow(store, tray_available=True)
    qtbot.addWidget(window)
    controller = SimpleNamespace(settings=Settings(), secrets=SecretStore(use_keyring=False),
                                 extra_shutdown=[], store=store)
    built = install_compass_pages(window, controller)
    built.session.update(CompassProfile(
        server=f"127.0.0.1:{fake.port}", repo="Sample", db="SAMPL", user="alice",
        pinned={f"https://127.0.0.1:{fake.port}": CERT.fingerprint}), "pw")
    window.show()
    built.window = window

    def select(record_id: str) -> None:
        url = (f"https://localhost:8190/ccmweb/rest/repos/Sample/databases/SAMPL/records/Defect/"
               f"{record_id}/fields/Description")
        body = json.dumps({"webUrl": "http://127.0.0.1:8080/compassdefect", "content": {
            "id": {"truncated": "false", "value": record_id},
            "Description": {"truncated": "true", "value": "x" * 2048, "url": url}}}).encode()
        window.delivery_received(store.append_now(build_delivery(body)))
        window.model.flush_pending()
        window.table.selectRow(window.model.rowCount() - 1)
        qtbot.waitUntil(lambda: window.detail.delivery is not None)
        names = [window.detail.fields.item(r, 0).text()
                 for r in range(window.detail.fields.rowCount())]
        window.detail.fields.selectRow(names.index("Description"))
        assert window.detail.load_full_button.isEnabled()

    built.select = select
    yield built
    qloop.run_until_complete(built.shutdown())


def description_marker(window):
    fields = window.detail.fields
    rows = [r for r in range(fields.rowCount()) if fields.item(r, 0).text() == "Description"]
    return fields.item(rows[0], 2)


def test_full_value_success_is_short_in_the_status_bar_and_redirect_told_beside_field(
        qtbot, qloop, fake, real_window):
    window = real_window.window
    real_window.select("SAMPL00000084")
    window.detail.load_full_button.click()
    assert window.statusBar().currentMessage() == "Loading the full value of Description…"
    wait_until(qloop, lambda: "Loaded" in window.statusBar().currentMessage())
    length = len(window.detail.fields.item(description_marker(window).row(), 1).text())
    assert length > 5000
    assert window.statusBar().currentMessage() == \
        f"Loaded the full value of Description ({length:,} characters)"
    marker = description_marker(window)
    assert marker.text().endswith(f"; asked 127.0.0.1:{fake.port} instead of localhost:8190")
    assert "own name for itself" in marker.toolTip()
    assert not window.banner_box.isVisibleTo(window)


def test_full_value_failure_replaces_loading_status_and_banner_goes_to_compass_tab(
        qtbot, qloop, real_window):
    window = real_window.window
    settings_opened = []
    window.settings_requested.connect(lambda: settings_opened.append(True))
    real_window.select("SAMPL99999999")   # no such record: the server answers 404
    window.detail.load_full_button.click()
    wait_until(qloop, lambda: not real_window.full_value.runner.busy)
    problem = window.banner.text()
    assert "not found" in problem.lower()
    assert window.banner_box.isVisibleTo(window)
    assert window.statusBar().currentMessage() == problem   # not "Loading…" any more
    assert window.banner_button.text() == "Go to the Compass server &tab"
    window.banner_button.click()
    assert window.pages.currentWidget() is real_window.server_page
    assert settings_opened == []
    # the listener's own problems still offer Settings
    window.show_problem("The port is taken.")
    assert window.banner_button.text() == "Open &Settings"
    window.banner_button.click()
    assert settings_opened == [True]


def mnemonic(text: str) -> str | None:
    """The Alt+letter of a text as Qt reads it ("&&" is a literal ampersand)."""
    i = 0
    while i < len(text) - 1:
        if text[i] == "&":
            if text[i + 1] != "&":
                return text[i + 1].lower()
            i += 1
        i += 1
    return None


def visible_mnemonics(window) -> list[tuple[str, str]]:
    """(letter, text) of every Alt+letter the window answers to as it is shown now: menu
    titles, tab texts, buttons and labels with a buddy."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QTabBar

    texts = [a.text() for a in window.menuBar().actions() if a.isVisible()]
    for bar in window.findChildren(QTabBar):
        if bar.isVisible():
            texts += [bar.tabText(i) for i in range(bar.count()) if bar.isTabVisible(i)]
    texts += [b.text() for b in window.findChildren(QAbstractButton) if b.isVisible()]
    texts += [label.text() for label in window.findChildren(QLabel)
              if label.isVisible() and label.buddy() is not None]
    return [(mnemonic(t), t) for t in texts if mnemonic(t)]


def clashes(found: list[tuple[str, str]], only: set[str] | None = None) -> dict[str, list]:
    by_letter: dict[str, list[str]] = {}
    for letter, text in found:
        by_letter.setdefault(letter, []).append(text)
    return {letter: texts for letter, texts in by_letter.items()
            if len(texts) > 1 and (only is None or only & set(texts))}


def test_compass_mnemonics_are_unique_in_the_main_window(qtbot, qloop, store):
    from PySide6.QtWidgets import QApplication

    from compass_listener.ui.main_window import MainWindow

    window = MainWindow(store, tray_available=True)
    qtbot.addWidget(window)
    controller = SimpleNamespace(settings=Settings(), secrets=SecretStore(use_keyring=False),
                                 extra_shutdown=[], store=store)
    built = install_compass_pages(window, controller)
    window.show()
    compass_tabs = {window.pages.tabText(i) for i in range(1, window.pages.count())}
    assert len(compass_tabs) == 3
    for index in range(window.pages.count()):
        window.pages.setCurrentIndex(index)
        QApplication.processEvents()
        found = visible_mnemonics(window)
        assert {"f", "e", "v", "h"} <= {letter for letter, _ in found}   # the menus
        if index == 0:
            assert clashes(found) == {}, found          # the Deliveries page itself
            for tab in range(window.detail.tabs.count()):
                window.detail.tabs.setCurrentIndex(tab)
                QApplication.processEvents()
                assert clashes(visible_mnemonics(window)) == {}, window.detail.tabs.tabText(tab)
            # Our tab texts and the banner button a Compass failure puts up must not clash.
            built.full_value.load("https://localhost:8190/x", "Description")   # no server
            assert window.banner_box.isVisible()
            found = visible_mnemonics(window)
            ours = compass_tabs | {window.banner_button.text()}
            assert window.banner_button.text() in {text for _, text in found}
            assert clashes(found, only=ours) == {}, found
            window.show_problem("The port is taken.")   # the listener's: "Open Settings"
            assert clashes(visible_mnemonics(window)) == {}
            window.show_problem("")
        else:
            assert clashes(found) == {}, (window.pages.tabText(index), found)
    # the two clashes the new-user test hit
    window.pages.setCurrentWidget(built.server_page)
    letters = {mnemonic(t): t for _, t in visible_mnemonics(window)}
    assert letters["c"] == "Webhook&Config" and letters["e"] == "&Edit"
    assert letters["k"] == built.server_page.check_button.text()
    assert letters["n"] == built.server_page.hooksetup_button.text()
    qloop.run_until_complete(built.shutdown())
