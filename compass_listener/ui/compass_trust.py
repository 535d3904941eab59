"""Trusting a Compass server's certificate: a banner naming it and a confirm dialog.

Never silent: the user sees the subject and SHA-256 fingerprint and confirms that exact
certificate, which is then pinned for that server only. A changed certificate of a pinned
server is shown as a warning with both fingerprints.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from compass_listener.net.tls_trust import (
    CertificateChangedError, PeerCertificate, UntrustedCertificateError)


def certificate_of(exc: BaseException) -> tuple[PeerCertificate | None, str | None]:
    """(the certificate the user could trust, the previously pinned fingerprint or None)."""
    inner = getattr(exc, "trust_error", exc)
    if isinstance(inner, UntrustedCertificateError):
        return inner.certificate, None
    if isinstance(inner, CertificateChangedError):
        return PeerCertificate(inner.host, inner.port, inner.subject or "(unknown subject)",
                               inner.actual), inner.pinned
    return None, None


class TrustDialog(QDialog):
    """Shows one certificate; emits `trusted(fingerprint)` when the user confirms it."""

    trusted = Signal(str)

    def __init__(self, cert: PeerCertificate, previous: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cert = cert
        self.setWindowTitle("Trust this Compass server certificate?")
        layout = QVBoxLayout(self)
        if previous:
            intro = (f"<b>Warning:</b> the certificate of {cert.host}:{cert.port} is not the one "
                     f"you trusted before. If nobody replaced it on purpose, someone may be "
                     f"impersonating the server: cancel.")
        else:
            intro = (f"The Compass REST server at {cert.host}:{cert.port} presented a "
                     f"certificate that no trusted authority signed (out of the box Compass "
                     f"uses a self-signed one). Trust it only if the fingerprint below is the "
                     f"one your Compass administrator gives you.")
        text = QLabel(intro)
        text.setWordWrap(True)
        layout.addWidget(text)
        details = QLabel()
        details.setTextFormat(Qt.TextFormat.PlainText)
        details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lines = [f"Server:       {cert.host}:{cert.port}", f"Subject:      {cert.subject}",
                 f"SHA-256:      {cert.fingerprint}"]
        if previous:
            lines.append(f"Trusted before: {previous}")
        details.setText("\n".join(lines))
        details.setStyleSheet("font-family: monospace")
        layout.addWidget(details)
        buttons = QDialogButtonBox()
        self.trust_button = buttons.addButton("&Trust this certificate",
                                              QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.accepted.connect(lambda: self.trusted.emit(self.cert.fingerprint))


class TrustBanner(QFrame):
    """A strip above a page's results that explains a refused certificate and offers trust."""

    trusted = Signal(str)
    STATUS = "Not connected: the server's certificate needs your decision (see above)."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("TrustBanner { background: #fff4d6; }")
        self.label = QLabel()
        # The subject comes from a certificate nobody trusts yet: never rich text.
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton("Review and trust this certificate…")
        self.button.clicked.connect(self.open_dialog)
        row = QHBoxLayout(self)
        row.addWidget(self.label, 1)
        row.addWidget(self.button)
        self._cert: PeerCertificate | None = None
        self._previous: str | None = None
        self.dialog: TrustDialog | None = None
        self.hide()

    def show_error(self, exc: BaseException) -> bool:
        """Show the banner when `exc` is a trust failure; return whether it was one."""
        cert, previous = certificate_of(exc)
        if cert is None:
            self.hide()
            return False
        self._cert, self._previous = cert, previous
        if previous:
            text = (f"Warning: the certificate of {cert.host}:{cert.port} has changed: trusted "
                    f"SHA-256 {previous}, now SHA-256 {cert.fingerprint} ({cert.subject}). If "
                    f"nobody replaced it on purpose, do not connect.")
        else:
            text = (f"The server {cert.host}:{cert.port} presented a certificate that is not "
                    f"trusted: {cert.subject}, SHA-256 {cert.fingerprint}. If this is your "
                    f"Compass REST server, review and trust exactly this certificate, or give "
                    f"the CA file that signed it.")
        self.label.setText(text)
        self.button.setText("Review the new certificate…" if previous
                            else "Review and trust this certificate…")
        self.show()
        return True

    def open_dialog(self) -> None:
        if self._cert is None:
            return
        self.dialog = TrustDialog(self._cert, self._previous, self)
        self.dialog.trusted.connect(self._trusted)
        self.dialog.open()  # window-modal but non-blocking: the loop keeps running

    def _trusted(self, fingerprint: str) -> None:
        self.hide()
        self.trusted.emit(fingerprint)
