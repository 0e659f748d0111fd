"""Themes (light for sunlight, dark for night) and the scalable base font size.

Why tokens in the stylesheets: volunteers with tired eyes press Ctrl++ and every screen grows
together, including the verdict panel and the clock; the QSS files stay editable by organizers.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from ui.assets import ICONS, STYLES

_cjk_families: list[str] | None = None


def cjk_families() -> list[str]:
    """Register the shipped CJK font once: a timing laptop without Chinese fonts still shows names
    like 王芳 instead of empty boxes. System fonts keep priority; this one is the fallback."""
    global _cjk_families
    if _cjk_families is None:
        _cjk_families = []
        try:  # the same font the PDF reports embed (found by station.reports.fonts)
            from station.reports.fonts import font_path

            path = font_path()
        except Exception:
            path = None
        if path is not None and path.exists():
            fid = QFontDatabase.addApplicationFont(str(path))
            if fid >= 0:
                _cjk_families = list(QFontDatabase.applicationFontFamilies(fid))
    return _cjk_families

THEMES = ("light", "dark")
MIN_FS, MAX_FS, DEFAULT_FS = 12, 32, 16


def stylesheet(theme: str, fs: int) -> str:
    path = STYLES / f"{theme if theme in THEMES else 'light'}.qss"
    text = path.read_text(encoding="utf-8")
    return (text.replace("@FSXL@", str(int(fs * 2.2))).replace("@FSL@", str(int(fs * 1.3)))
            .replace("@FS@", str(fs)).replace("@ICONS@", ICONS.as_posix()))


def apply(app: QApplication, theme: str, fs: int) -> None:
    fs = max(MIN_FS, min(MAX_FS, fs))
    f = QFont(app.font())
    base = [fam for fam in f.families() if fam] or [f.family()]
    f.setFamilies(base + [fam for fam in cjk_families() if fam not in base])
    f.setPixelSize(fs)
    app.setFont(f)
    app.setStyleSheet(stylesheet(theme, fs))
    app.setProperty("worun_theme", theme)  # widgets that paint their own colours follow it
    from ui.assets import refresh_icons

    refresh_icons()  # icons in the colour of what they sit on
