"""Desktop entries: Exec quoting per the spec, and the committed file matches the generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from compass_listener import APP_ID
from compass_listener.store import desktop_entry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("arg, written", [
    ("compass-listener", "compass-listener"),
    ("/opt/a b/x", '"/opt/a b/x"'),
    ("100%", "100%%"),
    ('say "hi"', '"say \\\\"hi\\\\""'),
    ("$HOME", '"\\\\$HOME"'),
    ("C:\\x", '"C:\\\\\\\\x"'),
    ("", '""'),
])
def test_quote_exec_arg(arg, written):
    assert desktop_entry.quote_exec_arg(arg) == written


def test_committed_desktop_file_matches_generator():
    committed = ROOT / "packaging" / "linux" / f"{APP_ID}.desktop"
    assert committed.read_text(encoding="utf-8") == desktop_entry.desktop_entry(["compass-listener"])


def test_autostart_variant_adds_minimized_once():
    text = desktop_entry.desktop_entry(["x", "--minimized"], autostart=True)
    assert "Exec=x --minimized\n" in text
    assert "X-GNOME-Autostart-enabled=true" in text
    assert "Autostart" not in desktop_entry.desktop_entry(["x"])
