"""The main window as a user drives it: live rows, detail tabs, filter, copy, notices."""

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from compass_listener.core.folding import Notice
from compass_listener.ui.main_window import MainWindow

from ui_fixtures import build_delivery, record_body

HOSTILE = '<img src="http://example.invalid/x.png"><a href="x">link</a><b>bold</b>'


def _window(qtbot, store, tray=True):
    w = MainWindow(store, tray_available=tray, listener_base_url=lambda: "http://127.0.0.1:8080")
    qtbot.addWidget(w)
    w.show()
    return w


def _select_row(qtbot, w, row=0):
    w.model.flush_pending()
    w.table.selectRow(row)
    qtbot.waitUntil(lambda: w.detail.delivery is not None)


def test_a_live_delivery_appears_and_its_details_show(qtbot, store):
    w = _window(qtbot, store)
    d = store.append_now(build_delivery(index=3))
    w.delivery_received(d)
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=1000)
    _select_row(qtbot, w)
    parsed = d.parsed()
    assert w.detail.fields.rowCount() == len(parsed.fields) >= 40
    truncated = [w.detail.fields.item(r, 2).text() for r in range(w.detail.fields.rowCount())
                 if w.detail.fields.item(r, 2).text()]
    assert len(truncated) == 1 and truncated[0].startswith("truncated · https://")
    assert json.loads(w.detail.pretty.toPlainText()) == json.loads(d.body)
    assert w.detail.raw.toPlainText() == d.body.decode()
    assert w.detail.hex.toPlainText().startswith("00000000  7b")
    header_names = [w.detail.headers.item(r, 0).text() for r in range(w.detail.headers.rowCount())]
    assert "X-Compass-Signature" in header_names
    assert "Status: 200" in w.detail.reply.toPlainText()
    assert "last delivery" in w.last_label.text()


def test_hostile_record_text_is_shown_literally_everywhere(qtbot, store):
    w = _window(qtbot, store, tray=False)
    d = store.append_now(build_delivery(record_body(id="SAMPL9", Headline=HOSTILE,
                                                    Notes=HOSTILE)))
    w.delivery_received(d)
    _select_row(qtbot, w)
    assert w.model.data(w.model.index(0, 5)) == HOSTILE
    values = [w.detail.fields.item(r, 1).text() for r in range(w.detail.fields.rowCount())]
    assert HOSTILE in values
    assert w.detail.title.textFormat() == Qt.TextFormat.PlainText
    assert HOSTILE in w.detail.title.text()
    for label in w.findChildren(QLabel):
        if HOSTILE in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText
    w.add_notice(Notice(f"Defect SAMPL9 · {HOSTILE}", HOSTILE))
    assert w.notices.item(0).text().endswith(HOSTILE)


def test_secret_looking_headers_are_hidden_until_revealed(qtbot, store):
    w = _window(qtbot, store)
    d = store.append_now(build_delivery(extra_headers=[("Authorization", "Bearer abc.def")]))
    w.delivery_received(d)
    _select_row(qtbot, w)
    def value_of(name):
        for r in range(w.detail.headers.rowCount()):
            if w.detail.headers.item(r, 0).text() == name:
                return w.detail.headers.item(r, 1).text()
    assert "abc.def" not in value_of("Authorization")
    w.detail.reveal.setChecked(True)
    assert value_of("Authorization") == "Bearer abc.def"


def test_filter_field_finds_by_field_value(qtbot, store):
    store.append_now(build_delivery(record_body(id="A1", Headline="one", Project="Zephyr")))
    store.append_now(build_delivery(record_body(id="B2", Headline="two", Project="Other")))
    w = _window(qtbot, store)
    assert w.model.rowCount() == 2
    qtbot.keyClicks(w.filter_edit, "zephyr")
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=2000)
    assert w.model.delivery_at(0).record_id == "A1"
    assert w.shown_label.text() == "1 match"


def test_copy_payload_and_copy_as_curl(qtbot, store):
    w = _window(qtbot, store)
    d = store.append_now(build_delivery(index=5))
    w.delivery_received(d)
    _select_row(qtbot, w)
    w.detail.copy_payload()
    assert QGuiApplication.clipboard().text() == d.body.decode()
    w.detail.copy_as_curl()
    curl = QGuiApplication.clipboard().text()
    assert curl.startswith("curl -sS -X POST http://127.0.0.1:8080/compassdefect")
    assert "X-Compass-Signature" in curl and "--data-binary" in curl


def test_clicking_a_notice_opens_its_delivery(qtbot, store):
    w = _window(qtbot, store, tray=False)
    first = store.append_now(build_delivery(index=1))
    store.append_now(build_delivery(index=2))
    w.model.reload("")
    assert w.notices_dock.isVisible()          # no tray: notices live in the window
    w.add_notice(Notice("Defect", "x", delivery_id=first.id))
    w.notices.itemActivated.emit(w.notices.item(0))
    qtbot.waitUntil(lambda: w.detail.delivery is not None and w.detail.delivery.id == first.id)


def test_problem_banner_names_the_problem(qtbot, store):
    w = _window(qtbot, store)
    w.set_listener_state("error", [], "port 8080 on 127.0.0.1 is already in use by another program")
    assert w.banner_box.isVisible() and "8080" in w.banner.text()
    w.set_listener_state("listening", ["http://127.0.0.1:8081/compassdefect"])
    assert not w.banner_box.isVisible()
    assert "8081" in w.urls_label.text()


def test_hex_dump_shows_every_byte_value_and_offsets():
    from compass_listener.ui.detail_pane import hex_dump

    lines = hex_dump(bytes(range(256))).splitlines()
    assert len(lines) == 16
    assert lines[0] == ("00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  "
                        "................")
    assert lines[4] == ("00000040  40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f  "
                        "@ABCDEFGHIJKLMNO")
    assert lines[15].startswith("000000f0  f0 f1") and lines[15].endswith("." * 16)
    assert hex_dump(b"abc") == "00000000  61 62 63" + " " * 39 + "  abc"
    tail = hex_dump(b"x" * 40, limit=32).splitlines()[-1]
    assert tail.startswith("… 8 more bytes")
