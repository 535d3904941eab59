"""store.settings (the TOML file, never a secret in it) and store.secrets (keyring, else memory)."""

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from compass_listener.core.routes import POLICY_FLAG, Route, secret_key
from compass_listener.core.signature import Scheme
from compass_listener.store import paths, secrets
from compass_listener.store.secrets import SecretStore
from compass_listener.store.settings import Settings, load_settings, save_settings


@pytest.fixture(autouse=True)
def temp_home(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    return tmp_path


class DictKeyring(keyring.backend.KeyringBackend):
    """A usable in-memory backend standing in for the OS keyring."""

    priority = 5

    def __init__(self, broken: bool = False):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.broken = broken

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        if self.broken:
            raise keyring.errors.PasswordSetError("locked")
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username))


def _use_backend(monkeypatch, backend):
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    return backend


def _full_settings() -> Settings:
    return Settings(
        host="0.0.0.0", port=9443, body_limit=1234, allow_unsigned_remote=True,
        notifications=False,
        routes=[
            Route("/compassdefect", "Defect"),
            Route("/compasstask", "Task",
                  Scheme(algorithm="sha256", header="X-Sig", encoding="base64"), POLICY_FLAG),
            Route("/learned", "Learned",
                  Scheme(learned_header="X-Hub-Signature", learned_encoding="hex")),
        ],
        compass={"url": "https://compass:8190", "repo": "5.0.0", "db": "SAMPL"})


def test_defaults_without_a_file(temp_home):
    settings = load_settings()
    assert (settings.host, settings.port, settings.load_problem) == ("127.0.0.1", 8080, "")
    assert [r.path for r in settings.routes] == ["/compassdefect"]
    assert settings.is_loopback
    assert not (temp_home / "settings.toml").exists()


def test_round_trip(temp_home):
    original = _full_settings()
    save_settings(original)
    loaded = load_settings()
    assert loaded == original
    assert loaded.route("compasstask/").policy == POLICY_FLAG
    assert not loaded.is_loopback
    # Written atomically: no temporary file is left behind.
    assert sorted(p.name for p in temp_home.iterdir() if p.name.startswith(".settings")) == []


def test_no_secret_is_ever_written(temp_home, monkeypatch):
    _use_backend(monkeypatch, fail.Keyring())
    store = SecretStore()
    store.set(secret_key("/compassdefect"), "TOPSECRET-1")
    store.set("compass:password", "TOPSECRET-2")
    save_settings(_full_settings())
    text = (temp_home / "settings.toml").read_text()
    assert "TOPSECRET" not in text
    assert "secret" not in text.lower()
    assert all("TOPSECRET" not in p.read_text(errors="replace")
               for p in temp_home.rglob("*") if p.is_file())


def test_unreadable_file_gives_defaults_and_a_sentence(temp_home):
    (temp_home / "settings.toml").write_text("[listener\nport = ")
    settings = load_settings()
    assert settings.port == 8080 and "cannot be read" in settings.load_problem
    assert str(temp_home / "settings.toml") in settings.load_problem


def test_wrong_values_fall_back_one_by_one(temp_home):
    (temp_home / "settings.toml").write_text(
        '[listener]\nhost = 5\nport = 70000\nbody_limit = -1\n'
        '[[routes]]\npath = "t"\nlabel = "T"\nalgorithm = "md5"\nencoding = "rot13"\n'
        'policy = "shrug"\n'
        '[[routes]]\nlabel = "no path"\n')
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.body_limit == 10 * 1024 * 1024
    assert settings.routes == [Route("/t", "T")]


def test_secrets_fall_back_to_memory_without_a_usable_keyring(monkeypatch):
    _use_backend(monkeypatch, fail.Keyring())
    store = SecretStore()
    assert not store.backend_usable and store.problem
    assert "memory" in store.backend_description
    assert store.get("k") is None
    store.set("k", "v")
    assert store.get("k") == "v"
    store.delete("k")
    assert store.get("k") is None
    # A second store (the next session) does not see it: it was never persisted.
    store.set("k", "v")
    assert SecretStore().get("k") is None


def test_secrets_when_keyring_cannot_be_loaded(monkeypatch):
    def broken():
        raise RuntimeError("no D-Bus")
    monkeypatch.setattr(keyring, "get_keyring", broken)
    store = SecretStore()
    assert not store.backend_usable and "no D-Bus" in store.problem
    store.set("k", "v")
    assert store.get("k") == "v"


def test_keyring_switched_off():
    store = SecretStore(use_keyring=False)
    assert not store.backend_usable and "switched off" in store.problem


def test_secrets_go_to_a_usable_keyring(monkeypatch):
    backend = _use_backend(monkeypatch, DictKeyring())
    store = SecretStore()
    assert store.backend_usable
    store.set("route:/x", "v")
    assert backend.items == {(secrets.SERVICE, "route:/x"): "v"}
    assert SecretStore().get("route:/x") == "v"
    store.delete("route:/x")
    assert backend.items == {}
    store.delete("route:/x")            # deleting what is not there is fine


def test_a_failing_keyring_write_keeps_the_secret_in_memory(monkeypatch):
    backend = _use_backend(monkeypatch, DictKeyring(broken=True))
    store = SecretStore()
    store.set("k", "v")
    assert store.get("k") == "v" and backend.items == {}


def test_session_secret_is_memory_only(monkeypatch):
    backend = _use_backend(monkeypatch, DictKeyring())
    store = SecretStore()
    store.set_for_session("k", "v")
    assert store.get("k") == "v" and backend.items == {}


def test_paths_follow_the_home_variable(temp_home):
    assert paths.database_file().parent == temp_home
    assert paths.settings_file() == temp_home / "settings.toml"
    assert paths.log_file().parent == temp_home / "logs"
