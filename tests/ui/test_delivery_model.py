"""The live table model: paging from the store, batched live inserts, filter, Qt contract."""

from PySide6.QtCore import QModelIndex, Qt

from compass_listener.ui import delivery_model
from compass_listener.ui.delivery_model import DeliveryTableModel

from ui_fixtures import build_delivery, record_body


def _fill(store, n):
    return [store.append_now(build_delivery(index=i)) for i in range(n)]


def test_model_passes_qtmodeltester_with_rows_paged_and_live(qtbot, qtmodeltester, store,
                                                            monkeypatch):
    monkeypatch.setattr(delivery_model, "PAGE_SIZE", 20)
    stored = _fill(store, 45)
    model = DeliveryTableModel(store)
    model.reload("")
    # Every row counts from the start (the scroll bar spans the history); pages load as read.
    assert model.rowCount() == 45 and not model.canFetchMore(QModelIndex())
    assert model.loaded_rows == 0
    assert model.delivery_at(44).id == stored[0].id and model.loaded_rows == 5
    assert [model.delivery_at(r).id for r in range(45)] == [d.id for d in stored[::-1]]
    qtmodeltester.check(model)
    for d in _fill(store, 5):
        model.add_live(d)
    model.flush_pending()
    qtmodeltester.check(model)


def test_rows_are_newest_first_with_the_columns_a_user_reads(store):
    stored = _fill(store, 3)
    model = DeliveryTableModel(store)
    model.reload("")
    newest = stored[-1]
    values = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert values[1:7] == ["/compassdefect", "Defect", newest.record_id, newest.state,
                           newest.headline, newest.owner]
    assert values[7] == "signature valid"


def test_a_burst_of_live_deliveries_is_inserted_in_one_batch(qtbot, store):
    model = DeliveryTableModel(store)
    model.reload("")
    inserts = []
    model.rowsInserted.connect(lambda parent, first, last: inserts.append((first, last)))
    delivered = [store.append_now(build_delivery(index=i)) for i in range(300)]
    for d in delivered:
        model.add_live(d)
    assert model.rowCount() == 0          # nothing yet: queued for the batch timer
    qtbot.waitUntil(lambda: model.rowCount() == 300, timeout=2000)
    assert inserts == [(0, 299)]
    assert model.delivery_at(0).id == delivered[-1].id
    assert model.delivery_at(0).body == b""     # rows stay light; bodies stay in the store


def test_filter_matches_id_headline_and_any_field_value(store):
    a = store.append_now(build_delivery(record_body(id="SAMPL1", Headline="Printer on fire",
                                                    Owner="zoe", Project="Atlas")))
    b = store.append_now(build_delivery(record_body(id="SAMPL2", Headline="Slow query",
                                                    Owner="ann", Project="Borealis")))
    model = DeliveryTableModel(store)
    for text, expected in (("sampl1", [a.id]), ("slow", [b.id]), ("borealis", [b.id]),
                           ("nothing-like-this", [])):
        model.reload(text)
        assert [model.delivery_at(r).id for r in range(model.rowCount())] == expected, text
    model.reload("atlas")
    model.add_live(b)          # does not match the filter: not shown
    model.add_live(a)
    model.flush_pending()
    assert [model.delivery_at(r).id for r in range(model.rowCount())] == [a.id, a.id]


def test_rejected_and_duplicate_deliveries_say_so(store):
    rejected = store.append_now(build_delivery(signed_with="wrong"))
    dup1 = store.append_now(build_delivery(index=7))
    dup2 = store.append_now(build_delivery(index=7))
    assert dup2.duplicate_of == dup1.id
    model = DeliveryTableModel(store)
    model.reload("")
    texts = {model.delivery_at(r).id: model.data(model.index(r, 7)) for r in range(3)}
    assert texts[rejected.id] == "signature invalid · rejected (401)"
    assert texts[dup2.id].endswith("duplicate")
    assert model.data(model.index(0, 7), Qt.ItemDataRole.ForegroundRole) is not None


def test_record_text_is_one_plain_line_and_tooltips_escape_markup(store):
    d = store.append_now(build_delivery(record_body(
        id="X1", Headline="<b>bold</b>\u202eevil\nline")))
    model = DeliveryTableModel(store)
    model.reload("")
    shown = model.data(model.index(0, 5))
    assert shown == "<b>bold</b> evil line"
    tip = model.data(model.index(0, 5), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;bold&lt;/b&gt;" in tip and "<b>" not in tip


def test_a_long_session_keeps_memory_bounded_and_every_row_in_order(
        qtbot, qtmodeltester, store, monkeypatch):
    monkeypatch.setattr(delivery_model, "PAGE_SIZE", 10)
    monkeypatch.setattr(delivery_model, "MAX_ROWS", 25)
    model = DeliveryTableModel(store)
    model.reload("")
    stored = _fill(store, 40)
    for d in stored[:30]:
        model.add_live(d)
    model.flush_pending()
    for d in stored[30:]:
        model.add_live(d)
    model.flush_pending()
    assert model.rowCount() == 40
    # Reading every row back (scrolling through) keeps at most MAX_ROWS in memory.
    assert [model.delivery_at(r).id for r in range(40)] == [d.id for d in stored[::-1]]
    assert model.loaded_rows <= 25
    assert model.row_of(stored[3].id) == 36
    qtmodeltester.check(model)


def test_a_burst_larger_than_the_bound_is_all_there_and_memory_stays_bounded(
        qtbot, store, monkeypatch):
    monkeypatch.setattr(delivery_model, "MAX_ROWS", 20)
    monkeypatch.setattr(delivery_model, "PAGE_SIZE", 10)
    model = DeliveryTableModel(store)
    model.reload("")
    stored = _fill(store, 50)
    for d in stored:
        model.add_live(d)
    model.flush_pending()
    assert model.rowCount() == 50
    assert model.delivery_at(0).id == stored[-1].id and model.delivery_at(49).id == stored[0].id
    assert model.loaded_rows <= 20


def test_a_lone_delivery_shows_at_once_and_a_burst_in_few_inserts(qtbot, store):
    model = DeliveryTableModel(store)
    model.reload("")
    inserts = []
    model.rowsInserted.connect(lambda parent, first, last: inserts.append(last - first + 1))
    lone = store.append_now(build_delivery(index=1))
    model.add_live(lone)
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=1000)
    burst = [store.append_now(build_delivery(index=i)) for i in range(2, 202)]
    for d in burst:
        model.add_live(d)
    qtbot.waitUntil(lambda: model.rowCount() == 201, timeout=2000)
    assert inserts == [1, 200]
