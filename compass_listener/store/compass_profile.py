"""The Compass REST connection profile kept in the settings file's `[compass]` table.

Server, repo, db, user, whether the password is remembered (in the keyring, never here),
a CA file and pinned certificate fingerprints per server. No secret ever goes in this
table: the password lives in store.secrets under `secret_key()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compass_listener.core import compass_urls


@dataclass
class CompassProfile:
    server: str = ""          # as the user typed it (host, host:port or URL)
    repo: str = ""
    db: str = ""
    user: str = ""
    remember_password: bool = False
    use_token: bool = False   # the "password" is a personal access token (Compass 2.2+)
    ca_file: str = ""
    # origin ("https://host:port") → SHA-256 fingerprint the user confirmed for that server
    pinned: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    @property
    def base_url(self) -> str:
        """The REST base URL, or raise compass_urls.ServerAddressError."""
        return compass_urls.normalize_server(self.server)

    def origin(self) -> str:
        return compass_urls.origin(self.base_url)

    def secret_key(self) -> str:
        """Where the password (or token) is kept in the secret store."""
        try:
            server = self.base_url
        except compass_urls.ServerAddressError:
            server = self.server.strip()
        return f"compass:{server}|{self.user}"

    def pinned_fingerprint(self) -> str | None:
        try:
            return self.pinned.get(self.origin()) or None
        except compass_urls.ServerAddressError:
            return None

    def pin(self, fingerprint: str) -> None:
        self.pinned[self.origin()] = fingerprint

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "CompassProfile":
        data = data if isinstance(data, dict) else {}

        def text(key: str) -> str:
            value = data.get(key, "")
            return value if isinstance(value, str) else ""

        pinned = data.get("pinned") if isinstance(data.get("pinned"), dict) else {}
        timeout = data.get("timeout", 30.0)
        return cls(server=text("server"), repo=text("repo"), db=text("db"), user=text("user"),
                   remember_password=bool(data.get("remember_password", False)),
                   use_token=bool(data.get("use_token", False)),
                   ca_file=text("ca_file"),
                   pinned={str(k): str(v) for k, v in pinned.items() if isinstance(v, str)},
                   timeout=float(timeout) if isinstance(timeout, (int, float)) and timeout > 0
                   else 30.0)

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server, "repo": self.repo, "db": self.db, "user": self.user,
                "remember_password": self.remember_password, "use_token": self.use_token,
                "ca_file": self.ca_file,
                "pinned": dict(self.pinned), "timeout": self.timeout}


def load_profile(settings) -> CompassProfile:
    """The profile inside a store.settings.Settings object."""
    return CompassProfile.from_dict(getattr(settings, "compass", None))


def store_profile(settings, profile: CompassProfile) -> None:
    """Put the profile back into a Settings object (the caller saves the settings)."""
    settings.compass = profile.to_dict()
