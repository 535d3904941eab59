"""Smoke test of the benchmarks: every script in bench/ runs at a tiny size and
bench/run_all.py renders a BENCHMARKS.md from the results, so the scripts cannot rot.
The figures of a tiny run mean nothing and are not checked."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _missing() -> str:
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install wrk)"
    try:
        import flask  # noqa: F401
    except ImportError:
        return "the bench extra is not installed (pip install -e '.[bench]')"
    return ""


def test_every_benchmark_runs_tiny_and_renders_benchmarks_md(tmp_path):
    missing = _missing()
    if missing:
        # CI installs both (.ci/run, scripts/test): there a skip would hide rotting scripts.
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the benchmark smoke test, but {missing}")
        pytest.skip(missing)
    out = tmp_path / "BENCHMARKS.md"
    env = dict(os.environ, BENCH_DATA=str(tmp_path / "data"), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--tiny",
                           "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for heading in ("## Summary", "## 1. Burst throughput", "## 2. UI responsiveness",
                    "## 3. Latency", "## 4. Scale of history", "## 5. Start-up", "## Machine",
                    "## Commands"):
        assert heading in text
    assert "nan" not in text.split("## Summary")[1].split("##")[0]


@pytest.mark.parametrize("content, says", [
    (None, "cannot read"),
    ('{"throughput":', "not JSON"),
    ("[]", "holds none of the figures"),
    ('{"throughput": {}}', "lacks part of a figure"),
])
def test_rendering_a_file_that_is_not_a_run_says_why(tmp_path, content, says):
    results = tmp_path / "results.json"
    if content is not None:
        results.write_text(content)
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--render",
                           str(results), "--out", str(out)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
