"""The layer rule of design.md: core/, net/ and store/ never import Qt (PySide6, shiboken6,
qasync), so the headless commands run them on a plain asyncio loop. Checked twice: in the
source, and by importing every module of those packages in a fresh interpreter."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "compass_listener"
LAYERS = ("core", "net", "store")
QT = ("PySide6", "shiboken6", "qasync")
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(PySide6|shiboken6|qasync)\b", re.MULTILINE)


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_no_qt_import_in_the_source(layer):
    files = _modules(layer)
    assert files, f"no modules found under {layer}/"
    offenders = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0).strip()}"
                      for m in _IMPORT.finditer(text)]
        # importlib.import_module("PySide6...") would dodge the regex above.
        offenders += [f"{path.relative_to(ROOT)}: dynamic import of {name}"
                      for name in QT if re.search(rf"import_module\(\s*['\"]{name}", text)]
    assert offenders == []


def test_the_source_check_would_notice():
    assert _IMPORT.search("import os\nfrom PySide6.QtCore import QObject\n")
    assert _IMPORT.search("    import qasync\n")
    assert not _IMPORT.search("# PySide6 is not imported here\n")


def test_importing_every_module_loads_no_qt():
    names = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for layer in LAYERS for path in _modules(layer))
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    # The commands used headless must stay Qt-free as well.
    script2 = ("import sys, compass_listener.cli as c\nc.build_parser()\n"
               f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r}))\n")
    done = subprocess.run([sys.executable, "-c", script2], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
