"""The About dialog: versions, folders with working Open buttons, secret-free diagnostics."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from compass_listener import __version__
from compass_listener.ui import diagnostics
from compass_listener.ui.about_dialog import AboutDialog


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def dialog(qtbot, home):
    opened = []
    dlg = AboutDialog(open_url=lambda url: opened.append(url) or True)
    dlg.opened = opened
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def _texts(dialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_shows_versions_and_folders(dialog, home):
    text = _texts(dialog)
    for expected in (__version__, qVersion(), PySide6.__version__, str(home),
                     str(home / "logs")):
        assert expected in text
    assert dialog.findChild(QLabel, "version_PySide6").text() == PySide6.__version__
    assert not dialog.isModal()


def test_open_buttons_open_the_folders(dialog, qtbot, home):
    qtbot.mouseClick(dialog.open_buttons["Logs"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.open_buttons["Data"], Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in dialog.opened] == [str(home / "logs"), str(home)]


def test_open_failure_is_a_sentence(qtbot, home):
    dlg = AboutDialog(open_url=lambda url: False)
    qtbot.addWidget(dlg)
    dlg.open_buttons["Settings"].click()
    assert "Could not open" in dlg.status.text()


def test_copy_diagnostics_excludes_secrets(dialog, qtbot, monkeypatch):
    monkeypatch.setenv("COMPASS_WEBHOOK_SECRET", "s3cr3t-webhook-value")
    monkeypatch.setenv("COMPASS_PASSWORD", "hunter2-password")
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    with qtbot.waitSignal(dialog.diagnostics_copied) as blocker:
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    text = blocker.args[0]
    assert QGuiApplication.clipboard().text() == text
    assert "s3cr3t" not in text and "hunter2" not in text
    assert "COMPASS_WEBHOOK_SECRET" not in text and "COMPASS_PASSWORD" not in text
    assert f"Compass Listener: {__version__}" in text and f"Qt: {qVersion()}" in text
    assert "$XDG_SESSION_TYPE: x11" in text
    assert "copied" in dialog.status.text()


def test_diagnostics_only_allow_listed_environment(monkeypatch, qapp, home):
    for name in list(os.environ):
        if name not in diagnostics.SAFE_ENV and name != "COMPASS_LISTENER_HOME":
            monkeypatch.setenv(name, "LEAK-" + name)
    text = diagnostics.diagnostics_text()
    assert "LEAK-" not in text


def test_close_button_closes(dialog, qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    box = dialog.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Close), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
