"""Themes (light for sunlight, dark for night) and the scalable base font size.

Why tokens in the stylesheets: volunteers with tired eyes press Ctrl++ and every screen grows
together, including the verdict panel and the clock; the QSS files stay editable by organizers.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from ui.assets import STYLES

THEMES = ("light", "dark")
MIN_FS, MAX_FS, DEFAULT_FS = 12, 32, 16


def stylesheet(theme: str, fs: int) -> str:
    path = STYLES / f"{theme if theme in THEMES else 'light'}.qss"
    text = path.read_text(encoding="utf-8")
    return (text.replace("@FSXL@", str(int(fs * 2.2))).replace("@FSL@", str(int(fs * 1.3)))
            .replace("@FS@", str(fs)))


def apply(app: QApplication, theme: str, fs: int) -> None:
    fs = max(MIN_FS, min(MAX_FS, fs))
    f = QFont(app.font())
    f.setPixelSize(fs)
    app.setFont(f)
    app.setStyleSheet(stylesheet(theme, fs))
