"""Fixtures shared by the unit tests: a history file path and an open store on it."""

import pytest

from compass_listener.store.events import EventStore


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "history.sqlite3"


@pytest.fixture
def store(db_path):
    s = EventStore(db_path)
    s.open()
    yield s
    s.close()
