"""Bib labels: A4 sheets of self-adhesive labels (3 × 8, 70 × 37 mm, the common 24-up stock).

Why labels: organizers stick them on pre-printed bibs (or on the envelope holding bib, chip and
shirt) so that the number printed matches the participant list the station times against. Each
label carries the bib large, the name, race and wave, and a Code 128 barcode of the bib for the
desk's barcode scanner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas

from station.reports import fonts
from station.reports.layout import A4_PORTRAIT, GREY, INK, MM, draw_bold, fit, fit_size, pdf_canvas, race_map
from station.reports.progress import Progress, step
from station.reports.results_pdf import ReportInfo


@dataclass(frozen=True)
class LabelSheet:
    """Geometry of a label stock (millimetres)."""

    cols: int = 3
    rows: int = 8
    width: float = 70.0
    height: float = 37.125
    left: float = 0.0
    top: float = 0.0
    gap_x: float = 0.0
    gap_y: float = 0.0

    @property
    def per_page(self) -> int:
        return self.cols * self.rows


def render_bibs(
    out: Path | str,
    people: Sequence[Mapping[str, Any]],
    event: Mapping[str, Any],
    *,
    sheet: LabelSheet | None = None,
    barcode: bool = True,
    now_ms: int | None = None,  # unused: same signature as the other renderers
    progress: Progress | None = None,
) -> ReportInfo:
    """One label per participant payload, in the order given (sort by bib before calling)."""
    sheet = sheet or LabelSheet()
    races = race_map(event)
    ev_name = str((event.get("event") or {}).get("name") or "")
    pages = max(1, -(-len(people) // sheet.per_page))
    with pdf_canvas(out, A4_PORTRAIT, title=f"{ev_name} 号码标签 Bib labels") as c:
        for pg in range(pages):
            step(progress, pg, pages)
            for i, p in enumerate(people[pg * sheet.per_page:(pg + 1) * sheet.per_page]):
                _label(c, sheet, i % sheet.cols, i // sheet.cols, p, races, ev_name, barcode)
            c.showPage()
        step(progress, pages, pages)
    return ReportInfo(pages=pages, rows=len(people))


def _label(c: Canvas, s: LabelSheet, col: int, row: int, p: Mapping[str, Any],
           races: Mapping[str, Mapping[str, Any]], ev_name: str, barcode: bool) -> None:
    h = A4_PORTRAIT[1]
    x0 = (s.left + col * (s.width + s.gap_x)) * MM
    y1 = h - (s.top + row * (s.height + s.gap_y)) * MM  # label top
    lw = s.width * MM
    pad = 5 * MM  # most printers cannot print the outer ~4 mm of a sheet
    inner = lw - 2 * pad
    c.setFillColor(GREY)
    c.setFont(fonts.FONT, 6)
    c.drawString(x0 + pad, y1 - pad - 4, fit(ev_name, fonts.FONT, 6, inner))
    bib = str(p.get("bib") or "")
    size = fit_size(bib, fonts.FONT, 28, inner * 0.62, 12)
    draw_bold(c, x0 + pad, y1 - pad - 31, bib, size, color=INK)
    race = races.get(str(p.get("race"))) or {}
    rx = x0 + lw - pad
    c.setFillColor(INK)
    c.setFont(fonts.FONT, 7.5)
    c.drawRightString(rx, y1 - pad - 16, fit(str(race.get("name") or p.get("race") or ""), fonts.FONT, 7.5,
                                              inner * 0.36))
    if p.get("wave"):
        c.drawRightString(rx, y1 - pad - 26, f"Wave {p.get('wave')}")
    name = str(p.get("name") or "")
    c.setFont(fonts.FONT, 10)
    c.drawString(x0 + pad, y1 - pad - 46, fit(name, fonts.FONT, 10, inner * 0.6))
    if barcode and bib:
        bc = Code128(bib, barHeight=6 * MM, barWidth=1.1, quiet=False)
        bw = bc.width
        if bw > inner:
            bc = Code128(bib, barHeight=6 * MM, barWidth=1.1 * inner / bw, quiet=False)
            bw = bc.width
        bc.drawOn(c, x0 + lw - pad - bw, y1 - s.height * MM + pad - 2 * MM)
