"""The settings file (TOML): listener address, routes and their schemes, notifications.

Never a secret here: route secrets and Compass passwords live in store.secrets. The
`compass` table is free-form and belongs to the Compass REST side (store.compass_profile).
"""

from __future__ import annotations

import logging
import os
import tempfile
import tomllib
from dataclasses import dataclass, field, asdict
from pathlib import Path

import tomli_w

from compass_listener.core.routes import DEFAULT_PATH, POLICIES, POLICY_REJECT, Route, normalise_path
from compass_listener.core.signature import ALGORITHMS, ENCODINGS, Scheme
from compass_listener.store import paths

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_BODY_LIMIT = 10 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT = 30.0     # seconds a client may take to send its request headers
DEFAULT_BODY_TIMEOUT = 60.0       # and then its body (net.http_guard says why)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    body_limit: int = DEFAULT_BODY_LIMIT
    # Binding beyond loopback while a route has no secret needs this explicit confirmation.
    allow_unsigned_remote: bool = False
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    # HTTPS: paths of the user's PEM certificate and key; the key's contents never come here.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    notifications: bool = True
    # Retention (store.retention): 0 = no limit; both 0 (the default) keeps everything.
    history_keep_days: int = 0
    history_keep_count: int = 0
    routes: list[Route] = field(default_factory=lambda: [Route(DEFAULT_PATH, "Defect")])
    compass: dict = field(default_factory=dict)
    load_problem: str = ""   # not saved: why the file could not be read, for the user

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    @property
    def retention(self):
        from compass_listener.store.retention import Retention

        return Retention(self.history_keep_days, self.history_keep_count)

    def route(self, path: str) -> Route | None:
        path = normalise_path(path)
        return next((r for r in self.routes if r.path == path), None)


def _route_from(table: dict) -> Route | None:
    try:
        scheme = Scheme(
            algorithm=table.get("algorithm", "sha1") if table.get("algorithm") in ALGORITHMS
            else "sha1",
            header=str(table.get("header", "")),
            encoding=table.get("encoding", "auto") if table.get("encoding") in ENCODINGS
            else "auto",
            learned_header=str(table.get("learned_header", "")),
            learned_encoding=str(table.get("learned_encoding", "")),
        )
        policy = table.get("policy", POLICY_REJECT)
        return Route(path=normalise_path(str(table["path"])), label=str(table.get("label", "")),
                     scheme=scheme, policy=policy if policy in POLICIES else POLICY_REJECT,
                     secret_required=bool(table.get("expects_signature", False)))
    except (KeyError, TypeError, AttributeError):
        return None


def _route_to(route: Route) -> dict:
    out = {"path": route.path, "label": route.label, "policy": route.policy,
           # Only the fact that the route is signed; the secret itself is in the keyring.
           "expects_signature": route.secret_required}
    out.update({k: v for k, v in asdict(route.scheme).items()})
    return out


def load_settings(path: Path | None = None) -> Settings:
    path = path or paths.settings_file()
    settings = Settings()
    if not path.exists():
        return settings
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        settings.load_problem = (f"the settings file {path} cannot be read ({exc}); "
                                 f"defaults are in use until you save new settings")
        log.warning("%s", settings.load_problem)
        return settings
    listener = data.get("listener", {})
    if isinstance(listener.get("host"), str):
        settings.host = listener["host"]
    if isinstance(listener.get("port"), int) and 0 <= listener["port"] <= 65535:
        settings.port = listener["port"]
    if isinstance(listener.get("body_limit"), int) and listener["body_limit"] > 0:
        settings.body_limit = listener["body_limit"]
    settings.allow_unsigned_remote = bool(listener.get("allow_unsigned_remote", False))
    for name in ("header_timeout", "body_timeout"):
        value = listener.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            setattr(settings, name, float(value))
    for name in ("tls_cert_file", "tls_key_file"):
        if isinstance(listener.get(name), str):
            setattr(settings, name, listener[name])
    settings.notifications = bool(data.get("notifications", {}).get("enabled", True))
    history = data.get("history", {})
    for key, name in (("keep_days", "history_keep_days"), ("keep_count", "history_keep_count")):
        value = history.get(key) if isinstance(history, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            setattr(settings, name, value)
    routes = [r for r in (_route_from(t) for t in data.get("routes", []) if isinstance(t, dict))
              if r is not None]
    if routes:
        settings.routes = routes
    if isinstance(data.get("compass"), dict):
        settings.compass = data["compass"]
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a settings file."""
    path = path or paths.settings_file()
    data = {
        "listener": {"host": settings.host, "port": settings.port,
                     "body_limit": settings.body_limit,
                     "allow_unsigned_remote": settings.allow_unsigned_remote,
                     "header_timeout": settings.header_timeout,
                     "body_timeout": settings.body_timeout,
                     "tls_cert_file": settings.tls_cert_file,
                     "tls_key_file": settings.tls_key_file},
        "notifications": {"enabled": settings.notifications},
        "history": {"keep_days": settings.history_keep_days,
                    "keep_count": settings.history_keep_count},
        "routes": [_route_to(r) for r in settings.routes],
        "compass": settings.compass,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".toml")
    try:
        with os.fdopen(fd, "wb") as handle:
            tomli_w.dump(data, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
