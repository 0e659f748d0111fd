"""Fonts for every PDF: one TrueType CJK font shipped with the station.

Why shipped: a timing laptop at a venue has no network and may have no Chinese font, yet every printed
list carries Chinese names, often beside Latin ones on the same line. reportlab embeds only
TrueType-outline fonts (not CFF-based OTF such as Noto Sans CJK), so we ship WenQuanYi Micro Hei
(`station/reports/fonts/wqy-microhei.ttc`, TrueType outlines, Apache-2.0; Latin, GBK hanzi U+4E00–U+9FC3,
kana, hangul). Documents embed only the glyphs they use (reportlab subsets), so PDFs stay small.

The face has no bold; `BOLD_MODE` draws text filled and stroked (render mode 2), a faux bold that
prints well and keeps one font file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from station.errors import UserError

FONT = "WQYMicroHei"
BOLD_MODE = 2  # PDF text render mode: fill then stroke

_FONT_FILE = "wqy-microhei.ttc"
_lock = threading.Lock()
_registered = False


def font_dirs() -> list[Path]:
    """Where the font is looked for: `$WORUN_STATION_FONTS`, then the source tree / installed package."""
    here = Path(__file__).resolve()
    dirs = []
    env = os.environ.get("WORUN_STATION_FONTS")
    if env:
        dirs.append(Path(env))
    dirs.append(here.parents[2] / "resources" / "fonts")  # source checkout: <root>/resources/fonts
    dirs.append(here.parent / "fonts")  # a wheel may carry the font beside this module
    return dirs


def font_path() -> Path:
    for d in font_dirs():
        p = d / _FONT_FILE
        if p.is_file():
            return p
    searched = ", ".join(str(d) for d in font_dirs())
    raise UserError(f"the CJK font {_FONT_FILE} is missing (looked in {searched}); reinstall the station")


def register() -> str:
    """Register the CJK fonts with reportlab once per process; returns the regular font name."""
    global _registered
    if _registered:
        return FONT
    with _lock:
        if not _registered:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            path = str(font_path())
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            _registered = True
    return FONT


def has_glyph(ch: str) -> bool:
    """Whether the shipped font can draw `ch` (for tests and for warning about rare characters)."""
    from reportlab.pdfbase import pdfmetrics

    register()
    face = pdfmetrics.getFont(FONT).face
    return ord(ch) in face.charToGlyph
