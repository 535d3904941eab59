"""One running app per data folder: a second launch brings the first one's window forward.

The first instance listens on a QLocalServer named after the data folder; a second one
finds it, asks it to show its window, and exits 0 instead of failing with "address in use"
on the listener port. Separate data folders (tests, portable use) are separate apps.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from compass_listener import APP_ID
from compass_listener.store import paths

log = logging.getLogger(__name__)

_SHOW = b"show\n"


def server_name() -> str:
    folder = os.path.realpath(str(paths.data_dir()))
    digest = hashlib.sha256(folder.encode("utf-8")).hexdigest()[:16]
    return f"{APP_ID}-{digest}"


def ask_running_instance_to_show(timeout_ms: int = 1000) -> bool:
    """True when another instance answered (and was asked to show its window)."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(_SHOW)
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Accepts "show" requests from later launches."""

    def __init__(self, on_show: Callable[[], None], parent=None):
        super().__init__(parent)
        self._on_show = on_show
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        name = server_name()
        if not self.server.listen(name):
            # A crashed instance leaves its socket file behind; nobody answered on it
            # (ask_running_instance_to_show ran first), so it is safe to remove.
            QLocalServer.removeServer(name)
            if not self.server.listen(name):
                log.warning("second-launch detection unavailable: %s", self.server.errorString())
        self.server.newConnection.connect(self._connection)

    def _connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(_SHOW.strip()):
            self._on_show()

    def close(self) -> None:
        self.server.close()
