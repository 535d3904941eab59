"""Compass REST addresses: the base URL a user means, and where a truncated field's url goes.

Pure string work (no I/O). The payload's `url` carries the REST server's own idea of its
name (often `localhost:8190`), which is wrong from any other machine, so such addresses
are redirected to the server the user configured, and the user is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORT = 8190
BASE_PATH = "/ccmweb/rest"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "localhost.localdomain", "ip6-localhost"}


class ServerAddressError(ValueError):
    """A server address that cannot be understood; the message is one sentence."""


def normalize_server(text: str) -> str:
    """`host`, `host:port` or a full URL → `https://host:port/ccmweb/rest` (no trailing /)."""
    raw = (text or "").strip()
    if not raw:
        raise ServerAddressError("no Compass server was given; type its host name, "
                                 "e.g. compass.example.com or https://compass:8190")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerAddressError(f"{text!r} is not a server address; type a host name such "
                                 f"as compass.example.com or a URL such as https://compass:8190")
    try:
        port = parts.port
    except ValueError as exc:
        raise ServerAddressError(f"{text!r} has an invalid port; use a number such as 8190") from exc
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port if port else DEFAULT_PORT}"
    path = parts.path.rstrip("/")
    if not path:
        path = BASE_PATH
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def origin(url: str) -> str:
    """`scheme://host:port`, the key under which a certificate pin is kept."""
    parts = urlsplit(url)
    host, port = host_port(url)
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}"


@dataclass(frozen=True)
class FieldAddress:
    url: str
    redirected_from: str | None = None  # the original url when it was sent elsewhere

    @property
    def note(self) -> str:
        if not self.redirected_from:
            return ""
        return (f"the field's address names {origin(self.redirected_from)}, which is the REST "
                f"server's own name for itself; it was fetched from the configured server "
                f"{origin(self.url)} instead")


def resolve_field_url(field_url: str, server_base: str) -> FieldAddress:
    """Where to GET a truncated field's full value, given the configured server.

    Credentials only ever go to the configured server: a url that names another,
    non-loopback host is refused rather than followed.
    """
    target = urlsplit(field_url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ServerAddressError(f"the truncated field's address {field_url!r} is not a URL; "
                                 f"the delivery may be damaged")
    configured = urlsplit(server_base)
    if origin(field_url) == origin(server_base):
        return FieldAddress(field_url)
    if (target.hostname or "").lower() in LOOPBACK_HOSTS:
        moved = urlunsplit((configured.scheme, configured.netloc, target.path, target.query, ""))
        return FieldAddress(moved, redirected_from=field_url)
    raise ServerAddressError(
        f"the truncated field's address names {origin(field_url)}, not the configured Compass "
        f"server {origin(server_base)}; set the Compass server to that host to load it")
