"""Shared page furniture and text helpers for every PDF report.

Why here: every report has the same header (event, date, logo, official/unofficial marking), footer
(generated-at time in the event's zone, page X / Y) and the same rules for times (rounded up to the
whole second, DESIGN rule 10) and for text that does not fit its column (cut with an ellipsis, never
overprinting the next column). Reports draw straight on the reportlab canvas, page by page, which is
what keeps a 40,000-runner list fast and small in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from station.reports import fonts

MM = 72.0 / 25.4
INK = HexColor("#111111")
GREY = HexColor("#666666")
RULE = HexColor("#BBBBBB")
BAND = HexColor("#EEF1F5")
ACCENT = HexColor("#C8102E")  # WO.RUN red
GREEN = HexColor("#1B7F3A")

STATUS_ZH = {"finished": "完赛", "running": "比赛中", "DNF": "未完赛", "DNS": "未起跑", "DQ": "取消资格"}


def fmt_ms(ms: int | None) -> str:
    """`H:MM:SS`, hours not padded, rounded *up* to the next whole second (World Athletics rule)."""
    if ms is None or ms == "":
        return ""
    ms = int(ms)
    s = -(-ms // 1000)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def fmt_distance(distance_m: float | int | None) -> str:
    if not distance_m:
        return ""
    km = float(distance_m) / 1000
    return f"{km:g} km" if km >= 1 else f"{int(distance_m)} m"


def fit(text: str, font: str, size: float, width: float) -> str:
    """`text` cut (with an ellipsis) to fit `width` points: columns never run into each other."""
    if stringWidth(text, font, size) <= width:
        return text
    ell = "…"
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if stringWidth(text[:mid] + ell, font, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ell


def fit_size(text: str, font: str, size: float, width: float, min_size: float = 6.0) -> float:
    """The largest font size <= `size` at which `text` fits `width` (names on certificates, bibs)."""
    w = stringWidth(text, font, size)
    if w <= width or w == 0:
        return size
    return max(min_size, size * width / w)


def event_zone(event: Mapping[str, Any]) -> ZoneInfo:
    tz = (event.get("event") or {}).get("timezone") or "Asia/Shanghai"
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=zone)


def race_map(event: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in event.get("races") or []}


@dataclass
class Furniture:
    """What goes on every page's header and footer."""

    event_name: str
    event_date: str
    generated_at: str  # already formatted in the event's zone
    title: str = ""
    official: bool = False
    logo: Path | None = None
    marking: bool = True  # draw the official/unofficial marking (results lists only)
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_event(cls, event: Mapping[str, Any], *, now_ms: int, official: bool = False,
                  logo: Path | None = None, marking: bool = True) -> Furniture:
        ev = event.get("event") or {}
        zone = event_zone(event)
        gen = local_time(now_ms, zone).strftime("%Y-%m-%d %H:%M")
        return cls(event_name=str(ev.get("name") or ev.get("id") or ""), event_date=str(ev.get("date") or ""),
                   generated_at=f"{gen} ({zone.key})", official=official, logo=logo, marking=marking)


def draw_bold(c: Canvas, x: float, y: float, text: str, size: float, *, align: str = "left",
              font: str = fonts.FONT, color: Color = INK) -> None:
    """Faux-bold text (fill + thin stroke in the same colour): the shipped CJK face has no bold weight."""
    c.saveState()
    c.setFont(font, size)
    c.setFillColor(color)
    c.setStrokeColor(color)
    c.setLineWidth(size * 0.035)
    if align == "center":
        x -= stringWidth(text, font, size) / 2
    elif align == "right":
        x -= stringWidth(text, font, size)
    c.drawString(x, y, text, mode=fonts.BOLD_MODE)
    c.restoreState()


def draw_header(c: Canvas, f: Furniture, page_w: float, page_h: float, margin: float,
                subtitle: str = "") -> float:
    """Event name, date, logo, title and the official marking; returns the y below the header."""
    top = page_h - margin
    logo_w = 0.0
    if f.logo is not None:
        h = 14 * MM
        try:
            from reportlab.lib.utils import ImageReader

            img = ImageReader(str(f.logo))
            iw, ih = img.getSize()
            logo_w = h * iw / ih
            c.drawImage(img, margin, top - h, width=logo_w, height=h, mask="auto")
            logo_w += 4 * MM
        except OSError:
            logo_w = 0.0
    x = margin + logo_w
    c.setFillColor(INK)
    draw_bold(c, x, top - 12, f.event_name, 14)
    c.setFont(fonts.FONT, 9)
    c.setFillColor(GREY)
    c.drawString(x, top - 25, f.event_date)
    c.setFillColor(INK)
    if f.title:
        draw_bold(c, x, top - 40, f.title, 11)
    if subtitle:
        c.setFont(fonts.FONT, 9)
        c.drawString(x, top - 52, subtitle)
    if f.marking:
        label = "正式成绩  OFFICIAL" if f.official else "非正式成绩  UNOFFICIAL"
        draw_bold(c, page_w - margin, top - 12, label, 11, align="right", color=GREEN if f.official else ACCENT)
    y = top - (58 if subtitle else 46)
    c.setStrokeColor(ACCENT)
    c.setLineWidth(1.2)
    c.line(margin, y, page_w - margin, y)
    return y - 4


def draw_footer(c: Canvas, f: Furniture, page_w: float, margin: float, page_no: int, pages: int) -> None:
    c.setFont(fonts.FONT, 7.5)
    c.setFillColor(GREY)
    c.drawString(margin, margin * 0.55, f"生成时间 Generated {f.generated_at} · WO.RUN Station")
    c.drawRightString(page_w - margin, margin * 0.55, f"第 {page_no} / {pages} 页  Page {page_no} of {pages}")
    c.setFillColor(INK)


def draw_watermark(c: Canvas, page_w: float, page_h: float) -> None:
    """A light diagonal "unofficial" mark: a photocopied unofficial list cannot pass for the final one.

    Drawn as one image (shared by every page) rather than text, so text extraction (pdftotext, screen
    readers, copy-paste into a spreadsheet) sees only the results.
    """
    from reportlab.lib.utils import ImageReader

    global _watermark
    if _watermark is None:
        _watermark = ImageReader(_watermark_png())
    # One form XObject per document and page size: the image is stored (and hashed) once, not per page.
    name = f"wm_unofficial_{int(page_w)}x{int(page_h)}"
    if not c.hasForm(name):
        iw, ih = _watermark.getSize()
        w = page_w * 0.9
        h = w * ih / iw
        c.beginForm(name)
        c.drawImage(_watermark, (page_w - w) / 2, (page_h - h) / 2, width=w, height=h, mask="auto")
        c.endForm()
    c.doForm(name)


_watermark: Any = None


def _watermark_png() -> io.BytesIO:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(fonts.font_path()), 120, index=0)
    text = "非正式成绩 UNOFFICIAL"
    box = font.getbbox(text)
    img = Image.new("LA", (box[2] - box[0] + 40, box[3] - box[1] + 40), (0, 0))
    ImageDraw.Draw(img).text((20 - box[0], 20 - box[1]), text, font=font, fill=(0, 255))
    img = img.rotate(30, expand=True, resample=Image.BICUBIC)
    # light red, transparent background
    alpha = img.getchannel("A").point(lambda a: a * 28 // 255)
    rgba = Image.new("RGBA", img.size, (200, 30, 30, 0))
    rgba.putalpha(alpha)
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    buf.seek(0)
    return buf


@contextlib.contextmanager
def pdf_canvas(out: Path | str, pagesize: tuple[float, float] = A4, title: str = "") -> Iterator[Canvas]:
    """A canvas writing to a temporary file beside `out`, moved into place only on success.

    Why: a cancelled or failed report must not leave half a PDF under the name the user asked for
    (nor destroy the previous good one).
    """
    fonts.register()
    # Binary (deflated) streams, not ASCII85 on top: A85 in pure Python costs seconds on long lists and
    # makes files 25 % larger; every PDF reader handles binary streams.
    rl_config.useA85 = 0
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    c = Canvas(str(tmp), pagesize=pagesize, pageCompression=1, initialFontName=fonts.FONT,
               initialFontSize=10)
    c.setTitle(title)
    c.setCreator("WO.RUN Station")
    try:
        yield c
        c.save()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            with contextlib.suppress(OSError):
                tmp.unlink()


A4_PORTRAIT = A4
A4_LANDSCAPE = (A4[1], A4[0])
