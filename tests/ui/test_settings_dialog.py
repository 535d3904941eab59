"""The Settings dialog: routes, secrets (never in the settings object), remote warning."""

from compass_listener.core.routes import Route
from compass_listener.core.signature import Scheme
from compass_listener.store.settings import Settings
from compass_listener.ui.settings_dialog import SettingsDialog


def _dialog(qtbot, settings=None, secrets=None):
    secrets = secrets or {}
    d = SettingsDialog(settings or Settings(), lambda p: p in secrets)
    qtbot.addWidget(d)
    applied = []
    d.applied.connect(lambda s, c, l: applied.append((s, c)))
    d.open()
    return d, applied


def test_entering_a_secret_applies_it_separately_from_the_settings(qtbot):
    d, applied = _dialog(qtbot)
    qtbot.keyClicks(d.secret, "s3cret")
    d.port.setValue(9091)
    d._ok()
    settings, changes = applied[0]
    assert changes == {"/compassdefect": "s3cret"}
    assert settings.port == 9091
    assert "s3cret" not in repr(settings)


def test_routes_can_be_added_edited_and_removed(qtbot):
    d, applied = _dialog(qtbot)
    d._add_route()
    d.path.clear()
    qtbot.keyClicks(d.path, "compasstask")
    d.label.clear()
    qtbot.keyClicks(d.label, "Task")
    d.policy.setCurrentIndex(d.policy.findData("flag"))
    d.header.setText("X-Sig")
    d.header.textEdited.emit("X-Sig")
    d._apply()
    routes = applied[-1][0].routes
    assert [(r.path, r.label, r.policy) for r in routes] == [
        ("/compassdefect", "Defect", "reject"), ("/compasstask", "Task", "flag")]
    assert routes[1].scheme.header == "X-Sig"
    d.route_list.setCurrentRow(1)
    d._remove_route()
    d._apply()
    assert [r.path for r in applied[-1][0].routes] == ["/compassdefect"]


def test_listening_beyond_loopback_without_a_secret_needs_confirmation(qtbot):
    d, applied = _dialog(qtbot)
    d.host.setText("0.0.0.0")
    assert "/compassdefect has no secret" in d.remote_warning.text()
    assert not d._apply()
    assert "Set a secret on /compassdefect" in d.error.text() and not applied
    d.allow_unsigned.setChecked(True)
    assert d._apply()
    assert applied[-1][0].allow_unsigned_remote


def test_learned_scheme_is_shown_and_can_be_forgotten(qtbot):
    route = Route("/compassdefect", "Defect",
                  Scheme(learned_header="X-Hub-Signature", learned_encoding="hex"))
    d, applied = _dialog(qtbot, Settings(routes=[route]), secrets={"/compassdefect"})
    assert "X-Hub-Signature" in d.learned.text()
    d._forget_learned()
    d._apply()
    assert applied[-1][0].routes[0].scheme.learned_header == ""
    assert applied[-1][1] == {}


def test_duplicate_paths_are_refused_with_a_sentence(qtbot):
    d, applied = _dialog(qtbot)
    d._add_route()
    d.path.setText("/compassdefect")
    d.path.textEdited.emit("/compassdefect")
    assert not d._apply()
    assert "same path" in d.error.text()


def test_an_address_that_is_not_one_is_refused_before_anything_changes(qtbot):
    d, applied = _dialog(qtbot)
    d.host.setText("not an address!")
    assert "is not an address" in d.remote_warning.text()
    assert "other machines" not in d.remote_warning.text()
    assert not d._apply() and not applied
    assert "'not an address!' is not an address" in d.error.text()
    for good in ("0.0.0.0", "::1", "[::]", "my-host.example", "localhost"):
        d.host.setText(good)
        assert "not an address" not in d.remote_warning.text(), good
