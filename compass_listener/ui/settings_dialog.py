"""The Settings dialog: listener address, routes (path, label, secret, scheme, policy) and
notifications. Opened with open(), never exec(); `applied` carries the new settings and
the secret changes, which the controller applies without a restart."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
    QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QSpinBox, QTabWidget,
    QVBoxLayout, QWidget,
)

from compass_listener.core.routes import (
    POLICY_FLAG, POLICY_REJECT, Route, normalise_path, path_problem,
)
from compass_listener.core.signature import Scheme
from compass_listener.store.settings import Settings




class SettingsDialog(QDialog):
    # (Settings, {route path: new secret str, or None to delete}, start_at_login or None)
    applied = Signal(object, object, object)

    def __init__(self, settings: Settings, has_secret, keyring_note: str = "",
                 start_at_login: bool | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compass Listener settings")
        self.setModal(False)
        self._settings = settings
        self._has_secret = has_secret            # callable(path) -> bool
        self._routes: list[Route] = list(settings.routes)
        self._secret_changes: dict[str, str | None] = {}
        self._loading = False

        # ---- listener ------------------------------------------------------------------
        self.host = QLineEdit(settings.host)
        self.host.setToolTip("127.0.0.1 accepts deliveries from this machine only; 0.0.0.0 "
                             "from every network this machine is on")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(settings.port or 8080)
        self.body_limit = QSpinBox()
        self.body_limit.setRange(1, 1024)
        self.body_limit.setSuffix(" MiB")
        self.body_limit.setValue(max(1, settings.body_limit // (1024 * 1024)))
        self.allow_unsigned = QCheckBox("Accept unsigned deliveries from other machines")
        self.allow_unsigned.setChecked(settings.allow_unsigned_remote)
        self.remote_warning = QLabel()
        self.remote_warning.setTextFormat(Qt.TextFormat.PlainText)
        self.remote_warning.setWordWrap(True)
        self.remote_warning.setStyleSheet("color: #8a1c12;")
        # HTTPS: file paths only; the key is read when the listener starts.
        self.tls_cert = QLineEdit(settings.tls_cert_file)
        self.tls_cert.setPlaceholderText("none: plain HTTP")
        self.tls_key = QLineEdit(settings.tls_key_file)
        self.tls_key.setPlaceholderText("the certificate's private key (PEM, no passphrase)")
        listener_box = QGroupBox("Listener")
        lf = QFormLayout(listener_box)
        lf.addRow("&Address:", self.host)
        lf.addRow("&Port:", self.port)
        lf.addRow("&Body limit:", self.body_limit)
        lf.addRow("HTTPS &certificate:", self._file_row(self.tls_cert, "certificate"))
        lf.addRow("HTTPS &key:", self._file_row(self.tls_key, "key"))
        lf.addRow(self.allow_unsigned)
        lf.addRow(self.remote_warning)

        # ---- routes --------------------------------------------------------------------
        self.route_list = QListWidget()
        self.route_list.currentRowChanged.connect(self._route_selected)
        add = QPushButton("&Add route")
        add.clicked.connect(self._add_route)
        self.remove_button = QPushButton("&Remove route")
        self.remove_button.clicked.connect(self._remove_route)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)

        self.path = QLineEdit()
        self.label = QLineEdit()
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.clear_secret = QCheckBox("No secret (deliveries are not verified)")
        self.algorithm = QComboBox()
        self.algorithm.addItem("HMAC-SHA1 (Compass)", "sha1")
        self.algorithm.addItem("HMAC-SHA256", "sha256")
        self.header = QLineEdit()
        self.header.setPlaceholderText("auto-detect")
        self.encoding = QComboBox()
        for text, value in (("any (hex or base64)", "auto"), ("hex", "hex"), ("base64", "base64")):
            self.encoding.addItem(text, value)
        self.policy = QComboBox()
        self.policy.addItem("Reject (answer 401, store as rejected)", POLICY_REJECT)
        self.policy.addItem("Accept and flag", POLICY_FLAG)
        self.learned = QLabel()
        self.learned.setTextFormat(Qt.TextFormat.PlainText)
        self.learned.setWordWrap(True)
        self.forget_button = QPushButton("&Forget what was learned")
        self.forget_button.clicked.connect(self._forget_learned)
        # The text on its own line (it can be long), the button under it.
        learned_row = QVBoxLayout()
        learned_row.addWidget(self.learned)
        learned_row.addWidget(self.forget_button, 0, Qt.AlignmentFlag.AlignLeft)
        form = QFormLayout()
        form.addRow("Pa&th:", self.path)
        form.addRow("&Label:", self.label)
        form.addRow("S&ecret:", self.secret)
        form.addRow("", self.clear_secret)
        form.addRow("Al&gorithm:", self.algorithm)
        form.addRow("&Header:", self.header)
        form.addRow("E&ncoding:", self.encoding)
        form.addRow("P&olicy:", self.policy)
        form.addRow("Learned:", learned_row)
        self.route_form = QWidget()
        self.route_form.setLayout(form)
        for widget in (self.path, self.label, self.header):
            widget.textEdited.connect(self._route_edited)
        self.secret.textEdited.connect(self._secret_edited)
        self.clear_secret.toggled.connect(self._secret_cleared)
        for combo in (self.algorithm, self.encoding, self.policy):
            combo.currentIndexChanged.connect(self._route_edited)

        routes_box = QGroupBox("Routes (one per WebhookConfig URL)")
        rl = QHBoxLayout(routes_box)
        left = QVBoxLayout()
        left.addWidget(self.route_list, 1)
        left.addLayout(buttons)
        rl.addLayout(left, 1)
        rl.addWidget(self.route_form, 2)

        # ---- history (retention) ------------------------------------------------------
        self.keep_days_on = QCheckBox("Delete deliveries older than")
        self.keep_days = QSpinBox()
        self.keep_days.setRange(1, 3650)
        self.keep_days.setSuffix(" days")
        self.keep_count_on = QCheckBox("Keep at most")
        self.keep_count = QSpinBox()
        self.keep_count.setRange(100, 10_000_000)
        self.keep_count.setSingleStep(1000)
        self.keep_count.setSuffix(" deliveries")
        history_box = QGroupBox("History")
        hf = QFormLayout(history_box)
        for check, spin, value, default in (
                (self.keep_days_on, self.keep_days, settings.history_keep_days, 90),
                (self.keep_count_on, self.keep_count, settings.history_keep_count, 100_000)):
            check.setChecked(value > 0)
            spin.setValue(value or default)
            spin.setEnabled(value > 0)
            check.toggled.connect(spin.setEnabled)
            hf.addRow(check, spin)
        history_note = QLabel("Off by default: everything is kept. Before a new limit deletes "
                              "anything you are offered an export.")
        history_note.setWordWrap(True)
        hf.addRow(history_note)

        # ---- notifications, keyring -----------------------------------------------------
        self.notifications = QCheckBox("Show &notifications for deliveries")
        self.notifications.setChecked(settings.notifications)
        self.start_at_login = QCheckBox("Start at &login (minimized to the tray)")
        self._login_supported = start_at_login is not None
        self.start_at_login.setVisible(self._login_supported)
        self.start_at_login.setChecked(bool(start_at_login))
        self.keyring_note = QLabel(keyring_note)
        self.keyring_note.setTextFormat(Qt.TextFormat.PlainText)
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setVisible(bool(keyring_note))
        self.keyring_note.setStyleSheet("color: #8a5a00;")
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #8a1c12;")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.Apply)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self._apply)

        # Three tabs (Ctrl+Tab moves between them): all in one column was taller than an
        # 800-pixel screen.
        self.tabs = QTabWidget()
        for title, widgets in (
                ("Listener", [listener_box, self.notifications, self.start_at_login]),
                ("Routes and secrets", [routes_box, self.keyring_note]),
                ("History", [history_box])):
            page = QWidget()
            page_layout = QVBoxLayout(page)
            for widget in widgets:
                page_layout.addWidget(widget, 1 if widget is routes_box else 0)
            page_layout.addStretch(0 if routes_box in widgets else 1)
            self.tabs.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(720, 560)

        self.host.textChanged.connect(self._update_remote_warning)
        self.allow_unsigned.toggled.connect(self._update_remote_warning)
        self._fill_route_list()
        self.route_list.setCurrentRow(0)
        self._update_remote_warning()

    def _file_row(self, edit: QLineEdit, what: str) -> QWidget:
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, what))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(browse)
        return row

    def _browse(self, edit: QLineEdit, what: str) -> None:
        chooser = QFileDialog(self, f"Choose the HTTPS {what} file (PEM)")
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setNameFilters(["PEM files (*.pem *.crt *.cer *.key)", "All files (*)"])
        chooser.fileSelected.connect(edit.setText)
        chooser.open()                  # never exec(): the loop keeps serving deliveries

    # ---- routes ----------------------------------------------------------------------------
    def _fill_route_list(self) -> None:
        """Refresh the list's texts without re-selecting (which would reload the form and
        wipe a secret being typed)."""
        # Two short lines per route, so the list needs no horizontal scrolling.
        texts = [f"{r.path} — {r.label}\n    {self._secret_state(r)}" for r in self._routes]
        if self.route_list.count() == len(texts):
            for row, text in enumerate(texts):
                self.route_list.item(row).setText(text)
        else:
            current = self.route_list.currentRow()
            self.route_list.blockSignals(True)
            self.route_list.clear()
            self.route_list.addItems(texts)
            if 0 <= current < len(texts):
                self.route_list.setCurrentRow(current)
            self.route_list.blockSignals(False)
        self.remove_button.setEnabled(len(self._routes) > 1)

    def _secret_state(self, route: Route) -> str:
        if self._route_has_secret(route.path):
            return "secret set"
        if route.secret_required and self._secret_changes.get(route.path, "") != None:  # noqa: E711
            return "secret missing: enter it again"
        return "no secret"

    def _route_has_secret(self, path: str) -> bool:
        if path in self._secret_changes:
            return bool(self._secret_changes[path])
        return bool(self._has_secret(path))

    def _route_selected(self, row: int) -> None:
        if not 0 <= row < len(self._routes):
            self.route_form.setEnabled(False)
            return
        self.route_form.setEnabled(True)
        route = self._routes[row]
        self._loading = True
        self.path.setText(route.path)
        self.label.setText(route.label)
        self.secret.clear()
        has = self._route_has_secret(route.path)
        self.secret.setPlaceholderText("unchanged (a secret is stored)" if has else "none")
        self.clear_secret.setChecked(not has)
        self.algorithm.setCurrentIndex(max(0, self.algorithm.findData(route.scheme.algorithm)))
        self.header.setText(route.scheme.header)
        self.encoding.setCurrentIndex(max(0, self.encoding.findData(route.scheme.encoding)))
        self.policy.setCurrentIndex(max(0, self.policy.findData(route.policy)))
        self._show_learned(route)
        self._loading = False

    def _show_learned(self, route: Route) -> None:
        s = route.scheme
        if s.header:
            self.learned.setText("fixed header; nothing to learn")
        elif s.learned_header:
            self.learned.setText(f"header {s.learned_header}, {s.learned_encoding}")
        else:
            self.learned.setText("nothing yet: the first signed delivery teaches the header")
        self.forget_button.setEnabled(bool(s.learned_header))

    def _route_edited(self, *_):
        if self._loading:
            return
        row = self.route_list.currentRow()
        if not 0 <= row < len(self._routes):
            return
        old = self._routes[row]
        scheme = replace(old.scheme, algorithm=self.algorithm.currentData(),
                         header=self.header.text().strip(), encoding=self.encoding.currentData())
        new_path = normalise_path(self.path.text())
        if new_path != old.path and old.path in self._secret_changes:
            self._secret_changes[new_path] = self._secret_changes.pop(old.path)
        elif new_path != old.path and self._has_secret(old.path):
            # The secret is keyed by path: a renamed route needs it under its new path.
            self._secret_changes.setdefault(new_path, KEEP_FROM(old.path))
        self._routes[row] = Route(path=new_path, label=self.label.text().strip() or "Record",
                                  scheme=scheme, policy=self.policy.currentData())
        self._fill_route_list()

    def _secret_edited(self, text: str) -> None:
        if self._loading:
            return
        path = self._current_path()
        if path:
            self._secret_changes[path] = text if text else self._secret_changes.get(path)
            self._loading = True
            self.clear_secret.setChecked(not text and not self._route_has_secret(path))
            self._loading = False
            self._fill_route_list()
            self._update_remote_warning()

    def _secret_cleared(self, checked: bool) -> None:
        if self._loading:
            return
        path = self._current_path()
        if path and checked:
            self.secret.clear()
            self._secret_changes[path] = None
            self.secret.setPlaceholderText("none")
            self._fill_route_list()
            self._update_remote_warning()

    def _current_path(self) -> str:
        row = self.route_list.currentRow()
        return self._routes[row].path if 0 <= row < len(self._routes) else ""

    def _forget_learned(self) -> None:
        row = self.route_list.currentRow()
        if 0 <= row < len(self._routes):
            self._routes[row] = self._routes[row].with_scheme(self._routes[row].scheme.forget())
            self._show_learned(self._routes[row])

    def _add_route(self) -> None:
        taken = {r.path for r in self._routes}
        n = 2
        while f"/compass{n}" in taken:
            n += 1
        self._routes.append(Route(path=f"/compass{n}", label="Record", scheme=Scheme()))
        self._fill_route_list()
        self.route_list.setCurrentRow(len(self._routes) - 1)
        self.path.setFocus()
        self.path.selectAll()

    def _remove_route(self) -> None:
        row = self.route_list.currentRow()
        if len(self._routes) > 1 and 0 <= row < len(self._routes):
            removed = self._routes.pop(row)
            self._secret_changes[removed.path] = None
            self._fill_route_list()
            self.route_list.setCurrentRow(min(row, len(self._routes) - 1))
            self._route_selected(self.route_list.currentRow())

    # ---- validation and apply --------------------------------------------------------------
    def _unsigned_routes(self) -> list[str]:
        return [r.path for r in self._routes if not self._route_has_secret(r.path)]

    def _is_remote(self) -> bool:
        host = self.host.text().strip()
        return not (host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."))

    def _update_remote_warning(self, *_):
        unsigned = self._unsigned_routes()
        host = self.host.text().strip()
        if host and not _looks_like_address(host):
            self.remote_warning.setText(f"'{host}' is not an address: use 127.0.0.1 for this "
                                        f"machine only, or 0.0.0.0 for every network.")
        elif self._is_remote() and unsigned:
            self.remote_warning.setText(
                f"Warning: {self.host.text().strip()} accepts deliveries from other machines, "
                f"and {', '.join(unsigned)} has no secret, so anyone who can reach this port "
                f"can post fake Compass records. Set a secret, or confirm with the box above.")
        else:
            self.remote_warning.setText("")
        self.allow_unsigned.setVisible(self._is_remote())

    def result_settings(self) -> Settings | str:
        """The edited settings, or a sentence saying what must be fixed first."""
        host = self.host.text().strip()
        if not host:
            return "Enter an address to listen on, e.g. 127.0.0.1."
        if not _looks_like_address(host):
            return (f"'{host}' is not an address; enter an IP address of this machine, such as "
                    f"127.0.0.1 (this machine only) or 0.0.0.0 (every network it is on).")
        paths = [r.path for r in self._routes]
        if len(set(paths)) != len(paths):
            return "Two routes have the same path; give each route its own path."
        if any(p == "/" for p in paths):
            return "A route needs a path such as /compassdefect, not just /."
        for route in self._routes:
            problem = path_problem(route.path)
            if problem:
                return problem[0].upper() + problem[1:] + "."
        cert, key = self.tls_cert.text().strip(), self.tls_key.text().strip()
        if bool(cert) != bool(key):
            return ("HTTPS needs both a certificate file and its key file; give the missing "
                    "one, or clear both for plain HTTP.")
        if self._is_remote() and self._unsigned_routes() and not self.allow_unsigned.isChecked():
            return ("Set a secret on " + ", ".join(self._unsigned_routes()) + ", or tick "
                    "'Accept unsigned deliveries from other machines' to listen on " + host + ".")
        return replace(self._settings, host=host, port=self.port.value(),
                       body_limit=self.body_limit.value() * 1024 * 1024,
                       allow_unsigned_remote=self.allow_unsigned.isChecked(),
                       notifications=self.notifications.isChecked(), routes=list(self._routes),
                       history_keep_days=self.keep_days.value()
                       if self.keep_days_on.isChecked() else 0,
                       history_keep_count=self.keep_count.value()
                       if self.keep_count_on.isChecked() else 0,
                       tls_cert_file=cert, tls_key_file=key, load_problem="")

    def _apply(self) -> bool:
        result = self.result_settings()
        if isinstance(result, str):
            self.error.setText(result)
            return False
        self.error.setText("")
        changes = dict(self._secret_changes)
        self._secret_changes.clear()
        login = self.start_at_login.isChecked() if self._login_supported else None
        self._settings = result
        self.applied.emit(result, changes, login)
        return True

    def show_error(self, text: str) -> None:
        """The controller reports a failure to apply (e.g. the port is taken)."""
        self.error.setText(text)
        if text and not self.isVisible():
            self.open()

    def _ok(self) -> None:
        if self._apply():
            self.accept()


class KEEP_FROM(str):
    """A secret change meaning: copy the secret stored under another path (a renamed route)."""


def _looks_like_address(host: str) -> bool:
    """An IP address or a plausible host name (whether it is this machine's is for the bind
    to say)."""
    import ipaddress
    import re

    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(re.fullmatch(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", host))
