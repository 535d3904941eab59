"""The history, its WAL files, the log and the folders the app creates are private to the
user (0700 folders, 0600 files) even under a permissive umask: every payload is in them."""

import logging
import os
import stat

import pytest

from compass_listener.store import paths
from compass_listener.store.events import EventStore

from test_event_store import make


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def user_home(tmp_path, monkeypatch, umask_022):
    """A fresh user home with the platform's default folders (no COMPASS_LISTENER_HOME)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    return home


def test_default_folders_are_created_private(user_home):
    for folder in (paths.data_dir(), paths.config_dir(), paths.log_dir()):
        assert user_home in folder.parents
        assert mode(folder) == 0o700, folder


def test_data_dir_option_folder_is_created_private(tmp_path, monkeypatch, umask_022):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "new" / "data"))
    assert mode(paths.data_dir()) == 0o700
    assert mode(paths.log_dir()) == 0o700


def test_an_existing_folder_keeps_its_mode(tmp_path, monkeypatch, umask_022):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    monkeypatch.setenv(paths.HOME_ENV, str(folder))
    assert paths.data_dir() == folder and mode(folder) == 0o755


def test_history_and_its_wal_files_are_0600(user_home):
    store = EventStore(paths.database_file())
    store.open()
    try:
        store.append_now(make())
        for suffix in ("", "-wal", "-shm"):
            side = store.path.with_name(store.path.name + suffix)
            assert mode(side) == 0o600, side
    finally:
        store.close()


def test_log_files_are_0600_also_after_a_rollover(user_home):
    handler = paths._PrivateLogHandler(paths.log_file(), maxBytes=200, backupCount=2,
                                       encoding="utf-8")
    try:
        for i in range(10):
            handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, "x" * 100, (), None))
    finally:
        handler.close()
    files = sorted(paths.log_dir().glob("compass-listener.log*"))
    assert len(files) == 3
    assert all(mode(f) == 0o600 for f in files), [(f.name, oct(mode(f))) for f in files]
