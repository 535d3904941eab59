"""The About dialog: versions, the data/log/settings folders with Open buttons, diagnostics.

Non-modal by design: callers show it with show() or open(), never exec(), so the qasync
loop keeps serving deliveries while it is up.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QVBoxLayout, QWidget)

from compass_listener import APP_NAME, __version__
from compass_listener.ui import diagnostics, icons

COMMENT = "Receives, verifies and keeps HCL Compass webhook deliveries."


class AboutDialog(QDialog):
    """About Compass Listener. `open_url` is injectable so tests need not launch a file manager."""

    diagnostics_copied = Signal(str)

    def __init__(self, parent: QWidget | None = None,
                 open_url: Callable[[QUrl], object] = QDesktopServices.openUrl) -> None:
        super().__init__(parent)
        self._open_url = open_url
        self.setWindowTitle(f"About {APP_NAME}")
        self.setObjectName("aboutDialog")
        self.setWindowIcon(icons.app_icon())

        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(icons.app_icon().pixmap(64, 64))
        header.addWidget(logo)
        title = QLabel(f"<b style='font-size:15pt'>{APP_NAME}</b><br>Version {__version__}"
                       f"<br>{COMMENT}")
        title.setWordWrap(True)
        header.addWidget(title, 1)

        version_box = QGroupBox("Versions")
        version_form = QFormLayout(version_box)
        for name, value in diagnostics.versions()[1:]:
            label = QLabel(value)
            label.setObjectName(f"version_{name}")
            version_form.addRow(f"{name}:", label)

        folder_box = QGroupBox("Folders")
        folder_form = QFormLayout(folder_box)
        self.open_buttons: dict[str, QPushButton] = {}
        for location in diagnostics.locations():
            row = QHBoxLayout()
            path_label = QLabel(location.path)
            path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            button = QPushButton("Open")
            button.setToolTip(f"Open the {location.label.lower()} folder")
            button.clicked.connect(lambda _=False, p=location.path: self._open_folder(p))
            self.open_buttons[location.label] = button
            row.addWidget(path_label, 1)
            row.addWidget(button)
            folder_form.addRow(f"{location.label}:", row)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy diagnostics",
                                             QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setToolTip("Copy versions, platform and folders for a bug report "
                                    "(no secrets are included)")
        self.copy_button.clicked.connect(self.copy_diagnostics)
        buttons.rejected.connect(self.reject)
        self.status = QLabel()
        self.status.setObjectName("aboutStatus")

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(version_box)
        layout.addWidget(folder_box)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def _open_folder(self, path: str) -> None:
        if self._open_url(QUrl.fromLocalFile(path)) is False:
            self.status.setText(f"Could not open {path}; no file manager answered. "
                                "The path above can be selected and copied.")

    def copy_diagnostics(self) -> None:
        text = diagnostics.diagnostics_text()
        QGuiApplication.clipboard().setText(text)
        self.status.setText("Diagnostics copied to the clipboard (no secrets included).")
        self.diagnostics_copied.emit(text)
