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

_BADGE_FILL = QColor("#b91c1c")
_BADGE_TEXT = QColor("#ffffff")
# A white rim separates the badge from a red or dark glyph and from dark panels; the
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


def _paint_badge(pixmap: QPixmap, text: str) -> None:
    size = pixmap.width()
    # The badge fills the lower-right corner: at 16 px a smaller badge is unreadable, and the
    # state colour still shows around it. Longer counts grow leftwards into a pill.
    height = max(9.0, size * 0.62)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(7, round(height * 0.78)))
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    metrics = QFontMetricsF(font)
    if len(text) > 1:
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, -0.4 if size < 32 else 0.0)
        metrics = QFontMetricsF(font)
    text_width = metrics.horizontalAdvance(text)
    width = min(float(size), max(height, text_width + height * 0.45))
    rect = QRectF(size - width, size - height, width, height)

    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    path = QPainterPath()
    inset = rect.adjusted(0.5, 0.5, -0.5, -0.5)
    path.addRoundedRect(inset, inset.height() / 2, inset.height() / 2)
    painter.setPen(QPen(_BADGE_EDGE, 1.0))
    painter.setBrush(_BADGE_RIM)
    painter.drawPath(path)
    inner = QPainterPath()
    core = inset.adjusted(1.0, 1.0, -1.0, -1.0) if size < 32 else inset.adjusted(1.5, 1.5, -1.5, -1.5)
    inner.addRoundedRect(core, core.height() / 2, core.height() / 2)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_BADGE_FILL)
    painter.drawPath(inner)
    painter.setFont(font)
    painter.setPen(_BADGE_TEXT)
    painter.drawText(core, Qt.AlignmentFlag.AlignCenter, text)
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
