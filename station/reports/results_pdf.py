"""Printed results lists: per race, overall, per gender, per category, and award lists (top N).

Why drawn straight on the canvas: a 40,000-runner list is ~700 pages. A platypus LongTable of that
size is slow and holds every cell as a flowable; here rows have one fixed height, so the whole
document is paginated first (which gives "page X of Y" and an exact progress total) and then each page
is drawn with plain `drawString` calls. Memory stays at the compressed page streams.

Rows are dicts with the Results CSV contract keys (plus `club`); nothing else is read, so birth dates,
phones and emails can never reach a published list.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from station.reports import fonts
from station.reports.fasttext import CellText
from station.reports.layout import (
    A4_LANDSCAPE,
    A4_PORTRAIT,
    BAND,
    GREY,
    INK,
    RULE,
    STATUS_ZH,
    Furniture,
    draw_bold,
    draw_footer,
    draw_header,
    draw_watermark,
    fit,
    fmt_distance,
    fmt_ms,
    pdf_canvas,
    race_map,
)
from station.reports.progress import Progress, step

MODES = ("overall", "gender", "category", "awards")
GENDER_ZH = {"M": "男子", "F": "女子", "X": "其他"}
GENDER_EN = {"M": "Men", "F": "Women", "X": "Non-binary"}
_GENDER_ORDER = {"M": 0, "F": 1, "X": 2}
_SPLIT_RE = re.compile(r"^split_(.+)_ms$")

FONT_SIZE = 8.0
ROW_H = 11.5
HEAD_H = 16.0  # a section heading
COLHEAD_H = 20.0  # two-line column header
MARGIN = 28.0
FOOTER_H = 22.0


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    width: float
    align: str = "left"  # left | right | center


@dataclass
class Section:
    race_id: str
    title: str
    rank_key: str  # which rank goes in the first column
    rows: list[Mapping[str, Any]]


@dataclass
class Page:
    race_id: str
    columns: list[Column]
    landscape: bool
    # (kind, payload): ("head", title) or ("row", (section, row))
    items: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class ReportInfo:
    pages: int
    rows: int


def split_columns(rows: Sequence[Mapping[str, Any]], event: Mapping[str, Any]) -> list[Column]:
    """Split columns that have at least one value in these rows, labelled with the point and distance."""
    if not rows:
        return []
    points = {p["id"]: p for p in event.get("timing_points") or []}
    cols = []
    for key in rows[0]:
        m = _SPLIT_RE.match(key)
        if not m or not any(r.get(key) not in (None, "") for r in rows):
            continue
        rest = m.group(1)
        pid, lap = rest, ""
        if rest not in points and "_" in rest:
            head, _, tail = rest.rpartition("_")
            if head in points and tail.isdigit():
                pid, lap = head, tail
        dist = fmt_distance((points.get(pid) or {}).get("distance_m"))
        en = f"{pid} #{lap}" if lap else pid
        cols.append(Column(key, dist or "分段", en, 40, "right"))
    return cols


def _columns(rows: Sequence[Mapping[str, Any]], event: Mapping[str, Any], mode: str) -> tuple[list[Column], bool]:
    has_club = any(r.get("club") for r in rows)
    cols = [Column("_place", "名次", "Place", 34, "right"), Column("bib", "号码", "Bib", 36, "right"),
            Column("name", "姓名", "Name", 0)]
    if has_club:
        cols.append(Column("club", "俱乐部", "Club", 0))
    cols += [Column("gender", "性别", "Sex", 22, "center"), Column("category", "组别", "Category", 42)]
    if mode != "overall":
        cols.append(Column("overall_rank", "总名次", "Overall", 32, "right"))
    if mode != "gender":
        cols.append(Column("gender_rank", "性别名次", "Sex rank", 34, "right"))
    if mode != "category":
        cols.append(Column("category_rank", "组名次", "Cat rank", 32, "right"))
    cols += [Column("gun_time", "枪声成绩", "Gun time", 42, "right"),
             Column("chip_time", "净成绩", "Chip time", 42, "right")]
    cols += split_columns(rows, event)
    fixed = sum(c.width for c in cols)
    need = 160.0 if has_club else 95.0  # room for names (and clubs) before turning the page sideways
    landscape = False
    avail = A4_PORTRAIT[0] - 2 * MARGIN - fixed
    if avail < need:
        landscape = True
        avail = A4_LANDSCAPE[0] - 2 * MARGIN - fixed
    avail = max(avail, need)
    widths = {"name": avail * 0.58, "club": avail * 0.42} if has_club else {"name": avail}
    cols = [Column(c.key, c.zh, c.en, widths[c.key], c.align) if c.width == 0 else c for c in cols]
    return cols, landscape


def _category_key(cat: str) -> tuple[int, int, str]:
    g = _GENDER_ORDER.get(cat[:1], 9)
    rest = cat[1:] if cat[:1] in _GENDER_ORDER else cat
    m = re.search(r"\d+", rest)
    low = 0 if rest.startswith("U") or not m else int(m.group())
    return (g, low, cat)


def _rank_int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _award_places(rows: list[Mapping[str, Any]], top: int) -> list[Mapping[str, Any]]:
    """Category award winners once the overall winners are left out: the next runners move up. Each gets
    `award_place` = 1 + how many eligible runners rank strictly better (equal times share a place)."""
    ranked = sorted((r for r in rows if _rank_int(r.get("category_rank")) is not None),
                    key=lambda r: _rank_int(r.get("category_rank")) or 0)
    out: list[Mapping[str, Any]] = []
    for i, r in enumerate(ranked):
        better = i
        while better and _rank_int(ranked[better - 1].get("category_rank")) == _rank_int(r.get("category_rank")):
            better -= 1
        if better + 1 > top:
            break
        out.append({**r, "award_place": better + 1})
    return out


def _who(r: Mapping[str, Any]) -> str:
    return str(r.get("registration_id") or r.get("bib"))


def sections_for(race_id: str, race_label: str, rows: list[Mapping[str, Any]], mode: str,
                 top: int, *, exclusive: bool = False) -> list[Section]:
    """How one race's rows are split into titled sections for the chosen list.

    Award lists: the top `top` of each gender, then of each category. With `exclusive` (a runner wins
    one prize: the usual rule when overall prizes are larger) the category lists leave out the gender
    winners and the next runners move up, numbered by award place."""
    if mode == "overall":
        return [Section(race_id, f"{race_label} · 总成绩 Overall", "overall_rank", rows)]
    by_gender: dict[str, list[Mapping[str, Any]]] = {}
    by_cat: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_gender.setdefault(str(r.get("gender") or ""), []).append(r)
        by_cat.setdefault(str(r.get("category") or ""), []).append(r)
    genders = sorted(by_gender, key=lambda g: (_GENDER_ORDER.get(g, 9), g))
    cats = sorted(by_cat, key=_category_key)
    out: list[Section] = []
    if mode == "gender":
        for g in genders:
            t = f"{race_label} · {GENDER_ZH.get(g, g)} {GENDER_EN.get(g, g)}"
            out.append(Section(race_id, t, "gender_rank", by_gender[g]))
    elif mode == "category":
        for cat in cats:
            out.append(Section(race_id, f"{race_label} · 组别 Category {cat}", "category_rank", by_cat[cat]))
    elif mode == "awards":
        won: set[str] = set()
        for g in genders:
            winners = [r for r in by_gender[g] if (_rank_int(r.get("gender_rank")) or top + 1) <= top]
            if winners:
                t = f"{race_label} · {GENDER_ZH.get(g, g)}总排名前{top}名 {GENDER_EN.get(g, g)} top {top}"
                out.append(Section(race_id, t, "gender_rank", winners))
                won |= {_who(r) for r in winners}
        for cat in cats:
            if exclusive:
                winners = _award_places([r for r in by_cat[cat] if _who(r) not in won], top)
                t = f"{race_label} · {cat} 前{top}名 top {top}（不含总排名获奖者 overall winners excluded）"
                if winners:
                    out.append(Section(race_id, t, "award_place", winners))
                continue
            winners = [r for r in by_cat[cat] if (_rank_int(r.get("category_rank")) or top + 1) <= top]
            if winners:
                t = f"{race_label} · {cat} 前{top}名 top {top}"
                out.append(Section(race_id, t, "category_rank", winners))
    else:
        raise ValueError(f"unknown results list mode {mode!r}; expected one of {', '.join(MODES)}")
    return out


def paginate(sections: Iterable[Section], columns_for: Mapping[str, tuple[list[Column], bool]]) -> list[Page]:
    """Fixed-height rows → pages. Each race starts a new page; headings are never orphaned."""
    pages: list[Page] = []
    cur: Page | None = None
    room = 0.0
    for sec in sections:
        cols, land = columns_for[sec.race_id]
        body = (A4_LANDSCAPE if land else A4_PORTRAIT)[1] - 2 * MARGIN - 62 - FOOTER_H - COLHEAD_H
        if cur is None or cur.race_id != sec.race_id or room < HEAD_H + 2 * ROW_H:
            cur = Page(sec.race_id, cols, land)
            pages.append(cur)
            room = body
        cur.items.append(("head", sec.title))
        room -= HEAD_H
        for r in sec.rows:
            if room < ROW_H:
                cur = Page(sec.race_id, cols, land)
                pages.append(cur)
                room = body - HEAD_H
                cur.items.append(("head", sec.title + "（续 cont.）"))
            cur.items.append(("row", (sec, r)))
            room -= ROW_H
    return pages


def _cell(col: Column, sec: Section, r: Mapping[str, Any]) -> str:
    k = col.key
    if k == "_place":
        status = r.get("status")
        if status != "finished":
            return str(status or "")
        v = r.get(sec.rank_key)
        return "" if v is None else str(v)
    v = r.get(k)
    if v is None:
        return ""
    if k.startswith("split_"):
        return fmt_ms(v) if v != "" else ""
    return str(v)


def _draw_page(c: Canvas, page: Page, furn: Furniture, subtitle: str, page_no: int, pages: int) -> None:
    w, h = A4_LANDSCAPE if page.landscape else A4_PORTRAIT
    c.setPageSize((w, h))
    if furn.marking and not furn.official:
        draw_watermark(c, w, h)
    y = draw_header(c, furn, w, h, MARGIN, subtitle)
    # column header (zh over en)
    xs = []
    x = MARGIN
    for col in page.columns:
        xs.append(x)
        x += col.width
    c.setFillColor(BAND)
    c.rect(MARGIN, y - COLHEAD_H, w - 2 * MARGIN, COLHEAD_H, stroke=0, fill=1)
    cells = CellText(c)
    for col, x0 in zip(page.columns, xs, strict=True):
        for text, size, dy in ((col.zh, 7.5, 8.5), (col.en, 6.5, 17)):
            _cell_at(cells, col, x0, y - dy, fit(text, fonts.FONT, size, col.width - 4), size)
    y -= COLHEAD_H
    font = fonts.FONT
    n = 0
    for kind, payload in page.items:
        if kind == "head":
            y -= HEAD_H
            c.setFillColor(INK)
            draw_bold(c, MARGIN + 2, y + 4.5, payload, 9.5)
            n = 0
            continue
        sec, r = payload
        y -= ROW_H
        if n % 2 == 1:
            c.setFillColor(BAND)
            c.rect(MARGIN, y, w - 2 * MARGIN, ROW_H, stroke=0, fill=1)
        n += 1
        for col, x0 in zip(page.columns, xs, strict=True):
            text = _cell(col, sec, r)
            if text:
                if col.align == "left" and len(text) * FONT_SIZE > col.width - 4:
                    text = fit(text, font, FONT_SIZE, col.width - 4)
                _cell_at(cells, col, x0, y + 3, text, FONT_SIZE)
    c.setFillColor(INK)
    cells.flush()
    c.setStrokeColor(RULE)
    c.setLineWidth(0.5)
    c.line(MARGIN, y - 1, w - MARGIN, y - 1)
    draw_footer(c, furn, w, MARGIN, page_no, pages)


def _cell_at(cells: CellText, col: Column, x0: float, y: float, text: str, size: float) -> None:
    if col.align == "right":
        cells.draw(x0 + col.width - 3, y, text, size, "right")
    elif col.align == "center":
        cells.draw(x0 + col.width / 2, y, text, size, "center")
    else:
        cells.draw(x0 + 2, y, text, size)


def render_results(
    out: Path | str,
    rows: Sequence[Mapping[str, Any]],
    event: Mapping[str, Any],
    *,
    race: str | None = None,
    mode: str = "overall",
    top: int = 3,
    exclusive: bool = False,
    official: bool = False,
    logo: Path | None = None,
    now_ms: int | None = None,
    progress: Progress | None = None,
) -> ReportInfo:
    """Write the results list PDF to `out`; rows in Results CSV contract order."""
    if mode not in MODES:
        raise ValueError(f"unknown results list mode {mode!r}; expected one of {', '.join(MODES)}")
    races = race_map(event)
    by_race: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_race.setdefault(str(r.get("race")), []).append(r)
    order = [rid for rid in races if rid in by_race] + [rid for rid in by_race if rid not in races]
    if race is not None:
        order = [rid for rid in order if rid == race]
    sections: list[Section] = []
    columns_for: dict[str, tuple[list[Column], bool]] = {}
    subtitles: dict[str, str] = {}
    for rid in order:
        info = races.get(rid) or {}
        label = str(info.get("name") or rid)
        rrows = by_race[rid]
        columns_for[rid] = _columns(rrows, event, mode)
        finished = sum(1 for r in rrows if r.get("status") == "finished")
        ranking = "枪声计时 gun time" if info.get("ranking") == "gun" else "净计时 chip time"
        subtitles[rid] = (f"{label} {fmt_distance(info.get('distance_m'))} · 排名依据 ranked by {ranking}"
                          f" · 完赛 {finished} / {len(rrows)} finishers")
        sections += sections_for(rid, label, rrows, mode, top, exclusive=exclusive)
    pages = paginate(sections, columns_for)
    title = {"overall": "成绩公告 Results", "gender": "分性别成绩 Results by gender",
             "category": "分组成绩 Results by category", "awards": f"获奖名单 Awards (top {top})"}[mode]
    furn = Furniture.for_event(event, now_ms=now_ms if now_ms is not None else time.time_ns() // 1_000_000,
                               official=official, logo=logo)
    furn.title = title
    total = len(pages)
    with pdf_canvas(out, title=f"{furn.event_name} {title}") as c:
        if not pages:
            draw_header(c, furn, *A4_PORTRAIT, MARGIN)
            c.setFont(fonts.FONT, 11)
            c.setFillColor(GREY)
            c.drawString(MARGIN, A4_PORTRAIT[1] - 120, "暂无成绩 No results yet")
            draw_footer(c, furn, A4_PORTRAIT[0], MARGIN, 1, 1)
            c.showPage()
            total = 1
        for i, page in enumerate(pages, 1):
            step(progress, i - 1, total)
            _draw_page(c, page, furn, subtitles[page.race_id], i, total)
            c.showPage()
        step(progress, total, total)
    return ReportInfo(pages=total, rows=sum(1 for p in pages for k, _ in p.items if k == "row"))


__all__ = ["MODES", "STATUS_ZH", "ReportInfo", "render_results"]
