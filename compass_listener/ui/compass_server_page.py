"""The "Compass server" page: connection form, package check and one-click hooksetup.

Repo and db are drop-downs filled from the server once it answers, and stay editable.
Every call runs as a cancellable task; results and errors appear in the page, never in a
blocking dialog. Alt+letters avoid the main window's menus (F, E, V, H) and tabs
(D, O, W, C): tests/ui/test_compass_pages.py checks that no two are the same.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from compass_listener.core.compass_urls import ServerAddressError, normalize_server
from compass_listener.store.compass_profile import CompassProfile
from compass_listener.ui.compass_session import CompassSession
from compass_listener.ui.compass_tasks import TaskRunner, error_text
from compass_listener.ui.compass_trust import TrustBanner


class CompassServerPage(QWidget):
    connection_checked = Signal(bool)   # the package check passed (True) or not

    def __init__(self, session: CompassSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self)
        self.lookup = TaskRunner(self)   # repo/db lists: separate, so they never block actions
        p = session.profile

        self.server_edit = QLineEdit(p.server)
        self.server_edit.setPlaceholderText("compass.example.com  (port 8190 and /ccmweb/rest "
                                            "are added)")
        self.repo_combo = QComboBox()
        self.repo_combo.setEditable(True)
        self.repo_combo.setEditText(p.repo)
        self.db_combo = QComboBox()
        self.db_combo.setEditable(True)
        self.db_combo.setEditText(p.db)
        self.user_edit = QLineEdit(p.user)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = QCheckBox("Re&member the password in the keyring")
        self.remember_check.setChecked(p.remember_password)
        self.token_check = QCheckBox("The password is a personal &access token (Compass 2.2 "
                                     "and later)")
        self.token_check.setChecked(p.use_token)
        if session.secrets is not None and not getattr(session.secrets, "backend_usable", True):
            self.remember_check.setText("Re&member the password (no keyring here: this "
                                        "session only)")
        self.ca_edit = QLineEdit(p.ca_file)
        self.ca_edit.setPlaceholderText("optional: PEM file of the CA that signed the server")
        self.ca_browse = QPushButton("Browse…")
        self.ca_browse.clicked.connect(self._browse_ca)
        self._update_password_hint()

        form = QFormLayout()
        form.addRow("&Server:", self.server_edit)
        form.addRow("&Repository:", self.repo_combo)
        form.addRow("Data&base:", self.db_combo)
        form.addRow("&User:", self.user_edit)
        form.addRow("&Password:", self.password_edit)
        form.addRow("", self.remember_check)
        form.addRow("", self.token_check)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(self.ca_browse)
        ca_label = QLabel("CA f&ile:")
        ca_label.setBuddy(self.ca_edit)
        form.addRow(ca_label, ca_row)
        self.trusted_label = QLabel()
        self.trusted_label.setTextFormat(Qt.TextFormat.PlainText)
        self.trusted_label.setWordWrap(True)
        self.trusted_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Trust:", self.trusted_label)

        self.check_button = QPushButton("Chec&k connection and package")
        self.hooksetup_button = QPushButton("E&nable webhooks on this server")
        self.hooksetup_button.setToolTip("POST /hooksetup with this user, password, repo and db")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.hooksetup_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel("Type the Compass REST server and credentials, then check the "
                             "connection.")
        self.status.setTextFormat(Qt.TextFormat.PlainText)     # server replies are shown verbatim
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner = TrustBanner()
        self.banner.trusted.connect(self._trusted)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("The server's reply appears here, verbatim.")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.banner)
        layout.addWidget(self.status)
        layout.addWidget(self.output, 1)

        self.check_button.clicked.connect(self.check_connection)
        self.hooksetup_button.clicked.connect(self.enable_webhooks)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.server_edit.editingFinished.connect(self.refresh_repos)
        self.repo_combo.activated.connect(lambda _=None: self.refresh_databases())
        self.repo_combo.lineEdit().editingFinished.connect(self.refresh_databases)
        self.user_edit.editingFinished.connect(self._update_password_hint)
        self.runner.busy_changed.connect(self._busy)
        self.runner.started.connect(lambda what: self.status.setText(what + "…"))
        self.runner.cancelled.connect(lambda: self.status.setText(f"Cancelled: {self.runner.what}."))
        self.runner.failed.connect(self._failed)
        self.lookup.failed.connect(self._lookup_failed)
        session.profile_changed.connect(self._show_trust)
        self._show_trust()

    # ---- form ---------------------------------------------------------------------------
    def profile_from_form(self) -> CompassProfile:
        old = self.session.profile
        return CompassProfile(
            server=self.server_edit.text().strip(), repo=self.repo_combo.currentText().strip(),
            db=self.db_combo.currentText().strip(), user=self.user_edit.text().strip(),
            remember_password=self.remember_check.isChecked(),
            use_token=self.token_check.isChecked(), ca_file=self.ca_edit.text().strip(),
            pinned=dict(old.pinned), timeout=old.timeout)

    def apply_form(self) -> bool:
        """Hand the form to the session; False (and a message) when the server is unusable."""
        profile = self.profile_from_form()
        try:
            normalize_server(profile.server)
        except ServerAddressError as exc:
            self.status.setText(error_text(exc))
            return False
        typed = self.password_edit.text()
        # An empty field keeps a stored password; Compass's own default admin has an empty one.
        password = None if (not typed and self.session.has_stored_password()) else typed
        self.session.update(profile, password)
        self._update_password_hint()
        return True

    def first_empty_field(self) -> None:
        """Put the cursor where the form needs filling (the server field when all is set)."""
        for widget in (self.server_edit, self.repo_combo, self.db_combo, self.user_edit):
            text = widget.text() if isinstance(widget, QLineEdit) else widget.currentText()
            if not text.strip():
                widget.setFocus()
                return
        self.server_edit.setFocus()

    def _update_password_hint(self) -> None:
        stored = self.session.has_stored_password()
        self.password_edit.setPlaceholderText("(stored in the keyring)" if stored else
                                              "may be empty for a fresh Compass admin")

    def _browse_ca(self) -> None:
        dialog = QFileDialog(self, "CA certificate of the Compass server")
        dialog.setNameFilter("PEM certificates (*.pem *.crt *.cer);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.ca_edit.setText)
        dialog.open()   # non-blocking

    def _show_trust(self) -> None:
        p = self.session.profile
        pinned = p.pinned_fingerprint()
        if pinned:
            self.trusted_label.setText(f"this server's certificate SHA-256 {pinned} (pinned)")
        elif p.ca_file:
            self.trusted_label.setText(f"certificates signed by the CA in {p.ca_file}")
        else:
            self.trusted_label.setText("certificates signed by the system's trusted authorities")

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.check_button.setEnabled(not busy)
        self.hooksetup_button.setEnabled(not busy)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(self.banner.STATUS if self.banner.show_error(exc)
                            else error_text(exc))

    def _trusted(self, fingerprint: str) -> None:
        self.apply_form()
        self.session.trust_fingerprint(fingerprint)
        self.status.setText(f"Certificate SHA-256 {fingerprint} is now trusted for this server; "
                            f"repeat the last action.")
        self.refresh_repos()

    # ---- actions ------------------------------------------------------------------------
    def refresh_repos(self) -> None:
        if not self.server_edit.text().strip() or not self.apply_form():
            return
        self.lookup.start(self._load_repos(), "Reading the repositories")

    def refresh_databases(self) -> None:
        if not self.repo_combo.currentText().strip() or not self.apply_form():
            return
        self.lookup.start(self._load_databases(self.repo_combo.currentText().strip()),
                          "Reading the databases")

    async def _load_repos(self) -> None:
        repos = await self.session.client().list_repos()
        _refill(self.repo_combo, repos)
        self.banner.hide()
        if self.repo_combo.currentText():
            await self._load_databases(self.repo_combo.currentText())

    async def _load_databases(self, repo: str) -> None:
        dbs = await self.session.client().list_databases(repo)
        _refill(self.db_combo, dbs)

    def _lookup_failed(self, exc: BaseException) -> None:
        if not self.banner.show_error(exc):
            self.status.setText(f"The repository and database lists could not be read: "
                                f"{error_text(exc)[0].lower()}{error_text(exc)[1:]}")

    def check_connection(self) -> None:
        if self.apply_form():
            self.banner.hide()
            self.runner.start(self._check(), "Logging in and checking the Webhooks package")

    async def _check(self) -> None:
        client = self.session.client()
        status = await client.check_package()
        message = status.message(client.repo, client.db)
        who = client.user or "the owner of the access token"
        self.status.setText(f"Connected to {client.base} as {who}; "
                            f"{message}.")
        self.output.setPlainText("Record types in this database:\n  " +
                                 "\n  ".join(status.record_types))
        self.connection_checked.emit(status.applied)

    def enable_webhooks(self) -> None:
        if self.apply_form():
            self.banner.hide()
            self.runner.start(self._hooksetup(), "Running hooksetup")

    async def _hooksetup(self) -> None:
        if self.session.profile.use_token:
            self.status.setText("Hooksetup needs a Compass user name and password, not a "
                                "token; untick the access token box and type the password.")
            return
        client = self.session.client()
        result = await client.hooksetup()
        self.output.setPlainText(f"POST {client.base}/hooksetup → HTTP {result.status}\n"
                                 f"{result.content_type}\n\n{result.body}")
        self.status.setText(result.message[:1].upper() + result.message[1:] + ".")


def _refill(combo: QComboBox, names: list[str]) -> None:
    """Replace the choices but keep what the user typed."""
    typed = combo.currentText()
    combo.clear()
    combo.addItems(names)
    combo.setEditText(typed if typed else (names[0] if names else ""))
