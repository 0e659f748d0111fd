"""Check-in report: counts per race and wave, then who has not checked in yet.

Why: the desk lead needs, an hour before the gun, how many runners of each wave are in (to hold a
wave or open more desks) and the list of the missing ones by race, wave and bib (to answer "has my
friend picked up their bib?" and to mark DNS later). No phone, email or birth date is printed: the
sheet lies on a public desk.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from station.reports import fonts
from station.reports.fasttext import CellText
from station.reports.layout import (
    A4_PORTRAIT,
    BAND,
    GREY,
    INK,
    RULE,
    Furniture,
    draw_bold,
    draw_footer,
    draw_header,
    fit,
    pdf_canvas,
    race_map,
)
from station.reports.progress import Progress, step
from station.reports.results_pdf import ReportInfo

MARGIN = 28.0
ROW_H = 12.0
SIZE = 8.5

# (key, header, width, align)
SUMMARY_COLS = [("race", "赛事 Race", 170, "left"), ("wave", "批次 Wave", 60, "left"),
                ("registered", "报名 Registered", 80, "right"), ("checked_in", "已签到 Checked in", 80, "right"),
                ("missing", "未签到 Not yet", 70, "right"), ("pct", "签到率 Rate", 70, "right")]
MISSING_COLS = [("bib", "号码 Bib", 50, "right"), ("name", "姓名 Name", 170, "left"),
                ("gender", "性别 Sex", 40, "center"), ("race", "赛事 Race", 110, "left"),
                ("wave", "批次 Wave", 50, "left"), ("club", "俱乐部 Club", 119, "left")]


def _bib_key(b: Any) -> tuple[int, int, str]:
    s = str(b or "")
    return (0, int(s), s) if s.isdigit() else (1, 0, s)


def summarize(people: Sequence[Mapping[str, Any]], event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Counts per (race, wave) in event order, a subtotal per race and a grand total."""
    races = race_map(event)
    counts: dict[tuple[str, str], list[int]] = {}
    for p in people:
        k = (str(p.get("race") or ""), str(p.get("wave") or ""))
        c = counts.setdefault(k, [0, 0])
        c[0] += 1
        c[1] += 1 if p.get("checked_in") else 0
    order = list(races) + sorted({r for r, _ in counts} - set(races))
    out: list[dict[str, Any]] = []

    def line(race: str, wave: str, reg: int, ok: int, total: bool = False) -> dict[str, Any]:
        return {"race": race, "wave": wave, "registered": reg, "checked_in": ok, "missing": reg - ok,
                "pct": f"{100 * ok / reg:.0f} %" if reg else "—", "total": total}

    all_reg = all_ok = 0
    for rid in order:
        label = str((races.get(rid) or {}).get("name") or rid)
        waves = [str(w.get("id")) for w in (races.get(rid) or {}).get("waves") or []]
        waves += sorted({w for r, w in counts if r == rid} - set(waves))
        r_reg = r_ok = 0
        for w in waves:
            reg, ok = counts.get((rid, w), [0, 0])
            if reg == 0 and (rid, w) not in counts:
                continue
            out.append(line(label, w or "—", reg, ok))
            r_reg += reg
            r_ok += ok
        if r_reg:
            out.append(line(label, "合计 all", r_reg, r_ok, True))
        all_reg += r_reg
        all_ok += r_ok
    out.append(line("总计 Total", "", all_reg, all_ok, True))
    return out


def render_checkin(
    out: Path | str,
    people: Sequence[Mapping[str, Any]],
    event: Mapping[str, Any],
    *,
    race: str | None = None,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> ReportInfo:
    """`people`: participant payloads with a `checked_in` flag."""
    if race is not None:
        people = [p for p in people if p.get("race") == race]
    races = race_map(event)
    race_pos = {rid: i for i, rid in enumerate(races)}
    summary = summarize(people, event)
    missing = sorted((p for p in people if not p.get("checked_in")),
                     key=lambda p: (race_pos.get(str(p.get("race")), 99), str(p.get("race")),
                                    str(p.get("wave") or ""), _bib_key(p.get("bib"))))
    furn = Furniture.for_event(event, now_ms=now_ms if now_ms is not None else time.time_ns() // 1_000_000,
                               marking=False)
    furn.title = "签到报告 Check-in report"
    w, h = A4_PORTRAIT
    # paginate: the summary first, then the missing list
    body_top = h - MARGIN - 50
    body_bottom = MARGIN + 22
    per_page = int((body_top - body_bottom - 2 * ROW_H - 16) // ROW_H)
    first_room = per_page - len(summary) - 4
    chunks: list[list[Mapping[str, Any]]] = []
    rest = list(missing)
    take = max(first_room, 0)
    chunks.append(rest[:take])
    rest = rest[take:]
    while rest:
        chunks.append(rest[:per_page])
        rest = rest[per_page:]
    total = len(chunks)
    with pdf_canvas(out, A4_PORTRAIT, title=f"{furn.event_name} 签到报告 Check-in report") as c:
        for i, chunk in enumerate(chunks):
            step(progress, i, total)
            y = draw_header(c, furn, w, h, MARGIN, f"共 {len(people)} 人报名 · {len(missing)} 人未签到 "
                                                  f"· {len(people)} registered, {len(missing)} not checked in")
            if i == 0:
                y = _section(c, y, "各赛事与批次签到人数 Checked in per race and wave")
                y = _table(c, y, SUMMARY_COLS, summary)
                y -= 8
                y = _section(c, y, "未签到名单 Not checked in" if missing else "全部已签到 Everyone is checked in")
            else:
                y = _section(c, y, "未签到名单（续） Not checked in (cont.)")
            if chunk:
                _table(c, y, MISSING_COLS, [dict(p) for p in chunk], race_names=races)
            draw_footer(c, furn, w, MARGIN, i + 1, total)
            c.showPage()
        step(progress, total, total)
    return ReportInfo(pages=total, rows=len(missing))


def _section(c: Canvas, y: float, title: str) -> float:
    y -= 16
    draw_bold(c, MARGIN, y + 3, title, 10)
    return y


def _table(c: Canvas, y: float, cols: Sequence[tuple[str, str, float, str]], rows: Sequence[Mapping[str, Any]],
           race_names: Mapping[str, Mapping[str, Any]] | None = None) -> float:
    w = A4_PORTRAIT[0]
    cells = CellText(c)
    xs = []
    x = MARGIN
    for _, _, cw, _ in cols:
        xs.append(x)
        x += cw
    c.setFillColor(BAND)
    c.rect(MARGIN, y - ROW_H - 2, w - 2 * MARGIN, ROW_H + 2, stroke=0, fill=1)
    y -= ROW_H
    for (_, head, cw, align), x0 in zip(cols, xs, strict=True):
        _put(cells, x0, cw, y + 2, fit(head, fonts.FONT, 7.5, cw - 4), 7.5, align)
    y -= 2
    for n, r in enumerate(rows):
        y -= ROW_H
        if r.get("total"):
            c.setStrokeColor(RULE)
            c.setLineWidth(0.5)
            c.line(MARGIN, y + ROW_H, w - MARGIN, y + ROW_H)
        elif n % 2:
            c.setFillColor(BAND)
            c.rect(MARGIN, y, w - 2 * MARGIN, ROW_H, stroke=0, fill=1)
        for (key, _, cw, align), x0 in zip(cols, xs, strict=True):
            v = r.get(key)
            if key == "race" and race_names is not None:
                v = (race_names.get(str(v)) or {}).get("name") or v
            text = "" if v is None else str(v)
            if align == "left":
                text = fit(text, fonts.FONT, SIZE, cw - 4)
            _put(cells, x0, cw, y + 3, text, SIZE, align)
    c.setFillColor(INK)
    cells.flush()
    c.setFillColor(GREY)
    return y


def _put(cells: CellText, x0: float, cw: float, y: float, text: str, size: float, align: str) -> None:
    if align == "right":
        cells.draw(x0 + cw - 4, y, text, size, "right")
    elif align == "center":
        cells.draw(x0 + cw / 2, y, text, size, "center")
    else:
        cells.draw(x0 + 3, y, text, size)
