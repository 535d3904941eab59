"""`listen` takes its connection deadlines and HTTPS files from the settings file, options
override the files, and nonsense in the file falls back to the defaults."""

import keyring
import pytest
from keyring.backends import fail

from compass_listener import cli
from compass_listener.commands import listen as listen_cmd
from compass_listener.store import paths
from compass_listener.store.settings import Settings, load_settings, save_settings


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    return tmp_path


def _plan(*argv):
    return listen_cmd.plan(cli.build_parser().parse_args(list(argv)))


def test_defaults_are_plain_http_with_30_and_60_second_deadlines():
    job = _plan("listen")
    assert (job.header_timeout, job.body_timeout) == (30.0, 60.0)
    assert (job.tls_cert, job.tls_key) == ("", "")


def test_settings_file_gives_deadlines_and_tls_files_and_options_win(tmp_path):
    save_settings(Settings(header_timeout=5, body_timeout=7.5, tls_cert_file="/c.pem",
                           tls_key_file="/k.pem"))
    job = _plan("listen")
    assert (job.header_timeout, job.body_timeout) == (5.0, 7.5)
    assert (job.tls_cert, job.tls_key) == ("/c.pem", "/k.pem")
    job = _plan("listen", "--tls-cert", "/other.pem", "--tls-key", "/other-key.pem")
    assert (job.tls_cert, job.tls_key) == ("/other.pem", "/other-key.pem")


def test_nonsense_deadlines_in_the_file_fall_back_to_defaults():
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[listener]\nheader_timeout = -1\nbody_timeout = "soon"\n'
                    'tls_cert_file = 3\n', encoding="utf-8")
    settings = load_settings()
    assert (settings.header_timeout, settings.body_timeout) == (30.0, 60.0)
    assert settings.tls_cert_file == "" and not settings.load_problem
