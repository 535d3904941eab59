"""The Compass connection shared by the Compass pages: profile, password, trust, one client.

One CompassClient is reused while the profile stays the same, so its login token serves
every page; a change of server, repo, db, user, password or trust replaces it (the old
one logs off). The password is held in memory for the session and, only if the user asks,
in the keyring; it is never written to the settings file.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from PySide6.QtCore import QObject, Signal

from compass_listener.net.compass_rest import CompassClient
from compass_listener.net.tls_trust import TrustPolicy
from compass_listener.store.compass_profile import CompassProfile

log = logging.getLogger(__name__)


class CompassSession(QObject):
    profile_changed = Signal()

    def __init__(self, profile: CompassProfile, secrets=None,
                 save_profile: Callable[[CompassProfile], None] | None = None,
                 client_factory: Callable[..., CompassClient] = CompassClient,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.secrets = secrets
        self._save = save_profile
        self._factory = client_factory
        self._password: str | None = None
        self._client: CompassClient | None = None
        self._client_key: tuple | None = None
        self._retired: set[asyncio.Task] = set()

    # ---- password ---------------------------------------------------------------------
    def password(self) -> str:
        if self._password is not None:
            return self._password
        if self.secrets is not None and (self.profile.user or self.profile.use_token):
            stored = self.secrets.get(self.profile.secret_key())
            if stored is not None:
                return stored
        return ""

    def has_stored_password(self) -> bool:
        return bool(self.secrets is not None and (self.profile.user or self.profile.use_token)
                    and self.secrets.get(self.profile.secret_key()) is not None)

    def update(self, profile: CompassProfile, password: str | None) -> None:
        """Take the form's values; remember or forget the password as the user chose."""
        self.profile = profile
        if password is not None:
            self._password = password
        if self.secrets is not None and (profile.user or profile.use_token):
            if profile.remember_password and password is not None:
                self.secrets.set(profile.secret_key(), password)
            elif not profile.remember_password:
                self.secrets.delete(profile.secret_key())
        self.save()
        self.profile_changed.emit()

    def save(self) -> None:
        if self._save is not None:
            try:
                self._save(self.profile)
            except Exception:
                log.exception("the Compass profile could not be saved")

    def trust_fingerprint(self, fingerprint: str) -> None:
        """Pin the certificate the user confirmed, for this server only."""
        self.profile.pin(fingerprint)
        self.save()
        self.profile_changed.emit()

    # ---- client -----------------------------------------------------------------------
    def trust_policy(self) -> TrustPolicy:
        return TrustPolicy(ca_file=self.profile.ca_file or None,
                           pinned_fingerprint=self.profile.pinned_fingerprint())

    def client(self) -> CompassClient:
        """The shared client for the current profile (raises ServerAddressError)."""
        p = self.profile
        key = (p.base_url, p.repo, p.db, p.user, self.password(), p.use_token, p.ca_file,
               p.pinned_fingerprint(), p.timeout)
        if self._client is None or key != self._client_key:
            self._retire(self._client)
            secret = self.password()
            self._client = self._factory(
                p.server, repo=p.repo, db=p.db, user=p.user,
                password="" if p.use_token else secret,
                access_token=secret if p.use_token else None,
                trust=self.trust_policy(), timeout=p.timeout)
            self._client_key = key
        return self._client

    def _retire(self, client: CompassClient | None) -> None:
        if client is None:
            return
        task = asyncio.ensure_future(client.close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def close(self) -> None:
        """On quit: log off and close every HTTP session."""
        client, self._client, self._client_key = self._client, None, None
        if client is not None:
            await client.close()
        if self._retired:
            await asyncio.gather(*list(self._retired), return_exceptions=True)
