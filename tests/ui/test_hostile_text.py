"""Record text that looks like HTML or Qt rich text, or carries control and direction
characters, is shown as the characters it is (issue 4, part 4): in the table and its
tooltips, the detail pane, the notification list, the tray balloon and tooltip, and the
Compass pages. A tooltip is checked the way Qt shows it: if Qt would guess rich text, the
rendered text must still be the literal one.
"""

from __future__ import annotations

import html
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtGui import Qt as QtGuiNamespace
from PySide6.QtWidgets import QLabel, QWidget

from compass_listener.core.folding import notice_for
from compass_listener.ui import plain
from compass_listener.ui.main_window import MainWindow
from compass_listener.ui.tray import TrayController

from ui_fixtures import build_delivery, record_body

MARKUP = [
    '<img src="http://127.0.0.1:9/x.png">',
    '<a href="http://127.0.0.1:9/">click me</a>',
    "<b>bold</b> and <i>it</i>",
    "<qt><font color=red size=7>RED</font></qt>",
    "<h1>big</h1>&amp;&lt;",
]
HOSTILE = "".join(MARKUP)
BIDI = "inv\u202eoice.exe\u202c \u2066iso\u2069 \u200fRLM \u061c"
CONTROLS = "bell\x07 esc\x1b[31m nul\x00 tab\t cr\r ls\u2028 del\x7f"
SNEAKY = BIDI + " " + CONTROLS


def shown(tooltip: str) -> str:
    """The text a user sees for `tooltip`: Qt renders it as HTML when it looks like HTML."""
    if tooltip and QtGuiNamespace.mightBeRichText(tooltip):
        doc = QTextDocument()
        doc.setHtml(tooltip)
        return doc.toPlainText()
    return tooltip


def harmless(text: str) -> bool:
    """No control or direction character left to hide or reorder anything."""
    return all(ch.isprintable() for ch in text)


@pytest.fixture
def window(qtbot, store):
    w = MainWindow(store, tray_available=False,
                   listener_base_url=lambda: "http://127.0.0.1:8080")
    qtbot.addWidget(w)
    w.show()
    return w


def deliver(qtbot, window, store, **fields):
    d = store.append_now(build_delivery(record_body(**fields)))
    window.delivery_received(d)
    window.model.flush_pending()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.delivery is not None)
    return d


def table_cells(window, role):
    m = window.model
    return [m.data(m.index(0, c), role) for c in range(m.columnCount())]


# ---- markup ----------------------------------------------------------------------------------
def test_markup_in_every_summary_column_is_literal_in_cells_and_tooltips(qtbot, window, store):
    deliver(qtbot, window, store, id=MARKUP[0], record_type=MARKUP[1], State=MARKUP[2],
            Headline=HOSTILE, Owner=MARKUP[3])
    cells = table_cells(window, Qt.ItemDataRole.DisplayRole)
    tips = table_cells(window, Qt.ItemDataRole.ToolTipRole)
    for column, literal in ((2, MARKUP[1]), (3, MARKUP[0]), (4, MARKUP[2]), (5, HOSTILE),
                            (6, MARKUP[3])):
        assert cells[column] == literal
        assert shown(tips[column]) == literal, (column, tips[column])
    assert shown(window.last_label.toolTip()).endswith(HOSTILE)


def test_markup_is_literal_in_the_detail_pane(qtbot, window, store):
    d = deliver(qtbot, window, store, id="SAMPL1", Headline=HOSTILE, **{MARKUP[2]: MARKUP[4]})
    pane = window.detail
    assert pane.title.textFormat() == Qt.TextFormat.PlainText and HOSTILE in pane.title.text()
    fields = {pane.fields.item(r, 0).text(): pane.fields.item(r, 1)
              for r in range(pane.fields.rowCount())}
    assert fields["Headline"].text() == HOSTILE and shown(fields["Headline"].toolTip()) == HOSTILE
    assert fields[MARKUP[2]].text() == MARKUP[4]                  # a field *named* with markup
    assert shown(fields[MARKUP[2]].toolTip()) == MARKUP[4]
    assert shown(pane.fields.item(0, 0).toolTip()) == pane.fields.item(0, 0).text()
    assert json.loads(pane.pretty.toPlainText()) == json.loads(d.body)
    assert pane.raw.toPlainText() == d.body_text
    # Every label in the window that shows record text takes it as plain text.
    for label in window.findChildren(QLabel):
        if "<" in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText, label.text()


def test_markup_in_a_header_is_literal(qtbot, window, store):
    d = store.append_now(build_delivery(extra_headers=[("X-Note", HOSTILE)]))
    window.delivery_received(d)
    window.model.flush_pending()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.delivery is not None)
    headers = window.detail.headers
    row = next(r for r in range(headers.rowCount()) if headers.item(r, 0).text() == "X-Note")
    assert headers.item(row, 1).text() == HOSTILE
    assert shown(headers.item(row, 1).toolTip()) == HOSTILE


def test_markup_is_literal_in_the_notification_list(qtbot, window, store):
    d = store.append_now(build_delivery(record_body(id="SAMPL2", Headline=HOSTILE)))
    window.add_notice(notice_for(d))
    item = window.notices.item(0)
    assert item.text().endswith(HOSTILE)
    assert shown(item.toolTip()) == notice_for(d).message.replace("\n", " ")


class Balloons:
    def __init__(self):
        self.shown: list[tuple[str, str]] = []

    def __call__(self, title, message, *args):
        self.shown.append((title, message))


@pytest.fixture
def tray(qtbot):
    t = TrayController()
    # Offscreen has no tray: stand in for one, and record what would be sent to it.
    t.available = True
    t.icon.isVisible = lambda: True
    t.icon.showMessage = Balloons()
    return t


def test_tray_balloon_and_tooltip_can_never_carry_markup(qtbot, tray, store):
    d = store.append_now(build_delivery(record_body(id=MARKUP[0], Headline=HOSTILE)))
    tray.delivery_received(d, window_visible=False)
    assert len(tray.icon.showMessage.shown) == 1
    title, message = tray.icon.showMessage.shown[0]
    for text in (title, message, tray.icon.toolTip()):
        assert "<" not in text and ">" not in text
        # Nothing a renderer could take as a tag; entities (&amp;) may be decoded by a
        # server that reads markup, which changes no more than those characters.
        assert shown(text) in (text, html.unescape(text))
    # The user still reads what was typed, with look-alike angle brackets.
    assert "\u2039b\u203abold\u2039/b\u203a" in title
    assert "\u2039img src=" in title and "click me" in title
    assert "\u2039b\u203abold" in tray.icon.toolTip()


def test_rejected_delivery_notice_is_also_clean(qtbot, tray, store):
    d = store.append_now(build_delivery(record_body(id="X", Headline=HOSTILE + SNEAKY),
                                        signed_with="forged"))
    tray.delivery_received(d, window_visible=False)
    title, message = tray.icon.showMessage.shown[-1]
    assert "<" not in title + message and ">" not in title + message
    assert all(harmless(line) for line in (title + "\n" + message).split("\n"))


# ---- control and direction characters --------------------------------------------------------
def test_control_and_bidi_characters_are_harmless_in_cells_title_and_notices(qtbot, window,
                                                                             store, tray):
    d = deliver(qtbot, window, store, id="SAMPL3", Headline=SNEAKY, Owner=BIDI)
    cells = table_cells(window, Qt.ItemDataRole.DisplayRole)
    assert harmless(cells[5]) and harmless(cells[6])
    assert "inv oice.exe" in cells[5] and "bell" in cells[5] and "del" in cells[5]
    assert all(harmless(shown(tip)) for tip in table_cells(window, Qt.ItemDataRole.ToolTipRole)
               if tip)
    assert harmless(window.detail.title.text())
    headline = next(window.detail.fields.item(r, 1) for r in
                    range(window.detail.fields.rowCount())
                    if window.detail.fields.item(r, 0).text() == "Headline")
    assert harmless(headline.text()) and harmless(shown(headline.toolTip()))
    window.add_notice(notice_for(d))
    assert harmless(window.notices.item(0).text())
    tray.delivery_received(d, window_visible=False)
    title, message = tray.icon.showMessage.shown[-1]
    assert harmless(title) and all(harmless(line) for line in message.split("\n"))
    assert all(harmless(line) for line in tray.icon.toolTip().split("\n"))


def test_body_views_show_direction_characters_as_escapes_and_stay_exact_json(qtbot, window,
                                                                              store):
    d = deliver(qtbot, window, store, id="SAMPL4", Headline=SNEAKY)
    pretty = window.detail.pretty.toPlainText()
    assert "\\u202e" in pretty and "\u202e" not in pretty and "\x1b" not in pretty
    # The escapes are JSON's own: the view still parses to exactly what was received.
    assert json.loads(pretty) == json.loads(d.body)
    raw = window.detail.raw.toPlainText()
    assert "\u202e" not in raw and "\\u202e" in raw
    assert window.detail.hex.toPlainText().startswith("00000000  7b")


def test_notification_text_keeps_lines_and_bounds_them():
    text = "a" * 1000 + "\n<b>two</b>\nthree\nfour\nfive"
    out = plain.notification(text)
    lines = out.split("\n")
    assert len(lines) == 4 and len(lines[0]) <= 241 and lines[1] == "\u2039b\u203atwo\u2039/b\u203a"


# ---- the Compass pages (record values from the REST server) ----------------------------------
def test_compass_record_values_are_literal_in_cells_and_tooltips(qtbot):
    from compass_listener.ui.compass_records_page import RecordsPage

    from PySide6.QtCore import QObject, Signal
    from types import SimpleNamespace

    class StubSession(QObject):     # what the page reads of a session, with markup in it
        profile_changed = Signal()
        profile = SimpleNamespace(repo=MARKUP[2], db="SAMPL", server="127.0.0.1")

    page = RecordsPage(StubSession())
    page.title = "WebhookData records"
    page._update_heading()
    qtbot.addWidget(page)
    page.set_rows(["Headline", "Owner"], [([HOSTILE, SNEAKY], {"Headline": HOSTILE}, None)])
    item = page.model.item(0, 0)
    assert item.text() == HOSTILE and shown(item.toolTip()) == HOSTILE
    assert harmless(shown(page.model.item(0, 1).toolTip()))
    for label in page.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()


def test_untrusted_certificate_subject_is_plain_text(qtbot):
    from compass_listener.ui.compass_trust import TrustBanner

    banner = TrustBanner()
    qtbot.addWidget(banner)
    assert banner.label.textFormat() == Qt.TextFormat.PlainText


# ---- sheer size ------------------------------------------------------------------------------
def test_a_delivery_of_100000_fields_opens_quickly_and_says_what_is_not_listed(qtbot, window,
                                                                               store):
    import time

    from compass_listener.ui.detail_pane import FIELD_ROWS_MAX

    content = {f"Field_{i}": str(i) for i in range(100_000)}
    d = store.append_now(build_delivery(record_body(id="SAMPL5", **content)))
    window.delivery_received(d)
    window.model.flush_pending()
    started = time.monotonic()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.delivery is not None)
    # The listener shares this loop: a click must not stall it for long.
    assert time.monotonic() - started < 6          # 13 s before the caps
    fields = window.detail.fields
    assert fields.rowCount() == FIELD_ROWS_MAX + 1
    assert fields.item(FIELD_ROWS_MAX, 0).text() == "(more fields)"
    assert "98001 more fields" in fields.item(FIELD_ROWS_MAX, 1).text()
    assert "more characters are not shown" in window.detail.raw.toPlainText()[-200:]


def test_a_delivery_nested_10000_deep_shows_as_unreadable(qtbot, window, store):
    body = ("[" * 10_000 + "]" * 10_000).encode()
    d = store.append_now(build_delivery(body))
    window.delivery_received(d)
    window.model.flush_pending()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.delivery is not None)
    fields = window.detail.fields
    assert fields.item(fields.rowCount() - 1, 0).text() == "(not readable)"
    assert "nested too deeply" in fields.item(fields.rowCount() - 1, 1).text()
    assert window.detail.raw.toPlainText() == body.decode()


def test_every_control_and_format_character_is_escaped_in_body_views():
    import unicodedata

    wanted = [chr(c) for c in range(0x110000) if c not in (9, 10, 13)
              and unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp")]
    escaped = plain.visible_controls("".join(wanted))
    assert all(ch.isprintable() for ch in escaped)
    assert json.loads('"' + escaped + '"') == "".join(wanted)
    ordinary = "plain text, ünïcödé, 漢字, emoji 🙂, tab\tand\r\nnew lines"
    assert plain.visible_controls(ordinary) == ordinary


def test_a_headline_of_megabytes_does_not_stall_the_window(qtbot, window, store, tray):
    import time

    headline = "word " * 1_000_000
    d = store.append_now(build_delivery(record_body(id="SAMPL6", Headline=headline)))
    started = time.monotonic()
    window.delivery_received(d)
    window.model.flush_pending()
    window.table.viewport().repaint()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.delivery is not None)
    window.add_notice(notice_for(d))
    window.notices.viewport().repaint()
    tray.delivery_received(d, window_visible=False)
    assert time.monotonic() - started < 6          # about 50 s before the caps
    cell = window.model.data(window.model.index(0, 5))
    assert cell.startswith("word word") and cell.endswith("…") and len(cell) <= 5001
    assert len(window.detail.title.text()) < 6000
    assert len(window.notices.item(0).text()) < 6000


def test_a_loaded_full_value_is_shown_whole(qtbot, window, store):
    deliver(qtbot, window, store, id="SAMPL7", Description="start")
    full = "x" * 20_000
    window.detail.show_full_value("Description", full)
    fields = window.detail.fields
    row = next(r for r in range(fields.rowCount()) if fields.item(r, 0).text() == "Description")
    assert fields.item(row, 1).text() == full
