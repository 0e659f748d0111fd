"""Contrast: button icons take the button's text colour (never blue on blue), tab icons the theme's
accent, and the dark theme draws checkboxes with a light border."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QPushButton

from ui import theme
from ui.assets import button_icon


def _ink(img: QImage) -> QColor:
    """The colour of the most opaque pixel: the icon's ink."""
    best, out = -1, QColor()
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            if c.alpha() > best:
                best, out = c.alpha(), c
    return out


def test_button_icons_follow_the_button_text_colour_in_both_themes(qapp: Any) -> None:
    app = QApplication.instance()
    try:
        theme.apply(app, "light", 16)
        b = button_icon(QPushButton("Gun"), "gun")
        assert _ink(b.icon().pixmap(24).toImage()).lightness() > 200  # white on the dark-blue button
        theme.apply(app, "dark", 16)  # a theme switch repaints it
        assert _ink(b.icon().pixmap(24).toImage()).lightness() < 60  # dark on the light-blue button
        assert "QCheckBox::indicator" in app.styleSheet() and "#e8eaed" in app.styleSheet()
        assert "check-dark.svg" in app.styleSheet() and "@ICONS@" not in app.styleSheet()
    finally:
        theme.apply(app, "light", 15)
