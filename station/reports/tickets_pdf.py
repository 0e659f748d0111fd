"""Ticket sheets: the signed QR tickets of the check-in issue, eight per A4 page, with cut lines.

Why printed sheets: many runners arrive without a phone-ready ticket (older runners, team captains
collecting for a club). Each cell shows the QR (the signed token, scanned at the desk) with the bib,
race and wave large enough to sort envelopes by, and the name only when the organizer asks for it
(PIPL: `show_names`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from station.reports import fonts
from station.reports.layout import (
    A4_PORTRAIT,
    ACCENT,
    GREY,
    INK,
    MM,
    RULE,
    Furniture,
    draw_bold,
    fit,
    fit_size,
    pdf_canvas,
    race_map,
)
from station.reports.progress import Progress, step
from station.reports.qr import draw_qr
from station.reports.results_pdf import ReportInfo

COLS, ROWS = 2, 4
PER_PAGE = COLS * ROWS


def render_tickets(
    out: Path | str,
    tickets: Sequence[tuple[Mapping[str, Any], str]],
    event: Mapping[str, Any],
    *,
    show_names: bool = True,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> ReportInfo:
    """`tickets`: (participant payload, signed token) pairs, printed in the order given."""
    furn = Furniture.for_event(event, now_ms=now_ms if now_ms is not None else time.time_ns() // 1_000_000,
                               marking=False)
    races = race_map(event)
    pages = max(1, -(-len(tickets) // PER_PAGE))
    with pdf_canvas(out, A4_PORTRAIT, title=f"{furn.event_name} 签到票 Check-in tickets") as c:
        for pg in range(pages):
            step(progress, pg, pages)
            chunk = tickets[pg * PER_PAGE:(pg + 1) * PER_PAGE]
            _cut_lines(c)
            for i, (p, token) in enumerate(chunk):
                col, row = i % COLS, i // COLS
                _ticket(c, col, row, p, token, races, furn, show_names)
            c.setFont(fonts.FONT, 6)
            c.setFillColor(GREY)
            c.drawRightString(A4_PORTRAIT[0] - 4 * MM, 2 * MM, f"{pg + 1} / {pages}")
            c.showPage()
        step(progress, pages, pages)
    return ReportInfo(pages=pages, rows=len(tickets))


def _cut_lines(c: Canvas) -> None:
    w, h = A4_PORTRAIT
    c.saveState()
    c.setStrokeColor(RULE)
    c.setLineWidth(0.4)
    c.setDash(3, 3)
    for i in range(1, COLS):
        c.line(w * i / COLS, 0, w * i / COLS, h)
    for j in range(1, ROWS):
        c.line(0, h * j / ROWS, w, h * j / ROWS)
    c.restoreState()


def _ticket(c: Canvas, col: int, row: int, p: Mapping[str, Any], token: str,
            races: Mapping[str, Mapping[str, Any]], furn: Furniture, show_names: bool) -> None:
    w, h = A4_PORTRAIT
    cw, ch = w / COLS, h / ROWS
    x0, y0 = col * cw, h - (row + 1) * ch
    pad = 5 * MM
    q = min(ch - 2 * pad, 52 * MM)  # QR side, quiet zone included (~40 mm of modules)
    draw_qr(c, token, x0 + pad - 2 * MM, y0 + (ch - q) / 2, q)
    tx = x0 + pad + q
    tw = cw - (tx - x0) - pad + 2 * MM
    top = y0 + ch - pad
    c.setFillColor(ACCENT)
    c.setFont(fonts.FONT, 7)
    c.drawString(tx, top - 6, fit(furn.event_name, fonts.FONT, 7, tw))
    c.setFillColor(GREY)
    c.drawString(tx, top - 14, furn.event_date)
    bib = str(p.get("bib") or "")
    c.setFillColor(GREY)
    c.setFont(fonts.FONT, 7)
    c.drawString(tx, top - 27, "号码 Bib")
    draw_bold(c, tx, top - 50, bib, fit_size(bib, fonts.FONT, 26, tw, 12))
    y = top - 68
    if show_names and p.get("name"):
        name = str(p.get("name"))
        draw_bold(c, tx, y, fit(name, fonts.FONT, fit_size(name, fonts.FONT, 13, tw, 9), tw),
                  fit_size(name, fonts.FONT, 13, tw, 9))
        y -= 16
    race = races.get(str(p.get("race"))) or {}
    c.setFillColor(INK)
    c.setFont(fonts.FONT, 9)
    c.drawString(tx, y, fit(f"{race.get('name') or p.get('race') or ''}", fonts.FONT, 9, tw))
    y -= 12
    if p.get("wave"):
        c.drawString(tx, y, f"起跑批次 Wave {p.get('wave')}")
        y -= 12
    c.setFillColor(GREY)
    c.setFont(fonts.FONT, 6.5)
    c.drawString(tx, y0 + pad + 18, fit(f"报名号 Reg. {p.get('registration_id') or ''}", fonts.FONT, 6.5, tw))
    c.drawString(tx, y0 + pad + 9, fit("签到时请出示此二维码", fonts.FONT, 6.5, tw))
    c.drawString(tx, y0 + pad + 1, fit("Show this code at check-in", fonts.FONT, 6.5, tw))
    c.setFillColor(INK)
