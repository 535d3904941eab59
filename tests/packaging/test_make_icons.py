"""The icon build step: committed PNGs match the master; ICO/ICNS containers are well formed."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def make_icons():
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_icons"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_pngs_match_the_master(make_icons, qapp):  # qapp first: widgets later
    assert make_icons.check_hicolor() == []


def test_ico_container(make_icons):
    pngs = {16: b"\x89PNG-a", 256: b"\x89PNG-bbbb"}
    data = make_icons.ico_container(pngs)
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind, count) == (0, 1, 2)
    first = struct.unpack_from("<BBBBHHII", data, 6)
    second = struct.unpack_from("<BBBBHHII", data, 22)
    assert first[:2] == (16, 16) and second[:2] == (0, 0)  # 0 stands for 256
    assert data[first[7]:first[7] + first[6]] == pngs[16]
    assert data[second[7]:second[7] + second[6]] == pngs[256]


def test_icns_container(make_icons):
    pngs = {size: bytes([size % 251]) * 3 for _, size in make_icons.ICNS_TYPES}
    data = make_icons.icns_container(pngs)
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    offset, kinds = 8, []
    while offset < len(data):
        kind, length = data[offset:offset + 4], struct.unpack_from(">I", data, offset + 4)[0]
        kinds.append(kind)
        offset += length
    assert offset == len(data)
    assert kinds == [kind for kind, _ in make_icons.ICNS_TYPES]


def test_real_ico_is_readable_by_qt(make_icons, tmp_path, qapp):
    from PySide6.QtGui import QImageReader

    path = tmp_path / "app.ico"
    assert make_icons.main(["--ico", str(path)]) == 0
    reader = QImageReader(str(path))
    assert reader.imageCount() == len(make_icons.ICO_SIZES)
    assert not reader.read().isNull()
