"""Fast drawing of many short strings (table cells) in the shipped TrueType font.

Why: reportlab's `drawString` builds a text object per call and formats every number through its
pure-Python `fp_str` when the optional `rl_accel` extension is absent; a 40,000-row list has ~500,000
cells, which costs tens of seconds that way. Here each page's cells go into one `BT … ET` block, with
positions formatted once, glyph runs encoded once per distinct string (times and ranks repeat a lot)
and written as hex strings (no escaping). We use only reportlab's documented dynamic-font API
(`splitString` + `getSubsetInternalName`, see `reportlab.pdfbase.ttfonts`) and `Canvas.addLiteral`,
so the font is still subset, embedded and given a ToUnicode map: text stays extractable.
"""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from station.reports import fonts


class CellText:
    """Collects one page's cells and writes them as one text object."""

    def __init__(self, c: Canvas, font_name: str = fonts.FONT) -> None:
        self.c = c
        self.font = pdfmetrics.getFont(font_name)
        self.doc = c._doc  # the document whose font subsets we fill (reportlab keys subsets by doc)
        self._enc: dict[str, str] = {}
        self._width: dict[str, float] = {}
        self._parts: list[str] = []
        self._size = 0.0

    def width(self, s: str, size: float) -> float:
        w = self._width.get(s)
        if w is None:
            w = self._width[s] = self.font.stringWidth(s, 1000.0) / 1000.0
        return w * size

    def _encode(self, s: str) -> str:
        e = self._enc.get(s)
        if e is None:
            font, doc = self.font, self.doc
            runs = []
            for subset, chunk in font.splitString(s, doc):
                runs.append(f"{font.getSubsetInternalName(subset, doc)} %s Tf <{chunk.hex()}> Tj")
            e = " ".join(runs)
            if len(self._enc) < 50_000:
                self._enc[s] = e
        return e

    def draw(self, x: float, y: float, s: str, size: float, align: str = "left") -> None:
        if not s:
            return
        if align == "right":
            x -= self.width(s, size)
        elif align == "center":
            x -= self.width(s, size) / 2
        self._parts.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm " + self._encode(s).replace("%s", f"{size:g}"))

    def flush(self) -> None:
        """Write the collected cells into the page (call before `showPage`)."""
        if self._parts:
            self.c.addLiteral("BT\n" + "\n".join(self._parts) + "\nET")
            self._parts = []
