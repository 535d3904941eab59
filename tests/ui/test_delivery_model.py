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
    _fill(store, 45)
    model = DeliveryTableModel(store)
    model.reload("")
    assert model.rowCount() == 20 and model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 40
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 45 and not model.canFetchMore(QModelIndex())
    model.reload("")
    qtmodeltester.check(model)        # fetches the remaining pages itself as it walks
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


def test_live_rows_beyond_the_bound_drop_the_oldest_and_scrolling_brings_them_back(
        qtbot, qtmodeltester, store, monkeypatch):
    monkeypatch.setattr(delivery_model, "PAGE_SIZE", 10)
    monkeypatch.setattr(delivery_model, "MAX_ROWS", 25)
    model = DeliveryTableModel(store)
    model.reload("")
    removed = []
    model.rowsRemoved.connect(lambda parent, first, last: removed.append((first, last)))
    stored = _fill(store, 40)
    for d in stored[:30]:
        model.add_live(d)
    model.flush_pending()
    for d in stored[30:]:
        model.add_live(d)
    model.flush_pending()
    # Bounded: the newest 25 stay, in order; the oldest loaded rows went.
    assert model.rowCount() == 25 and removed
    assert [model.delivery_at(r).id for r in range(25)] == [d.id for d in stored[::-1][:25]]
    # Scrolling down fetches the dropped rows back from the store.
    assert model.canFetchMore(QModelIndex())
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert [model.delivery_at(r).id for r in range(model.rowCount())] == \
        [d.id for d in stored[::-1]]
    qtmodeltester.check(model)


def test_a_burst_larger_than_the_bound_keeps_only_the_newest(qtbot, store, monkeypatch):
    monkeypatch.setattr(delivery_model, "MAX_ROWS", 20)
    model = DeliveryTableModel(store)
    model.reload("")
    stored = _fill(store, 50)
    for d in stored:
        model.add_live(d)
    model.flush_pending()
    assert model.rowCount() == 20
    assert model.delivery_at(0).id == stored[-1].id and model.delivery_at(19).id == stored[30].id
    assert model.canFetchMore(QModelIndex())
