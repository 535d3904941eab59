"""The application icon and the tray icons (one per listener state, with the unread badge).

Everything is rendered from the SVG masters (see store/assets.py for where they are
found), read as bytes so that no file path has to survive freezing. Icons are cached:
the tray asks for a new one on every state or count change.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

from compass_listener.store import assets

TRAY_STATES = assets.TRAY_STATES
# Panels ask for 16-24 px (22 on most X11 trays, 16/20/24 on Windows at 100-150 %); the
# larger sizes serve HiDPI panels and the "no tray" window fallback.
_TRAY_SIZES = (16, 20, 22, 24, 32, 40, 48, 64)
_APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

# 3:1 against a dark panel where no rim is drawn (16-19 px), 4.8:1 for the white digits.
_BADGE_FILL = QColor("#dc2626")
_BADGE_TEXT = QColor("#ffffff")
# From 20 px a white rim separates the badge from a red or dark glyph and from dark panels; the
# darker outer edge does the same on light panels.
_BADGE_RIM = QColor("#ffffff")
_BADGE_EDGE = QColor(0, 0, 0, 150)


def badge_text(unread: int) -> str:
    """What the badge says: the count, or "99+" beyond 99 (nothing for zero)."""
    if unread <= 0:
        return ""
    return "99+" if unread > 99 else str(unread)


@lru_cache(maxsize=None)
def _svg_bytes(which: str) -> bytes:
    source = assets.app_icon_svg() if which == "app" else assets.tray_svg(which)
    return source.read_bytes()


def _render(which: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(_svg_bytes(which)))
    if not renderer.isValid():
        raise RuntimeError(f"the icon master for {which!r} is not a valid SVG")
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


def _badge_font(text: str, height: float, max_width: float) -> QFont:
    """A bold font as large as the badge allows, shrunk until the count fits its width."""
    font = QFont()
    font.setBold(True)
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    if len(text) > 1:
        # Digits sit tighter than the font's default advance; it buys a pixel per glyph.
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing,
                              -0.9 if height < 12 else -0.5 if height < 20 else 0.0)
    pixels = max(6, round(height * 0.8))
    while True:
        font.setPixelSize(pixels)
        if pixels <= 6 or QFontMetricsF(font).horizontalAdvance(text) <= max_width:
            return font
        pixels -= 1


def _paint_badge(pixmap: QPixmap, text: str) -> None:
    size = pixmap.width()
    # The badge fills the lower-right corner: at 16 px a smaller badge is unreadable, and the
    # state colour still shows above and left of it. Longer counts grow leftwards into a
    # pill, up to the full width.
    height = max(9.0, round(size * 0.62))
    # At 16-19 px a white rim would take two of the ten rows the digits need; the dark
    # edge alone separates the badge there.
    rim = 0.0 if size < 20 else 1.0 if size < 32 else 1.5
    pad = 1.0 if size < 32 else height * 0.2
    font = _badge_font(text, height, float(size) - 2 * (rim + pad))
    text_width = QFontMetricsF(font).horizontalAdvance(text)
    width = min(float(size), max(height, text_width + 2 * (rim + pad)))
    rect = QRectF(size - width, size - height, width, height)

    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    outer = rect.adjusted(0.5, 0.5, -0.5, -0.5)
    path = QPainterPath()
    path.addRoundedRect(outer, outer.height() / 2, outer.height() / 2)
    painter.setPen(QPen(_BADGE_EDGE, 1.0))
    painter.setBrush(_BADGE_RIM if rim else _BADGE_FILL)
    painter.drawPath(path)
    core = outer.adjusted(rim, rim, -rim, -rim)
    inner = QPainterPath()
    inner.addRoundedRect(core, core.height() / 2, core.height() / 2)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_BADGE_FILL)
    painter.drawPath(inner)
    painter.setFont(font)
    painter.setPen(_BADGE_TEXT)
    # Centred on the whole badge, not the text's own box, so "1" does not drift left.
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()


@lru_cache(maxsize=None)
def app_icon() -> QIcon:
    """The application icon, rendered at every size a window, taskbar or dock asks for."""
    icon = QIcon()
    for size in _APP_SIZES:
        icon.addPixmap(_render("app", size))
    return icon


@lru_cache(maxsize=256)
def _tray_icon(state: str, text: str) -> QIcon:
    icon = QIcon()
    for size in _TRAY_SIZES:
        pixmap = _render(state, size)
        if text:
            _paint_badge(pixmap, text)
        icon.addPixmap(pixmap)
    return icon


def tray_icon(state: str, unread: int = 0) -> QIcon:
    """The tray icon for a listener state ("listening", "paused", "error", "stopped").

    unread > 0 paints the count as a badge ("99+" beyond 99).
    """
    if state not in TRAY_STATES:
        raise ValueError(f"unknown tray state {state!r}; expected one of {', '.join(TRAY_STATES)}")
    return _tray_icon(state, badge_text(unread))
