"""Where the app's resources live (icons, stylesheets, sounds, translations) and how to load them.

Resources are plain files beside the package (`resources/`), so organizers can restyle or re-voice a
station without rebuilding anything. Icons are drawn in one colour (`ICON_INK`) and repainted in the
colour of what they sit on — a button's text colour, or the theme's accent on a tab — so a dark-blue
icon never vanishes on a dark-blue button; a theme switch repaints them (`refresh_icons`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QAbstractButton, QApplication, QTabWidget

ROOT = Path(__file__).resolve().parent.parent / "resources"
ICONS = ROOT / "icons"
SOUNDS = ROOT / "sounds"
STYLES = ROOT / "styles"
TRANSLATIONS = ROOT / "translations"

ICON_INK = "#0b3d91"  # the colour the SVG files are drawn in
#: (theme, where) → colour: on a button, the button's text colour; elsewhere the theme's accent
ICON_COLORS = {("light", "button"): "#ffffff", ("dark", "button"): "#0f1115",
               ("light", "surface"): "#0b3d91", ("dark", "surface"): "#8ab4f8"}
DISABLED = {"light": "#eef0f4", "dark": "#80868b"}
B = TypeVar("B", bound=QAbstractButton)


def _theme() -> str:
    app = QApplication.instance()
    t = app.property("worun_theme") if app is not None else None
    return t if t in ("light", "dark") else "light"


def _pixmap(svg: str, color: str, px: int = 48) -> QPixmap:
    pm = QPixmap()
    pm.loadFromData(QByteArray(svg.replace(ICON_INK, color).encode("utf-8")), "SVG")
    return pm.scaled(QSize(px, px)) if not pm.isNull() else pm


def icon(name: str, on: str = "surface") -> QIcon:
    """The named icon in the colour for where it sits (`on`: "button" or "surface") in the current theme."""
    p = ICONS / f"{name}.svg"
    if not p.exists():
        return QIcon()
    svg = p.read_text(encoding="utf-8")
    theme = _theme()
    out = QIcon()
    out.addPixmap(_pixmap(svg, ICON_COLORS[(theme, on)]), QIcon.Mode.Normal)
    out.addPixmap(_pixmap(svg, ICON_COLORS[(theme, on)]), QIcon.Mode.Active)
    out.addPixmap(_pixmap(svg, DISABLED[theme]), QIcon.Mode.Disabled)
    return out


def button_icon(button: B, name: str) -> B:
    """Give a button its icon in its text colour (and again after a theme switch)."""
    button.setProperty("worunIcon", name)
    button.setIcon(icon(name, "button"))
    return button


def tab_icons(tabs: QTabWidget, names: list[str]) -> None:
    """Tab icons in the theme's accent colour (kept for `refresh_icons`)."""
    tabs.setProperty("worunTabIcons", ",".join(names))
    for i, n in enumerate(names):
        tabs.setTabIcon(i, icon(n))


def refresh_icons() -> None:
    """After a theme switch: repaint every themed icon."""
    for w in QApplication.allWidgets():
        name = w.property("worunIcon")
        if name and isinstance(w, QAbstractButton):
            w.setIcon(icon(str(name), "button"))
        names = w.property("worunTabIcons")
        if names and isinstance(w, QTabWidget):
            tab_icons(w, str(names).split(","))


def sound_path(name: str) -> Path:
    return SOUNDS / f"{name}.wav"
