"""Bad data folders and ports on the command line: one sentence and an exit code, never a
traceback (the real program as a subprocess)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, code: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               QT_QPA_PLATFORM="offscreen")
    command = ["-c", code, *args] if code else ["-m", "compass_listener", *args]
    return subprocess.run([sys.executable, *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_sentence(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("compass-listener: ")
    return lines[0]


@pytest.mark.parametrize("command", [["events"], ["export"], ["listen", "--port", "0"],
                                     ["--quit-after", "1"]])
def test_a_file_given_as_data_dir(tmp_path, command):
    file = tmp_path / "notadir"
    file.write_text("x")
    for data_dir in (file, file / "sub"):
        result = run("--data-dir", str(data_dir), *command)
        assert result.returncode == 1
        line = one_sentence(result)
        assert str(file) in line and "not a folder" in line and "--data-dir" in line


@pytest.mark.skipif(not Path("/proc/1").is_dir(), reason="needs /proc")
def test_a_data_dir_that_cannot_be_created():
    result = run("--data-dir", "/proc/1/nonexistent", "events")
    assert result.returncode == 1
    line = one_sentence(result)
    assert "/proc/1/nonexistent" in line and "--data-dir" in line


def test_without_a_log_file_no_traceback_is_promised(tmp_path):
    (tmp_path / "logs").write_text("a file where the log folder goes")
    code = ("import sys; from compass_listener import cli; "
            "from compass_listener.commands import events; "
            "events.run = lambda args: 1 / 0; sys.exit(cli.main(sys.argv[1:]))")
    result = run("--data-dir", str(tmp_path), "events", code=code)
    assert result.returncode == 1
    line = one_sentence(result)
    assert "ZeroDivisionError" in line and "traceback is in" not in line
    assert "no log file could be written" in line


def test_with_a_log_file_the_traceback_is_in_it(tmp_path):
    code = ("import sys; from compass_listener import cli; "
            "from compass_listener.commands import events; "
            "events.run = lambda args: 1 / 0; sys.exit(cli.main(sys.argv[1:]))")
    result = run("--data-dir", str(tmp_path), "events", code=code)
    assert result.returncode == 1
    log = tmp_path / "logs" / "compass-listener.log"
    assert f"the traceback is in {log}" in one_sentence(result)
    assert "ZeroDivisionError" in log.read_text()


@pytest.mark.parametrize("args", [
    ["--port", "70000", "--quit-after", "1"],
    ["--port", "-1", "--quit-after", "1"],
    ["--port", "eighty", "--quit-after", "1"],
    ["listen", "--port", "70000"],
    ["demo", "--port", "65536"],
])
def test_ports_outside_0_to_65535_are_usage_errors(tmp_path, args):
    result = run("--data-dir", str(tmp_path), *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    assert "is not a port" in result.stderr.splitlines()[-1]


def test_export_into_a_missing_folder_on_an_empty_history_is_one_sentence(tmp_path):
    result = run("--data-dir", str(tmp_path / "home"), "export", "--output",
                 str(tmp_path / "missing" / "x.csv"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    assert "cannot write" in result.stderr and "folder that exists" in result.stderr


def test_listen_warns_when_a_signed_routes_secret_is_not_available(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text(
        '[[routes]]\npath = "/compassdefect"\nlabel = "Defect"\nexpects_signature = true\n')
    env = {k: v for k, v in os.environ.items() if k != "COMPASS_LISTENER_HOME"}
    env.update(COMPASS_LISTENER_HOME=str(home),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    proc = subprocess.Popen([sys.executable, "-m", "compass_listener", "listen", "--port", "0"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "warning: route /compassdefect has a secret in the settings but none" in line
    assert "answered 503" in line and "stored as unsigned" not in line
