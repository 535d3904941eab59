"""End to end, headless: the real program as subprocesses (`listen`, `send-test`, `events`),
real signed deliveries over HTTP on 127.0.0.1, then the replies, the program's output and
the rows in the history file are checked. No keyring is touched (the fail backend)."""

import hashlib
import hmac
import json
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from compass_listener.core.routes import Route
from compass_listener.core.sample import sample_body
from compass_listener.store.settings import Settings, load_settings, save_settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-secret-\u00e9"
LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+)/\S*)")
LISTENING_URL = re.compile(r"^(http://127\.0\.0\.1:(\d+)/\S*)$")


def listening_match(line: str) -> "re.Match | None":
    """The URL and port in listen's first line: plain text, or JSON with --json."""
    if line.startswith("{"):
        document = json.loads(line)
        if document.get("event") != "listening":
            return None
        return LISTENING_URL.match(document["urls"][0])
    return LISTENING.match(line)
JSON_KEYS = {"time", "route", "record_type", "record_id", "state", "headline", "signature",
             "duplicate", "status"}


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(ROOT), COMPASS_LISTENER_HOME=str(home),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1", HOOK_SECRET=SECRET)
    env.update(extra)
    return env


def run_cli(home: Path, *args: str, timeout: float = 60, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compass_listener", *args], cwd=ROOT,
                          env=_env(home, **env), capture_output=True, text=True,
                          timeout=timeout)


class ListenProcess:
    """`compass-listener --data-dir HOME listen ...` with its output collected as it comes."""

    def __init__(self, home: Path, *args: str):
        self.home = home
        self.proc = subprocess.Popen(
            # faulthandler: SIGABRT makes it print every thread's stack (see stacks()).
            [sys.executable, "-X", "faulthandler", "-m", "compass_listener", "--data-dir",
             str(home), "listen",
             "--port", "0", *args],
            cwd=ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.lines: queue.Queue = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False),
                         daemon=True).start()
        first = self.next_line(20)
        match = listening_match(first or "")
        assert match, f"no listening line: {first!r}; stderr: {''.join(self.stderr)}"
        self.url, self.port = match.group(1), int(match.group(2))

    def _pump(self, stream, sink, to_queue):
        for line in stream:
            sink.append(line)
            if to_queue:
                self.lines.put(line.rstrip("\n"))
        if to_queue:
            self.lines.put(None)

    def next_line(self, timeout: float = 10) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def delivery_lines(self, count: int, timeout: float = 60) -> list[str]:
        got, deadline = [], time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            line = self.next_line(max(0.05, deadline - time.monotonic()))
            if line is not None:
                got.append(line)
        if len(got) != count:
            pytest.fail(f"expected {count} lines, got {got}; listener stacks:\n{self.stacks()}")
        return got

    def stacks(self) -> str:
        """Where a stuck listener is stuck: abort it and return what faulthandler printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGABRT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)           # let the pump thread read the rest of stderr
        return "".join(self.stderr)[-8000:]

    def send_test(self, *args: str, timeout: float = 150) -> subprocess.CompletedProcess:
        """`send-test --url <this listener>`; if it hangs, fail with the listener's stacks.
        The long timeouts only matter on a machine stalled by other work (fsync)."""
        try:
            return run_cli(self.home, "send-test", "--url", self.url, "--timeout", "90",
                           *args, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"send-test got no answer; listener stacks:\n{self.stacks()}")

    def stop(self, signum=signal.SIGTERM, timeout: float = 60) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def start_listen(home):
    started = []

    def start(*args, data_home=None):
        process = ListenProcess(data_home or home, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def post(url: str, body: bytes, headers: dict | None = None,
         method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body if method == "POST" else None,
                                     headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def rows(home: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(str(home / "history.sqlite3"))
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
    finally:
        conn.close()


def _free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_listen_json_prints_only_json_lines_the_first_says_where(home, start_listen):
    listen = start_listen("--secret-env", "HOOK_SECRET", "--json")
    first = json.loads(listen.stdout[0])
    assert first == {"event": "listening",
                     "urls": [f"http://127.0.0.1:{listen.port}/compassdefect"]}
    assert listen.send_test("--secret-env", "HOOK_SECRET", "--count", "2").returncode == 0
    listen.delivery_lines(2)
    assert listen.stop() == 0
    time.sleep(0.2)             # let the pump thread read the rest
    documents = [json.loads(line) for line in listen.stdout]
    assert len(documents) == 3 and all(JSON_KEYS <= set(d) for d in documents[1:])


def test_listen_without_json_says_where_in_words(home, start_listen):
    listen = start_listen("--secret-env", "HOOK_SECRET")
    assert listen.stdout[0] == f"listening on http://127.0.0.1:{listen.port}/compassdefect\n"


def test_signed_deliveries_through_the_headless_listener(home, start_listen):
    listen = start_listen("--secret-env", "HOOK_SECRET", "--json")
    assert listen.url == f"http://127.0.0.1:{listen.port}/compassdefect"

    sent = listen.send_test("--secret-env", "HOOK_SECRET", "--count", "5", "--concurrency",
                            "3")
    assert sent.returncode == 0, sent.stderr
    replies = sent.stdout.strip().splitlines()
    assert len(replies) == 6
    assert all(re.match(r"#\d\s+200\s+SAMPL\d{8}\s+Payload received successfully", line)
               for line in replies[:5]), replies
    assert replies[5].startswith("sent 5, ok 5, failed 0, ")
    assert "deliveries/s" in replies[5] and sent.stderr == ""

    body = sample_body(listen.url, seed=42)
    record_id = json.loads(body)["content"]["id"]["value"]
    assert post(listen.url, body, {"X-Compass-Signature": signature(body),
                                   "Content-Type": "application/json"}) \
        == (200, {"message": "Payload received successfully"})
    status, reply = post(listen.url, body)                 # unsigned: rejected
    assert status == 401 and reply["message"].startswith("signature missing")
    status, reply = post(listen.url, b"", method="GET")    # not printed, not stored
    assert status == 405 and "POST" in reply["message"]

    printed = [json.loads(line) for line in listen.delivery_lines(7)]
    assert all(set(p) >= JSON_KEYS for p in printed)
    assert [p["status"] for p in printed] == [200] * 6 + [401]
    assert [p["signature"] for p in printed] == ["valid"] * 6 + ["missing"]
    assert printed[5]["record_id"] == record_id and printed[6]["record_id"] == record_id
    assert printed[6]["duplicate"] is True and printed[5]["duplicate"] is False
    assert {p["route"] for p in printed} == {"/compassdefect"}
    assert {p["record_type"] for p in printed} == {"Defect"}

    assert listen.stop(signal.SIGTERM) == 0
    assert "Traceback" not in "".join(listen.stderr)

    stored = rows(home)
    assert len(stored) == 7
    assert [r["reply_status"] for r in stored] == [p["status"] for p in printed]
    assert bytes(stored[5]["body"]) == body

    listed = run_cli(home, "events", "--json")
    assert listed.returncode == 0, listed.stderr
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["id"] for e in events] == [r["id"] for r in reversed(stored)]   # newest first
    assert [{k: e[k] for k in JSON_KEYS} for e in events] \
        == [{k: p[k] for k in JSON_KEYS} for p in reversed(printed)]
    limited = run_cli(home, "events", "--json", "--limit", "2", "--route", "compassdefect")
    assert [json.loads(x)["id"] for x in limited.stdout.splitlines()] == [7, 6]


def test_sigterm_mid_burst_loses_no_answered_delivery(home, start_listen):
    listen = start_listen("--secret-env", "HOOK_SECRET", "--json")
    sender = subprocess.Popen(
        [sys.executable, "-m", "compass_listener", "send-test", "--url", listen.url,
         "--secret-env", "HOOK_SECRET", "--count", "3000", "--concurrency", "12", "--json",
         "--timeout", "10"],
        cwd=ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listen.delivery_lines(40)      # the burst is under way
        assert listen.stop(signal.SIGTERM, timeout=60) == 0
        out, err = sender.communicate(timeout=120)
    finally:
        if sender.poll() is None:
            sender.kill()
    results = [json.loads(line) for line in out.splitlines()]
    summary = results.pop()
    assert summary["sent"] == 3000 and len(results) == 3000
    print(f"answered {summary['ok']} of 3000 before SIGTERM")
    answered_ok = {r["record_id"] for r in results if r["status"] == 200}
    assert len(answered_ok) >= 40
    stored = rows(home)
    stored_ids = {r["record_id"] for r in stored}
    # Every delivery that got its 200 is in the history, and every row was printed.
    assert answered_ok <= stored_ids
    printed = [json.loads(x) for x in "".join(listen.stdout).splitlines()[1:]]
    assert len(printed) == len(stored)
    assert "Traceback" not in err + "".join(listen.stderr)
    if summary["failed"]:
        assert sender.returncode == 1


def test_human_output_duplicates_and_ctrl_c(home, start_listen):
    listen = start_listen("--route", "/hooks/task:Task")      # loopback: no secret is fine
    assert listen.url.endswith("/hooks/task")
    body = json.dumps({"webUrl": listen.url, "content": {
        "id": {"truncated": "false", "value": "TASK00000007"},
        "State": {"truncated": "false", "value": "Opened"},
        "Headline": {"truncated": "false", "value": "Nightly build is red"}}}).encode()
    assert post(listen.url, body)[0] == 200
    assert post(listen.url, body)[0] == 200
    first, second = listen.delivery_lines(2)
    for line in (first, second):
        assert "/hooks/task" in line and "Task TASK00000007 · Opened · Nightly build is red" \
            in line and "signature unsigned" in line and "200" in line
    assert "duplicate" not in first and "duplicate of #1" in second
    assert listen.stop(signal.SIGINT) == 0                    # Ctrl-C is a clean stop too
    assert "no secret" in "".join(listen.stderr)

    table = run_cli(home, "events")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["#", "time", "route", "type"]
    assert len(lines) == 3 and "200 dup" in lines[1] and "TASK00000007" in lines[2]
    assert run_cli(home, "events", "--route", "/other").stdout.startswith(
        "no deliveries stored yet on route /other")


def test_learned_scheme_is_saved_only_for_routes_from_the_settings_file(home, start_listen):
    save_settings(Settings(routes=[Route("/compassdefect", "Defect")]),
                  home / "settings.toml")
    listen = start_listen("--secret-env", "HOOK_SECRET", "--route", "/compassdefect",
                          "--route", "/extra:Task")
    extra = listen.url.replace("/compassdefect", "/extra")
    for url in (listen.url, extra):
        body = sample_body(url, seed=1)
        assert post(url, body, {"X-Hook-Signature": signature(body)})[0] == 200
    listen.delivery_lines(2)
    assert listen.stop() == 0
    assert "learned its signature" in "".join(listen.stderr)
    saved = load_settings(home / "settings.toml")
    assert [r.path for r in saved.routes] == ["/compassdefect"]
    assert saved.routes[0].scheme.learned_header == "X-Hook-Signature"
    assert saved.routes[0].scheme.learned_encoding == "hex"
    assert SECRET not in (home / "settings.toml").read_text()


def test_no_settings_file_is_created_by_learning(home, start_listen):
    listen = start_listen("--secret-env", "HOOK_SECRET")
    body = sample_body(listen.url, seed=2)
    assert post(listen.url, body, {"X-Compass-Signature": signature(body)})[0] == 200
    listen.delivery_lines(1)
    assert listen.stop() == 0
    assert not (home / "settings.toml").exists()


def test_empty_history(home):
    human = run_cli(home, "events")
    assert human.returncode == 0 and human.stdout.startswith("no deliveries stored yet")
    as_json = run_cli(home, "events", "--json")
    assert as_json.returncode == 0 and as_json.stdout == ""
    assert "no deliveries stored yet" in as_json.stderr
    assert not (home / "history.sqlite3").exists()


USAGE_ERRORS = [
    (["listen", "--port", "70000"], "'70000' is not a port"),
    (["listen", "--host", "0.0.0.0"], "--allow-unsigned"),
    (["listen", "--secret-env", "NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE"),
    (["listen", "--route", ":Label"], "no path"),
    (["send-test", "--url", "http://127.0.0.1:9/x", "--count", "0"], "--count 0"),
    (["send-test", "--url", "http://127.0.0.1:9/x", "--concurrency", "0"], "--concurrency"),
    (["send-test", "--url", "ftp://127.0.0.1/x"], "http(s)"),
    (["send-test", "--url", "http://127.0.0.1:9/x", "--secret-env", "NOT_SET_ANYWHERE"],
     "NOT_SET_ANYWHERE"),
    (["send-test", "--url", "http://127.0.0.1:9/x", "--secret", "abc"], "unrecognized"),
    (["send-test"], "--url"),
    (["events", "--limit", "0"], "--limit 0"),
]


@pytest.mark.parametrize("args,fragment", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_2_with_a_sentence(home, args, fragment):
    done = run_cli(home, *args, NOT_SET_ANYWHERE="")
    assert done.returncode == 2, done.stdout + done.stderr
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if not line.startswith("usage:")
              and not line.startswith(" ")]
    assert len(errors) == 1, done.stderr


def test_send_test_to_a_closed_port_is_one_sentence_and_exit_1(home):
    url = f"http://127.0.0.1:{_free_port()}/compassdefect"
    done = run_cli(home, "send-test", "--url", url)
    assert done.returncode == 1
    assert done.stderr == (f"compass-listener: nothing is listening on {url}; start the "
                           f"listener or check the URL\n")
    assert "Traceback" not in done.stdout
    assert done.stdout.splitlines()[-1].startswith("sent 1, ok 0, failed 1")


def test_listen_on_a_port_in_use_is_one_sentence_and_exit_1(home):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        done = run_cli(home, "listen", "--port", str(port), timeout=30)
    finally:
        busy.close()
    assert done.returncode == 1
    assert done.stderr.startswith("compass-listener: port ")
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    # `listen` has no Settings window: the fix is its option.
    assert "with --port" in done.stderr and "Settings" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def test_rejected_deliveries_make_send_test_exit_1(home, start_listen):
    listen = start_listen("--secret-env", "HOOK_SECRET")
    done = listen.send_test("--count", "2")   # unsigned
    assert done.returncode == 1
    assert "2 of 2 deliveries were not accepted" in done.stderr
    assert done.stdout.count(" 401 ") == 2
    assert listen.stop() == 0
