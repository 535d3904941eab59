"""Renders the icon PNGs and the Windows/macOS icon files from the SVG masters in resources/.

    python packaging/make_icons.py            # (re)write resources/icons/hicolor/<N>x<N>/apps/*.png
    python packaging/make_icons.py --check    # fail if those PNGs are missing or out of date
    python packaging/make_icons.py --ico F --icns F   # also write a .ico / .icns (build step)

The hicolor PNGs are committed (install-desktop copies them from the package, where no
renderer may be at hand); the .ico and .icns are only build inputs for PyInstaller and are
written under build/. Both containers are written here by hand with PNG-compressed entries,
because Qt's ICO writer stores one size only and has no ICNS writer on every platform.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compass_listener import APP_ID  # noqa: E402
from compass_listener.store.assets import HICOLOR_PNG_SIZES  # noqa: E402

ICONS = ROOT / "resources" / "icons"
MASTER = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
# ICNS entry types holding PNG data, by pixel size (the @2x types share the same pixels).
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
              (b"ic09", 512), (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256),
              (b"ic14", 512))
# Rendering differs by a shade between Qt versions and font set-ups; --check tolerates that.
_CHECK_TOLERANCE = 24


def _app():
    if "QT_QPA_PLATFORM" not in os.environ:  # a build machine may have no display
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # A QApplication (not just a QGuiApplication): when this runs inside the test process,
    # later widget tests need the one application object to support widgets.
    from PySide6.QtWidgets import QApplication
    return QApplication.instance() or QApplication([])


def render(size: int, master: Path = MASTER):
    """The master rendered to a size x size QImage (ARGB, transparent background)."""
    _app()
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(master.read_bytes()))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {master} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def png_bytes(size: int, master: Path = MASTER) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    render(size, master).save(buffer, "PNG")
    buffer.close()
    return bytes(data)


def ico_container(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNGs (understood since Windows Vista)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, data in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns_container(pngs: dict[int, bytes]) -> bytes:
    """An ICNS file of PNG entries (macOS 10.7 and later)."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
                    for kind, size in ICNS_TYPES if size in pngs)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def hicolor_png(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def write_hicolor() -> None:
    for size in HICOLOR_PNG_SIZES:
        path = hicolor_png(size)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(size))
        print(f"wrote {path.relative_to(ROOT)}")


def check_hicolor() -> list[str]:
    """Problems with the committed PNGs: missing, wrong size, or not what the master gives."""
    from PySide6.QtGui import QImage

    problems = []
    for size in HICOLOR_PNG_SIZES:
        path = hicolor_png(size)
        if not path.is_file():
            problems.append(f"{path.relative_to(ROOT)} is missing")
            continue
        _app()
        stored = QImage(str(path)).convertToFormat(QImage.Format.Format_ARGB32)
        fresh = render(size).convertToFormat(QImage.Format.Format_ARGB32)
        if stored.size() != fresh.size():
            problems.append(f"{path.relative_to(ROOT)} is {stored.width()}x{stored.height()}")
            continue
        worst = max(
            abs(a - b)
            for a, b in zip(bytes(stored.constBits()), bytes(fresh.constBits()))
        )
        if worst > _CHECK_TOLERANCE:
            problems.append(f"{path.relative_to(ROOT)} differs from the master (by {worst}/255)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the committed PNGs")
    parser.add_argument("--ico", type=Path, help="also write a Windows .ico here")
    parser.add_argument("--icns", type=Path, help="also write a macOS .icns here")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_hicolor()
        for problem in problems:
            print(f"make_icons: {problem}; run `python packaging/make_icons.py`", file=sys.stderr)
        return 1 if problems else 0
    if not (args.ico or args.icns):
        write_hicolor()
    if args.ico:
        args.ico.parent.mkdir(parents=True, exist_ok=True)
        args.ico.write_bytes(ico_container({s: png_bytes(s) for s in ICO_SIZES}))
        print(f"wrote {args.ico}")
    if args.icns:
        args.icns.parent.mkdir(parents=True, exist_ok=True)
        sizes = {size for _, size in ICNS_TYPES}
        args.icns.write_bytes(icns_container({s: png_bytes(s) for s in sizes}))
        print(f"wrote {args.icns}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
