"""The app and tray icons: every state renders, badges show, and they read on any panel."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtGui import QColor, QImage, QPainter

from compass_listener.ui import icons

LIGHT_PANEL = QColor("#f3f4f6")
DARK_PANEL = QColor("#1f2937")


def _image(icon, size: int) -> QImage:
    return icon.pixmap(size, size).toImage().convertToFormat(QImage.Format.Format_ARGB32)


def _on(panel: QColor, icon, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(panel)
    painter = QPainter(image)
    painter.drawPixmap(0, 0, icon.pixmap(size, size))
    painter.end()
    return image


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def _contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _share_standing_out(image: QImage, panel: QColor) -> float:
    """Share of pixels whose contrast with the panel is at least 3:1 (WCAG for graphics)."""
    size = image.width()
    hits = sum(_contrast(image.pixelColor(x, y), panel) >= 3.0
               for x in range(size) for y in range(size))
    return hits / (size * size)


def test_app_icon_has_all_sizes(qapp):
    icon = icons.app_icon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 24, 32, 48, 256} <= sizes
    assert icons.app_icon() is icon  # cached


@pytest.mark.parametrize("state", icons.TRAY_STATES)
@pytest.mark.parametrize("size", [16, 20, 22, 24])
def test_tray_icon_renders_at_panel_sizes(qapp, state, size):
    image = _image(icons.tray_icon(state), size)
    assert image.width() == size
    opaque = sum(image.pixelColor(x, y).alpha() > 200 for x in range(size) for y in range(size))
    assert opaque > size * size * 0.5  # a solid disc, not a faint outline


def test_states_look_different(qapp):
    images = [_image(icons.tray_icon(state), 22) for state in icons.TRAY_STATES]
    for i, a in enumerate(images):
        for b in images[i + 1:]:
            assert a != b


@pytest.mark.parametrize("state", icons.TRAY_STATES)
@pytest.mark.parametrize("panel", [LIGHT_PANEL, DARK_PANEL], ids=["light", "dark"])
@pytest.mark.parametrize("size", [16, 22, 24])
def test_readable_on_light_and_dark_panels(qapp, state, panel, size):
    # Most of the icon must stand out from the panel, whatever the panel's colour.
    assert _share_standing_out(_on(panel, icons.tray_icon(state), size), panel) > 0.38
    badged = _on(panel, icons.tray_icon(state, 7), size)
    assert _share_standing_out(badged, panel) > 0.38


@pytest.mark.parametrize("unread, text", [(0, ""), (-1, ""), (1, "1"), (42, "42"), (99, "99"),
                                          (100, "99+"), (12345, "99+")])
def test_badge_text(unread, text):
    assert icons.badge_text(unread) == text


def test_unread_paints_a_badge(qapp):
    plain = _image(icons.tray_icon("listening"), 22)
    one = _image(icons.tray_icon("listening", 1), 22)
    many = _image(icons.tray_icon("listening", 150), 22)
    assert plain != one and one != many
    # 150 and 100 both read "99+", so they are the same (cached) icon.
    assert icons.tray_icon("listening", 150) is icons.tray_icon("listening", 100)
    # The badge sits in the lower right; the upper left still shows the state.
    assert plain.pixelColor(6, 6) == one.pixelColor(6, 6)
    assert plain.pixelColor(19, 18) != one.pixelColor(19, 18)


def test_badge_text_is_light_on_dark_fill(qapp):
    # A white count on the badge: some light pixels inside the badge area.
    image = _image(icons.tray_icon("paused", 8), 24)
    light = [image.pixelColor(x, y) for x in range(12, 24) for y in range(12, 24)
             if image.pixelColor(x, y).lightness() > 220]
    assert len(light) >= 6


def test_unknown_state_is_refused(qapp):
    with pytest.raises(ValueError, match="unknown tray state"):
        icons.tray_icon("sleeping")


@pytest.mark.parametrize("height, width", [(10, 14), (14, 18), (15, 20)])
def test_badge_count_is_shrunk_to_fit(qapp, height, width):
    from PySide6.QtGui import QFontMetricsF

    font = icons._badge_font("99+", height, width)
    assert QFontMetricsF(font).horizontalAdvance("99+") <= width
