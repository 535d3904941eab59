"""Secrets (route secrets, Compass passwords and tokens) in the OS keyring.

When no usable keyring backend exists (a headless box, a minimal desktop), secrets are kept
in memory for this session only and the UI says so: they never go to a plaintext file.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SERVICE = "compass-listener"


def _usable_backend():
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # keyring missing or broken: fall back to memory
        return None, f"the keyring module cannot be loaded ({exc})"
    try:
        backend = keyring.get_keyring()
    except Exception as exc:
        return None, f"no keyring backend could be loaded ({exc})"
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    # The chainer with no members, the fail backend and the null backend cannot keep secrets;
    # plaintext backends (keyrings.alt) would defeat the purpose, so they count as unusable.
    if isinstance(backend, fail.Keyring) or "null" in name.lower() or "plaintext" in name.lower():
        return None, "no secure keyring backend is available on this system"
    try:
        priority = float(getattr(backend, "priority", 1))
    except Exception:
        priority = 1
    if priority <= 0:
        return None, "no secure keyring backend is available on this system"
    return backend, name


class SecretStore:
    """get/set/delete secrets by key; keyring when usable, memory otherwise."""

    def __init__(self, use_keyring: bool = True):
        self._memory: dict[str, str] = {}
        self._backend = None
        self.backend_description = "memory only (this session)"
        self.problem = "" if use_keyring else "the keyring is switched off"
        if use_keyring:
            backend, description = _usable_backend()
            if backend is not None:
                self._backend, self.backend_description = backend, description
            else:
                self.problem = description
                log.warning("secrets kept in memory only: %s", description)

    @property
    def backend_usable(self) -> bool:
        return self._backend is not None

    def get(self, key: str) -> str | None:
        if key in self._memory:
            return self._memory[key]
        if self._backend is None:
            return None
        try:
            return self._backend.get_password(SERVICE, key)
        except Exception as exc:
            log.warning("keyring read failed for an entry (%s)", type(exc).__name__)
            return None

    def set(self, key: str, value: str) -> None:
        if self._backend is not None:
            try:
                self._backend.set_password(SERVICE, key, value)
                self._memory.pop(key, None)
                return
            except Exception as exc:
                log.warning("keyring write failed (%s); keeping the secret in memory",
                            type(exc).__name__)
        self._memory[key] = value

    def set_for_session(self, key: str, value: str) -> None:
        """Hold a secret in memory only (e.g. one given with --secret-env)."""
        self._memory[key] = value

    def delete(self, key: str) -> None:
        self._memory.pop(key, None)
        if self._backend is not None:
            try:
                self._backend.delete_password(SERVICE, key)
            except Exception:
                pass  # nothing stored under that key
