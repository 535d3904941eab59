"""Fixtures for the Qt tests: an isolated home and a real store in a temp folder."""

from __future__ import annotations

import pytest

from compass_listener.store.events import EventStore


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def store(tmp_path):
    s = EventStore(tmp_path / "history.sqlite3")
    s.open()
    yield s
    s.close()
