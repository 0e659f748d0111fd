"""Where the app's resources live (icons, stylesheets, sounds, translations) and how to load them.

Resources are plain files beside the package (`resources/`), so organizers can restyle or re-voice a
station without rebuilding anything.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

ROOT = Path(__file__).resolve().parent.parent / "resources"
ICONS = ROOT / "icons"
SOUNDS = ROOT / "sounds"
STYLES = ROOT / "styles"
TRANSLATIONS = ROOT / "translations"


def icon(name: str) -> QIcon:
    p = ICONS / f"{name}.svg"
    return QIcon(str(p)) if p.exists() else QIcon()


def sound_path(name: str) -> Path:
    return SOUNDS / f"{name}.wav"
