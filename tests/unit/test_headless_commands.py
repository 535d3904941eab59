"""The headless commands' own logic, in process: how `listen` resolves options over the
settings file and the keyring, and how `listen`, `send-test` and `events` format lines."""

import hashlib
import json

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from compass_listener import cli
from compass_listener.commands import events as events_cmd
from compass_listener.commands import listen as listen_cmd
from compass_listener.commands import send_test as send_test_cmd
from compass_listener.core.delivery import Delivery
from compass_listener.core.routes import POLICY_FLAG, Route, secret_key
from compass_listener.core.signature import Scheme
from compass_listener.net.sender import SendResult
from compass_listener.store import paths
from compass_listener.store.settings import Settings, save_settings


class DictKeyring(keyring.backend.KeyringBackend):
    priority = 5

    def __init__(self):
        super().__init__()
        self.items = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path))
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    return tmp_path


def _plan(*argv):
    return listen_cmd.plan(cli.build_parser().parse_args(list(argv)))


def _settings(**kwargs):
    save_settings(Settings(**kwargs))


def test_defaults_without_settings():
    job = _plan("listen")
    assert (job.host, job.port) == ("127.0.0.1", 8080)
    assert [r.path for r in job.routes] == ["/compassdefect"]
    assert job.unsigned == ["/compassdefect"] and job.from_settings == set()


def test_settings_then_options(home):
    learned = Scheme(learned_header="X-Hub-Signature", learned_encoding="hex")
    _settings(host="127.0.0.2", port=9100, body_limit=4096,
              routes=[Route("/compassdefect", "Defect", learned, POLICY_FLAG),
                      Route("/task", "Task")])
    job = _plan("listen")
    assert (job.host, job.port, job.body_limit) == ("127.0.0.2", 9100, 4096)
    assert job.routes[0].scheme == learned and job.routes[0].policy == POLICY_FLAG
    assert job.from_settings == {"/compassdefect", "/task"}
    job = _plan("listen", "--host", "127.0.0.1", "--port", "0")
    assert (job.host, job.port) == ("127.0.0.1", 0)


@pytest.mark.parametrize("argv,hint", [
    (["--port", "9200", "listen"], "put it after the sub-command: compass-listener listen --port"),
    (["--host", "127.0.0.3", "listen", "--port", "0"], "compass-listener listen --host"),
    (["--secret-env", "HOOK", "listen"], "compass-listener listen --secret-env"),
    (["--allow-unsigned", "listen"], "compass-listener listen --allow-unsigned"),
    (["--minimized", "listen"], "`compass-listener listen` does not take it"),
    (["--port", "0", "events"], "`compass-listener events` does not take it"),
    (["--quit-after", "1", "export"], "`compass-listener export` does not take it"),
    (["--host", "127.0.0.1", "demo"], "compass-listener demo --host"),
])
def test_window_options_before_a_sub_command_are_usage_errors(argv, hint, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"compass-listener: {argv[0]} ") and hint in err
    assert len(err.splitlines()) == 1


def test_options_after_listen_still_count():
    job = _plan("listen", "--port", "9200", "--host", "127.0.0.3")
    assert (job.host, job.port) == ("127.0.0.3", 9200)
    args = cli.build_parser().parse_args(["--port", "9300", "--minimized"])
    assert (args.port, args.minimized, cli.gui_options_problem(cli.build_parser(), args)) == (
        9300, True, None)


def test_route_options_reuse_what_settings_know(home):
    learned = Scheme(learned_header="X-Hub-Signature", learned_encoding="hex")
    _settings(routes=[Route("/compassdefect", "Defect", learned, POLICY_FLAG)])
    job = _plan("listen", "--route", "compassdefect/:Bug", "--route", "/extra")
    first, second = job.routes
    assert (first.path, first.label, first.scheme, first.policy) == (
        "/compassdefect", "Bug", learned, POLICY_FLAG)
    assert (second.path, second.label, second.scheme) == ("/extra", "extra", Scheme())
    assert job.from_settings == {"/compassdefect"}
    assert _plan("listen", "--route", "/compassdefect").routes[0].label == "Defect"


@pytest.mark.parametrize("argv,fragment", [
    (["--route", "/a", "--route", "a/"], "twice"),
    (["--route", ":Label"], "no path"),
    (["--secret-env", "EMPTY_VAR"], "EMPTY_VAR"),
    (["--host", "0.0.0.0"], "--allow-unsigned"),
    (["--host", "192.0.2.10"], "/compassdefect"),
])
def test_usage_errors(argv, fragment, monkeypatch):
    monkeypatch.setenv("EMPTY_VAR", "")
    with pytest.raises(cli.UsageError, match=fragment):
        _plan("listen", *argv)


@pytest.mark.parametrize("port", ["-1", "65536", "8o80"])
def test_ports_outside_0_to_65535_are_refused_by_the_parser(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        _plan("listen", "--port", port)
    assert exit_.value.code == 2
    assert f"'{port}' is not a port" in capsys.readouterr().err


def test_beyond_loopback_needs_a_secret_or_an_explicit_yes(monkeypatch):
    monkeypatch.setenv("HOOK", "s")
    assert _plan("listen", "--host", "0.0.0.0", "--secret-env", "HOOK").unsigned == []
    assert _plan("listen", "--host", "0.0.0.0", "--allow-unsigned").unsigned == \
        ["/compassdefect"]
    _settings(host="0.0.0.0", allow_unsigned_remote=True)
    assert _plan("listen").host == "0.0.0.0"      # confirmed once, in Settings


def test_secret_env_applies_to_every_route(monkeypatch):
    monkeypatch.setenv("HOOK", "from-env")
    job = _plan("listen", "--route", "/a", "--route", "/b", "--secret-env", "HOOK")
    assert job.secret_for("/a") == job.secret_for("/b") == "from-env"


def test_secrets_come_from_the_keyring_by_route(monkeypatch):
    backend = DictKeyring()
    backend.set_password("compass-listener", secret_key("/a"), "secret-a")
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    job = _plan("listen", "--route", "/a", "--route", "/b")
    assert job.secret_for("/a") == "secret-a" and job.secret_for("a/") == "secret-a"
    assert job.secret_for("/b") is None and job.unsigned == ["/b"]


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("192.168.1.5", False), ("::", False),
    ("example.internal", False),
])
def test_is_loopback(host, expected):
    assert listen_cmd.is_loopback(host) is expected


def _delivery(**kwargs) -> Delivery:
    values = dict(received_at=1_800_000_000.0, route="/compassdefect", peer="127.0.0.1",
                  method="POST", path="/compassdefect", headers=[], body=b"{}",
                  body_sha256=hashlib.sha256(b"{}").hexdigest(), signature="valid",
                  signature_detail="", parse_status="ok", parse_problem="",
                  record_type="Defect", record_id="SAMPL00000084", state="Submitted",
                  headline="Example Defect", owner="lead", reply_status=200, reply_body="",
                  accepted=True, id=3)
    values.update(kwargs)
    return Delivery(**values)


def test_listen_human_line():
    line = listen_cmd.human_line(_delivery())
    assert "/compassdefect" in line and "Defect SAMPL00000084 · Submitted · Example Defect" in line
    assert "signature valid" in line and line.endswith("200")
    assert listen_cmd.human_line(_delivery(duplicate_of=1)).endswith("duplicate of #1")


def test_send_test_lines():
    ok = SendResult(2, 200, "Payload received successfully", 0.012, record_id="SAMPL1")
    assert send_test_cmd._line(ok, 10, False) == \
        "#2   200  SAMPL1  Payload received successfully  (12 ms)"
    failed = SendResult(1, None, "nothing is listening", 0.001, error="nothing is listening")
    assert "---" in send_test_cmd._line(failed, 1, False)
    assert "no reply: nothing is listening" in send_test_cmd._line(failed, 1, False)
    assert json.loads(send_test_cmd._line(ok, 1, True)) == {
        "index": 2, "status": 200, "message": "Payload received successfully",
        "elapsed_ms": 12.0, "error": "", "record_id": "SAMPL1"}


def test_events_table_is_aligned_and_one_line_per_delivery():
    rows = events_cmd.table([
        _delivery(id=12, headline="a headline\nwith a newline " + "x" * 80),
        _delivery(id=3, record_id="", duplicate_of=1, parse_problem="the body is empty",
                  headline=""),
    ])
    assert len(rows) == 3
    starts = [r.index("valid") for r in rows[1:]]
    assert len(set(starts)) == 1 and rows[0].index("signature") == starts[0]
    assert rows[1].endswith("…") and "\n" not in rows[1]
    assert "200 dup" in rows[2] and "the body is empty" in rows[2]


@pytest.mark.parametrize("route", ["http://h/x", "/a b:Defect"])
def test_listen_refuses_a_route_that_is_not_a_path(route, tmp_path, monkeypatch, request):
    from compass_listener.cli import main

    monkeypatch.setenv("COMPASS_LISTENER_HOME", str(tmp_path))
    request.getfixturevalue("log_file")      # detaches the log handler main() installs
    assert main(["listen", "--port", "0", "--route", route]) == 2
